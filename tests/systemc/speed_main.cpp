// systemc_speed: simulated cycles per second of the cycle model and of the verilated RTL on the
// same stimulus in the same process (both behind sim::Dut, driven by the same light driver with
// random valid gaps and random ready), plus the model driven through its pins directly (no Dut
// adapter). Phases: a quantizer stream, a score pass, a value pass. The output checksums of the
// two models must agree (they are cycle-exact), which the program checks.
//   systemc_speed [--lanes N] [--scale K] [--p-valid P] [--p-ready P] [--reps N] [--model-only]
// Each figure is the best of --reps runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "golden/codebook.hpp"
#include "golden/rng.hpp"
#include "models/systemc/model_dut.hpp"
#include "sim/common/harness.hpp"
#ifdef NQKV_HAVE_RTL
#include "sim/rtl/rtl_dut.hpp"
#endif

namespace {

using nqkv::golden::SplitMix64;
namespace sim = nqkv::sim;

struct Stim {
  int lanes = 16, words = 2;
  std::vector<uint16_t> qi;                 // beats x lanes
  size_t qi_beats = 0;
  std::vector<uint16_t> ms;                 // side values
  std::vector<std::vector<uint32_t>> mc;    // code beats
  std::vector<uint8_t> mc_last;
  size_t expect_mo = 0;
};

struct Outcome {
  uint64_t cycles = 0, checksum = 0;
  double seconds = 0;
};

// One phase: streams until every input is taken and every expected output seen.
Outcome drive(sim::Dut& d, const Stim& s, uint64_t seed, double pv, double pr) {
  SplitMix64 rng(seed);
  auto chance = [&](double p) { return p >= 1.0 || rng.uniform() < p; };
  size_t iq = 0, is = 0, ic = 0, oq = 0, om = 0;
  bool pq = false, ps = false, pc = false;
  static const std::vector<uint32_t> none;
  std::vector<uint32_t> codes;
  Outcome o;
  const auto t0 = std::chrono::steady_clock::now();
  while (iq < s.qi_beats || is < s.ms.size() || ic < s.mc.size() || oq < s.qi_beats || om < s.expect_mo) {
    if (!pq && iq < s.qi_beats && chance(pv)) pq = true;
    if (!ps && is < s.ms.size() && chance(pv)) ps = true;
    if (!pc && ic < s.mc.size() && chance(pv)) pc = true;
    d.set_qi(pq, pq ? &s.qi[iq * static_cast<size_t>(s.lanes)] : nullptr);
    d.set_ms(ps, ps ? s.ms[is] : 0);
    d.set_mc(pc, pc ? s.mc[ic] : none, pc && s.mc_last[ic]);
    const bool rq = chance(pr), rm = chance(pr);
    d.set_qo_ready(rq);
    d.set_mo_ready(rm);
    d.set_clk(false);
    d.eval();
    const bool fq = pq && d.qi_ready(), fs = ps && d.ms_ready(), fc = pc && d.mc_ready();
    if (d.qo_valid() && rq) {
      uint16_t sc;
      int st;
      bool last;
      d.qo(codes, sc, st, last);
      for (uint32_t w : codes) o.checksum = o.checksum * 1099511628211ull + w;
      o.checksum = o.checksum * 31 + sc + (static_cast<uint64_t>(st) << 16) + (last ? 1ull << 20 : 0);
      ++oq;
    }
    if (d.mo_valid() && rm) {
      uint64_t data;
      int x;
      bool last;
      d.mo(data, x, last);
      o.checksum = o.checksum * 1099511628211ull + data + static_cast<uint64_t>(x) * 7 + last;
      ++om;
    }
    d.set_clk(true);
    d.eval();
    ++o.cycles;
    if (fq) ++iq, pq = false;
    if (fs) ++is, ps = false;
    if (fc) ++ic, pc = false;
    if (o.cycles > 100000000ull) break;
  }
  d.set_qi(false, nullptr);
  d.set_ms(false, 0);
  d.set_mc(false, none, false);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

void tick(sim::Dut& d) {
  d.set_clk(false);
  d.eval();
  d.set_clk(true);
  d.eval();
}
void write_reg(sim::Dut& d, uint32_t a, uint32_t v) {
  d.set_reg(true, a, v);
  tick(d);
  d.set_reg(false, 0, 0);
}
void reset(sim::Dut& d) {
  d.set_reg(false, 0, 0);
  d.set_qi(false, nullptr);
  d.set_qo_ready(false);
  d.set_ms(false, 0);
  d.set_mc(false, {}, false);
  d.set_mo_ready(false);
  d.set_rst_n(false);
  d.set_clk(false);
  d.eval();
  for (int i = 0; i < 4; ++i) tick(d);
  d.set_rst_n(true);
  tick(d);
}
void setup(sim::Dut& d, int block, int nblk, int mode, const std::vector<int16_t>& q) {
  const auto& cb = nqkv::golden::codebook_by_name("nf4");
  write_reg(d, sim::reg::kCbN, 16);
  for (int k = 0; k < 15; ++k) {
    float f = cb.thresholds[static_cast<size_t>(k)];
    uint32_t b;
    std::memcpy(&b, &f, 4);
    write_reg(d, sim::reg::kThr + static_cast<uint32_t>(k), b);
  }
  for (int k = 0; k < 16; ++k) write_reg(d, sim::reg::kMac + static_cast<uint32_t>(k), static_cast<uint8_t>(cb.mac[static_cast<size_t>(k)]));
  write_reg(d, sim::reg::kCfg, (static_cast<uint32_t>(mode) << 1) | (4u << 2));
  write_reg(d, sim::reg::kBlock, static_cast<uint32_t>(block));
  write_reg(d, sim::reg::kNblk, static_cast<uint32_t>(nblk));
  for (size_t i = 0; i < q.size(); ++i) write_reg(d, sim::reg::kQ + static_cast<uint32_t>(i), static_cast<uint16_t>(q[i]));
  write_reg(d, sim::reg::kCtrl, 1);
}

struct Phase {
  std::string name;
  int mode = -1;  // -1 quantizer, 0 score, 1 value
  Stim s;
};

std::vector<Phase> make_phases(int lanes, int scale) {
  SplitMix64 rng(99);
  const int words = (lanes * 4 + 31) / 32;
  std::vector<Phase> ph(3);
  ph[0].name = "quantize";
  ph[1].name = "score";
  ph[1].mode = 0;
  ph[2].name = "value";
  ph[2].mode = 1;
  for (auto& p : ph) {
    p.s.lanes = lanes;
    p.s.words = words;
  }
  // quantizer: 64-element blocks of Gaussian fp16
  const size_t beats = static_cast<size_t>(scale) * 64 * 1024 / static_cast<size_t>(lanes);
  ph[0].s.qi.resize(beats * static_cast<size_t>(lanes));
  for (auto& e : ph[0].s.qi) {
    const float f = static_cast<float>(rng.normal());
    e = static_cast<uint16_t>(nqkv::golden::f32_to_elem(nqkv::golden::ElemType::F16, f));
  }
  ph[0].s.qi_beats = beats;
  // MAC: head_dim 128, block 64, T tokens (value: one pass of up to 512 tokens, repeated)
  const int D = 128, nb = 2, T = scale * 512;
  for (int m = 1; m <= 2; ++m) {
    Stim& s = ph[static_cast<size_t>(m)].s;
    for (int t = 0; t < T; ++t) {
      for (int b = 0; b < nb; ++b) s.ms.push_back(m == 1 ? static_cast<uint16_t>(0x3c00 + rng.below(0x400)) : static_cast<uint16_t>(rng.below(65536)));
      for (int j = 0; j < D / lanes; ++j) {
        std::vector<uint32_t> w(static_cast<size_t>(words));
        for (auto& x : w) x = static_cast<uint32_t>(rng.next());
        if (lanes * 4 < 32) w[0] &= (1u << (lanes * 4)) - 1u;
        s.mc.push_back(std::move(w));
        const bool pass_end = m == 1 ? (t == T - 1) : ((t % 512) == 511 || t == T - 1);
        s.mc_last.push_back(pass_end && j == D / lanes - 1);
      }
    }
    s.expect_mo = m == 1 ? static_cast<size_t>(T) : static_cast<size_t>((T + 511) / 512) * D;
  }
  return ph;
}

}  // namespace

int main(int argc, char** argv) {
  int lanes = 16, scale = 4, reps = 5;
  double pv = 0.75, pr = 0.7;
  bool model_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--lanes") lanes = std::atoi(next().c_str());
    else if (a == "--scale") scale = std::atoi(next().c_str());
    else if (a == "--p-valid") pv = std::atof(next().c_str());
    else if (a == "--p-ready") pr = std::atof(next().c_str());
    else if (a == "--reps") reps = std::max(1, std::atoi(next().c_str()));
    else if (a == "--model-only") model_only = true;
    else {
      std::fprintf(stderr, "usage: systemc_speed [--lanes N] [--scale K] [--p-valid P] [--p-ready P] [--reps N] [--model-only]\n");
      return 2;
    }
  }
#ifndef NQKV_HAVE_RTL
  model_only = true;
#endif
  {
    bool built = false;
    for (int l : nqkv::accel::sim_lanes()) built |= l == lanes;
    if (!built) model_only = true;
  }
  const auto phases = make_phases(lanes, scale);
  std::vector<int16_t> q(128);
  SplitMix64 rq(5);
  for (auto& v : q) v = static_cast<int16_t>(rq.next());
  std::printf("LANES %d, p_valid %.2f, p_ready %.2f\n", lanes, pv, pr);
  std::printf("%-9s %10s %12s %12s %7s %s\n", "phase", "cycles", "rtl c/s", "model c/s", "ratio", "outputs");
  int bad = 0;
  for (const auto& p : phases) {
    // best of `reps` runs (robust against other load on the machine)
    auto run = [&](const std::function<std::unique_ptr<sim::Dut>()>& make) {
      Outcome best{};
      for (int k = 0; k < reps; ++k) {
        auto d = make();
        reset(*d);
        if (p.mode >= 0) setup(*d, 64, 2, p.mode, q);
        else setup(*d, 64, 2, 0, {});
        const Outcome o = drive(*d, p.s, 1234, pv, pr);
        if (k == 0 || o.seconds < best.seconds) best = o;
      }
      return best;
    };
    const Outcome m = run([&] { return nqkv::sysc::make_model_dut(lanes, 0, 1); });
    Outcome r{};
#ifdef NQKV_HAVE_RTL
    if (!model_only) r = run([&] { return sim::make_rtl_dut(lanes, 0, 1); });
#endif
    const double mcs = m.cycles / m.seconds, rcs = model_only ? 0.0 : r.cycles / r.seconds;
    const bool same = model_only || (r.cycles == m.cycles && r.checksum == m.checksum);
    bad += !same;
    std::printf("%-9s %10llu %12.0f %12.0f %7.1f %s\n", p.name.c_str(), static_cast<unsigned long long>(m.cycles), rcs, mcs,
                model_only ? 0.0 : mcs / rcs, model_only ? "(model only)" : same ? "equal" : "DIFFERENT");
  }
  return bad ? 1 : 0;
}
