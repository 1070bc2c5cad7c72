// Warp-level integer primitives of the decode kernels: 64-bit max and exact 33-bit sum over a warp
// (redux), and the integer tensor-core MMAs (mma.sync m16n8k32, s8 x s8 and s8 x u8).
#pragma once
#include <cstdint>

namespace nqkv::cuda::detail {

// 64-bit max over the warp with two 32-bit redux.
__device__ __forceinline__ int64_t warp_max_i64(int64_t v) {
  const int hi = static_cast<int>(v >> 32);
  const int mhi = __reduce_max_sync(0xffffffffu, hi);
  const unsigned lo = hi == mhi ? static_cast<unsigned>(v) : 0u;
  const unsigned mlo = __reduce_max_sync(0xffffffffu, lo);
  return static_cast<int64_t>((static_cast<uint64_t>(static_cast<uint32_t>(mhi)) << 32) | mlo);
}
// Sum over the warp of values < 2^33 (exact: 16-bit halves through 32-bit redux).
__device__ __forceinline__ uint64_t warp_sum_u33(uint64_t v) {
  const unsigned hi = __reduce_add_sync(0xffffffffu, static_cast<unsigned>(v >> 16));
  const unsigned lo = __reduce_add_sync(0xffffffffu, static_cast<unsigned>(v & 0xffffu));
  return (static_cast<uint64_t>(hi) << 16) + lo;
}

__device__ __forceinline__ void mma_ss(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma_su(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.u8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

}  // namespace nqkv::cuda::detail
