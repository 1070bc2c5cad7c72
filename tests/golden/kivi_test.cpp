// KIVI-style quantization (golden/kivi.hpp): hand-derived known answers, the analytic round-trip
// bound on seeded random groups, corner cases, and the cache's residual-window schedule.
#include "golden/kivi.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "golden/float_formats.hpp"
#include "io/error.hpp"
#include "test_util.hpp"

namespace nqkv::golden::kivi {
namespace {

float f16(uint16_t b) { return f16_to_f32(b); }

TEST(Kivi, FourBitIntegersAreExact) {
  // mn = 0, mx = 15: r = 15, s = 15/15 = 1, codes = x, dequantized exactly.
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[i] = static_cast<float>((i * 7) % 16);
  std::vector<uint8_t> c(16);
  GroupStatus st;
  const GroupParams p = quantize_group(4, x.data(), 16, 1, c.data(), &st);
  EXPECT_EQ(st, GroupStatus::Ok);
  EXPECT_EQ(p.scale_bits, 0x3c00);  // 1.0
  EXPECT_EQ(p.zero_bits, 0x0000);   // 0.0
  for (int i = 0; i < 16; ++i) EXPECT_EQ(c[i], (i * 7) % 16);
  std::vector<float> y(16);
  dequantize_group(p, st, c.data(), 16, 1, y.data());
  for (int i = 0; i < 16; ++i) EXPECT_EQ(y[i], x[i]);
}

TEST(Kivi, TwoBitHandDerived) {
  // x = {1, 2, 1.5, 1.25}, b = 2 (k = 3): mn = 1, r = 1, s = fp16(1/3) = 0x3555 = 0.333251953125.
  // (x - mn) / s: 0; 1/s = 3.000732... -> fp16 3.0 -> 3; 0.5/s = 1.500366... -> fp16 1.5 (ulp 2^-10)
  // -> ties to even: 2; 0.25/s = 0.750183... -> fp16 0.75 (ulp 2^-11) -> 1 (0.75 rounds up).
  // Dequantized: 1, 3s + 1 = 1.999755859375, 2s + 1 = 1.66650390625, s + 1 = 1.333251953125.
  const float x[4] = {1.f, 2.f, 1.5f, 1.25f};
  uint8_t c[4];
  GroupStatus st;
  const GroupParams p = quantize_group(2, x, 4, 1, c, &st);
  EXPECT_EQ(st, GroupStatus::Ok);
  EXPECT_EQ(p.scale_bits, 0x3555);
  EXPECT_EQ(f16(p.scale_bits), 0.333251953125f);
  EXPECT_EQ(p.zero_bits, 0x3c00);
  EXPECT_EQ(c[0], 0);
  EXPECT_EQ(c[1], 3);
  EXPECT_EQ(c[2], 2);
  EXPECT_EQ(c[3], 1);
  float y[4];
  dequantize_group(p, st, c, 4, 1, y);
  EXPECT_EQ(y[0], 1.f);
  EXPECT_EQ(y[1], 1.999755859375f);
  EXPECT_EQ(y[2], 1.66650390625f);
  EXPECT_EQ(y[3], 1.333251953125f);
}

TEST(Kivi, RoundsHalfToEven) {
  // s = 1 (mn = -3, mx = 12): x - mn = 2.5 -> 2, 3.5 -> 4, 0.5 -> 0, 14.5 -> 14.
  const float x[6] = {-3.f, 12.f, -0.5f, 0.5f, -2.5f, 11.5f};
  uint8_t c[6];
  const GroupParams p = quantize_group(4, x, 6, 1, c);
  EXPECT_EQ(f16(p.scale_bits), 1.f);
  EXPECT_EQ(f16(p.zero_bits), -3.f);
  const int want[6] = {0, 15, 2, 4, 0, 14};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c[i], want[i]) << i;
}

TEST(Kivi, StridedGroupReadsAndWritesOnlyItsElements) {
  // A key group is one channel over G tokens: stride = channels.
  std::vector<float> x = {0.f, 100.f, 1.f, -100.f, 2.f, 100.f, 3.f, -100.f};  // channel 0: 0,1,2,3
  std::vector<uint8_t> c(8, 0xAA);
  const GroupParams p = quantize_group(2, x.data(), 4, 2, c.data());
  EXPECT_EQ(f16(p.scale_bits), 1.f);
  EXPECT_EQ(f16(p.zero_bits), 0.f);
  const std::vector<uint8_t> want = {0, 0xAA, 1, 0xAA, 2, 0xAA, 3, 0xAA};
  EXPECT_EQ(c, want);
}

TEST(Kivi, ConstantGroupSingleElementAndTinyRange) {
  for (int bits : {2, 4}) {
    const float x[3] = {-1.75f, -1.75f, -1.75f};
    uint8_t c[3];
    GroupStatus st;
    GroupParams p = quantize_group(bits, x, 3, 1, c, &st);
    EXPECT_EQ(st, GroupStatus::ZeroRange);
    float y[3];
    dequantize_group(p, st, c, 3, 1, y);
    for (float v : y) EXPECT_EQ(v, -1.75f);
    p = quantize_group(bits, x, 1, 1, c, &st);  // single token
    EXPECT_EQ(st, GroupStatus::ZeroRange);
    dequantize_group(p, st, c, 1, 1, y);
    EXPECT_EQ(y[0], -1.75f);
    // Range of one fp16 subnormal ulp: r = 2^-24, r / k rounds to 0 in fp16 -> zero-range group.
    const float t[2] = {0.f, std::ldexp(1.f, -24)};
    p = quantize_group(bits, t, 2, 1, c, &st);
    EXPECT_EQ(st, GroupStatus::ZeroRange);
    EXPECT_EQ(p.scale_bits, 0);
  }
}

TEST(Kivi, NonFiniteAndOverflowingRange) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf}) {
    const float x[3] = {1.f, bad, 2.f};
    uint8_t c[3];
    GroupStatus st;
    const GroupParams p = quantize_group(4, x, 3, 1, c, &st);
    EXPECT_EQ(st, GroupStatus::NonFinite);
    float y[3];
    dequantize_group(p, st, c, 3, 1, y);
    for (float v : y) EXPECT_TRUE(std::isnan(v));
  }
  // 1e6 rounds to +inf in fp16: non-finite, never a plausible number.
  const float big[2] = {0.f, 1e6f};
  uint8_t c[2];
  GroupStatus st;
  quantize_group(4, big, 2, 1, c, &st);
  EXPECT_EQ(st, GroupStatus::NonFinite);
  // Range 131008 overflows fp16, so s = fp16(fp32(131008) / 15) = fp16(8733.87) = 8736 (spacing 8 in
  // [8192, 16384)).
  const float w[3] = {-65504.f, 65504.f, 0.f};
  uint8_t c3[3];
  const GroupParams p = quantize_group(4, w, 3, 1, c3, &st);
  EXPECT_EQ(st, GroupStatus::Ok);
  EXPECT_EQ(f16(p.scale_bits), 8736.f);
  EXPECT_EQ(c3[0], 0);
  EXPECT_EQ(c3[1], 15);  // fp16(65504 + 65504) = inf, inf / s = inf, clamped to 15
  // x = 0: d = 65504, d / s = 7.49817 -> fp16 7.5 (spacing 2^-8 in [4, 8)) -> ties to even: 8.
  EXPECT_EQ(c3[2], 8);
}

