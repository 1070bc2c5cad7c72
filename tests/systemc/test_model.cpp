// The cycle model alone (no RTL needed): registers, and seeded random runs through the harness
// against the golden library at every LANES the model supports (4, 16, 64).
#include <gtest/gtest.h>

#include <cstdio>

#include "models/systemc/model_dut.hpp"
#include "random_runs.hpp"

namespace nqkv {
namespace {

TEST(SystemcModel, Registers) {
  for (int lanes : {4, 16, 64}) {
    sim::HarnessOptions ho;
    sim::Harness h(sysc::make_model_dut(lanes, 2, 7), ho);
    const accel::AccelConfig cfg = accel::AccelConfig::sim(lanes);
    EXPECT_EQ(h.read_reg(sim::reg::kId), 0x4e514b56u);
    EXPECT_EQ(h.read_reg(sim::reg::kParams), cfg.params_word());
    EXPECT_EQ(h.read_reg(0x007), 256u);
    EXPECT_EQ(h.read_reg(sim::reg::kCfg), 4u << 2);
    EXPECT_EQ(h.read_reg(sim::reg::kStatus), 0u);
    h.write_reg(sim::reg::kBlock, 12);  // not a multiple of 8: err_cfg
    EXPECT_EQ(h.read_reg(sim::reg::kStatus), 8u);
    h.write_reg(sim::reg::kMac + 3, 0xf0);
    EXPECT_EQ(h.read_reg(sim::reg::kMac + 3), 0xfffffff0u);
    h.write_reg(sim::reg::kThr + 14, 0x12345678);
    EXPECT_EQ(h.read_reg(sim::reg::kThr + 14), 0x12345678u);
    EXPECT_EQ(h.read_reg(sim::reg::kThr + 15), 0u);  // NTHR = 15
  }
}

class ModelRandom : public ::testing::TestWithParam<int> {};

TEST_P(ModelRandom, MatchesGolden) {
  const int lanes = GetParam();
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    const auto r = test::random_run(sysc::make_model_dut(lanes, 2, seed), seed, 2, seed == 1);
    EXPECT_GT(r.compared, 0) << r.what;
    EXPECT_EQ(r.mismatches, 0) << r.what << "\n" << r.report;
    std::printf("[model] %s: %lld values compared, %llu cycles\n", r.what.c_str(), static_cast<long long>(r.compared),
                static_cast<unsigned long long>(r.cycles));
  }
}

INSTANTIATE_TEST_SUITE_P(Lanes, ModelRandom, ::testing::Values(4, 16, 64));

}  // namespace
}  // namespace nqkv
