// docs/numerics.md section 9: decode attention with GQA over the quantized cache.
#include <gtest/gtest.h>

#include <cmath>

#include "golden/reference.hpp"
#include "io/error.hpp"
#include "test_util.hpp"

using namespace nqkv::golden;

namespace {
QuantKVCache random_cache(const Codebook& cb, ElemType t, int hkv, int d, int block, int tokens, SplitMix64& rng,
                          double kscale = 1.0) {
  QuantKVCache c(cb, t, hkv, d, block);
  std::vector<float> k(static_cast<size_t>(hkv) * d), v(k.size());
  for (int tok = 0; tok < tokens; ++tok) {
    for (size_t i = 0; i < k.size(); ++i) {
      k[i] = elem_to_f32(t, f32_to_elem(t, static_cast<float>(kscale * rng.normal() * ((i % 17 == 3) ? 8 : 1))));
      v[i] = elem_to_f32(t, f32_to_elem(t, static_cast<float>(rng.normal())));
    }
    c.append(k.data(), v.data());
  }
  return c;
}
}  // namespace

TEST(Attention, MatchesFloat64ReferenceWithinTheStatedBound) {
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  struct S {
    CodebookId cb;
    int hq, hkv, d, b, t;
  };
  for (const S s : {S{CodebookId::NF4, 8, 2, 128, 64, 700}, S{CodebookId::NF3, 4, 4, 64, 32, 100},
                    S{CodebookId::NF2, 8, 1, 256, 128, 1030}, S{CodebookId::LLOYD4, 4, 1, 128, 32, 513}}) {
    const Codebook& cb = codebook(s.cb);
    const auto cache = random_cache(cb, ElemType::F16, s.hkv, s.d, s.b, s.t, rng);
    std::vector<float> q(static_cast<size_t>(s.hq) * s.d);
    for (auto& x : q) x = static_cast<float>(rng.normal());
    const auto out = decode_attention(cache, q.data(), AttentionConfig{s.hq, 0.0f});
    std::vector<double> K, V;
    mac_dequantized_cache(cache, K, V);
    const auto ref = reference_attention(std::vector<double>(q.begin(), q.end()), K, V, s.t, s.hq, s.hkv, s.d,
                                         1.0 / std::sqrt(double(s.d)));
    double err = 0, norm = 0, vmax = 0;
    for (double x : V) vmax = std::max(vmax, std::fabs(x));
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_TRUE(std::isfinite(out[i]));
      err = std::max(err, std::fabs(out[i] - ref[i]));
      norm += ref[i] * ref[i];
    }
    // Section 10 end-to-end bound with eps_s from the score bound (|q| ~ N(0,1), sm = d^-1/2):
    // 2 ln2 (2^-11 + eps_s) vmax + T_p 2^-16 vmax / sum p. sum p >= 1 at the maximum token.
    const double eps_s = 64 * std::ldexp(1.0, -15) * 1.4427;  // generous: sum|k| * 2^-15 relative
    const double bound = 2 * std::log(2.0) * (std::ldexp(1.0, -11) + eps_s) * vmax + 512 * std::ldexp(1.0, -16) * vmax;
    EXPECT_LE(err, bound) << cb.name << " T=" << s.t;
    EXPECT_LT(err / std::sqrt(norm / out.size()), 2e-2) << cb.name;
  }
}

TEST(Attention, SingleTokenReturnsItsValue) {
  // One token: p = 1, so o = deq(V) up to the weight rounding (W = m 2^(15+x-e) is exact for a
  // single fp16 scale, so o_i = C_i/127 * s exactly up to the final fp32 rounding).
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  const auto cache = random_cache(codebook(CodebookId::NF4), ElemType::F16, 1, 64, 64, 1, rng);
  std::vector<float> q(64);
  for (auto& x : q) x = static_cast<float>(rng.normal());
  const auto out = decode_attention(cache, q.data(), AttentionConfig{1, 0.0f});
  std::vector<double> K, V;
  mac_dequantized_cache(cache, K, V);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(out[i], static_cast<float>(V[i])) << i;
}