// The analytic bound. With u = 2^-11 (fp16's relative rounding), k = 2^b - 1 and e = x - mn:
// d = fp16(e) has |d - e| <= u e (+ 2^-25 if subnormal); q = fp16(d / s) has |q - d/s| <= u d/s;
// rounding q to a code costs at most 1/2, and clamping q > k costs q - k <= k((1+u)^2/(1-u)^2 - 1)
// < 1/2 for k <= 31; y = fp32(code s + mn) adds 2^-24 |y|. So for a finite group with a normal s:
// |y - x| <= s/2 + (2u + u^2)(mx - mn) + 2^-24 |y| + 2^-25, with s <= (mx - mn)/k (1 + u)^2.
TEST(Kivi, RandomRoundTripWithinAnalyticBound) {
  NQKV_SEEDED(seed);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  std::uniform_real_distribution<float> lg(-6.f, 6.f);
  const double u = std::ldexp(1.0, -11);
  int64_t checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const int bits = (trial % 2) ? 2 : 4, k = (1 << bits) - 1;
    const int n = 1 + static_cast<int>(rng() % 128);
    const float scale = std::exp2(lg(rng)), shift = g(rng) * scale * (trial % 3 == 0 ? 10.f : 0.f);
    std::vector<float> x(n);
    for (auto& v : x) v = round_f16(shift + scale * (trial % 5 == 0 ? g(rng) / std::max(0.05f, std::fabs(g(rng))) : g(rng)));
    std::vector<float> y(n);
    const GroupStatus st = roundtrip_group(bits, x.data(), n, 1, y.data());
    double mn = x[0], mx = x[0];
    for (float v : x) mn = std::min<double>(mn, v), mx = std::max<double>(mx, v);
    if (st == GroupStatus::ZeroRange) {
      for (int i = 0; i < n; ++i) ASSERT_LE(std::fabs(y[i] - x[i]), (mx - mn) + 1e-30);
      continue;
    }
    ASSERT_EQ(st, GroupStatus::Ok);
    if ((mx - mn) / k < std::ldexp(1.0, -13)) {  // s may be an fp16 subnormal: only the trivial bound
      for (int i = 0; i < n; ++i) ASSERT_LE(std::fabs(y[i] - x[i]), (mx - mn) + k * std::ldexp(1.0, -24));
      continue;
    }
    const double smax = (mx - mn) / k * (1 + u) * (1 + u);
    for (int i = 0; i < n; ++i) {
      const double bound = smax / 2 + (2 * u + u * u) * (mx - mn) + std::ldexp(std::fabs(y[i]), -24) + std::ldexp(1.0, -25);
      ASSERT_LE(std::fabs(static_cast<double>(y[i]) - x[i]), bound)
          << "bits " << bits << " n " << n << " i " << i << " x " << x[i] << " y " << y[i];
      ++checked;
    }
  }
  EXPECT_GT(checked, 100000);
}

