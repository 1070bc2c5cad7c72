#include "models/perf/memory_model.hpp"

#include <cmath>

#include "io/error.hpp"

namespace nqkv::perf {

double weight_bytes(const ModelConfig& m) { return static_cast<double>(parameter_count(m)) * m.weight_bytes; }

double activation_bytes_per_token(const ModelConfig& m) {
  const double h = m.hidden, qkv = (m.heads + 2.0 * m.kv_heads) * m.head_dim;
  const double mlp = m.arch == Arch::OPT ? m.intermediate : 2.0 * m.intermediate;  // gate and up live together
  // residual stream, normed input, attention output (3 x hidden) + q/k/v + MLP intermediate, fp16.
  return 2.0 * (3.0 * h + qkv + mlp);
}

double per_sequence_activation_bytes(const ModelConfig& m, const KvFormat& f, const MemoryParams& p, int64_t tokens) {
  if (p.act_per_seq_bytes >= 0 && f.kind != KvKind::NONE) return p.act_per_seq_bytes;
  const double sampling_logits = m.vocab * 4.0 * 2.0;  // fp32 logits and probabilities of one row
  double bytes = activation_bytes_per_token(m) + sampling_logits;
  if (p.full_prompt_logits) bytes += static_cast<double>(tokens) * m.vocab * 4.0;
  if (f.kind == KvKind::NONE) {
    // Recompute: every position goes through the layer again, and the layer's own K and V exist
    // transiently (fp16) while its attention runs.
    bytes += static_cast<double>(tokens) * (activation_bytes_per_token(m) + 2.0 * m.kv_heads * m.head_dim * 2.0);
  }
  return bytes;
}

MemoryBreakdown memory_breakdown(const ModelConfig& m, const Hardware& hw, const KvFormat& f, const MemoryParams& p) {
  if (!(p.utilization > 0 && p.utilization <= 1))
    throw InputError("--mem-util must be in (0, 1], got " + std::to_string(p.utilization));
  if (p.reserve_bytes < 0) throw InputError("--reserve-gib must not be negative");
  if (p.page_tokens <= 0) throw InputError("--page-tokens must be positive, got " + std::to_string(p.page_tokens));
  MemoryBreakdown b;
  b.capacity = hw.mem_bytes;
  b.usable = hw.mem_bytes * p.utilization;
  b.weights = weight_bytes(m);
  b.reserve = p.reserve_bytes;
  b.workspace = p.workspace_bytes >= 0 ? p.workspace_bytes
                                       : static_cast<double>(p.prefill_chunk_tokens) * activation_bytes_per_token(m);
  b.kv_budget = b.usable - b.weights - b.reserve - b.workspace;
  b.page_tokens = p.page_tokens;
  b.page_bytes = static_cast<double>(p.page_tokens) * kv_bytes_per_token(m, f);
  return b;
}

double per_sequence_bytes(const ModelConfig& m, const KvFormat& f, const MemoryParams& p, int64_t tokens) {
  const double act = per_sequence_activation_bytes(m, f, p, tokens);
  if (f.kind == KvKind::NONE) return act;
  const int64_t resid = kv_residual_tokens(f, tokens);
  const int64_t paged = tokens - resid;
  const int64_t pages = (paged + p.page_tokens - 1) / p.page_tokens;
  const double fp16_token = 2.0 * m.layers * m.kv_heads * m.head_dim * 2.0;
  return static_cast<double>(pages) * p.page_tokens * kv_bytes_per_token(m, f) + resid * fp16_token + act;
}

int64_t max_batch(const ModelConfig& m, const Hardware& hw, const KvFormat& f, const MemoryParams& p, int64_t tokens) {
  const MemoryBreakdown b = memory_breakdown(m, hw, f, p);
  if (b.kv_budget <= 0) return 0;
  return static_cast<int64_t>(std::floor(b.kv_budget / per_sequence_bytes(m, f, p, tokens)));
}

int64_t max_context(const ModelConfig& m, const Hardware& hw, const KvFormat& f, const MemoryParams& p, int64_t batch) {
  if (batch <= 0) throw InputError("--batch must be positive, got " + std::to_string(batch));
  const MemoryBreakdown b = memory_breakdown(m, hw, f, p);
  auto fits = [&](int64_t t) { return static_cast<double>(batch) * per_sequence_bytes(m, f, p, t) <= b.kv_budget; };
  if (!fits(1)) return 0;
  // per_sequence_bytes grows monotonically with tokens: exponential then binary search.
  int64_t lo = 1, hi = 2;
  while (fits(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > (int64_t{1} << 40)) return lo;  // "unbounded" for practical purposes (e.g. tiny models)
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

int64_t kv_token_capacity(const ModelConfig& m, const KvFormat& f, int64_t page_tokens, double kv_budget_bytes) {
  const double page = static_cast<double>(page_tokens) * kv_bytes_per_token(m, f);
  if (kv_budget_bytes <= 0 || page <= 0) return 0;
  return static_cast<int64_t>(std::floor(kv_budget_bytes / page)) * page_tokens;
}

}  // namespace nqkv::perf