TEST(Attention, GqaHeadsReadTheirKvHead) {
  // Query heads 0..3 read kv head 0 and 4..7 kv head 1: giving heads 1 and 5 the same query as
  // head 0 must reproduce head 0's output on head 1 but (generally) not on head 5.
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  const auto cache = random_cache(codebook(CodebookId::NF4), ElemType::BF16, 2, 64, 32, 40, rng);
  std::vector<float> q(8 * 64);
  for (auto& x : q) x = static_cast<float>(rng.normal());
  for (int i = 0; i < 64; ++i) q[64 + i] = q[5 * 64 + i] = q[i];
  const auto out = decode_attention(cache, q.data(), AttentionConfig{8, 0.0f});
  int same5 = 0;
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(f32_bits(out[i]), f32_bits(out[64 + i]));
    same5 += out[i] == out[5 * 64 + i];
  }
  EXPECT_LT(same5, 64);
}

TEST(Attention, PartitionPartialsCombineToTheOutput) {
  // The combine of section 9.2 applied to the traced partials reproduces the output bits, and the
  // partials are what a split-K kernel would hand over (three partitions here).
  NQKV_SEEDED(seed);
  SplitMix64 rng(seed);
  const auto cache = random_cache(codebook(CodebookId::NF4), ElemType::F16, 1, 128, 64, 1200, rng, 3.0);
  std::vector<float> q(128);
  for (auto& x : q) x = static_cast<float>(rng.normal());
  AttentionTrace tr;
  const auto out = decode_attention(cache, q.data(), AttentionConfig{1, 0.0f}, &tr);
  ASSERT_EQ(tr.parts.size(), 3u);
  const auto again = combine_partitions(tr.parts, 128);
  for (int i = 0; i < 128; ++i) EXPECT_EQ(f32_bits(again[i]), f32_bits(out[i]));
  for (const auto& p : tr.parts) EXPECT_GT(p.L, (uint64_t(1) << 31) - 1);  // the max token contributes 2^31
}

TEST(Attention, RejectsNonFiniteQueryAndPoisonedCache) {
  SplitMix64 rng(7);
  auto cache = random_cache(codebook(CodebookId::NF4), ElemType::F16, 1, 64, 64, 3, rng);
  std::vector<float> q(64, 0.5f);
  q[10] = NAN;
  EXPECT_THROW(decode_attention(cache, q.data(), AttentionConfig{1, 0.0f}), nqkv::InputError);
  q[10] = 0.5f;
  std::vector<float> k(64, 1.0f), v(64, 1.0f);
  v[3] = INFINITY;
  const auto st = cache.append(k.data(), v.data());
  EXPECT_EQ(st.nonfinite_blocks, 1);
  EXPECT_THROW(decode_attention(cache, q.data(), AttentionConfig{1, 0.0f}), nqkv::InputError);
  QuantKVCache two(codebook(CodebookId::NF4), ElemType::F16, 2, 64, 64);
  two.append(std::vector<float>(128, 1.0f).data(), std::vector<float>(128, 1.0f).data());
  std::vector<float> q3(3 * 64, 0.5f);
  EXPECT_THROW(decode_attention(two, q3.data(), AttentionConfig{3, 0.0f}), nqkv::InputError);  // 3 heads over 2 kv heads
}

TEST(Attention, CacheShapeKeepsTheIntegerWidthsOfSection72) {
  // Up to 8 blocks per head and blocks of at most 256 keep |P_b| < 2^30 and |S_t| < 2^63.
  EXPECT_NO_THROW(QuantKVCache(codebook(CodebookId::NF4), ElemType::F16, 1, 256, 32));
  EXPECT_THROW(QuantKVCache(codebook(CodebookId::NF4), ElemType::F16, 1, 256, 16), nqkv::InputError);
  EXPECT_THROW(QuantKVCache(codebook(CodebookId::NF4), ElemType::F16, 1, 512, 512), nqkv::InputError);
  EXPECT_THROW(QuantKVCache(codebook(CodebookId::NF4), ElemType::F16, 1, 96, 12), nqkv::InputError);
  EXPECT_THROW(QuantKVCache(codebook(CodebookId::NF4), ElemType::F32, 1, 64, 64), nqkv::InputError);
  EXPECT_THROW(QuantKVCache(codebook(CodebookId::INT4), ElemType::F16, 1, 64, 64), nqkv::InputError);
}