// The bound is not vacuous: the worst case over many Gaussian groups comes within 10% of it.
TEST(Kivi, BoundIsTight) {
  NQKV_SEEDED(seed);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  double worst = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> x(64), y(64);
    for (auto& v : x) v = round_f16(g(rng));
    roundtrip_group(4, x.data(), 64, 1, y.data());
    double mn = x[0], mx = x[0];
    for (float v : x) mn = std::min<double>(mn, v), mx = std::max<double>(mx, v);
    for (int i = 0; i < 64; ++i) worst = std::max(worst, std::fabs(y[i] - x[i]) / ((mx - mn) / 15 / 2));
  }
  // In units of (mx - mn)/30, the analytic bound is (1+u)^2 + 30 (2u + u^2) + (fp32 terms) < 1.031;
  // the fp16 rounding of x - mn and of the quotient does show up (seen: 1.0137 > (1+u)^2).
  EXPECT_GT(worst, 0.9);
  EXPECT_LE(worst, 1.031);
}

TEST(Kivi, TensorRoundTripLayouts) {
  // 4 tokens x 4 channels; keys per channel over groups of 2 tokens, values per token over 2 channels.
  const std::vector<float> x = {0, 10, 5, 1,   //
                                3, 20, 5, 2,   //
                                1, 0, -1, 8,   //
                                2, 0, 3, 8};
  const std::vector<float> k = roundtrip_keys(x.data(), 4, 4, 2, 2);
  // channel 0 tokens 0-1: {0, 3}, s = 1: exact; channel 1 tokens 0-1: {10, 20}, s = fp16(10/3).
  EXPECT_EQ(k[0], 0.f);
  EXPECT_EQ(k[4], 3.f);
  EXPECT_EQ(k[1], 10.f);
  EXPECT_EQ(k[5], 3 * round_f16(10.f / 3.f) + 10.f);
  EXPECT_EQ(k[2], 5.f);  // constant channel group
  EXPECT_EQ(k[6], 5.f);
  const std::vector<float> v = roundtrip_values(x.data(), 4, 4, 2, 2);
  EXPECT_EQ(v[0], 0.f);  // token 0 channels 0-1: {0, 10}
  EXPECT_EQ(v[1], 3 * round_f16(10.f / 3.f));
  // A final partial token group of keys stays in fp16.
  const std::vector<float> k3 = roundtrip_keys(x.data(), 3, 4, 2, 2);
  for (int c = 0; c < 4; ++c) EXPECT_EQ(k3[8 + c], x[8 + c]);
  EXPECT_THROW(roundtrip_values(x.data(), 4, 4, 2, 3), InputError);
}

