// KiviKVStore: the float rows attention reads mirror the KIVI cache at every step, bit for bit.
#include <gtest/gtest.h>

#include <vector>

#include "golden/float_formats.hpp"
#include "golden/rng.hpp"
#include "io/error.hpp"
#include "workloads/llama/kv_store.hpp"

namespace nqkv::llama {
namespace {

Config small_config() {
  Config c;
  c.dim = 128, c.hidden_dim = 172, c.n_layers = 2, c.n_heads = 8, c.n_kv_heads = 4, c.vocab_size = 512, c.seq_len = 512;
  return c;  // head_size 16, kv_dim 64
}

std::vector<float> normals(int n, uint64_t seed, double outlier_every = 0) {
  golden::SplitMix64 rng(seed);
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i)
    x[i] = static_cast<float>(rng.normal() * (outlier_every > 0 && i % 13 == 3 ? outlier_every : 1.0));
  return x;
}

KVFormat kivi(const std::string& name, int g, int r, const std::string& tensors = "kv") {
  KVFormat f{name, g, "kivi", golden::ElemType::F16, tensors};
  f.kivi_residual = r;
  return f;
}

TEST(KiviStore, WindowLongerThanSequenceIsTheF16CacheBitForBit) {
  const Config c = small_config();
  const int T = 50;
  const auto k = normals(T * c.kv_dim(), 1, 8), v = normals(T * c.kv_dim(), 2), q = normals(c.dim, 3);
  auto ks = make_kv_store(c, kivi("kivi2", 16, 64));
  FloatKVStore f16(c, golden::ElemType::F16);
  std::vector<float> a(c.dim), b(c.dim);
  for (int t = 0; t < T; ++t) {
    ks->append(0, &k[t * c.kv_dim()], &v[t * c.kv_dim()]);
    f16.append(0, &k[t * c.kv_dim()], &v[t * c.kv_dim()]);
    ks->attend(0, q.data(), a.data());
    f16.attend(0, q.data(), b.data());
    for (int i = 0; i < c.dim; ++i) ASSERT_EQ(golden::f32_bits(a[i]), golden::f32_bits(b[i])) << t << " " << i;
  }
}

// At every step the store's attention equals FloatKVStore attention over a fresh copy of what the
// KIVI cache holds at that step (its dequantized and fp16 rows), so no stale row survives a flush.
TEST(KiviStore, AttentionReadsTheCacheAsItIsAtEachStep) {
  const Config c = small_config();
  const int T = 70;
  for (const char* tensors : {"kv", "k", "v"}) {
    const auto k = normals(T * c.kv_dim(), 4, 8), v = normals(T * c.kv_dim(), 5), q = normals(c.dim, 6);
    KiviKVStore store(c, kivi("kivi4", 8, 16, tensors).kivi_config());
    std::vector<float> a(c.dim), b(c.dim);
    for (int t = 0; t < T; ++t) {
      store.append(1, &k[t * c.kv_dim()], &v[t * c.kv_dim()]);
      store.attend(1, q.data(), a.data());
      FloatKVStore copy(c, golden::ElemType::F32);
      const auto& cache = store.cache(1);
      for (int s = 0; s <= t; ++s) copy.append(1, &cache.keys()[s * c.kv_dim()], &cache.values()[s * c.kv_dim()]);
      copy.attend(1, q.data(), b.data());
      for (int i = 0; i < c.dim; ++i) ASSERT_EQ(golden::f32_bits(a[i]), golden::f32_bits(b[i])) << tensors << " " << t;
      ASSERT_EQ(store.keys(1), cache.keys());
      ASSERT_EQ(store.values(1), cache.values());
    }
    const auto& cache = store.cache(1);
    EXPECT_EQ(cache.k_quantized_tokens(), std::string(tensors) == "v" ? 0 : 64);  // 69 - 69 % 16
    EXPECT_EQ(cache.v_quantized_tokens(), std::string(tensors) == "k" ? 0 : 53);  // 69 - 16
    EXPECT_EQ(store.cache(0).tokens(), 0);
    store.reset();
    EXPECT_EQ(store.cache(1).tokens(), 0);
    EXPECT_EQ(store.tokens(1), 0);
  }
}

TEST(KiviStore, FormatLabelsBitsAndErrors) {
  const Config c = small_config();
  KVFormat f = kivi("kivi2", 16, 32);
  f.context = 128;
  EXPECT_EQ(f.label(), "kivi2/G16/R32");
  // K: 128 % 32 == 0, so all 128 tokens at 2 + 32/16 = 4 bits; V: 96 at 4 bits, the newest 32 in fp16.
  EXPECT_DOUBLE_EQ(f.bits_per_element(), 0.5 * (4.0 + (96 * 4.0 + 32 * 16.0) / 128));
  f.tensors = "k";
  EXPECT_DOUBLE_EQ(f.bits_per_element(), 4.0);
  EXPECT_THROW(make_kv_store(c, kivi("kivi4", 32, 64)), InputError);  // G 32 > head_size 16
  EXPECT_THROW(make_kv_store(c, kivi("kivi4", 8, 12)), InputError);   // R not a multiple of G
  EXPECT_THROW(make_kv_store(c, kivi("kivi4", 8, 16, "q")), InputError);
}

}  // namespace
}  // namespace nqkv::llama
