// docs/numerics.md sections 4-6: encoding, packing, special values, dequantization.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include "golden/quantize.hpp"
#include "test_util.hpp"

using namespace nqkv::golden;

namespace {
const Codebook& nf4() { return codebook(CodebookId::NF4); }
}  // namespace

TEST(Encode, HandDerivedNF4Block) {
  // absmax 2 -> inv = 0.5 exactly, so xn = x / 2 exactly. Codes are the number of NF4 thresholds
  // strictly below xn (thresholds listed in docs/numerics.md 3.5):
  //   xn = 1 -> above all 15 -> 15;  -1 -> 0;  0.04 -> 7 negatives + 0.0397901 -> 8;
  //   xn = -0.045525018 (exactly the 7th threshold) -> only the 6 below it -> 6;
  //   0.5 -> 7 + {0.0398, 0.1203, 0.2035, 0.2920, 0.3893} = 12 (0.50166 is above);
  //   0 -> 7;  0.3 -> 11;  -0.65 -> only -0.848 below -> 1.
  const float x[8] = {2.0f, -2.0f, 0.08f, 2.0f * -0.045525018125772476f, 1.0f, 0.0f, 0.6f, -1.3f};
  uint8_t codes[8];
  BlockStatus st;
  const BlockScale s = quantize_block(nf4(), ElemType::F32, x, 8, codes, &st);
  const uint8_t expect[8] = {15, 0, 8, 6, 12, 7, 11, 1};
  EXPECT_EQ(st, BlockStatus::Ok);
  EXPECT_EQ(f32_from_bits(s.absmax_bits), 2.0f);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(codes[i], expect[i]) << i;
  // Packing, first element in the high nibble: 0xF0 0x86 0xC7 0xB1.
  const auto packed = pack_codes(4, codes, 8);
  EXPECT_EQ(packed, (std::vector<uint8_t>{0xF0, 0x86, 0xC7, 0xB1}));
}

TEST(Encode, NonPowerOfTwoAbsmaxUsesTheRoundedReciprocal) {
  // fp16 absmax 3: inv = fp32(1/3) = 0x3eaaaaab = 0.333333343. x = 1 -> xn = 0.333333343, which is
  // above 0.2920 and below 0.3893 -> code 11. x = -3 -> xn = fp32(-3 * 0.333333343) = -1 -> code 0.
  float x[8] = {3.0f, 1.0f, -3.0f, 0, 0, 0, 0, 0};
  uint8_t codes[8];
  quantize_block(nf4(), ElemType::F16, x, 8, codes);
  EXPECT_EQ(f32_bits(1.0f / 3.0f), 0x3eaaaaabu);
  EXPECT_EQ(codes[0], 15);
  EXPECT_EQ(codes[1], 11);
  EXPECT_EQ(codes[2], 0);
  EXPECT_EQ(codes[3], 7);
}

TEST(Encode, ValueExactlyOnAThresholdTakesTheLowerCode) {
  // With absmax 1 (fp32 input) xn = x exactly; each threshold itself gets code k, the next fp32
  // above it code k + 1 (strict comparison, section 4.1 step 5).
  for (CodebookId id : all_codebooks()) {
    const Codebook& cb = codebook(id);
    if (cb.affine) continue;
    for (size_t k = 0; k < cb.thresholds.size(); ++k) {
      const float m = cb.thresholds[k];
      float x[8] = {1.0f, m, std::nextafter(m, 2.0f), std::nextafter(m, -2.0f), 0, 0, 0, 0};
      uint8_t c[8];
      quantize_block(cb, ElemType::F32, x, 8, c);
      EXPECT_EQ(c[1], k) << cb.name << " threshold " << k;
      EXPECT_EQ(c[2], k + 1) << cb.name << " threshold " << k;
      EXPECT_EQ(c[3], k) << cb.name << " threshold " << k;
    }
  }
}

