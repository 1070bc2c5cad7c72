// The quantized KV path really goes through golden::decode_attention, and the zero-padded-query
// layout (one quantization block spanning several kv heads) computes per-head attention.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "golden/attention.hpp"
#include "golden/reference.hpp"
#include "golden/rng.hpp"
#include "test_util.hpp"
#include "workloads/llama/kv_store.hpp"

namespace nqkv::llama {
namespace {

Config small_config() {
  Config c;
  c.dim = 64, c.hidden_dim = 172, c.n_layers = 2, c.n_heads = 8, c.n_kv_heads = 4, c.vocab_size = 512, c.seq_len = 512;
  return c;
}

struct Data {
  std::vector<float> k, v, q;  // tokens x kv_dim, tokens x kv_dim, dim
};
// K with a few large channels (like real keys), V Gaussian, values rounded to fp16.
Data make_data(const Config& c, int tokens, uint64_t seed) {
  golden::SplitMix64 rng(seed);
  Data d;
  auto f16 = [](double x) { return golden::f16_to_f32(golden::f32_to_f16(static_cast<float>(x))); };
  for (int t = 0; t < tokens; ++t)
    for (int i = 0; i < c.kv_dim(); ++i) {
      d.k.push_back(f16(rng.normal() * (i % 7 == 3 ? 4.0 : 1.0)));
      d.v.push_back(f16(rng.normal()));
    }
  for (int i = 0; i < c.dim; ++i) d.q.push_back(static_cast<float>(rng.normal()));
  return d;
}

TEST(GoldenPath, StoreOutputIsGoldenDecodeAttentionBitForBit) {
  const Config c = small_config();
  const Data d = make_data(c, 40, 1);
  const golden::Codebook& cb = golden::codebook_by_name("nf4");
  GoldenKVStore store(c, cb, golden::ElemType::F16, 32);
  golden::QuantKVCache direct(cb, golden::ElemType::F16, 1, 32, 32);
  for (int t = 0; t < 40; ++t) {
    store.append(1, d.k.data() + t * 32, d.v.data() + t * 32);
    direct.append(d.k.data() + t * 32, d.v.data() + t * 32);
  }
  std::vector<float> out(c.dim);
  store.attend(1, d.q.data(), out.data());
  EXPECT_EQ(store.decode_attention_calls(), 1);
  EXPECT_EQ(store.cache(1).tokens(), 40);
  EXPECT_EQ(store.cache(0).tokens(), 0);
  // Build the padded query by hand: head h's 8 values at kv head h/2's offset, zeros elsewhere.
  std::vector<float> qpad(8 * 32, 0.f);
  for (int h = 0; h < 8; ++h)
    for (int i = 0; i < 8; ++i) qpad[h * 32 + (h / 2) * 8 + i] = d.q[h * 8 + i];
  golden::AttentionConfig cfg;
  cfg.q_heads = 8;
  cfg.sm_scale = 1.0f / std::sqrt(8.0f);
  const std::vector<float> ref = golden::decode_attention(direct, qpad.data(), cfg);
  for (int h = 0; h < 8; ++h)
    for (int i = 0; i < 8; ++i)
      EXPECT_EQ(golden::f32_bits(out[h * 8 + i]), golden::f32_bits(ref[h * 32 + (h / 2) * 8 + i])) << h << "," << i;
}

TEST(GoldenPath, PaddedLayoutMatchesNativePerHeadLayoutAtBlock8) {
  // With block 8 = head_dim, the golden cache can also be built per head (kv_heads 4, head_dim 8).
  // The padded-query layout must give the same softmax logits U_t bit for bit (same blocks, same
  // fixed-point query: the padding zeros do not change its scale, exact integer scores). The
  // outputs agree closely but not bitwise: the value form's partition exponent is taken over the
  // whole 32-element row (all four heads' V scales) instead of one head's, which changes the
  // 16-bit value weights' rounding.
  const Config c = small_config();
  const Data d = make_data(c, 70, 2);
  for (const char* name : {"nf4", "nf3", "nf2", "fp4"}) {
    const golden::Codebook& cb = golden::codebook_by_name(name);
    GoldenKVStore store(c, cb, golden::ElemType::F16, 8);
    golden::QuantKVCache native(cb, golden::ElemType::F16, 4, 8, 8);
    for (int t = 0; t < 70; ++t) {
      store.append(0, d.k.data() + t * 32, d.v.data() + t * 32);
      native.append(d.k.data() + t * 32, d.v.data() + t * 32);
    }
    std::vector<float> out(c.dim);
    store.attend(0, d.q.data(), out.data());
    golden::AttentionConfig cfg;
    cfg.q_heads = 8;
    cfg.sm_scale = 1.0f / std::sqrt(8.0f);
    golden::AttentionTrace tn, tp;
    const std::vector<float> ref = golden::decode_attention(native, d.q.data(), cfg, &tn);
    const std::vector<float> qpad = GoldenKVStore::padded_query(c, d.q.data());
    const std::vector<float> padded = golden::decode_attention(store.cache(0), qpad.data(), cfg, &tp);
    ASSERT_EQ(tn.logits.size(), 8u * 70);
    EXPECT_EQ(tn.logits, tp.logits) << name;
    double err = 0, norm = 0;
    for (int i = 0; i < c.dim; ++i) {
      err = std::max(err, static_cast<double>(std::fabs(out[i] - ref[i])));
      norm = std::max(norm, static_cast<double>(std::fabs(ref[i])));
      EXPECT_EQ(golden::f32_bits(out[i]), golden::f32_bits(padded[(i / 8) * 32 + (i / 16) * 8 + i % 8]));
    }
    EXPECT_LT(err, 1e-3 * norm) << name;
  }
}

TEST(GoldenPath, BlockSpanningHeadsMatchesPerHeadFloat64Reference) {
  // Block 32 spans all four kv heads. Per-head float64 attention over the cache as the MAC sees it
  // (mac[code]/127 * scale; only the head's 8-element slice) must agree with the integer
  // pipeline's output up to its fixed-point softmax and value weights.
  const Config c = small_config();
  const Data d = make_data(c, 100, 3);
  const golden::Codebook& cb = golden::codebook_by_name("nf4");
  GoldenKVStore store(c, cb, golden::ElemType::F16, 32);
  for (int t = 0; t < 100; ++t) store.append(0, d.k.data() + t * 32, d.v.data() + t * 32);
  std::vector<float> out(c.dim);
  store.attend(0, d.q.data(), out.data());
  std::vector<double> K, V;
  golden::mac_dequantized_cache(store.cache(0), K, V);  // 100 x 1 x 32
  ASSERT_EQ(K.size(), 100u * 32);
  double err = 0, norm = 0;
  for (int h = 0; h < 8; ++h) {
    const int off = (h / 2) * 8;
    std::vector<double> s(100);
    double mx = -1e300;
    for (int t = 0; t < 100; ++t) {
      double dot = 0;
      for (int i = 0; i < 8; ++i) dot += static_cast<double>(d.q[h * 8 + i]) * K[t * 32 + off + i];
      s[t] = dot / std::sqrt(8.0);
      mx = std::max(mx, s[t]);
    }
    double sum = 0;
    for (double& x : s) sum += (x = std::exp(x - mx));
    for (int i = 0; i < 8; ++i) {
      double o = 0;
      for (int t = 0; t < 100; ++t) o += s[t] / sum * V[t * 32 + off + i];
      err = std::max(err, std::fabs(o - out[h * 8 + i]));
      norm = std::max(norm, std::fabs(o));
    }
  }
  EXPECT_LT(err, 2e-3 * norm + 1e-4) << "max abs error " << err << ", max |output| " << norm;
  // ...while a query that reads the wrong slice (the unpadded float attention of another kv head)
  // would differ by far more: the check above is not vacuous.
  EXPECT_GT(norm, 0.05);
}

TEST(GoldenPath, ModelForwardUsesGoldenAttentionEveryLayer) {
  NQKV_REQUIRE_TINYLLAMAS();
  Model m(load_checkpoint(test::data_file("stories260K.bin")));
  GoldenKVStore golden_kv(m.config(), golden::codebook_by_name("nf4"), golden::ElemType::F16, 32);
  DequantKVStore dequant_kv(m.config(), golden::codebook_by_name("nf4"), golden::ElemType::F16, 32);
  FloatKVStore float_kv(m.config());
  const std::vector<int> toks = {1, 403, 407, 261, 378, 324, 263, 342, 306, 425, 260, 269};
  double d_gold_float = 0, d_gold_deq = 0;
  for (int pos = 0; pos < static_cast<int>(toks.size()); ++pos) {
    const std::vector<float> lg = m.forward(toks[pos], pos, golden_kv);
    const std::vector<float> ld = m.forward(toks[pos], pos, dequant_kv);
    const std::vector<float> lf = m.forward(toks[pos], pos, float_kv);
    for (size_t i = 0; i < lg.size(); ++i) {
      ASSERT_TRUE(std::isfinite(lg[i]));
      d_gold_float = std::max(d_gold_float, static_cast<double>(std::fabs(lg[i] - lf[i])));
      d_gold_deq = std::max(d_gold_deq, static_cast<double>(std::fabs(lg[i] - ld[i])));
    }
  }
  EXPECT_EQ(golden_kv.decode_attention_calls(), 5 * static_cast<int64_t>(toks.size()));
  EXPECT_EQ(golden_kv.stats().blocks, 2 * 5 * static_cast<int64_t>(toks.size()));  // K and V, 1 block per row
  EXPECT_GT(d_gold_float, 1e-3);  // the cache really is quantized
  // The integer MAC path and the exact-dequant float path see the same codes; they differ by the
  // MAC's 8-bit codebook entries and fixed-point softmax only, far less than quantization itself.
  EXPECT_LT(d_gold_deq, d_gold_float);
}

}  // namespace
}  // namespace nqkv::llama