TEST(Kivi, ConfigValidation) {
  Config c;
  EXPECT_NO_THROW(validate(c, 64));
  c.group = 128;
  EXPECT_THROW(validate(c, 64), InputError);  // a value group must stay inside one head
  c = Config{};
  c.residual = 48;
  EXPECT_THROW(validate(c, 64), InputError);  // not a multiple of G
  c.residual = 0;
  EXPECT_THROW(validate(c, 64), InputError);
  c = Config{};
  c.k_bits = 0;
  EXPECT_THROW(validate(c, 64), InputError);
  c.k_bits = 9;
  EXPECT_THROW(validate(c, 64), InputError);
}

TEST(Kivi, BitsPerElement) {
  Config c;  // 4 bits, G 32, R 128
  // Quantized part: 4 + 32/32 = 5 bits.
  EXPECT_DOUBLE_EQ(k_bits_per_element(c, 4096), 5.0);                       // 4096 % 128 == 0
  EXPECT_DOUBLE_EQ(v_bits_per_element(c, 4096), (3968 * 5.0 + 128 * 16.0) / 4096);
  EXPECT_DOUBLE_EQ(k_bits_per_element(c, 100), 16.0);                       // window larger than context
  EXPECT_DOUBLE_EQ(v_bits_per_element(c, 100), 16.0);
  EXPECT_DOUBLE_EQ(k_bits_per_element(c, 200), (128 * 5.0 + 72 * 16.0) / 200);
  c.k_bits = c.v_bits = 2;
  c.group = 64;
  EXPECT_DOUBLE_EQ(k_bits_per_element(c, 1024), 2.5);
  c.quantize_v = false;
  EXPECT_DOUBLE_EQ(v_bits_per_element(c, 1024), 16.0);
  EXPECT_DOUBLE_EQ(bits_per_element(c, 1024), (2.5 + 16.0) / 2);
}

