// docs/numerics.md sections 7-8: the dequant-MAC forms and the fixed-point softmax pieces.
#include <gtest/gtest.h>
#include <quadmath.h>

#include <cmath>

#include "golden/attention.hpp"
#include "test_util.hpp"

using namespace nqkv::golden;

TEST(Query, FixedPointScalingIsHandDerivable) {
  // max |q| = 3 -> floor(log2 3) = 1 -> sq = 13; q * 2^13: 3 -> 24576, -0.5 -> -4096, 1e-3 -> 8.192 -> 8.
  const float q[4] = {3.0f, -0.5f, 1e-3f, 0.0f};
  const FixedQuery f = quantize_query(q, 4);
  EXPECT_EQ(f.shift, 13);
  EXPECT_EQ(f.q, (std::vector<int16_t>{24576, -4096, 8, 0}));
  // max just below 2^15 after scaling rounds up and is clamped: 0.99999994 * 2^15 -> 32767.998 -> 32767.
  const float r[2] = {std::nextafter(1.0f, 0.0f), -std::nextafter(1.0f, 0.0f)};
  const FixedQuery g = quantize_query(r, 2);
  EXPECT_EQ(g.shift, 15);
  EXPECT_EQ(g.q[0], 32767);
  EXPECT_EQ(g.q[1], -32767);
}

TEST(ScoreMac, HandDerivedSingleBlock) {
  // One fp16 block with absmax 2 (m = 1024, x = -9: 2 = 1024 * 2^-9). NF4 codes 15 and 0 have MAC
  // entries +127 and -127. q = (1, 1, 0...) -> sq = 14, Q = (16384, 16384).
  // codes (15, 0): P = 16384*127 - 16384*127 = 0; codes (15, 15): P = 2*16384*127 = 4161536.
  // x_t = -9, S = m * P * 2^19 = 1024 * 4161536 * 524288, score = S * 2^(x - G - sq) / 127
  //   = 1024 * 4161536 * 2^(-9-14) / 127 = 4.0 (= 1*2 + 1*2, the dequantized keys are +-2).
  const Codebook& cb = codebook(CodebookId::NF4);
  float qf[32] = {1.0f, 1.0f};
  const FixedQuery q = quantize_query(qf, 32);
  ASSERT_EQ(q.shift, 14);
  std::vector<uint8_t> codes(32, 7);
  codes[0] = 15;
  codes[1] = 15;
  BlockScale s;
  s.absmax_bits = f32_to_f16(2.0f);
  const TokenScore ts = score_mac(cb, ElemType::F16, q, codes.data(), &s, 32, 32);
  EXPECT_EQ(ts.x, -9);
  EXPECT_EQ(ts.S, int64_t(1024) * 4161536 * 524288);
  EXPECT_DOUBLE_EQ(std::ldexp(double(ts.S), ts.x - kScoreGuardBits - q.shift) / 127.0, 4.0);
}

TEST(ScoreMac, ErrorBoundAgainstFloat64) {
  // Section 10: |s - s*| <= 2^-sq * sum |k~| + nblocks * 2^(x_t - G - sq) / 127, with k~ the
  // MAC-dequantized key. Random fp16/bf16 tokens with block scales spread over many binades.
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  for (int trial = 0; trial < 3000; ++trial) {
    const ElemType t = trial % 2 ? ElemType::F16 : ElemType::BF16;
    const Codebook& cb = codebook(all_codebooks()[trial % 6]);
    const int D = 64 << (trial % 3), B = 32 << (trial % 2);
    std::vector<float> k(static_cast<size_t>(D)), q(static_cast<size_t>(D));
    for (int i = 0; i < D; ++i) {
      const double blk_scale = std::ldexp(1.0, static_cast<int>((i / B) * 3 % 11) - 5);
      k[i] = elem_to_f32(t, f32_to_elem(t, static_cast<float>(blk_scale * rng.normal())));
      q[i] = static_cast<float>(rng.normal() * 4);
    }
    std::vector<uint8_t> codes(static_cast<size_t>(D));
    std::vector<BlockScale> sc(static_cast<size_t>(D / B));
    for (int b = 0; b < D / B; ++b) sc[b] = quantize_block(cb, t, k.data() + b * B, B, codes.data() + b * B);
    const FixedQuery fq = quantize_query(q.data(), D);
    const TokenScore ts = score_mac(cb, t, fq, codes.data(), sc.data(), D, B);
    double exact = 0, sum_abs = 0;
    for (int i = 0; i < D; ++i) {
      const double kt = cb.mac[codes[i]] / 127.0 * elem_to_f32(t, sc[i / B].absmax_bits);
      exact += double(q[i]) * kt;
      sum_abs += std::fabs(kt);
    }
    const double got = std::ldexp(double(ts.S), ts.x - kScoreGuardBits - fq.shift) / 127.0;
    const double bound = std::ldexp(sum_abs, -fq.shift) + (D / B) * std::ldexp(1.0, ts.x - kScoreGuardBits - fq.shift) / 127 +
                         1e-12 * (std::fabs(exact) + sum_abs);
    ASSERT_LE(std::fabs(got - exact), bound) << "trial " << trial;
  }
}

