// Copies into shared memory and out of it into registers: cp.async (16-byte and predicated 4/8/16-byte),
// predicated shared stores, mbarriers and TMA bulk tensor copies (the K and V code boxes of a page), and
// the ldmatrix loads of the MMA fragments.
#pragma once
#include "kernels/cuda/tile_traits.cuh"

namespace nqkv::cuda::detail {

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const uint32_t s = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
}
// Predicated 16-byte copy to a shared-memory address (no branch around it when p is false).
__device__ __forceinline__ void cp_async16_if(uint32_t smem, const void* gmem, uint32_t p) {
  asm volatile(
      "{\n .reg .pred q;\n setp.ne.u32 q, %2, 0;\n @q cp.async.cg.shared.global [%0], [%1], 16;\n}\n" ::"r"(smem),
      "l"(gmem), "r"(p));
}
// Predicated shared-memory stores (a predicate, not a branch: the compiler branched around these).
__device__ __forceinline__ void st_shared_if(uint32_t addr, int v, uint32_t p) {
  asm volatile("{\n .reg .pred q;\n setp.ne.u32 q, %2, 0;\n @q st.shared.b32 [%0], %1;\n}\n" ::"r"(addr), "r"(v), "r"(p)
               : "memory");
}
// Copy of N = 4, 8 or 16 bytes (N-byte aligned), predicated like cp_async16_if.
template <int N>
__device__ __forceinline__ void cp_async_if(uint32_t smem, const void* gmem, uint32_t p) {
  if constexpr (N == 16) {
    cp_async16_if(smem, gmem, p);
  } else {
    asm volatile(
        "{\n .reg .pred q;\n setp.ne.u32 q, %2, 0;\n @q cp.async.ca.shared.global [%0], [%1], %3;\n}\n" ::"r"(smem),
        "l"(gmem), "r"(p), "n"(N));
  }
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// mbarrier + bulk-copy (TMA) primitives of the fast path's copies.
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
  uint32_t done = 0;
  while (!done)
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
}
// The K and the V code boxes of one page in one asm statement: V lands voff bytes after K and completes on
// the mbarrier 8 bytes after K's.
__device__ __forceinline__ void tma_load_2d_kv(uint32_t dst, const CUtensorMap* mk, const CUtensorMap* mv, int y,
                                               uint32_t bar, uint32_t voff) {
  asm volatile(
      "{\n .reg .b32 d2, b2;\n add.u32 d2, %0, %5;\n add.u32 b2, %3, 8;\n"
      " cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%6, %4}], [%3];\n"
      " cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [d2], [%2, {%6, %4}], [b2];\n}\n" ::"r"(dst),
      "l"(mk), "l"(mv), "r"(bar), "r"(y), "r"(voff), "r"(0)
      : "memory");
}
// One code box (one page of one kv head) into dst, completing on bar.
__device__ __forceinline__ void tma_load_2d(uint32_t dst, const CUtensorMap* m, int y, uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %2}], [%4];\n" ::"r"(dst),
      "l"(m), "r"(y), "r"(0), "r"(bar)
      : "memory");
}
// Orders this thread's earlier generic-proxy accesses of shared memory before later async-proxy (TMA)
// writes to it (a buffer that is refilled by TMA after the threads wrote into it).
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

__device__ __forceinline__ void ldsm4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}
__device__ __forceinline__ void ldsm4t(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}

}  // namespace nqkv::cuda::detail