// The residual schedule: at token t's attention K holds t - t mod R quantized tokens, V max(0, t - R).
TEST(Kivi, CacheScheduleAndStoredForm) {
  NQKV_SEEDED(seed);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  Config c;
  c.group = 4;
  c.residual = 8;
  c.k_bits = 4;
  c.v_bits = 2;
  const int ch = 16, hd = 8, T = 37;
  LayerCache cache(c, ch, hd);
  std::vector<float> K(T * ch), V(T * ch);
  for (auto& v : K) v = g(rng) * 3;
  for (auto& v : V) v = g(rng);
  for (int t = 0; t < T; ++t) {
    cache.append(&K[t * ch], &V[t * ch]);
    ASSERT_EQ(cache.tokens(), t + 1);
    ASSERT_EQ(cache.k_quantized_tokens(), t - t % c.residual) << t;
    ASSERT_EQ(cache.v_quantized_tokens(), std::max(0, t - c.residual)) << t;
    // fp16 part: exactly the rounded inputs.
    for (int64_t s = cache.k_quantized_tokens(); s <= t; ++s)
      for (int i = 0; i < ch; ++i) ASSERT_EQ(cache.keys()[s * ch + i], round_f16(K[s * ch + i]));
    for (int64_t s = cache.v_quantized_tokens(); s <= t; ++s)
      for (int i = 0; i < ch; ++i) ASSERT_EQ(cache.values()[s * ch + i], round_f16(V[s * ch + i]));
  }
  // Quantized part: equal bit for bit to the tensor round trips (an independent loop order).
  const int64_t kq = cache.k_quantized_tokens(), vq = cache.v_quantized_tokens();
  const std::vector<float> kr = roundtrip_keys(K.data(), kq, ch, c.k_bits, c.group);
  const std::vector<float> vr = roundtrip_values(V.data(), vq, ch, c.v_bits, c.group);
  for (int64_t i = 0; i < kq * ch; ++i) ASSERT_EQ(f32_bits(cache.keys()[i]), f32_bits(kr[i])) << i;
  for (int64_t i = 0; i < vq * ch; ++i) ASSERT_EQ(f32_bits(cache.values()[i]), f32_bits(vr[i])) << i;
  EXPECT_EQ(cache.k_groups().size(), static_cast<size_t>(kq / c.group * ch));
  EXPECT_EQ(cache.v_groups().size(), static_cast<size_t>(vq * (ch / c.group)));
  // Stored codes dequantize to the view.
  for (int64_t g0 = 0; g0 < kq / c.group; ++g0)
    for (int i = 0; i < ch; ++i) {
      const GroupParams& p = cache.k_groups()[g0 * ch + i];
      for (int j = 0; j < c.group; ++j) {
        const int64_t e = (g0 * c.group + j) * ch + i;
        ASSERT_EQ(cache.keys()[e], cache.k_codes()[e] * f16(p.scale_bits) + f16(p.zero_bits));
      }
    }
  cache.clear();
  EXPECT_EQ(cache.tokens(), 0);
}

TEST(Kivi, WindowLargerThanSequenceKeepsFp16) {
  Config c;  // R 128
  LayerCache cache(c, 64, 64);
  std::vector<float> k(64), v(64);
  for (int t = 0; t < 100; ++t) {
    for (int i = 0; i < 64; ++i) k[i] = 0.001f * (t * 64 + i), v[i] = -k[i];
    cache.append(k.data(), v.data());
  }
  EXPECT_EQ(cache.k_quantized_tokens(), 0);
  EXPECT_EQ(cache.v_quantized_tokens(), 0);
  EXPECT_EQ(cache.stats().groups, 0);
  EXPECT_EQ(cache.keys()[99 * 64 + 5], round_f16(0.001f * (99 * 64 + 5)));
}

TEST(Kivi, OnlyKOrOnlyV) {
  Config c;
  c.group = 2;
  c.residual = 2;
  c.quantize_v = false;
  LayerCache cache(c, 2, 2);
  const float rows[5][2] = {{0.1f, 5.f}, {0.7f, -5.f}, {0.3f, 1.f}, {0.2f, 2.f}, {1.f, 1.f}};
  for (auto& r : rows) cache.append(r, r);
  EXPECT_EQ(cache.k_quantized_tokens(), 4);
  EXPECT_EQ(cache.v_quantized_tokens(), 0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(cache.values()[i], round_f16(rows[i / 2][i % 2]));
}

}  // namespace
}  // namespace nqkv::golden::kivi
