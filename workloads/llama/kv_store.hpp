// KV caches for the llama forward pass.
//
// Layout decision (this model has head_dim 8, below the numerics contract's smallest block of
// 32): a token's K (and V) row of one layer is the concatenation of all kv heads, kv_dim =
// n_kv_heads x head_dim elements, and quantization blocks are contiguous slices of that row
// (per-token quantization as in NQKV). For stories260K, kv_dim = 32: block 32 is one block per
// token per layer spanning the 4 kv heads; block 8 is one block per head; block 16 two heads.
//
//  * FloatKVStore: float32 cache (optionally rounded to fp16/bf16), attention in float32 exactly
//    like llama2.c's run.c. The reference path.
//  * DequantKVStore ("dequant" path): each block goes through golden::quantize_block and
//    golden::dequantize_block (the exact fp32 dequantization of docs/numerics.md section 6) and
//    attention runs in float32 on the dequantized cache. Works for any block dividing kv_dim.
//  * GoldenKVStore ("golden" path): each layer's cache is a golden::QuantKVCache built with
//    kv_heads = 1, head_dim = kv_dim, block = B, and every attention call is
//    golden::decode_attention (integer dequant-MAC, fixed-point exp2 softmax, partition combine).
//    Per-head attention over a row whose blocks span several heads is expressed with zero-padded
//    queries: query head h becomes a kv_dim vector that is q_h on kv head h/(n_heads/n_kv_heads)'s
//    slice and exactly 0 elsewhere, so its integer score is exactly q_h . k_(kv head), and the
//    output is read back from the same slice. sm_scale is fp32(1/sqrt(head_dim)).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "golden/attention.hpp"
#include "golden/kivi.hpp"
#include "workloads/llama/model.hpp"

namespace nqkv::llama {

class FloatKVStore : public KVStore {
 public:
  // round_to: F32 keeps the values; F16/BF16 round each stored element (RNE) first.
  FloatKVStore(const Config& c, golden::ElemType round_to = golden::ElemType::F32);
  void reset() override;
  void append(int layer, const float* k, const float* v) override;
  void attend(int layer, const float* q, float* out) override;
  int64_t tokens(int layer) const { return static_cast<int64_t>(k_[layer].size()) / kv_dim_; }
  const std::vector<float>& keys(int layer) const { return k_[layer]; }
  const std::vector<float>& values(int layer) const { return v_[layer]; }

 protected:
  Config c_;
  int kv_dim_;
  golden::ElemType round_;
  std::vector<std::vector<float>> k_, v_;  // per layer, tokens x kv_dim
  std::vector<float> att_;
  virtual void store_row(const float* in, float* out);
};

class DequantKVStore : public FloatKVStore {
 public:
  // quantize_k / quantize_v: which of the two tensors is quantized (the other is kept in float;
  // a diagnostic for telling key error from value error apart).
  DequantKVStore(const Config& c, const golden::Codebook& cb, golden::ElemType type, int block,
                 bool quantize_k = true, bool quantize_v = true);
  void append(int layer, const float* k, const float* v) override;
  golden::QuantStats stats() const { return stats_; }

 private:
  void store_row(const float* in, float* out) override;
  bool quantize_k_, quantize_v_, current_is_quantized_ = true;
  const golden::Codebook* cb_;
  golden::ElemType type_;
  int block_;
  golden::QuantStats stats_;
  std::vector<float> rounded_;
  std::vector<uint8_t> codes_;
};

class GoldenKVStore : public KVStore {
 public:
  GoldenKVStore(const Config& c, const golden::Codebook& cb, golden::ElemType type, int block);
  void reset() override;
  void append(int layer, const float* k, const float* v) override;
  void attend(int layer, const float* q, float* out) override;
  const golden::QuantKVCache& cache(int layer) const { return caches_[layer]; }
  int64_t decode_attention_calls() const { return calls_; }
  golden::QuantStats stats() const { return stats_; }
  // The zero-padded query of the layout note above: n_heads x kv_dim floats.
  static std::vector<float> padded_query(const Config& c, const float* q);

 private:
  Config c_;
  const golden::Codebook* cb_;
  golden::ElemType type_;
  int block_;
  std::vector<golden::QuantKVCache> caches_;
  std::vector<float> kr_, vr_, qpad_;
  int64_t calls_ = 0;
  golden::QuantStats stats_;
};

// KIVI (golden/kivi.hpp, an analysis path): K per channel over groups of G tokens, V per token over
// groups of G channels, asymmetric INT4/INT2 with fp16 scale and zero point, the R most recent
// tokens in fp16 on KIVI's decode schedule; attention in float32 (FloatKVStore's) on what the cache
// holds at each step: dequantized values for the quantized tokens, fp16 values for the rest.
class KiviKVStore : public FloatKVStore {
 public:
  KiviKVStore(const Config& c, const golden::kivi::Config& kc);
  void reset() override;
  void append(int layer, const float* k, const float* v) override;
  const golden::kivi::LayerCache& cache(int layer) const { return caches_.at(layer); }
  golden::kivi::Stats stats() const;

 private:
  std::vector<golden::kivi::LayerCache> caches_;
};

// A KV cache format chosen on the command line.
struct KVFormat {
  std::string name;   // "f32", "f16", "bf16" or a codebook name (nf4, nf3, nf2, fp4, int4, ...)
  int block = 0;      // quantized formats only
  std::string path;   // quantized formats: "golden" or "dequant"
  golden::ElemType type = golden::ElemType::F16;  // element type the quantizer sees
  std::string tensors = "kv";  // dequant and kivi paths: "kv", "k" (V kept in float) or "v" (K kept in float)
  // KIVI: name "kivi4" or "kivi2", path "kivi", block = the group size G, kivi_residual = R; its
  // bits per element depend on the context, stated at `context` tokens (the eval window).
  int kivi_residual = 128;
  int64_t context = 0;
  bool quantized() const { return block > 0; }
  bool kivi() const { return name == "kivi4" || name == "kivi2"; }
  golden::kivi::Config kivi_config() const;
  std::string label() const;
  // Bits per element of the quantized tensor(s) (K only / V only: that tensor; kv: the mean).
  double bits_per_element() const;
};

// Builds the store; throws InputError for unknown names, a block that does not divide kv_dim, or
// a block the golden decode attention rejects.
std::unique_ptr<KVStore> make_kv_store(const Config& c, const KVFormat& f);

}  // namespace nqkv::llama
