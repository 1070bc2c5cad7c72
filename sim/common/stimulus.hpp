// Stimulus of the verification environment: constrained-random quantize and attention cases with
// the contract's corner cases (docs/numerics.md section 5: zero, non-finite, flushed and
// subnormal blocks, values on thresholds, +-65504, bf16 absmax > 2^126, random bit patterns;
// attention with zero and subnormal blocks, zero query heads, contexts across the 512-token
// partition boundary), and the decode workload of `nqkv sim`. Expected values come from the
// golden library. Model-independent.
#pragma once
#include <vector>

#include "golden/attention.hpp"
#include "golden/rng.hpp"
#include "sim/common/cases.hpp"

namespace nqkv::sim {

uint16_t to_elem(golden::ElemType t, double v);
// One block of B elements; kind 0 Gaussian, 1 zero, 2 non-finite, 3 subnormal/flushed,
// 4 on thresholds, 5 extremes, 6 random finite bit patterns.
std::vector<uint16_t> random_block(golden::SplitMix64& rng, const golden::Codebook& cb, golden::ElemType t, int B, int kind);
QuantCase random_quant_case(golden::SplitMix64& rng, const golden::Codebook& cb, golden::ElemType t, int B);
// Head dims 64..256, 1-2 KV heads, groups 1-2; long_ctx: 513..552 tokens (two partitions).
AttnCase random_attn_case(golden::SplitMix64& rng, const golden::Codebook& cb, golden::ElemType t, int B, bool long_ctx);
// The attention case (expected S_t, x_t, O_p ...) of a golden quantized cache and fp32 queries.
AttnCase attention_case_from_cache(const golden::QuantKVCache& cache, const std::vector<float>& q, int q_heads);
// A quantizer case of rows x cols raw elements, expected outputs from the golden encoder.
QuantCase quant_case_of(const golden::Codebook& cb, golden::ElemType t, int block, int64_t rows, int64_t cols,
                        std::vector<uint16_t> x);

// The data of one sequence of `nqkv sim`'s decode workload (seeded by seed and the sequence
// index): K and V of every token as raw element bits [T, Hkv, D] and the fp32 query of every
// head. Every level of every cycle model runs this same data.
struct WorkloadData {
  std::vector<uint16_t> k, v;
  std::vector<float> q;
};
WorkloadData workload_data(golden::ElemType type, int q_heads, int kv_heads, int head_dim, int64_t context,
                           uint64_t seed, int sequence);
// The attention case of one sequence (the golden quantized cache of its K and V, and its query).
AttnCase workload_attention(const golden::Codebook& cb, golden::ElemType type, int block, int q_heads, int kv_heads,
                            int head_dim, const WorkloadData& d);

}  // namespace nqkv::sim