TEST(Encode, RandomBlocksSatisfyTheThresholdRule) {
  // Independent route: inv and xn recomputed in float64 and rounded to fp32 once (exact for the
  // product; for 1/a, double rounding through binary64 is innocuous since 53 >= 2*24 + 2).
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  for (int trial = 0; trial < 4000; ++trial) {
    const ElemType t = (trial % 2) ? ElemType::F16 : ElemType::BF16;
    const Codebook& cb = codebook(all_codebooks()[trial % 7]);
    const int n = 32 << (trial % 4);
    std::vector<float> x(static_cast<size_t>(n));
    const double scale = std::ldexp(1.0, static_cast<int>(rng.below(20)) - 10);
    for (auto& v : x) v = elem_to_f32(t, f32_to_elem(t, static_cast<float>(scale * rng.normal())));
    std::vector<uint8_t> c(static_cast<size_t>(n));
    const BlockScale s = quantize_block(cb, t, x.data(), n, c.data());
    double a = 0;
    for (float v : x) a = std::max(a, std::fabs(double(v)));
    ASSERT_EQ(elem_to_f32(t, s.absmax_bits), static_cast<float>(a));
    const float inv = static_cast<float>(1.0 / a);
    for (int i = 0; i < n; ++i) {
      const float xn = static_cast<float>(double(x[i]) * double(inv));
      const int k = c[i];
      if (k > 0) ASSERT_GT(xn, cb.thresholds[k - 1]) << "trial " << trial << " i " << i;
      if (k < static_cast<int>(cb.thresholds.size())) ASSERT_LE(xn, cb.thresholds[k]) << "trial " << trial << " i " << i;
    }
    // Dequantization error is at most half the largest gap times absmax (plus fp32 rounding).
    std::vector<float> y(static_cast<size_t>(n));
    dequantize_block(cb, t, s, c.data(), n, y.data());
    double gap = 0;
    for (size_t k = 0; k + 1 < cb.values.size(); ++k) gap = std::max(gap, double(cb.values[k + 1]) - cb.values[k]);
    for (int i = 0; i < n; ++i) ASSERT_LE(std::fabs(double(y[i]) - x[i]), a * (gap / 2 + 1e-6)) << "trial " << trial;
  }
}

TEST(Packing, KnownBytesForEveryWidth) {
  const uint8_t c4[4] = {1, 2, 3, 4};
  EXPECT_EQ(pack_codes(4, c4, 4), (std::vector<uint8_t>{0x12, 0x34}));
  const uint8_t c2[8] = {3, 0, 1, 2, 0, 1, 2, 3};
  // 11 00 01 10 = 0xC6, 00 01 10 11 = 0x1B
  EXPECT_EQ(pack_codes(2, c2, 8), (std::vector<uint8_t>{0xC6, 0x1B}));
  const uint8_t c3[8] = {1, 2, 3, 4, 5, 6, 7, 0};
  // 001 010 011 100 101 110 111 000 -> 00101001 11001011 10111000 = 0x29 0xCB 0xB8
  EXPECT_EQ(pack_codes(3, c3, 8), (std::vector<uint8_t>{0x29, 0xCB, 0xB8}));
}

TEST(Packing, RoundTripsRandomCodes) {
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  for (int bits : {2, 3, 4})
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<uint8_t> c(64 * (1 + rng.below(4)));
      for (auto& v : c) v = static_cast<uint8_t>(rng.below(1u << bits));
      const auto p = pack_codes(bits, c.data(), c.size());
      ASSERT_EQ(p.size(), c.size() * bits / 8);
      ASSERT_EQ(unpack_codes(bits, p.data(), c.size()), c);
    }
}

TEST(SpecialValues, AllZeroBlock) {
  for (CodebookId id : all_codebooks()) {
    const Codebook& cb = codebook(id);
    std::vector<float> x(32, 0.0f);
    x[3] = -0.0f;
    std::vector<uint8_t> c(32);
    BlockStatus st;
    const BlockScale s = quantize_block(cb, ElemType::F16, x.data(), 32, c.data(), &st);
    EXPECT_EQ(st, BlockStatus::Zero) << cb.name;
    std::vector<float> y(32);
    dequantize_block(cb, ElemType::F16, s, c.data(), 32, y.data());
    for (int i = 0; i < 32; ++i) {
      if (!cb.affine) EXPECT_EQ(c[i], cb.zero_code);
      EXPECT_EQ(y[i], 0.0f);
    }
  }
}

TEST(SpecialValues, NonFiniteBlockIsPoisonedAndReported) {
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> x(32, 1.0f);
    x[9] = bad;
    std::vector<uint8_t> c(32);
    BlockStatus st;
    const BlockScale s = quantize_block(nf4(), ElemType::F16, x.data(), 32, c.data(), &st);
    EXPECT_EQ(st, BlockStatus::NonFinite);
    EXPECT_EQ(s.absmax_bits, kF16QuietNaN);
    std::vector<float> y(32);
    dequantize_block(nf4(), ElemType::F16, s, c.data(), 32, y.data());
    for (float v : y) EXPECT_TRUE(std::isnan(v));  // never a plausible number
  }
  std::vector<uint32_t> bits(64, f32_to_f16(0.5f));
  bits[40] = 0x7c00;  // +inf in the second block
  const auto q = quantize_tensor(nf4(), ElemType::F16, 32, 1, 64, bits);
  EXPECT_EQ(q.stats.nonfinite_blocks, 1);
  EXPECT_EQ(q.stats.blocks, 2);
}

