// KV-cache storage formats and their exact cost in bytes, scales and residual windows included.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/model_zoo.hpp"

namespace nqkv::perf {

enum class KvKind { FP16, BF16, FP8, INT8, KIVI4, KIVI2, NF4, NF3, NF2, NONE };

struct KvFormat {
  KvKind kind = KvKind::FP16;
  int block = 64;       // NF*: elements per absmax block (one fp16 scale each)
  int group = 32;       // KIVI: group size (per-channel K over tokens, per-token V over channels)
  int residual = 128;   // KIVI: most recent tokens kept in fp16
  std::string label() const;  // e.g. "nf4/b64", "kivi2/g32/r128", "fp16"
};

// Parses one CLI name (fp16, bf16, fp8, int8, kivi4, kivi2, nf4, nf3, nf2, none); block/group/
// residual come from the caller. Throws InputError naming the valid names.
KvFormat parse_kv_format(const std::string& name, int block, int group, int residual);
std::vector<std::string> kv_format_names();

// Steady-state bits per cached element with metadata: NF-k with an fp16 scale per block of B is
// k + 16/B (docs/numerics.md; golden::bits_per_element); KIVI-b is b + 32/G (fp16 scale and zero
// point per group) for the quantized part; int8 per token carries one fp16 scale per head vector.
double kv_bits_per_element(const KvFormat& f, int64_t head_dim);

// Bytes of K and V for one sequence holding `tokens` tokens across all layers, unpaged. For KIVI
// the newest min(tokens, residual) tokens are fp16 (the worst case a server must provision).
double kv_bytes_for_tokens(const ModelConfig& m, const KvFormat& f, int64_t tokens);
// Bytes per token across all layers at the steady-state rate (the page-size building block).
double kv_bytes_per_token(const ModelConfig& m, const KvFormat& f);
// Tokens of a sequence that live in the quantized/paged part and in a fixed fp16 residual buffer.
int64_t kv_residual_tokens(const KvFormat& f, int64_t tokens);

// Work per cached element for dequantization on the read path and quantization of new tokens, in
// vector (non-tensor) operations; docs/perf-model.md section 4 says where the counts come from.
double dequant_ops_per_element(const KvFormat& f);
double quant_ops_per_element(const KvFormat& f);

// The numerics contract's bits-per-element formula for a symmetric codebook with one scale per
// block: delegates to golden::bits_per_element.
double codebook_bits_per_element(int code_bits, int block, int scale_bits = 16);

}  // namespace nqkv::perf
