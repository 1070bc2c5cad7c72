// docs/numerics.md section 3: the codebook tables, their construction and derived constants.
#include <gtest/gtest.h>

#include <cmath>

#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"
#include "io/error.hpp"

using namespace nqkv::golden;

TEST(Codebook, NormalQuantileConstructionReproducesBitsandbytesNF4) {
  // The table in 3.1 is copied from bitsandbytes; the construction of 3.2 is computed here from
  // normal_ppf: the two independent routes must agree on every fp32 bit.
  const auto built = normal_quantile_values(4);
  const auto& nf4 = codebook(CodebookId::NF4).values;
  ASSERT_EQ(built.size(), 16u);
  for (size_t k = 0; k < 16; ++k) EXPECT_EQ(f32_bits(static_cast<float>(built[k])), f32_bits(nf4[k])) << k;
}

TEST(Codebook, NF3AndNF2FollowTheConstruction) {
  for (auto [id, bits] : {std::pair{CodebookId::NF3, 3}, std::pair{CodebookId::NF2, 2}}) {
    const auto built = normal_quantile_values(bits);
    const auto& v = codebook(id).values;
    ASSERT_EQ(built.size(), v.size());
    for (size_t k = 0; k < v.size(); ++k) EXPECT_EQ(static_cast<float>(built[k]), v[k]) << bits << " bits, code " << k;
  }
}

TEST(Codebook, NormalPpfAgreesWithKnownQuantiles) {
  // Standard normal quantiles from statistical tables.
  EXPECT_NEAR(normal_ppf(0.975), 1.959963984540054, 1e-13);
  EXPECT_NEAR(normal_ppf(0.5), 0.0, 1e-15);
  EXPECT_NEAR(normal_ppf(0.8413447460685429), 1.0, 1e-12);
  EXPECT_NEAR(normal_ppf(0.001), -3.090232306167813, 1e-12);
}

TEST(Codebook, NF4ThresholdsAreBitsandbytesConstants) {
  // bitsandbytes' dQuantizeNF4 decision-tree constants, as decimal literals (the issue text and
  // bitsandbytes' kernels.cu); a float literal is the nearest fp32, as in C.
  const float bnb[] = {-0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
                       -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
                       0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
                       0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f};
  const auto& t = codebook(CodebookId::NF4).thresholds;
  ASSERT_EQ(t.size(), 15u);
  for (size_t k = 0; k < 15; ++k) EXPECT_EQ(f32_bits(t[k]), f32_bits(bnb[k])) << k;
  // They are the float64 midpoints of the float64 quantiles: within one fp32 ulp of the midpoint
  // of the fp32 table, and strictly between the neighbouring values.
  const auto& v = codebook(CodebookId::NF4).values;
  for (size_t k = 0; k < 15; ++k) {
    const float mid = static_cast<float>((double(v[k]) + double(v[k + 1])) / 2);
    EXPECT_LE(std::abs(static_cast<int64_t>(f32_bits(mid)) - static_cast<int64_t>(f32_bits(t[k]))), 1) << k;
    EXPECT_LT(v[k], t[k]);
    EXPECT_LT(t[k], v[k + 1]);
  }
}

TEST(Codebook, MacEntriesAndZeroCodes) {
  // Hand-derived: NF4 v8 = 0.0795803 -> 0.0795803*127 = 10.107 -> 10; v14 = 0.722957 -> 91.82 -> 92.
  const auto& nf4 = codebook(CodebookId::NF4);
  EXPECT_EQ(nf4.mac[0], -127);
  EXPECT_EQ(nf4.mac[7], 0);
  EXPECT_EQ(nf4.mac[8], 10);
  EXPECT_EQ(nf4.mac[14], 92);
  EXPECT_EQ(nf4.mac[15], 127);
  EXPECT_EQ(nf4.zero_code, 7);
  EXPECT_EQ(codebook(CodebookId::NF3).zero_code, 3);
  EXPECT_EQ(codebook(CodebookId::NF2).zero_code, 1);
  EXPECT_EQ(codebook(CodebookId::FP4).zero_code, 7);
  EXPECT_EQ(codebook(CodebookId::INT4SYM).mac[14], 127);  // 7/7 * 127
  EXPECT_EQ(codebook(CodebookId::INT4SYM).mac[8], 18);    // 1/7 * 127 = 18.14
  for (CodebookId id : all_codebooks()) {
    const auto& cb = codebook(id);
    if (cb.affine) continue;
    EXPECT_LE(cb.values.size(), size_t(1) << cb.bits) << cb.name;
    for (size_t k = 0; k < cb.values.size(); ++k) EXPECT_LE(std::fabs(cb.mac[k] / 127.0 - cb.values[k]), 1.0 / 254 + 1e-12);
    for (size_t k = 0; k + 1 < cb.values.size(); ++k) EXPECT_LT(cb.values[k], cb.values[k + 1]) << cb.name;
  }
}

TEST(Codebook, FP4ValueSetsAreTheDocumentedFractions) {
  const auto& fp4 = codebook(CodebookId::FP4).values;  // bitsandbytes' FP4
  ASSERT_EQ(fp4.size(), 15u);
  EXPECT_EQ(fp4[8], static_cast<float>(1.0 / 192));
  EXPECT_EQ(fp4[13], static_cast<float>(2.0 / 3));
  const auto& e2m1 = codebook(CodebookId::E2M1).values;  // OCP E2M1 / 6
  EXPECT_EQ(e2m1[8], static_cast<float>(0.5 / 6));
  EXPECT_EQ(e2m1[12], 0.5f);
}

TEST(Codebook, LloydMaxTableIsReproducible) {
  // Section 3.4: re-running the documented construction reproduces the frozen table (to a few
  // fp32 ulps: the construction uses libm's log/cos, the table is the normative constant).
  const auto lv = lloyd_max_block_gaussian(4, 64, 65536, 0x4e514b56, 200);
  const auto& t = codebook(CodebookId::LLOYD4).values;
  ASSERT_EQ(lv.size(), t.size());
  for (size_t k = 0; k < t.size(); ++k) EXPECT_NEAR(lv[k], t[k], 1e-6) << k;
  for (size_t k = 0; k < t.size(); ++k) EXPECT_EQ(t[k], -t[t.size() - 1 - k]);  // symmetric
}

TEST(Codebook, BitsPerElementCountsScales) {
  EXPECT_DOUBLE_EQ(bits_per_element(codebook(CodebookId::NF4), 64), 4.25);
  EXPECT_DOUBLE_EQ(bits_per_element(codebook(CodebookId::NF4), 32), 4.5);
  EXPECT_DOUBLE_EQ(bits_per_element(codebook(CodebookId::INT4), 64), 4.5);  // min + step
  EXPECT_DOUBLE_EQ(bits_per_element(codebook(CodebookId::NF2), 128), 2.125);
}

TEST(Codebook, UnknownNameIsAnInputError) {
  EXPECT_THROW(codebook_by_name("nf5"), nqkv::InputError);
  EXPECT_EQ(codebook_by_name("lloyd4").id, CodebookId::LLOYD4);
}
