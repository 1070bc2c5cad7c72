#include "golden/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "io/error.hpp"

namespace nqkv::golden {
namespace {

using i128 = __int128;
using u128 = unsigned __int128;

// A scale as an integer significand and a power of two: scale = m * 2^x (section 7.2).
struct ScaleParts {
  int64_t m = 0;
  int x = 0;
};

ScaleParts scale_parts(ElemType type, uint32_t bits) {
  ScaleParts p;
  if (type == ElemType::F16) {
    const int e = (bits >> 10) & 0x1f, f = bits & 0x3ff;
    p.m = e ? 1024 + f : f;
    p.x = e ? e - 25 : -24;
  } else if (type == ElemType::BF16) {
    const int e = (bits >> 7) & 0xff, f = bits & 0x7f;
    p.m = e ? 128 + f : f;
    p.x = e ? e - 134 : -133;
  } else {
    throw std::invalid_argument("scale_parts: KV caches hold fp16 or bf16 elements");
  }
  return p;
}

int bit_length(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

// floor(v / 2^d) for d >= 0, with the far-out case spelled out (C++17 leaves >> of negatives to
// the implementation; this is the arithmetic shift every backend uses).
int64_t floor_shr(int64_t v, int d) {
  if (d >= 63) return v < 0 ? -1 : 0;
  return v >= 0 ? (v >> d) : -((-(v + 1)) >> d) - 1;
}

// Round-half-even of mag / 2^k for k >= 1.
u128 rne_shr_u128(u128 mag, int k) {
  if (k >= 127) return 0;  // every magnitude here is < 2^120, so the quotient is below one half
  const u128 q = mag >> k, r = mag & ((u128(1) << k) - 1), half = u128(1) << (k - 1);
  return q + ((r > half || (r == half && (q & 1))) ? 1 : 0);
}

constexpr int64_t kLogitSaturation = int64_t(1) << 62;

}  // namespace

// ---------------------------------------------------------------------------------------------
// The cache
QuantKVCache::QuantKVCache(const Codebook& cb, ElemType type, int kv_heads, int head_dim, int block)
    : cb_(&cb), type_(type), kv_heads_(kv_heads), head_dim_(head_dim), block_(block) {
  if (cb.affine)
    throw InputError("decode attention needs an absmax codebook (nf4|nf3|nf2|fp4|int4sym|lloyd4); int4 (affine) "
                     "is supported by quantize/dequantize only");
  if (type == ElemType::F32) throw InputError("KV caches hold fp16 or bf16 elements, not f32");
  if (kv_heads <= 0 || head_dim <= 0 || block <= 0 || head_dim % block != 0)
    throw InputError("cache shape: block " + std::to_string(block) + " must divide head_dim " + std::to_string(head_dim));
  // Section 7.2's integer widths: |P_b| < 2^30 needs block <= 256, |S_t| < 2^63 at most 8 blocks.
  if (block % 8 != 0 || block > 256 || head_dim / block > 8)
    throw InputError("cache shape: block " + std::to_string(block) + " must be a multiple of 8, at most 256, with at most 8 "
                     "blocks per head (head_dim " + std::to_string(head_dim) + ")");
}

QuantStats QuantKVCache::append(const float* k, const float* v) {
  QuantStats stats;
  const int nb = blocks_per_head();
  for (int is_v = 0; is_v < 2; ++is_v) {
    const float* src = is_v ? v : k;
    auto& codes = is_v ? vcodes_ : kcodes_;
    auto& scales = is_v ? vscales_ : kscales_;
    const size_t c0 = codes.size();
    codes.resize(c0 + static_cast<size_t>(kv_heads_) * head_dim_);
    for (int h = 0; h < kv_heads_; ++h) {
      for (int b = 0; b < nb; ++b) {
        BlockStatus st;
        const size_t off = static_cast<size_t>(h) * head_dim_ + static_cast<size_t>(b) * block_;
        scales.push_back(quantize_block(*cb_, type_, src + off, block_, codes.data() + c0 + off, &st));
        ++stats.blocks;
        stats.zero_blocks += st == BlockStatus::Zero;
        stats.flushed_blocks += st == BlockStatus::Flushed;
        stats.nonfinite_blocks += st == BlockStatus::NonFinite;
      }
    }
  }
  ++tokens_;
  return stats;
}

const uint8_t* QuantKVCache::codes(bool is_v, int64_t t, int h) const {
  return (is_v ? vcodes_ : kcodes_).data() + (static_cast<size_t>(t) * kv_heads_ + h) * head_dim_;
}
const BlockScale* QuantKVCache::scales(bool is_v, int64_t t, int h) const {
  return (is_v ? vscales_ : kscales_).data() + (static_cast<size_t>(t) * kv_heads_ + h) * blocks_per_head();
}

// ---------------------------------------------------------------------------------------------
// Section 7: the dequant-MAC
FixedQuery quantize_query(const float* q, int n) {
  FixedQuery fq;
  fq.q.assign(static_cast<size_t>(n), 0);
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(q[i]));
  if (amax == 0.0f) return fq;
  fq.shift = 14 - std::ilogb(amax);  // amax * 2^shift lies in [2^14, 2^15)
  for (int i = 0; i < n; ++i) {
    const double r = std::nearbyint(std::ldexp(static_cast<double>(q[i]), fq.shift));  // exact scaling, RNE
    fq.q[i] = static_cast<int16_t>(std::clamp(r, -32767.0, 32767.0));
  }
  return fq;
}

int32_t block_dot(const Codebook& cb, const int16_t* q, const uint8_t* codes, int n) {
  int64_t acc = 0;
  for (int i = 0; i < n; ++i) acc += static_cast<int64_t>(q[i]) * cb.mac.at(codes[i]);
  return static_cast<int32_t>(acc);  // |acc| < 32767 * 127 * 256 < 2^30
}

TokenScore score_mac(const Codebook& cb, ElemType type, const FixedQuery& q, const uint8_t* codes,
                     const BlockScale* scales, int head_dim, int block) {
  const int nb = head_dim / block;
  std::vector<ScaleParts> parts(static_cast<size_t>(nb));
  TokenScore s;
  bool any = false;
  for (int b = 0; b < nb; ++b) {
    parts[b] = scale_parts(type, scales[b].absmax_bits);
    if (parts[b].m != 0) {
      s.x = any ? std::max(s.x, parts[b].x) : parts[b].x;
      any = true;
    }
  }
  if (!any) return TokenScore{0, 0};
  for (int b = 0; b < nb; ++b) {
    if (parts[b].m == 0) continue;
    const int64_t v = parts[b].m * block_dot(cb, q.q.data() + b * block, codes + b * block, block);  // |v| < 2^41
    const int sh = kScoreGuardBits - (s.x - parts[b].x);
    s.S += sh >= 0 ? v * (int64_t(1) << sh) : floor_shr(v, -sh);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Section 8: the fixed-point softmax
int64_t softmax_scale_fixed(float sm_scale) {
  if (!(sm_scale > 0.0f) || !(sm_scale <= 1024.0f)) throw InputError("softmax scale must be in (0, 1024]");
  double c = static_cast<double>(sm_scale) * 1.4426950408889634;  // log2(e) as float64
  c = c / 127.0;
  return std::llrint(std::ldexp(c, 48));  // nearest, ties to even
}

int64_t score_to_log2_fixed(const TokenScore& s, int query_shift, int64_t c_fix) {
  if (s.S == 0) return 0;
  const i128 prod = static_cast<i128>(s.S) * c_fix;  // |prod| < 2^63 * 2^53
  const int k = 38 + kScoreGuardBits + query_shift - s.x;
  const bool neg = prod < 0;
  const u128 mag = neg ? static_cast<u128>(-prod) : static_cast<u128>(prod);
  u128 r;
  if (k > 0) {
    r = rne_shr_u128(mag, k);
  } else {
    const int l = -k;
    r = (l >= 64 || (mag >> (126 - l)) != 0) ? u128(kLogitSaturation) : (mag << l);
  }
  if (r > u128(kLogitSaturation)) r = u128(kLogitSaturation);
  const int64_t u = static_cast<int64_t>(r);
  return neg ? -u : u;
}

const std::vector<uint32_t>& exp2_table() {
  static const std::vector<uint32_t> t = [] {
    std::vector<uint32_t> v(1024);
    for (int f = 0; f < 1024; ++f) v[f] = static_cast<uint32_t>(std::llrintl(std::exp2l(31.0L + f / 1024.0L)));
    return v;
  }();
  return t;
}

uint32_t exp2_fixed(int64_t d) {
  // d = U_t - M spans [-2^63, 0] for saturated logits (+-2^62): -d below would overflow at
  // INT64_MIN. Every d <= -32 * 1024 has floor(d / 1024) <= -32, which gives 0 below anyway.
  if (d <= -32 * 1024) return 0;
  const int64_t n = (d >= 0) ? d / 1024 : -((-d + 1023) / 1024);  // floor(d / 1024)
  const int64_t f = d - n * 1024;
  if (n > 0) throw std::logic_error("exp2_fixed: d must be <= 0");
  if (-n >= 32) return 0;
  return exp2_table()[static_cast<size_t>(f)] >> (-n);
}

int scale_exponent(ElemType type, uint32_t scale_bits) {
  const ScaleParts p = scale_parts(type, scale_bits);
  return p.x + bit_length(static_cast<uint64_t>(p.m)) - 1;
}

uint16_t value_weight(uint32_t E, ElemType type, uint32_t scale_bits, int partition_exp) {
  const ScaleParts p = scale_parts(type, scale_bits);
  if (p.m == 0 || E == 0) return 0;
  const int k = 16 + partition_exp - p.x;  // >= 16 because partition_exp >= this scale's exponent
  const u128 w = rne_shr_u128(static_cast<u128>(E) * static_cast<u128>(p.m), k);
  return static_cast<uint16_t>(std::min<u128>(w, 65535));
}

void value_mac_accumulate(const Codebook& cb, const uint8_t* codes, const uint16_t* weights_per_block, int head_dim,
                          int block, int64_t* acc) {
  for (int i = 0; i < head_dim; ++i) acc[i] += static_cast<int64_t>(weights_per_block[i / block]) * cb.mac.at(codes[i]);
}

// ---------------------------------------------------------------------------------------------
// Section 9: partitions and the combine
std::vector<float> combine_partitions(const std::vector<PartitionPartial>& parts, int head_dim) {
  int64_t M = std::numeric_limits<int64_t>::min();
  for (const auto& p : parts) M = std::max(M, p.M);
  std::vector<double> num(static_cast<size_t>(head_dim), 0.0);
  double den = 0.0;
  for (const auto& p : parts) {
    const int64_t d = p.M - M;  // in [-2^63, 0]: saturated maxima (+-2^62) reach INT64_MIN
    double a = 0.0;             // n < -1000 (d < -1000 * 1024) contributes nothing
    if (d >= -1000 * 1024) {
      const int64_t n = -((-d + 1023) / 1024);
      const int64_t f = d - n * 1024;
      a = n < -1000 ? 0.0 : std::ldexp(static_cast<double>(exp2_table()[static_cast<size_t>(f)]), static_cast<int>(n));
    }
    den = den + a * std::ldexp(static_cast<double>(p.L), -31);
    for (int i = 0; i < head_dim; ++i) num[i] = num[i] + a * std::ldexp(static_cast<double>(p.O[i]), p.e - 15);
  }
  std::vector<float> out(static_cast<size_t>(head_dim));
  const double denom = den * 127.0;
  for (int i = 0; i < head_dim; ++i) out[i] = static_cast<float>(num[i] / denom);
  return out;
}

std::vector<float> decode_attention(const QuantKVCache& cache, const float* q, const AttentionConfig& cfg,
                                    AttentionTrace* trace) {
  const int D = cache.head_dim(), B = cache.block(), Hkv = cache.kv_heads(), Hq = cfg.q_heads;
  const int64_t T = cache.tokens();
  if (Hq <= 0 || Hq % Hkv != 0)
    throw InputError("q_heads (" + std::to_string(Hq) + ") must be a multiple of kv_heads (" + std::to_string(Hkv) + ")");
  if (T == 0) throw InputError("decode attention over an empty cache");
  for (int i = 0; i < Hq * D; ++i)
    if (!std::isfinite(q[i])) throw InputError("query element " + std::to_string(i) + " is not finite");
  for (int64_t t = 0; t < T; ++t)
    for (int h = 0; h < Hkv; ++h)
      for (int is_v = 0; is_v < 2; ++is_v)
        for (int b = 0; b < cache.blocks_per_head(); ++b)
          if (!std::isfinite(elem_to_f32(cache.type(), cache.scales(is_v, t, h)[b].absmax_bits)))
            throw InputError("cache holds a non-finite " + std::string(is_v ? "V" : "K") + " block at token " +
                             std::to_string(t) + ", kv head " + std::to_string(h));
  const float sm_scale = cfg.sm_scale > 0.0f ? cfg.sm_scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  const int64_t c_fix = softmax_scale_fixed(sm_scale);
  const int group = Hq / Hkv;
  const int64_t nparts = (T + kPartitionTokens - 1) / kPartitionTokens;
  if (trace) {
    trace->scores.clear();
    trace->logits.clear();
    trace->parts.clear();
  }
  std::vector<float> out(static_cast<size_t>(Hq) * D);
  std::vector<int64_t> U(static_cast<size_t>(T));
  std::vector<uint16_t> w(static_cast<size_t>(cache.blocks_per_head()));
  for (int h = 0; h < Hq; ++h) {
    const int kvh = h / group;
    const FixedQuery fq = quantize_query(q + static_cast<size_t>(h) * D, D);
    for (int64_t t = 0; t < T; ++t) {
      const TokenScore s = score_mac(cache.cb(), cache.type(), fq, cache.codes(false, t, kvh), cache.scales(false, t, kvh), D, B);
      U[t] = score_to_log2_fixed(s, fq.shift, c_fix);
      if (trace) {
        trace->scores.push_back(s);
        trace->logits.push_back(U[t]);
      }
    }
    std::vector<PartitionPartial> parts(static_cast<size_t>(nparts));
    for (int64_t p = 0; p < nparts; ++p) {
      const int64_t t0 = p * kPartitionTokens, t1 = std::min<int64_t>(T, t0 + kPartitionTokens);
      PartitionPartial& part = parts[p];
      part.M = *std::max_element(U.begin() + t0, U.begin() + t1);
      bool any = false;
      for (int64_t t = t0; t < t1; ++t)
        for (int b = 0; b < cache.blocks_per_head(); ++b) {
          const uint32_t sb = cache.scales(true, t, kvh)[b].absmax_bits;
          if (elem_to_f32(cache.type(), sb) == 0.0f) continue;
          const int e = scale_exponent(cache.type(), sb);
          part.e = any ? std::max(part.e, e) : e;
          any = true;
        }
      part.O.assign(static_cast<size_t>(D), 0);
      for (int64_t t = t0; t < t1; ++t) {
        const uint32_t E = exp2_fixed(U[t] - part.M);
        part.L += E;
        for (int b = 0; b < cache.blocks_per_head(); ++b)
          w[b] = value_weight(E, cache.type(), cache.scales(true, t, kvh)[b].absmax_bits, part.e);
        value_mac_accumulate(cache.cb(), cache.codes(true, t, kvh), w.data(), D, B, part.O.data());
      }
    }
    const auto o = combine_partitions(parts, D);
    std::copy(o.begin(), o.end(), out.begin() + static_cast<std::ptrdiff_t>(h) * D);
    if (trace) trace->parts.insert(trace->parts.end(), parts.begin(), parts.end());
  }
  return out;
}

}  // namespace nqkv::golden
