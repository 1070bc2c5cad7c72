// Lock-step of the verilated RTL (reference) and the cycle model (candidate): both run the same
// pins every cycle through sim::LockstepDut, which compares every handshake, reg_rdata and every
// valid output beat on every evaluation; the harness additionally checks the results against the
// golden library. Zero mismatching cycles required. Seeds are printed on failure.
#include <gtest/gtest.h>

#include <cstdio>
#include <tuple>

#include "models/systemc/model_dut.hpp"
#include "random_runs.hpp"
#include "sim/common/lockstep_dut.hpp"
#include "sim/rtl/rtl_dut.hpp"

namespace nqkv {
namespace {

std::unique_ptr<sim::LockstepDut> lockstep(int lanes, uint64_t seed) {
  return std::make_unique<sim::LockstepDut>(sim::make_rtl_dut(lanes, 2, seed), sysc::make_model_dut(lanes, 2, seed));
}

std::string first_divergences(const sim::LockstepDut& d) {
  std::string s;
  for (const auto& v : d.divergences())
    s += "  cycle " + std::to_string(v.cycle) + (v.clk ? " post-edge " : " clk-low ") + v.signal + ": rtl " + v.ref +
         " model " + v.cand + "\n";
  return s;
}

// Every register address (and the query window) read back through reg_rdata in lock-step,
// around legal and illegal configurations and counter clears.
TEST(SystemcLockstep, RegisterSweep) {
  for (int lanes : accel::sim_lanes()) {
    auto ls = lockstep(lanes, 3);
    sim::LockstepDut* d = ls.get();
    sim::HarnessOptions ho;
    ho.seed = 3;
    sim::Harness h(std::move(ls), ho);
    h.load_codebook(golden::codebook_by_name("nf4"));
    golden::SplitMix64 rng(11);
    for (int round = 0; round < 40; ++round) {
      const uint32_t addr[] = {sim::reg::kCfg, sim::reg::kBlock, sim::reg::kNblk, sim::reg::kCbN, sim::reg::kCtrl};
      h.write_reg(addr[rng.below(5)], static_cast<uint32_t>(rng.next()) & (rng.below(2) ? 0x1ffu : 0xffffffffu));
      for (uint32_t a = 0; a < 0x40; ++a) h.read_reg(a);
      h.read_reg(0x100 + static_cast<uint32_t>(rng.below(256)));
      h.read_reg(static_cast<uint32_t>(rng.next() & 0xfff));
    }
    EXPECT_EQ(d->mismatch_cycles(), 0u) << "lanes " << lanes << "\n" << first_divergences(*d);
    EXPECT_TRUE(h.errors().empty()) << h.errors();
  }
}

// Pin-level stream runs (test::stream_run): concurrent quantizer and MAC streams, back-to-back
// (overlapping) score and value passes of 1..6 tokens, random gaps, a status/counter register
// read every cycle. No golden results here: the lock-step is the check.
TEST(SystemcLockstep, OverlappingStreams) {
  for (int lanes : accel::sim_lanes()) {
    uint64_t cycles = 0, compared = 0;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      sim::LockstepDut d(sim::make_rtl_dut(lanes, 2, seed), sysc::make_model_dut(lanes, 2, seed));
      cycles += test::stream_run(d, seed);
      compared += d.compared_cycles();
      EXPECT_EQ(d.mismatch_cycles(), 0u) << "lanes " << lanes << ", stream seed " << seed << "\n" << first_divergences(d);
      const std::string e = d.take_errors();  // RTL assertions and divergences
      EXPECT_TRUE(e.empty()) << "lanes " << lanes << ", stream seed " << seed << "\n" << e;
    }
    std::printf("[lock-step] lanes %d stream seeds 1..20: %llu cycles run, %llu compared\n", lanes,
                static_cast<unsigned long long>(cycles), static_cast<unsigned long long>(compared));
  }
}

// 80 seeds per LANES (8 chunks of 10, one CTest process each) at LANES 4, 16 and 64, plus the 20
// stream seeds per LANES above: 300 seeded random lock-step runs per CTest run.
class LockstepRandom : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(LockstepRandom, ZeroMismatchingCycles) {
  const int lanes = std::get<0>(GetParam()), chunk = std::get<1>(GetParam());
  bool built = false;
  for (int l : accel::sim_lanes()) built |= l == lanes;
  if (!built) GTEST_SKIP() << "no verilated model with LANES " << lanes;
  constexpr int kSeedsPerChunk = 10;
  uint64_t cycles = 0, compared = 0, bad = 0;
  for (int i = 0; i < kSeedsPerChunk; ++i) {
    const uint64_t seed = static_cast<uint64_t>(chunk * kSeedsPerChunk + i + 1);
    uint64_t cc = 0, mc = 0;
    std::string div;
    const auto r = test::random_run(lockstep(lanes, seed), seed, 2, i == 0, [&](sim::Dut& dut) {
      auto& d = static_cast<sim::LockstepDut&>(dut);
      cc = d.compared_cycles();
      mc = d.mismatch_cycles();
      div = first_divergences(d);
    });
    cycles += r.cycles;
    compared += cc;
    bad += mc;
    EXPECT_EQ(mc, 0u) << r.what << "\n" << div;
    EXPECT_EQ(r.mismatches, 0) << r.what << "\n" << r.report;
    EXPECT_GT(cc, 0u) << r.what;
  }
  std::printf("[lock-step] lanes %d seeds %d..%d: %llu cycles compared, %llu mismatching\n", lanes,
              chunk * kSeedsPerChunk + 1, chunk * kSeedsPerChunk + kSeedsPerChunk, static_cast<unsigned long long>(compared),
              static_cast<unsigned long long>(bad));
}

INSTANTIATE_TEST_SUITE_P(Seeds, LockstepRandom,
                         ::testing::Combine(::testing::Values(4, 16, 64), ::testing::Range(0, 8)),
                         [](const ::testing::TestParamInfo<std::tuple<int, int>>& i) {
                           return "L" + std::to_string(std::get<0>(i.param)) + "_" + std::to_string(std::get<1>(i.param));
                         });

}  // namespace
}  // namespace nqkv
