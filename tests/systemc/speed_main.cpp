// systemc_speed: a quick, dependency-free view of the speed of the cycle model against the
// verilated RTL (the measurement of record is bench/systemc, Google Benchmark): both behind
// sim::Dut, on the same stimulus and back-pressure pattern (bench/systemc/speed_stim.hpp), in the
// same process, per pass. The output checksums and cycle counts of the two must agree (they are
// cycle-exact), which the program checks (exit 1 if not).
//   systemc_speed [--lanes N] [--scale K] [--p-valid P] [--p-ready P] [--reps N] [--model-only]
// Each figure is the median of --reps runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench/systemc/speed_stim.hpp"
#include "models/systemc/model_dut.hpp"
#ifdef NQKV_HAVE_RTL
#include "sim/rtl/rtl_dut.hpp"
#endif

namespace bench = nqkv::bench;
namespace sim = nqkv::sim;

int main(int argc, char** argv) {
  int lanes = 16, scale = 1, reps = 5;
  double pv = 0.75, pr = 0.7;
  bool model_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--lanes") lanes = std::atoi(next().c_str());
    else if (a == "--scale") scale = std::max(1, std::atoi(next().c_str()));
    else if (a == "--p-valid") pv = std::atof(next().c_str());
    else if (a == "--p-ready") pr = std::atof(next().c_str());
    else if (a == "--reps") reps = std::max(1, std::atoi(next().c_str()));
    else if (a == "--model-only") model_only = true;
    else {
      std::fprintf(stderr, "usage: systemc_speed [--lanes N] [--scale K] [--p-valid P] [--p-ready P] [--reps N] [--model-only]\n");
      return 2;
    }
  }
  if (nqkv::accel::AccelConfig::sim(lanes).validate() != "") {
    std::fprintf(stderr, "systemc_speed: LANES %d is not a legal configuration\n", lanes);
    return 2;
  }
#ifndef NQKV_HAVE_RTL
  model_only = true;
#endif
  {
    bool built = false;
    for (int l : nqkv::accel::sim_lanes()) built |= l == lanes;
    if (!built) model_only = true;
  }
  const bench::Pattern pat = bench::make_pattern(1234, pv, pr);
  std::printf("LANES %d, p_valid %.2f, p_ready %.2f, median of %d\n", lanes, pv, pr, reps);
  std::printf("%-9s %10s %12s %12s %7s %s\n", "phase", "cycles", "rtl c/s", "model c/s", "ratio", "outputs");
  int bad = 0;
  for (bench::Pass pass : {bench::Pass::kQuantize, bench::Pass::kScore, bench::Pass::kValue}) {
    const bench::Stim s = bench::make_stim(lanes, pass, scale);
    struct R {
      bench::Outcome o;
      double rate = 0;
    };
    auto run = [&](const std::function<std::unique_ptr<sim::Dut>()>& make) {
      std::vector<double> rates;
      bench::Outcome o;
      for (int k = 0; k < reps; ++k) {
        auto d = make();
        bench::setup(*d, s);
        bench::DutPins a(*d, s);
        const auto t0 = std::chrono::steady_clock::now();
        o = bench::drive(a, s, pat);
        rates.push_back(o.cycles / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(rates.begin(), rates.end());
      return R{o, rates[rates.size() / 2]};
    };
    const R m = run([&] { return nqkv::sysc::make_model_dut(lanes, 0, 1); });
    R r{};
#ifdef NQKV_HAVE_RTL
    if (!model_only) r = run([&] { return sim::make_rtl_dut(lanes, 0, 1); });
#endif
    const bool same = model_only || (r.o.cycles == m.o.cycles && r.o.checksum == m.o.checksum);
    bad += !same;
    std::printf("%-9s %10llu %12.0f %12.0f %7.1f %s\n", bench::pass_name(pass), static_cast<unsigned long long>(m.o.cycles),
                r.rate, m.rate, model_only ? 0.0 : m.rate / r.rate, model_only ? "(model only)" : same ? "equal" : "DIFFERENT");
  }
  return bad ? 1 : 0;
}
