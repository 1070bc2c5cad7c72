// Mutation test of the lock-step (issue 16, item 3): the cycle model is compiled a second time,
// for this test only, with -DNQKV_MUTANTS (library nqkv_systemc_mutants; the production library
// has none of this code). Each mutant (sysc::Mutant, selected by sysc::g_mutant) is the model
// made wrong in one deliberate way, mostly by one cycle: a FIFO one entry shallower, the in-flight
// limit ignored or one short, the reciprocal pipeline one stage short, a side bank's full flag
// cleared a beat early, the drain one cycle late, od_last on the wrong word, hold released a cycle
// early, the counter clear ignored, first_tok not re-armed, mc_ready a cycle early, a stage valid
// that ignores back-pressure. The lock-step against the verilated RTL (sim::LockstepDut) must
// catch every one of them within a bounded number of seeded random stream runs
// (test::stream_run: concurrent quantizer and MAC streams, back-to-back passes, random gaps,
// every status/counter register read); the test prints where (LANES, seed, cycle, signal). The
// unmutated build must show zero mismatching cycles on the same runs.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "models/systemc/model_dut.hpp"
#include "random_runs.hpp"
#include "sim/common/lockstep_dut.hpp"
#include "sim/rtl/rtl_dut.hpp"

#ifndef NQKV_MUTANTS
#error "test_mutation.cpp needs the mutant build of the model (-DNQKV_MUTANTS)"
#endif

namespace nqkv {
namespace {

constexpr int kMaxSeeds = 8;  // per LANES: the bound within which every mutant must be caught

struct Hunt {
  bool caught = false;
  int lanes = 0;
  uint64_t seed = 0, cycles_run = 0;
  sim::LockstepDut::Divergence first;
};

// Stream runs with the given mutant active, LANES alternating over the built set, until the
// lock-step sees a mismatching cycle (or kMaxSeeds seeds per LANES pass clean).
Hunt hunt(int mutant) {
  sysc::g_mutant = mutant;
  Hunt h;
  for (uint64_t seed = 1; seed <= kMaxSeeds && !h.caught; ++seed)
    for (int lanes : accel::sim_lanes()) {
      sim::LockstepDut ls(sim::make_rtl_dut(lanes, 2, seed), sysc::make_model_dut(lanes, 2, seed));
      h.cycles_run += test::stream_run(ls, seed, [&] { return ls.mismatch_cycles() > 0; });
      if (ls.mismatch_cycles() > 0) {
        h.caught = true;
        h.lanes = lanes;
        h.seed = seed;
        h.first = ls.divergences().front();
        break;
      }
    }
  sysc::g_mutant = sysc::kMutNone;
  return h;
}

TEST(SystemcMutation, UnmutatedBuildMatches) {
  sysc::g_mutant = sysc::kMutNone;
  uint64_t cycles = 0;
  for (uint64_t seed = 1; seed <= kMaxSeeds; ++seed)
    for (int lanes : accel::sim_lanes()) {
      sim::LockstepDut ls(sim::make_rtl_dut(lanes, 2, seed), sysc::make_model_dut(lanes, 2, seed));
      cycles += test::stream_run(ls, seed);
      ASSERT_EQ(ls.mismatch_cycles(), 0u) << "lanes " << lanes << " seed " << seed << ": " << ls.divergences().front().signal
                                         << " at cycle " << ls.divergences().front().cycle;
      ASSERT_GT(ls.compared_cycles(), 0u);
    }
  std::printf("[mutation] unmutated: %llu cycles, 0 mismatching\n", static_cast<unsigned long long>(cycles));
}

class Mutation : public ::testing::TestWithParam<int> {};

TEST_P(Mutation, CaughtByLockstep) {
  const int k = GetParam();
  const Hunt h = hunt(k);
  ASSERT_TRUE(h.caught) << "mutant " << sysc::mutant_name(k) << " survived " << kMaxSeeds << " seeds per LANES ("
                        << h.cycles_run << " cycles): the lock-step cannot see it";
  std::printf("[mutation] %-17s caught: LANES %d seed %llu cycle %llu (%s): %s rtl %s model %s (after %llu cycles in all)\n",
              sysc::mutant_name(k), h.lanes, static_cast<unsigned long long>(h.seed),
              static_cast<unsigned long long>(h.first.cycle), h.first.clk ? "after the edge" : "clk low",
              h.first.signal.c_str(), h.first.ref.c_str(), h.first.cand.c_str(),
              static_cast<unsigned long long>(h.cycles_run));
}

INSTANTIATE_TEST_SUITE_P(Mutants, Mutation, ::testing::Range(1, static_cast<int>(sysc::kMutCount)),
                         [](const ::testing::TestParamInfo<int>& i) { return std::string(sysc::mutant_name(i.param)); });

}  // namespace
}  // namespace nqkv
