// The contract constants and register fields named once: the register map generated from
// rtl/data/nq_accel_regs.json (models/accel/regmap.hpp, also the RTL's nq_accel_regs.svh) agrees
// with the golden library and with AccelConfig's PARAMS word. Compile-time checks; the test
// itself only makes the binary a registered test.
#include <gtest/gtest.h>

#include "golden/attention.hpp"
#include "models/accel/accel_config.hpp"
#include "models/accel/regmap.hpp"

namespace {

namespace reg = nqkv::accel::reg;

static_assert(reg::kScoreGuardBits == nqkv::golden::kScoreGuardBits, "G differs between the RTL and golden");
static_assert(reg::kScoreShiftLimit == reg::kScoreGuardBits + 63, "the score shift limit is G + 63");

constexpr nqkv::accel::AccelConfig kCfg{8, 128, 3, 64, 40, 2};
constexpr uint32_t field(uint32_t word, uint32_t shift, uint32_t mask) { return (word >> shift) & mask; }
static_assert(field(kCfg.params_word(), reg::kParamsAccWShift, reg::kParamsAccWMask) == 40);
static_assert(field(kCfg.params_word(), reg::kParamsBitsMaxShift, reg::kParamsBitsMaxMask) == 3);
static_assert(field(kCfg.params_word(), reg::kParamsDivSpsShift, reg::kParamsDivSpsMask) == 2);
static_assert(field(kCfg.params_word(), reg::kParamsLanesShift, reg::kParamsLanesMask) == 8);
static_assert(field(kCfg.params_word(), reg::kParamsLog2BlockMaxShift, reg::kParamsLog2BlockMaxMask) == 7);

TEST(Contract, RegisterMapMatchesGoldenAndAccelConfig) {
  EXPECT_EQ(reg::kScoreGuardBits, nqkv::golden::kScoreGuardBits);
  EXPECT_EQ(reg::kIdValue, (uint32_t{'N'} << 24) | (uint32_t{'Q'} << 16) | (uint32_t{'K'} << 8) | uint32_t{'V'});
}

}  // namespace
