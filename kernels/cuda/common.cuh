// Device helpers shared by the nqkv kernels: codebook tables as a kernel parameter, scale parts,
// the nibble-to-int8 LUT unpack, and the integer steps of docs/numerics.md sections 7-8.
#pragma once
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#include <cstdint>
#include <string>

#include "kernels/cuda/nqkv_cuda.hpp"

namespace nqkv::cuda::detail {

constexpr int kPartTokens = 512;  // section 9.1
constexpr int kGuard = 19;        // G, section 7.2

// A codebook as the kernels see it (passed by value).
struct DevCodebook {
  int bits = 4;
  int n = 16;
  int affine = 0;
  int zero_code = 7;
  float values[16];
  float thr[16];        // thresholds padded with +inf to 15 entries (binary search)
  uint32_t lut[4];      // MAC entries C[0..15] as bytes: lut[0] = C0..C3, ...
  int8_t mac[16];
};
DevCodebook make_dev_codebook(golden::CodebookId id);

inline Result cuda_result(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Result::success();
  return Result{Status::CudaError, std::string(what) + ": " + cudaGetErrorString(e)};
}
inline Result invalid(const std::string& m) { return Result{Status::InvalidArgument, m}; }

// Scale as m * 2^x (section 7.2); the sign bit is ignored as in the golden library.
__device__ __forceinline__ void scale_parts(int is_bf16, uint32_t bits, int& m, int& x) {
  if (!is_bf16) {
    const int e = (bits >> 10) & 31, f = bits & 1023;
    m = e ? 1024 + f : f;
    x = e ? e - 25 : -24;
  } else {
    const int e = (bits >> 7) & 255, f = bits & 127;
    m = e ? 128 + f : f;
    x = e ? e - 134 : -133;
  }
}
__device__ __forceinline__ bool scale_nonfinite(int is_bf16, uint32_t bits) {
  return is_bf16 ? ((bits >> 7) & 255) == 255 : ((bits >> 10) & 31) == 31;
}

__device__ __forceinline__ uint32_t prmt(uint32_t a, uint32_t b, uint32_t s) {
  uint32_t r;
  asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(s));
  return r;
}

