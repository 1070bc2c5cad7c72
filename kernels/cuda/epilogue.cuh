// Helpers of the fast path's per-token integer epilogue between the score and the value pass
// (docs/numerics.md sections 7.2-8.4; the epilogue itself is in decode_mma.cuh): the generic per-entry
// score for the rare tokens outside the fast range, a lane's scale words, the logit RNE (logit_fast) and
// 2^52 for the exact fp64 E and W arithmetic.
#pragma once
#include "kernels/cuda/tile_traits.cuh"
#include "kernels/cuda/warp_ops.cuh"

namespace nqkv::cuda::detail {

constexpr double kTwo52 = 4503599627370496.0;  // 2^52: hi word 0x43300000 + int32 lo word = 2^52 + lo

// Score of one (token, head) the generic way (section 7.2 + 8.2): the rare warps whose tokens have
// a block exponent more than kGuard below the token's maximum, or whose logit shift k is outside
// (64, 127), take this out-of-line path. P points at the token's P_b of this head (stride G; a gathered
// copy with G = 1 for the swizzled tiles, p_byte_swz).
__device__ __forceinline__ int64_t score_entry_generic(const uint16_t* ks, const int32_t* P, int nb, int G, int is_bf16,
                                                    int sq, int64_t cfix, int& xt_out, int64_t& S_out) {
  int xt = 0;
  bool any = false;
  for (int bk = 0; bk < nb; ++bk) {
    int m, x;
    scale_parts(is_bf16, ks[bk], m, x);
    if (m) {
      xt = any ? max(xt, x) : x;
      any = true;
    }
  }
  int64_t S = 0;
  if (any) {
    for (int bk = 0; bk < nb; ++bk) {
      int m, x;
      scale_parts(is_bf16, ks[bk], m, x);
      if (!m) continue;
      const int64_t v = int64_t(m) * P[bk * G];
      const int sh = kGuard - (xt - x);
      S += sh >= 0 ? v * (int64_t(1) << sh) : floor_shr(v, -sh);
    }
  } else {
    xt = 0;
  }
  xt_out = xt;
  S_out = S;
  return score_to_log2(S, xt, sq, cfix);
}

// A lane's 2 NB scales (tokens tl0, tl0 + 1, NB blocks each) as NB words: scale j = e NB + bk is the
// 16-bit half j & 1 of word j >> 1 (one shared-memory load instead of 2 NB).
template <int NB>
__device__ __forceinline__ void load_scale_words(const uint16_t* src, uint32_t (&w)[NB]) {
  if constexpr (NB == 1) {
    w[0] = *reinterpret_cast<const uint32_t*>(src);
  } else if constexpr (NB == 2) {
    const uint2 v = *reinterpret_cast<const uint2*>(src);
    w[0] = v.x, w[1] = v.y;
  } else {
    const uint4 v = *reinterpret_cast<const uint4*>(src);
    w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
  }
}
template <int NB>
__device__ __forceinline__ uint32_t scale_at(const uint32_t (&w)[NB], int j) {
  return (w[j >> 1] >> (16 * (j & 1))) & 0xffffu;
}

// Section 8.2 for 64 < k < 127 and cfix > 0 (s = k - 64 in 1..62): RNE of the exact 128-bit
// product S * cfix shifted right by k, on the signed product (two's complement, floor shifts):
// U = (hi + 2^(s-1) - 1 + (odd | lo != 0)) >> s with hi = the signed high word of the product and
// odd = bit s of hi. This equals sign(S) * RNE(|S| cfix 2^-k) (ties to even are symmetric). The low
// word lo = S * cfix mod 2^64 is nonzero iff S has fewer than 64 - tz(cfix) trailing zeros, i.e.
// iff (S & lomask) != 0 with lomask = ~0 >> tz(cfix), so lo is never formed. No saturation: |S| < 2^63
// and cfix < 2^52 (sm_scale <= 1024) give |hi| < 2^51, so |U| < 2^50 < 2^62.
__device__ __forceinline__ int64_t logit_fast(int64_t S, int s, int64_t cfix, uint64_t lomask) {
  // The fast path has cfix > 0, so only S's sign needs a correction of the unsigned high word:
  // (S + 2^64) cfix = S cfix + cfix 2^64 for S < 0 (cheaper than __mul64hi's two-sided fix-up).
  const int64_t hi = static_cast<int64_t>(__umul64hi(static_cast<uint64_t>(S), static_cast<uint64_t>(cfix))) - (S < 0 ? cfix : 0);
  const int64_t odd = (hi >> s) & 1;
  const int64_t sticky = (static_cast<uint64_t>(S) & lomask) != 0;
  return (hi + ((int64_t(1) << (s - 1)) - 1) + (odd | sticky)) >> s;
}

}  // namespace nqkv::cuda::detail
