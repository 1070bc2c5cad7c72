// Device memory as a paged server (vLLM) lays it out: weights, a fixed reserve, a fixed
// workspace, per-sequence activations, and the KV cache in pages of `page_tokens` tokens.
#pragma once
#include <cstdint>

#include "models/perf/hardware.hpp"
#include "models/perf/kv_format.hpp"
#include "workloads/model_zoo.hpp"

namespace nqkv::perf {

struct MemoryParams {
  double utilization = 0.90;          // vLLM's default gpu_memory_utilization
  double reserve_bytes = 512.0 * 1048576;  // CUDA context, NCCL/cuBLAS workspaces, allocator slack
  int64_t page_tokens = 16;           // vLLM's default block_size
  int64_t prefill_chunk_tokens = 2048;  // vLLM profiles one forward of max_num_batched_tokens
  double act_per_seq_bytes = -1;      // < 0: derived (see per_sequence_activation_bytes)
  double workspace_bytes = -1;        // < 0: derived from prefill_chunk_tokens
  // HF generate before transformers 4.45 materialises fp32 logits for every prompt position;
  // a paged server computes them for the last position only. Affects per-sequence memory.
  bool full_prompt_logits = false;
};

struct MemoryBreakdown {
  double capacity = 0, usable = 0, weights = 0, reserve = 0, workspace = 0, kv_budget = 0;
  double page_bytes = 0;  // one page of `page_tokens` tokens, all layers, K and V
  int64_t page_tokens = 0;
};

// Activation bytes one token occupies in a forward pass (hidden, q/k/v, MLP intermediate; fp16).
double activation_bytes_per_token(const ModelConfig& m);
// Per-sequence memory outside the KV cache while a sequence of `tokens` tokens is being served:
// decode buffers and the sampling logits (vocab x fp32, logits and probabilities); with
// full_prompt_logits also tokens x vocab x fp32. For KvKind::NONE, the recompute of all `tokens`
// positions each step: their activations plus one layer's transient K and V.
double per_sequence_activation_bytes(const ModelConfig& m, const KvFormat& f, const MemoryParams& p, int64_t tokens);

double weight_bytes(const ModelConfig& m);
MemoryBreakdown memory_breakdown(const ModelConfig& m, const Hardware& hw, const KvFormat& f, const MemoryParams& p);

// Bytes one sequence of `tokens` tokens takes: whole pages of KV (tokens rounded up), its fp16
// residual window (KIVI), and its activations.
double per_sequence_bytes(const ModelConfig& m, const KvFormat& f, const MemoryParams& p, int64_t tokens);

// Largest batch of `tokens`-token sequences that fits (0 if none does).
int64_t max_batch(const ModelConfig& m, const Hardware& hw, const KvFormat& f, const MemoryParams& p, int64_t tokens);
// Largest context (tokens per sequence) at which `batch` sequences fit (0 if none does).
int64_t max_context(const ModelConfig& m, const Hardware& hw, const KvFormat& f, const MemoryParams& p, int64_t batch);
// KV tokens the cache holds in total for a given KV budget: whole pages only.
int64_t kv_token_capacity(const ModelConfig& m, const KvFormat& f, int64_t page_tokens, double kv_budget_bytes);

}  // namespace nqkv::perf