TEST(SpecialValues, Fp16SubnormalsAndMaxTakeTheNormalPath) {
  // A block of fp16 subnormals: absmax 1023 * 2^-24; the absmax element must map to the top code
  // and its negation to code 0, as for any other block.
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = f16_to_f32(static_cast<uint16_t>((i * 33) % 1024 | (i % 2 ? 0x8000 : 0)));
  x[0] = f16_to_f32(0x03ff);
  x[1] = f16_to_f32(0x83ff);
  std::vector<uint8_t> c(32);
  BlockStatus st;
  quantize_block(nf4(), ElemType::F16, x.data(), 32, c.data(), &st);
  EXPECT_EQ(st, BlockStatus::Ok);
  EXPECT_EQ(c[0], 15);
  EXPECT_EQ(c[1], 0);
  // +-65504 is an ordinary absmax.
  std::vector<float> y(32, 1000.0f);
  y[0] = 65504.0f;
  y[1] = -65504.0f;
  const BlockScale s = quantize_block(nf4(), ElemType::F16, y.data(), 32, c.data(), &st);
  EXPECT_EQ(st, BlockStatus::Ok);
  EXPECT_EQ(s.absmax_bits, 0x7bffu);
  EXPECT_EQ(c[0], 15);
  EXPECT_EQ(c[1], 0);
  EXPECT_EQ(c[2], 7);  // 1000/65504 = 0.0153 -> between -0.0455 and 0.0398 -> the zero code
}

TEST(SpecialValues, Bf16BlockBelowSmallestNormalIsFlushed) {
  std::vector<float> x(32, 0.0f);
  x[4] = bf16_to_f32(0x0040);  // 2^-127, a bf16 subnormal
  std::vector<uint8_t> c(32);
  BlockStatus st;
  const BlockScale s = quantize_block(nf4(), ElemType::BF16, x.data(), 32, c.data(), &st);
  EXPECT_EQ(st, BlockStatus::Flushed);
  EXPECT_EQ(s.absmax_bits, 0u);
  EXPECT_EQ(c[4], nf4().zero_code);
  // At exactly 2^-126 (the smallest normal) the block is quantized normally.
  x[4] = FLT_MIN;
  quantize_block(nf4(), ElemType::BF16, x.data(), 32, c.data(), &st);
  EXPECT_EQ(st, BlockStatus::Ok);
  EXPECT_EQ(c[4], 15);
}

TEST(Affine, HandDerivedInt4Block) {
  // x = -1 + 0.5 k: min -1, max 6.5, range 7.5, inv = 15/7.5 = 2 exactly -> code k, step 0.5.
  std::vector<float> x(16);
  for (int k = 0; k < 16; ++k) x[k] = -1.0f + 0.5f * k;
  std::vector<uint8_t> c(16);
  const BlockScale s = quantize_block(codebook(CodebookId::INT4), ElemType::F16, x.data(), 16, c.data());
  EXPECT_EQ(f16_to_f32(static_cast<uint16_t>(s.min_bits)), -1.0f);
  EXPECT_EQ(f16_to_f32(static_cast<uint16_t>(s.step_bits)), 0.5f);
  std::vector<float> y(16);
  dequantize_block(codebook(CodebookId::INT4), ElemType::F16, s, c.data(), 16, y.data());
  for (int k = 0; k < 16; ++k) {
    EXPECT_EQ(c[k], k);
    EXPECT_EQ(y[k], x[k]);
  }
}

TEST(Tensor, QuantizeDequantizeRoundTripShapes) {
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  for (int bits_id : {0, 1, 2}) {
    const Codebook& cb = codebook(bits_id == 0 ? CodebookId::NF4 : bits_id == 1 ? CodebookId::NF3 : CodebookId::NF2);
    std::vector<uint32_t> x(5 * 128);
    for (auto& v : x) v = f32_to_f16(static_cast<float>(rng.normal()));
    const auto q = quantize_tensor(cb, ElemType::F16, 64, 5, 128, x);
    EXPECT_EQ(q.codes.size(), 5u * 128 * cb.bits / 8);
    EXPECT_EQ(q.scales.size(), 10u);
    const auto y = dequantize_tensor(q);
    // Row r, block b of the tensor equals quantizing that block alone.
    std::vector<float> blk(64);
    std::vector<uint8_t> c(64);
    for (int i = 0; i < 64; ++i) blk[i] = f16_to_f32(static_cast<uint16_t>(x[3 * 128 + 64 + i]));
    const BlockScale s = quantize_block(cb, ElemType::F16, blk.data(), 64, c.data());
    std::vector<float> yb(64);
    dequantize_block(cb, ElemType::F16, s, c.data(), 64, yb.data());
    for (int i = 0; i < 64; ++i) EXPECT_EQ(y[3 * 128 + 64 + i], yb[i]);
  }
}