TEST(ScoreMac, BlockPartialIsOrderIndependent) {
  // Integer accumulation: any permutation of a block's elements gives the same partial.
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  const Codebook& cb = codebook(CodebookId::NF4);
  std::vector<int16_t> q(256);
  std::vector<uint8_t> c(256);
  for (int i = 0; i < 256; ++i) {
    q[i] = static_cast<int16_t>(static_cast<int>(rng.below(65535)) - 32767);
    c[i] = static_cast<uint8_t>(rng.below(16));
  }
  const int32_t p = block_dot(cb, q.data(), c.data(), 256);
  for (int r = 0; r < 20; ++r) {
    for (int i = 255; i > 0; --i) {
      const int j = static_cast<int>(rng.below(static_cast<uint64_t>(i) + 1));
      std::swap(q[i], q[j]);
      std::swap(c[i], c[j]);
    }
    EXPECT_EQ(block_dot(cb, q.data(), c.data(), 256), p);
  }
}

TEST(Softmax, Exp2TableMatchesA113BitComputation) {
  // Independent route: libquadmath's exp2q (113-bit significand). Each entry must be the nearest
  // integer to 2^(31 + f/1024), and no entry may sit within 2^-20 of a rounding tie (so the
  // long-double construction cannot have rounded the wrong way).
  const auto& T = exp2_table();
  for (int f = 0; f < 1024; ++f) {
    const __float128 v = exp2q(31 + static_cast<__float128>(f) / 1024);
    const __float128 r = roundq(v);
    EXPECT_EQ(T[f], static_cast<uint32_t>(r)) << f;
    const __float128 frac = v - floorq(v);
    EXPECT_GT(fabsq(frac - static_cast<__float128>(0.5)), static_cast<__float128>(1.0) / (1 << 20)) << f;
  }
  // Hand values: 2^31 exactly; 2^31.5 = 3037000499.976 -> 3037000500.
  EXPECT_EQ(T[0], 2147483648u);
  EXPECT_EQ(T[512], 3037000500u);
}

TEST(Softmax, Exp2FixedShiftsByWholeOctaves) {
  EXPECT_EQ(exp2_fixed(0), 2147483648u);          // 2^31
  EXPECT_EQ(exp2_fixed(-1024), 1073741824u);      // 2^30
  EXPECT_EQ(exp2_fixed(-512), 3037000500u >> 1);  // n = -1, f = 512
  EXPECT_EQ(exp2_fixed(-1), exp2_table()[1023] >> 1);
  EXPECT_EQ(exp2_fixed(-32 * 1024), 0u);
  EXPECT_EQ(exp2_fixed(-31 * 1024), 1u);  // 2^31 >> 31
}

TEST(Softmax, LogitConversionMatchesTheScaledScore) {
  // U/1024 ~= s * sm_scale * log2 e within 2^-11 + 2^-40 |s| (section 10).
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  const float sm = static_cast<float>(1.0 / std::sqrt(128.0));
  const int64_t c = softmax_scale_fixed(sm);
  EXPECT_EQ(c, 282621773679);  // docs/numerics.md 8.1
  for (int i = 0; i < 10000; ++i) {
    TokenScore s;
    s.S = static_cast<int64_t>(rng.next() >> (1 + rng.below(40))) * (rng.below(2) ? 1 : -1);
    s.x = static_cast<int>(rng.below(30)) - 24;
    const int sq = static_cast<int>(rng.below(30));
    const double score = std::ldexp(double(s.S), s.x - kScoreGuardBits - sq) / 127.0;
    const double want = score * sm * 1.4426950408889634;
    if (std::fabs(want) > 1e9) continue;
    const double got = score_to_log2_fixed(s, sq, c) / 1024.0;
    ASSERT_LE(std::fabs(got - want), std::ldexp(1.0, -11) + 1e-11 * std::fabs(want)) << i;
  }
}

TEST(ValueMac, WeightIsTheRoundedProduct) {
  // p = 1 (E = 2^31) on a scale of exactly 2^e_p gives W = 2^15; half of it gives 2^14.
  const uint32_t two = f32_to_f16(2.0f);  // e = 1
  EXPECT_EQ(value_weight(1u << 31, ElemType::F16, two, 1), 32768);
  EXPECT_EQ(value_weight(1u << 30, ElemType::F16, two, 1), 16384);
  EXPECT_EQ(value_weight(1u << 31, ElemType::F16, f32_to_f16(1.0f), 1), 16384);  // scale 1 against e_p = 1
  // Largest scale in its binade with p = 1 is clamped: 3.998 * 2^15 / 2 -> 65504 -> kept.
  EXPECT_EQ(value_weight(1u << 31, ElemType::F16, f32_to_f16(3.998046875f), 1), 65504);
  EXPECT_EQ(value_weight(0, ElemType::F16, two, 1), 0);
  EXPECT_EQ(scale_exponent(ElemType::F16, f32_to_f16(3.0f)), 1);
  EXPECT_EQ(scale_exponent(ElemType::F16, 0x0001), -24);
  EXPECT_EQ(scale_exponent(ElemType::BF16, f32_to_bf16(0.75f)), -1);
}
