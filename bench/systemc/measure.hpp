// What every speed benchmark of bench/systemc shares: the per-row rate and checksum bookkeeping.
// A row runs `once` per iteration; every run's output checksum must equal the first one recorded
// under the same key (the RTL and the model are cycle-exact: same pins, same outputs, same cycles),
// and a model row gets x_rtl, its rate over the rtl row of the same key measured before it.
#pragma once
#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace nqkv::bench {

// The time of a row: CPU time of this process. Every row runs on one OS thread (SystemC threads are
// coroutines), so on a shared machine this is the simulation's own cost, where wall time would add
// whatever else the machine runs; rows register with UseManualTime and measure() reports it.
struct Clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<Clock>;
  static constexpr bool is_steady = true;
  static time_point now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return time_point(duration(static_cast<rep>(ts.tv_sec) * 1000000000 + ts.tv_nsec));
  }
};
inline double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// rates of the rtl rows (for x_rtl) and reference checksums, keyed by driver/pass/lanes
inline std::map<std::string, double>& rtl_rates() {
  static std::map<std::string, double> m;
  return m;
}
inline std::map<std::string, uint64_t>& checksums() {
  static std::map<std::string, uint64_t> m;
  return m;
}

// Runs `once` (returns {cycles, checksum, seconds}, timing itself with Clock below) per iteration;
// the row's time is that (manual time); reports.
// role: 1 the rtl row (its rate is kept), 0 a model row (gets x_rtl), 2 neither.
template <class F>
void measure(benchmark::State& state, const std::string& key, const std::string& sum_key, int role, F&& once) {
  uint64_t cycles = 0, per_run = 0;
  double secs = 0;
  for (auto _ : state) {
    uint64_t c = 0, sum = 0;
    double t = 0;
    std::tie(c, sum, t) = once(state);
    cycles += c;
    per_run = c;
    secs += t;
    state.SetIterationTime(t);
    auto ref = checksums().emplace(sum_key, sum).first;
    if (ref->second != sum) {
      state.SkipWithError("output checksum differs from the first run of this pass and LANES");
      return;
    }
  }
  const double rate = secs > 0 ? static_cast<double>(cycles) / secs : 0.0;
  state.counters["cycles_per_s"] = benchmark::Counter(static_cast<double>(cycles), benchmark::Counter::kIsRate);
  state.counters["cycles"] = static_cast<double>(per_run);
  if (role == 1) {
    rtl_rates()[key] = rate;
  } else if (role == 0) {
    auto it = rtl_rates().find(key);
    if (it != rtl_rates().end() && it->second > 0) state.counters["x_rtl"] = rate / it->second;
  }
}


}  // namespace nqkv::bench
