// Float64 references (Eigen) that measure the accuracy of the exact integer pipeline; they never
// decide bit-exactness.
#pragma once
#include <vector>

#include "golden/attention.hpp"

namespace nqkv::golden {

// Dense decode attention in float64: softmax(q K^T * sm_scale) V for each query head with GQA.
// k and v: tokens x kv_heads x head_dim (row-major), q: q_heads x head_dim.
std::vector<double> reference_attention(const std::vector<double>& q, const std::vector<double>& k,
                                        const std::vector<double>& v, int tokens, int q_heads, int kv_heads,
                                        int head_dim, double sm_scale);

// The cache's keys and values as the MAC sees them (mac[code]/127 * scale), in float64,
// tokens x kv_heads x head_dim, for use with reference_attention.
void mac_dequantized_cache(const QuantKVCache& cache, std::vector<double>& k, std::vector<double>& v);
// The same with the exact fp32 dequantization of section 6 (bitsandbytes' values).
void exact_dequantized_cache(const QuantKVCache& cache, std::vector<double>& k, std::vector<double>& v);

}  // namespace nqkv::golden
