// The quantized KV cache and decode attention over it (docs/numerics.md sections 7-9): the two
// dequant-MAC forms in exact integer arithmetic, the fixed-point exp2 softmax over partitions of
// kPartitionTokens tokens, and the fixed-order float64 combine. Plain scalar code.
#pragma once
#include <cstdint>
#include <vector>

#include "golden/quantize.hpp"

namespace nqkv::golden {

inline constexpr int kPartitionTokens = 512;  // section 9.1
inline constexpr int kScoreGuardBits = 19;    // G, section 7.2
inline constexpr int kLogFracBits = 10;       // F_u, section 8.1

// The quantized cache of one sequence: K and V for every token and kv head, quantized per token
// per head in blocks of `block` (section 2). Tokens are appended one at a time.
class QuantKVCache {
 public:
  QuantKVCache(const Codebook& cb, ElemType type, int kv_heads, int head_dim, int block);
  // k and v: kv_heads * head_dim fp32 values that are exactly representable in `type`
  // (callers round to the cache's element type first). Returns the stats of this append.
  QuantStats append(const float* k, const float* v);
  int64_t tokens() const { return tokens_; }

  const Codebook& cb() const { return *cb_; }
  ElemType type() const { return type_; }
  int kv_heads() const { return kv_heads_; }
  int head_dim() const { return head_dim_; }
  int block() const { return block_; }
  int blocks_per_head() const { return head_dim_ / block_; }
  // Unpacked codes (one per byte) and scales of token t, kv head h, for K (is_v=false) or V.
  const uint8_t* codes(bool is_v, int64_t t, int h) const;
  const BlockScale* scales(bool is_v, int64_t t, int h) const;

 private:
  const Codebook* cb_;
  ElemType type_;
  int kv_heads_, head_dim_, block_;
  int64_t tokens_ = 0;
  std::vector<uint8_t> kcodes_, vcodes_;
  std::vector<BlockScale> kscales_, vscales_;
};

// Section 7.1: the query in 16-bit fixed point with a power-of-two scale 2^-shift.
struct FixedQuery {
  std::vector<int16_t> q;
  int shift = 0;  // sq: real q_i ~= q[i] * 2^-shift
};
FixedQuery quantize_query(const float* q, int n);

// Section 7.2: exact score of one token: score = S * 2^(x - G - sq) / 127.
struct TokenScore {
  int64_t S = 0;
  int x = 0;  // the token's reference exponent x_t
};
TokenScore score_mac(const Codebook& cb, ElemType type, const FixedQuery& q, const uint8_t* codes,
                     const BlockScale* scales, int head_dim, int block);
// Per-block integer partial P_b = sum q_i * mac[code_i] (section 7.2), the part an adder tree computes.
int32_t block_dot(const Codebook& cb, const int16_t* q, const uint8_t* codes, int n);

// Section 8: softmax constants and steps.
int64_t softmax_scale_fixed(float sm_scale);  // c_fix
int64_t score_to_log2_fixed(const TokenScore& s, int query_shift, int64_t c_fix);  // U_t
uint32_t exp2_fixed(int64_t d);  // E = floor(T[d mod 1024] * 2^floor(d/1024)), d <= 0
const std::vector<uint32_t>& exp2_table();  // T[f] = RNE(2^(31 + f/1024)), f = 0..1023

// Section 7.3: the value form. Weight of token t's block b and the partition exponent.
int scale_exponent(ElemType type, uint32_t scale_bits);  // floor(log2(scale)), scale > 0
uint16_t value_weight(uint32_t E, ElemType type, uint32_t scale_bits, int partition_exp);
void value_mac_accumulate(const Codebook& cb, const uint8_t* codes, const uint16_t* weights_per_block,
                          int head_dim, int block, int64_t* acc);

// One partition's partial result for one query head (section 9.1).
struct PartitionPartial {
  int64_t M = 0;                 // max U_t
  uint64_t L = 0;                // sum E_t
  int e = 0;                     // partition V exponent e_p
  std::vector<int64_t> O;        // head_dim accumulators
};

struct AttentionConfig {
  int q_heads = 1;
  float sm_scale = 0.f;  // 0 means fp32(1/sqrt(head_dim))
};

struct AttentionTrace {  // intermediates, for golden files and backend debugging
  std::vector<TokenScore> scores;      // [q_head][token]
  std::vector<int64_t> logits;         // U_t, [q_head][token]
  std::vector<PartitionPartial> parts; // [q_head][partition]
};

// Decode attention for one query token over the whole cache (sections 8-9), GQA: query head h
// reads kv head h / (q_heads / kv_heads). q holds q_heads * head_dim fp32 values. Returns
// q_heads * head_dim fp32 outputs. Throws nqkv::InputError for a non-finite query or a cache
// holding a non-finite block.
std::vector<float> decode_attention(const QuantKVCache& cache, const float* q, const AttentionConfig& cfg,
                                    AttentionTrace* trace = nullptr);
// Section 9.2: the fixed-order float64 combine of partition partials into one output vector.
std::vector<float> combine_partitions(const std::vector<PartitionPartial>& parts, int head_dim);

}  // namespace nqkv::golden