// 8 codes -> 8 nibbles in one word (nibble n holds the code of element perm(n), see kPerm).
template <int BITS>
__device__ __forceinline__ uint32_t spread8(const uint8_t* p) {
  if constexpr (BITS == 4) {
    return *reinterpret_cast<const uint32_t*>(p);  // nibble n <-> element n ^ 1
  } else if constexpr (BITS == 2) {
    const uint32_t h = *reinterpret_cast<const uint16_t*>(p);
    return (h & 0x3333u) | (((h >> 2) & 0x3333u) << 16);  // nibbles: c3 c1 c7 c5 c2 c0 c6 c4
  } else {
    const uint32_t v = (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | uint32_t(p[2]);
    uint32_t w = 0;
#pragma unroll
    for (int j = 0; j < 8; ++j) w |= ((v >> (21 - 3 * j)) & 7u) << (4 * j);
    return w;  // identity order
  }
}
// Element offset (0..7) held by nibble n of spread8<BITS>.
__host__ __device__ constexpr int perm8(int bits, int n) {
  return bits == 4 ? (n ^ 1) : bits == 2 ? ((n & 4) ? (n == 4 ? 2 : n == 5 ? 0 : n == 6 ? 6 : 4)
                                                     : (n == 0 ? 3 : n == 1 ? 1 : n == 2 ? 7 : 5))
                                          : n;
}

// 8 nibbles -> two words of 4 int8 MAC entries each (lo: nibbles 0-3, hi: nibbles 4-7).
__device__ __forceinline__ void lut8(uint32_t w, const uint32_t lut[4], uint32_t& lo, uint32_t& hi) {
  const uint32_t s = w & 0x77777777u, s2 = s >> 16, w4 = w << 4;
  const uint32_t xa = prmt(lut[0], lut[1], s), ya = prmt(lut[2], lut[3], s), ma = prmt(w4, w, 0xD9C8u);
  const uint32_t xb = prmt(lut[0], lut[1], s2), yb = prmt(lut[2], lut[3], s2), mb = prmt(w4, w, 0xFBEAu);
  lo = (xa & ~ma) | (ya & ma);
  hi = (xb & ~mb) | (yb & mb);
}

// 8 nibbles -> the split-table fragments (see split_mac_table): X (lo: nibbles 0-3, hi: 4-7) from
// prmt(A, nibble) and Y from prmt(B, nibble ^ 8); X + Y = C bytewise as integers (not as bytes).
__device__ __forceinline__ void lut8x(uint32_t w, const uint32_t lutx[4], uint32_t& xlo, uint32_t& xhi, uint32_t& ylo,
                                      uint32_t& yhi) {
  const uint32_t wx = w ^ 0x88888888u, wh = w >> 16, wxh = wx >> 16;
  xlo = prmt(lutx[0], lutx[1], w);
  xhi = prmt(lutx[0], lutx[1], wh);
  ylo = prmt(lutx[2], lutx[3], wx);
  yhi = prmt(lutx[2], lutx[3], wxh);
}

__device__ __forceinline__ int dp2a_lo_ss(uint32_t a, uint32_t b, int c) {
  int d;
  asm("dp2a.lo.s32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}
__device__ __forceinline__ int dp2a_hi_ss(uint32_t a, uint32_t b, int c) {
  int d;
  asm("dp2a.hi.s32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}
__device__ __forceinline__ int dp2a_lo_us(uint32_t a, uint32_t b, int c) {
  int d;
  asm("dp2a.lo.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}
__device__ __forceinline__ int dp2a_hi_us(uint32_t a, uint32_t b, int c) {
  int d;
  asm("dp2a.hi.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}

__device__ __forceinline__ int64_t floor_shr(int64_t v, int d) {
  if (d >= 63) return v < 0 ? -1 : 0;
  return v >> d;  // arithmetic shift = floor division by 2^d
}

__device__ __forceinline__ unsigned __int128 rne_shr_u128(unsigned __int128 mag, int k) {
  if (k >= 127) return 0;
  const unsigned __int128 one = 1;
  const unsigned __int128 q = mag >> k, r = mag & ((one << k) - 1), half = one << (k - 1);
  return q + ((r > half || (r == half && (q & 1))) ? 1 : 0);
}

// Section 8.2: U_t from S_t, x_t, the query shift and c_fix.
__device__ __forceinline__ int64_t score_to_log2(int64_t S, int x, int sq, int64_t cfix) {
  if (S == 0) return 0;
  const __int128 prod = static_cast<__int128>(S) * cfix;
  const int k = 38 + kGuard + sq - x;
  const bool neg = prod < 0;
  const unsigned __int128 mag = neg ? static_cast<unsigned __int128>(-prod) : static_cast<unsigned __int128>(prod);
  const unsigned __int128 sat = static_cast<unsigned __int128>(int64_t(1) << 62);
  unsigned __int128 r;
  if (k > 0) {
    r = rne_shr_u128(mag, k);
  } else {
    const int l = -k;
    r = (l >= 64 || (mag >> (126 - l)) != 0) ? sat : (mag << l);
  }
  if (r > sat) r = sat;
  const int64_t u = static_cast<int64_t>(r);
  return neg ? -u : u;
}

// score_to_log2 for the common case 64 < k < 127 (cfix > 0) on two 64-bit words: the same
// rounding (RNE on the exact 128-bit product) and saturation; other k take the generic path.
__device__ __forceinline__ int64_t score_to_log2_fast(int64_t S, int x, int sq, int64_t cfix) {
  if (S == 0) return 0;
  const int k = 38 + kGuard + sq - x;
  if (k <= 64 || k >= 127 || cfix <= 0) return score_to_log2(S, x, sq, cfix);
  const bool neg = S < 0;
  const uint64_t mag = neg ? uint64_t(0) - uint64_t(S) : uint64_t(S);
  const uint64_t c = static_cast<uint64_t>(cfix);
  const uint64_t lo = mag * c, hi = __umul64hi(mag, c);
  const int s = k - 64;  // 1..62
  const uint64_t q = hi >> s, rhi = hi & ((uint64_t(1) << s) - 1), halfhi = uint64_t(1) << (s - 1);
  const bool up = rhi > halfhi || (rhi == halfhi && (lo != 0 || (q & 1)));
  uint64_t r = q + (up ? 1 : 0);
  const uint64_t sat = uint64_t(1) << 62;
  if (r > sat) r = sat;
  return neg ? -static_cast<int64_t>(r) : static_cast<int64_t>(r);
}

// Section 8.4: E = T[f] >> -n for d <= 0.
__device__ __forceinline__ uint32_t exp2_fixed(const uint32_t* table, int64_t d) {
  const int64_t n = d >> 10;  // floor(d / 1024)
  const int f = static_cast<int>(d & 1023);
  if (-n >= 32) return 0;
  return table[f] >> static_cast<int>(-n);
}

__device__ __forceinline__ int bit_length32(uint32_t v) { return v ? 32 - __clz(v) : 0; }

// 2^k as a double, k in [-1022, 1023].
__device__ __forceinline__ double pow2d(int k) {
  return __longlong_as_double(static_cast<long long>(k + 1023) << 52);
}

// Device pointer to the exp2 table of section 8.3 (uploaded once per process).
const uint32_t* exp2_table_device(Result* err);

}  // namespace nqkv::cuda::detail
