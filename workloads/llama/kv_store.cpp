#include "workloads/llama/kv_store.hpp"

#include <cmath>
#include <exception>

#include "io/error.hpp"
#include "workloads/llama/simd.hpp"

namespace nqkv::llama {

FloatKVStore::FloatKVStore(const Config& c, golden::ElemType round_to)
    : c_(c), kv_dim_(c.kv_dim()), round_(round_to), k_(c.n_layers), v_(c.n_layers), att_(c.seq_len) {}

void FloatKVStore::reset() {
  for (auto& x : k_) x.clear();
  for (auto& x : v_) x.clear();
}

void FloatKVStore::store_row(const float* in, float* out) {
  for (int i = 0; i < kv_dim_; ++i)
    out[i] = round_ == golden::ElemType::F32 ? in[i] : golden::elem_to_f32(round_, golden::f32_to_elem(round_, in[i]));
}

void FloatKVStore::append(int layer, const float* k, const float* v) {
  auto& K = k_.at(layer);
  auto& V = v_.at(layer);
  const size_t off = K.size();
  K.resize(off + kv_dim_);
  V.resize(off + kv_dim_);
  store_row(k, K.data() + off);
  store_row(v, V.data() + off);
}

void FloatKVStore::attend(int layer, const float* q, float* out) {
  const int hs = c_.head_size(), kv_mul = c_.n_heads / c_.n_kv_heads;
  const int64_t T = tokens(layer);
  if (static_cast<int64_t>(att_.size()) < T) att_.resize(T);
  const float* K = k_[layer].data();
  const float* V = v_[layer].data();
  const float inv = std::sqrt(static_cast<float>(hs));
  // The AVX2 kernels (attend_avx2.cpp) give the scalar loops' results bit for bit.
  const bool simd = detail::have_avx2() && hs % 8 == 0 && hs <= 256;
  for (int h = 0; h < c_.n_heads; ++h) {
    const float* qh = q + h * hs;
    const int off = (h / kv_mul) * hs;
    if (simd) {
      detail::attend_scores_avx2(qh, K + off, kv_dim_, T, hs, inv, att_.data());
    } else {
      for (int64_t t = 0; t < T; ++t) {
        const float* kt = K + t * kv_dim_ + off;
        float score = 0.f;
        for (int i = 0; i < hs; ++i) score += qh[i] * kt[i];
        att_[t] = score / inv;
      }
    }
    float mx = att_[0];
    for (int64_t t = 1; t < T; ++t) mx = std::max(mx, att_[t]);
    float sum = 0.f;
    for (int64_t t = 0; t < T; ++t) {
      att_[t] = std::exp(att_[t] - mx);
      sum += att_[t];
    }
    for (int64_t t = 0; t < T; ++t) att_[t] /= sum;
    float* oh = out + h * hs;
    if (simd) {
      detail::attend_values_avx2(att_.data(), V + off, kv_dim_, T, hs, oh);
      continue;
    }
    std::fill(oh, oh + hs, 0.f);
    for (int64_t t = 0; t < T; ++t) {
      const float* vt = V + t * kv_dim_ + off;
      const float a = att_[t];
      for (int i = 0; i < hs; ++i) oh[i] += a * vt[i];
    }
  }
}

namespace {
void check_block(const Config& c, int block) {
  if (block <= 0 || c.kv_dim() % block != 0)
    throw InputError("block size " + std::to_string(block) + " does not divide the model's K/V row of kv_dim = " +
                     std::to_string(c.kv_dim()) + " elements (n_kv_heads x head_dim)");
}
}  // namespace

DequantKVStore::DequantKVStore(const Config& c, const golden::Codebook& cb, golden::ElemType type, int block,
                               bool quantize_k, bool quantize_v)
    : FloatKVStore(c, golden::ElemType::F32),
      quantize_k_(quantize_k),
      quantize_v_(quantize_v),
      cb_(&cb),
      type_(type),
      block_(block) {
  check_block(c, block);
  rounded_.resize(kv_dim_);
  codes_.resize(block);
}

void DequantKVStore::append(int layer, const float* k, const float* v) {
  auto& K = k_.at(layer);
  auto& V = v_.at(layer);
  const size_t off = K.size();
  K.resize(off + kv_dim_);
  V.resize(off + kv_dim_);
  current_is_quantized_ = quantize_k_;
  store_row(k, K.data() + off);
  current_is_quantized_ = quantize_v_;
  store_row(v, V.data() + off);
}

void DequantKVStore::store_row(const float* in, float* out) {
  if (!current_is_quantized_) {
    std::copy_n(in, kv_dim_, out);
    return;
  }
  for (int i = 0; i < kv_dim_; ++i) rounded_[i] = golden::elem_to_f32(type_, golden::f32_to_elem(type_, in[i]));
  for (int b = 0; b < kv_dim_; b += block_) {
    golden::BlockStatus st = golden::BlockStatus::Ok;
    const golden::BlockScale s = golden::quantize_block(*cb_, type_, rounded_.data() + b, block_, codes_.data(), &st);
    golden::dequantize_block(*cb_, type_, s, codes_.data(), block_, out + b);
    ++stats_.blocks;
    if (st == golden::BlockStatus::Zero) ++stats_.zero_blocks;
    if (st == golden::BlockStatus::Flushed) ++stats_.flushed_blocks;
    if (st == golden::BlockStatus::NonFinite) ++stats_.nonfinite_blocks;
  }
}

GoldenKVStore::GoldenKVStore(const Config& c, const golden::Codebook& cb, golden::ElemType type, int block)
    : c_(c), cb_(&cb), type_(type), block_(block) {
  check_block(c, block);
  kr_.resize(c.kv_dim());
  vr_.resize(c.kv_dim());
  reset();
}

void GoldenKVStore::reset() {
  caches_.clear();
  caches_.reserve(c_.n_layers);
  try {
    for (int l = 0; l < c_.n_layers; ++l) caches_.emplace_back(*cb_, type_, 1, c_.kv_dim(), block_);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError("the golden quantized KV cache rejects block " + std::to_string(block_) + " over rows of " +
                     std::to_string(c_.kv_dim()) + " (" + e.what() + "); use the dequant path for this block size");
  }
}

void GoldenKVStore::append(int layer, const float* k, const float* v) {
  for (int i = 0; i < c_.kv_dim(); ++i) {
    kr_[i] = golden::elem_to_f32(type_, golden::f32_to_elem(type_, k[i]));
    vr_[i] = golden::elem_to_f32(type_, golden::f32_to_elem(type_, v[i]));
  }
  const golden::QuantStats s = caches_.at(layer).append(kr_.data(), vr_.data());
  stats_.blocks += s.blocks;
  stats_.zero_blocks += s.zero_blocks;
  stats_.flushed_blocks += s.flushed_blocks;
  stats_.nonfinite_blocks += s.nonfinite_blocks;
}

std::vector<float> GoldenKVStore::padded_query(const Config& c, const float* q) {
  const int hs = c.head_size(), kv_dim = c.kv_dim(), kv_mul = c.n_heads / c.n_kv_heads;
  std::vector<float> p(static_cast<size_t>(c.n_heads) * kv_dim, 0.f);
  for (int h = 0; h < c.n_heads; ++h)
    std::copy_n(q + h * hs, hs, p.data() + static_cast<size_t>(h) * kv_dim + (h / kv_mul) * hs);
  return p;
}

void GoldenKVStore::attend(int layer, const float* q, float* out) {
  const int hs = c_.head_size(), kv_dim = c_.kv_dim(), kv_mul = c_.n_heads / c_.n_kv_heads;
  qpad_ = padded_query(c_, q);
  golden::AttentionConfig cfg;
  cfg.q_heads = c_.n_heads;
  cfg.sm_scale = 1.0f / std::sqrt(static_cast<float>(hs));
  const std::vector<float> o = golden::decode_attention(caches_.at(layer), qpad_.data(), cfg);
  ++calls_;
  for (int h = 0; h < c_.n_heads; ++h)
    std::copy_n(o.data() + static_cast<size_t>(h) * kv_dim + (h / kv_mul) * hs, hs, out + h * hs);
}

KiviKVStore::KiviKVStore(const Config& c, const golden::kivi::Config& kc) : FloatKVStore(c, golden::ElemType::F32) {
  caches_.reserve(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) caches_.emplace_back(kc, c.kv_dim(), c.head_size());
}

void KiviKVStore::reset() {
  FloatKVStore::reset();
  for (auto& x : caches_) x.clear();
}

// The float rows mirror the KIVI cache: the new token's fp16 row is appended, and rows that this
// append's flush quantized (K: R tokens at a time, V: one) are overwritten with their dequantized
// values. Attention is FloatKVStore::attend on those rows.
void KiviKVStore::append(int layer, const float* k, const float* v) {
  golden::kivi::LayerCache& cache = caches_.at(layer);
  const int64_t kq0 = cache.k_quantized_tokens(), vq0 = cache.v_quantized_tokens();
  cache.append(k, v);
  auto& K = k_[layer];
  auto& V = v_[layer];
  K.insert(K.end(), cache.keys().end() - kv_dim_, cache.keys().end());
  V.insert(V.end(), cache.values().end() - kv_dim_, cache.values().end());
  std::copy(cache.keys().begin() + kq0 * kv_dim_, cache.keys().begin() + cache.k_quantized_tokens() * kv_dim_,
            K.begin() + kq0 * kv_dim_);
  std::copy(cache.values().begin() + vq0 * kv_dim_, cache.values().begin() + cache.v_quantized_tokens() * kv_dim_,
            V.begin() + vq0 * kv_dim_);
}

golden::kivi::Stats KiviKVStore::stats() const {
  golden::kivi::Stats s;
  for (const auto& c : caches_) {
    s.groups += c.stats().groups;
    s.zero_range_groups += c.stats().zero_range_groups;
    s.nonfinite_groups += c.stats().nonfinite_groups;
  }
  return s;
}

golden::kivi::Config KVFormat::kivi_config() const {
  golden::kivi::Config k;
  k.k_bits = k.v_bits = name == "kivi2" ? 2 : 4;
  k.group = block;
  k.residual = kivi_residual;
  k.quantize_k = tensors != "v";
  k.quantize_v = tensors != "k";
  return k;
}

std::string KVFormat::label() const {
  if (!quantized()) return name;
  if (kivi())
    return name + "/G" + std::to_string(block) + "/R" + std::to_string(kivi_residual) +
           (tensors == "kv" ? "" : "/" + tensors + "-only");
  return name + "/B" + std::to_string(block) + "/" + path + (tensors == "kv" ? "" : "/" + tensors + "-only");
}

double KVFormat::bits_per_element() const {
  if (name == "f32") return 32;
  if (name == "f16" || name == "bf16") return 16;
  if (kivi()) {  // like the codebook rows: the bits of the quantized tensor(s)
    const golden::kivi::Config k = kivi_config();
    const int64_t L = context > 0 ? context : kivi_residual;
    return tensors == "k" ? golden::kivi::k_bits_per_element(k, L)
           : tensors == "v" ? golden::kivi::v_bits_per_element(k, L)
                            : golden::kivi::bits_per_element(k, L);
  }
  return golden::bits_per_element(golden::codebook_by_name(name), block, golden::elem_bits(type));
}

std::unique_ptr<KVStore> make_kv_store(const Config& c, const KVFormat& f) {
  if (f.name == "f32") return std::make_unique<FloatKVStore>(c, golden::ElemType::F32);
  if (f.name == "f16") return std::make_unique<FloatKVStore>(c, golden::ElemType::F16);
  if (f.name == "bf16") return std::make_unique<FloatKVStore>(c, golden::ElemType::BF16);
  if (f.kivi()) {
    if (f.tensors != "kv" && f.tensors != "k" && f.tensors != "v")
      throw InputError("quantized tensors must be kv, k or v (got '" + f.tensors + "')");
    return std::make_unique<KiviKVStore>(c, f.kivi_config());  // validates G, R against head_dim
  }
  const golden::Codebook& cb = golden::codebook_by_name(f.name);
  if (f.path == "golden") return std::make_unique<GoldenKVStore>(c, cb, f.type, f.block);
  if (f.tensors != "kv" && f.tensors != "k" && f.tensors != "v")
    throw InputError("quantized tensors must be kv, k or v (got '" + f.tensors + "')");
  if (f.tensors != "kv" && f.path != "dequant")
    throw InputError("quantizing only K or only V is a diagnostic of the dequant path (the golden cache holds both)");
  if (f.path == "dequant")
    return std::make_unique<DequantKVStore>(c, cb, f.type, f.block, f.tensors != "v", f.tensors != "k");
  throw InputError("unknown attention path '" + f.path + "' (golden or dequant)");
}

}  // namespace nqkv::llama
