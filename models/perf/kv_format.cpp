#include "models/perf/kv_format.hpp"

#include <algorithm>

#include "golden/codebook.hpp"
#include "io/error.hpp"

namespace nqkv::perf {

// golden::bits_per_element (docs/numerics.md 4.4) is the authority on storage cost.
double codebook_bits_per_element(int code_bits, int block, int scale_bits) {
  const golden::CodebookId id = code_bits == 4   ? golden::CodebookId::NF4
                                : code_bits == 3 ? golden::CodebookId::NF3
                                                 : golden::CodebookId::NF2;
  return golden::bits_per_element(golden::codebook(id), block, scale_bits);
}

std::string KvFormat::label() const {
  switch (kind) {
    case KvKind::FP16: return "fp16";
    case KvKind::BF16: return "bf16";
    case KvKind::FP8: return "fp8";
    case KvKind::INT8: return "int8";
    case KvKind::KIVI4: return "kivi4/g" + std::to_string(group) + "/r" + std::to_string(residual);
    case KvKind::KIVI2: return "kivi2/g" + std::to_string(group) + "/r" + std::to_string(residual);
    case KvKind::NF4: return "nf4/b" + std::to_string(block);
    case KvKind::NF3: return "nf3/b" + std::to_string(block);
    case KvKind::NF2: return "nf2/b" + std::to_string(block);
    case KvKind::NONE: return "none";
  }
  return "?";
}

std::vector<std::string> kv_format_names() {
  return {"fp16", "bf16", "fp8", "int8", "kivi4", "kivi2", "nf4", "nf3", "nf2", "none"};
}

KvFormat parse_kv_format(const std::string& name, int block, int group, int residual) {
  if (block <= 0) throw InputError("--block must be a positive number of elements, got " + std::to_string(block));
  if (group <= 0) throw InputError("--kivi-group must be positive, got " + std::to_string(group));
  if (residual < 0) throw InputError("--kivi-residual must not be negative, got " + std::to_string(residual));
  KvFormat f;
  f.block = block;
  f.group = group;
  f.residual = residual;
  static const std::pair<const char*, KvKind> names[] = {
      {"fp16", KvKind::FP16}, {"bf16", KvKind::BF16}, {"fp8", KvKind::FP8},   {"int8", KvKind::INT8},
      {"kivi4", KvKind::KIVI4}, {"kivi2", KvKind::KIVI2}, {"nf4", KvKind::NF4}, {"nf3", KvKind::NF3},
      {"nf2", KvKind::NF2},   {"none", KvKind::NONE}};
  for (const auto& [n, k] : names)
    if (name == n) {
      f.kind = k;
      return f;
    }
  std::string known;
  for (const auto& n : kv_format_names()) known += (known.empty() ? "" : ", ") + n;
  throw InputError("unknown KV format '" + name + "' (known: " + known + ")");
}

double kv_bits_per_element(const KvFormat& f, int64_t head_dim) {
  switch (f.kind) {
    case KvKind::FP16:
    case KvKind::BF16: return 16;
    // fp8 (e4m3/e5m2) caches as vLLM keeps them: one scale per tensor, nothing per element.
    case KvKind::FP8: return 8;
    // Symmetric int8 with one fp16 scale per token per head.
    case KvKind::INT8: return 8 + 16.0 / static_cast<double>(head_dim);
    case KvKind::KIVI4: return 4 + 32.0 / f.group;
    case KvKind::KIVI2: return 2 + 32.0 / f.group;
    case KvKind::NF4: return codebook_bits_per_element(4, f.block);
    case KvKind::NF3: return codebook_bits_per_element(3, f.block);
    case KvKind::NF2: return codebook_bits_per_element(2, f.block);
    case KvKind::NONE: return 0;
  }
  return 16;
}

int64_t kv_residual_tokens(const KvFormat& f, int64_t tokens) {
  if (f.kind != KvKind::KIVI4 && f.kind != KvKind::KIVI2) return 0;
  return std::min<int64_t>(tokens, f.residual);
}

double kv_bytes_per_token(const ModelConfig& m, const KvFormat& f) {
  const double elements = 2.0 * m.layers * m.kv_heads * m.head_dim;  // K and V
  return elements * kv_bits_per_element(f, m.head_dim) / 8.0;
}

double kv_bytes_for_tokens(const ModelConfig& m, const KvFormat& f, int64_t tokens) {
  const int64_t fp16_tokens = kv_residual_tokens(f, tokens);
  const double per_fp16_token = 2.0 * m.layers * m.kv_heads * m.head_dim * 2.0;
  return static_cast<double>(tokens - fp16_tokens) * kv_bytes_per_token(m, f) + fp16_tokens * per_fp16_token;
}

double dequant_ops_per_element(const KvFormat& f) {
  switch (f.kind) {
    case KvKind::FP16:
    case KvKind::BF16:
    case KvKind::NONE: return 0;
    case KvKind::FP8: return 1;    // convert
    case KvKind::INT8: return 2;   // convert, scale
    case KvKind::KIVI4:
    case KvKind::KIVI2: return 3;  // unpack, multiply by step, add zero point
    case KvKind::NF4:
    case KvKind::NF3:
    case KvKind::NF2: return 3;    // unpack, table lookup, multiply by absmax
  }
  return 0;
}

double quant_ops_per_element(const KvFormat& f) {
  switch (f.kind) {
    case KvKind::FP16:
    case KvKind::BF16:
    case KvKind::NONE: return 0;
    case KvKind::FP8: return 2;
    case KvKind::INT8: return 4;    // |x| max, divide, round, pack
    case KvKind::KIVI4:
    case KvKind::KIVI2: return 6;   // min, max, step, subtract, round, pack
    // absmax, normalise, one compare per threshold level visited (bits) and a pack.
    case KvKind::NF4: return 3 + 4;
    case KvKind::NF3: return 3 + 3;
    case KvKind::NF2: return 3 + 2;
  }
  return 0;
}

}  // namespace nqkv::perf
