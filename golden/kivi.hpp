// KIVI-style KV-cache quantization (Liu et al., "KIVI: A Tuning-Free Asymmetric 2bit Quantization
// for KV Cache", ICML 2024, arXiv 2402.02750), an analysis path of the golden library: the
// baseline a user would pick instead of NQKV. It is not part of the numerics contract and has no
// RTL or CUDA counterpart; it exists to put KIVI in the same perplexity table as the codebooks.
//
// Quantizer (one group of n values, b bits, k = 2^b - 1), KIVI's asymmetric min/max rule in fp16
// arithmetic as in its reference code (quant/new_pack.py: scale = (mx - mn) / (2^b - 1),
// (x - mn) / scale, clamp to [0, k], round half to even; every operation on fp16 tensors):
//   0. the inputs are fp16 values (the cache is fp16; callers round with RNE first);
//   1. any NaN/Inf in the group: non-finite group, scale and zero point the fp16 quiet NaN, codes 0,
//      dequantizes to NaN;
//   2. mn = min x_j, mx = max x_j (exact); r = fp16(mx - mn);
//   3. s = fp16(r / k); if r overflows fp16 (range above 65504) s = fp16(fp32(mx - mn) / k) instead
//      (KIVI's fp16 code would store an infinite scale there);
//   4. s == 0 (constant group, or a range below k * 2^-25): zero-range group, every code 0,
//      dequantizes to mn exactly (KIVI's code would divide by zero);
//   5. code_j = clamp(RNE(fp16(fp16(x_j - mn) / s)), 0, k);
//   6. stored: the codes, s and mn (fp16 each: the "scale" and "zero point");
//   7. dequantized in fp32: y_j = fp32(code_j * s + mn) (code_j * s is exact in fp32).
// An fp16 operation is computed here as the fp32 operation rounded to fp16 (RNE), which is the
// correctly rounded fp16 result for + - / since 24 >= 2 * 11 + 2.
//
// The cache (KiviLayerCache, one layer; rows of `channels` = n_kv_heads x head_dim elements):
//  * K per channel, grouped over G consecutive tokens (groups start at token 0); V per token,
//    grouped over G consecutive channels of one head (G divides head_dim).
//  * A residual window of R tokens (R a multiple of G) in fp16, exactly as KIVI's decode path
//    (models/llama_kivi.py) keeps it, with the step's own token attended in fp16 before the flush:
//    at the attention of token t (0-based, t+1 tokens held) K holds t - t mod R quantized tokens and
//    the rest in fp16 (its fp16 part is quantized R tokens at a time, i.e. R/G groups per channel,
//    once R have accumulated); V holds max(0, t - R) quantized tokens and the newest min(t+1, R+1)
//    in fp16 (the oldest fp16 token is quantized once more than R are held).
//    append() first applies the flush KIVI does at the end of the previous step, then stores the
//    new token; attention then reads keys()/values(), which hold the dequantized values of the
//    quantized tokens and the fp16 values of the rest.
//  * Every token is treated as a decode step (the whole text streams through the cache); KIVI's
//    prefill would instead attend a prompt in full precision.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nqkv::golden::kivi {

struct GroupParams {
  uint16_t scale_bits = 0;  // fp16 s
  uint16_t zero_bits = 0;   // fp16 mn
};
enum class GroupStatus : uint8_t { Ok = 0, ZeroRange = 1, NonFinite = 2 };

// fp32 -> nearest fp16 -> fp32 (RNE; overflow to +-inf).
float round_f16(float v);

// Quantizes x[0], x[stride], ..., x[(n-1)*stride] (fp16 values widened to fp32; values that are not
// fp16 are rounded first) with `bits` in 1..8; writes n codes to codes[0], codes[stride], ...
GroupParams quantize_group(int bits, const float* x, int n, std::ptrdiff_t stride, uint8_t* codes,
                           GroupStatus* status = nullptr);
void dequantize_group(const GroupParams& p, GroupStatus status, const uint8_t* codes, int n, std::ptrdiff_t stride,
                      float* out);
// Round trip of one group (quantize, then dequantize into out with the same stride).
GroupStatus roundtrip_group(int bits, const float* x, int n, std::ptrdiff_t stride, float* out);

struct Stats {
  int64_t groups = 0, zero_range_groups = 0, nonfinite_groups = 0;
};

// Round trip of a tokens x channels tensor (fp16-rounded first) in KIVI's two layouts, without the
// residual window: keys per channel over groups of `group` tokens, values per token over groups of
// `group` channels. A final partial group of tokens (keys) stays in fp16, as KIVI's residual would.
std::vector<float> roundtrip_keys(const float* x, int64_t tokens, int channels, int bits, int group,
                                  Stats* stats = nullptr);
std::vector<float> roundtrip_values(const float* x, int64_t tokens, int channels, int bits, int group,
                                    Stats* stats = nullptr);

struct Config {
  int k_bits = 4, v_bits = 4;  // 1..8
  int group = 32;              // G: tokens per K group, channels per V group
  int residual = 128;          // R: a multiple of G (KIVI's residual_length)
  bool quantize_k = true, quantize_v = true;
};

// Throws InputError when bits are outside 1..8, G < 1, R < G, R % G != 0 or G does not divide
// head_dim (a V group must stay inside one head).
void validate(const Config& c, int head_dim);

// Stored bits per element of K (or V) at a context of L tokens (after the flush that follows token
// L-1): codes + fp16 scale and zero point per group (amortized over G) for the quantized tokens,
// 16 for the fp16 ones. An unquantized tensor is 16. L >= 1.
double k_bits_per_element(const Config& c, int64_t context);
double v_bits_per_element(const Config& c, int64_t context);
// Mean of K and V (they have the same number of elements).
double bits_per_element(const Config& c, int64_t context);

class LayerCache {
 public:
  LayerCache(const Config& c, int channels, int head_dim);
  void clear();
  // Appends one token's key and value row (`channels` floats each; rounded to fp16).
  void append(const float* k, const float* v);
  int64_t tokens() const { return tokens_; }
  int channels() const { return ch_; }
  // tokens x channels: dequantized values of the quantized tokens, fp16 values of the others.
  const std::vector<float>& keys() const { return k_; }
  const std::vector<float>& values() const { return v_; }
  int64_t k_quantized_tokens() const { return kq_; }
  int64_t v_quantized_tokens() const { return vq_; }
  // The stored form: codes (tokens x channels, one per byte; valid for quantized tokens) and the
  // group parameters: K groups indexed [token_group * channels + channel], V groups indexed
  // [token * (channels / G) + channel_group].
  const std::vector<uint8_t>& k_codes() const { return kc_; }
  const std::vector<uint8_t>& v_codes() const { return vc_; }
  const std::vector<GroupParams>& k_groups() const { return kg_; }
  const std::vector<GroupParams>& v_groups() const { return vg_; }
  const Stats& stats() const { return stats_; }

 private:
  void flush();
  void quantize_k_tokens(int64_t first, int64_t count);
  void quantize_v_token(int64_t t);
  Config c_;
  int ch_;
  int64_t tokens_ = 0, kq_ = 0, vq_ = 0;
  std::vector<float> k_, v_;
  std::vector<uint8_t> kc_, vc_;
  std::vector<GroupParams> kg_, vg_;
  Stats stats_;
};

}  // namespace nqkv::golden::kivi
