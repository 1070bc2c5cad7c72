// Page-table resolution of the partition kernels: the sequence length check (NaN outputs and the error
// bit for an invalid length), the fast path's per-warp page-table prefetch and the generic kernel's
// shared page list.
#pragma once
#include <climits>

#include "kernels/cuda/decode_params.cuh"

namespace nqkv::cuda::detail {

// The sequence's length; 0 when it is invalid, after the sequence's first CTA (`first`) has written the
// NaN outputs of this kv head's query heads and the error bit (every CTA then returns).
__device__ __forceinline__ bool seq_len_ok(const DecodeParams& p, int len) {
  return len > 0 && len <= p.max_seq_len && int64_t(len) <= int64_t(p.c.max_pages_per_seq) * p.c.page_size;
}
__device__ __forceinline__ int checked_seq_len(const DecodeParams& p, int b, int kvh, int G, int D, bool first, int nt) {
  const int len = p.c.seq_lens[b];
  if (seq_len_ok(p, len)) return len;
  if (first) {
    for (int i = threadIdx.x; i < G * D; i += nt) p.out[(int64_t(b) * p.q_heads + kvh * G) * D + i] = __int_as_float(0x7fc00000);
    if (threadIdx.x == 0) atomicOr(p.err, kErrSeqLenOutOfRange);
  }
  return 0;
}

// Page-table entry tid of the CTA whose first token is t0, read before the sequence length is known
// (so the two loads overlap): -1 past the end of the sequence's page-table row, never out of bounds.
__device__ __forceinline__ int prefetch_page(const PagedCache& c, int b, int t0, int pshift, int tid) {
  const int i = (t0 >> pshift) + tid;
  return i < c.max_pages_per_seq ? __ldg(&c.page_table[int64_t(b) * c.max_pages_per_seq + i]) : -1;
}

// Resets the CTA's error and e_p slots and stores the page indices of its npages pages from token t0 on
// (-1 for a page outside the pool, which also sets kErrPageOutOfRange in s_err). Ends with a barrier.
// (Generic kernel only; the fast path reads its entries per warp, prefetch_page.)
__device__ __forceinline__ void load_cta_pages(const PagedCache& c, int b, int t0, int npages, int* s_pages, int& s_err,
                                               int& s_emax) {
  const int tid = threadIdx.x;
  if (tid == 0) {
    s_err = 0;
    s_emax = INT_MIN;
  }
  if (tid < npages) {
    const int pg = c.page_table[int64_t(b) * c.max_pages_per_seq + t0 / c.page_size + tid];
    s_pages[tid] = (pg >= 0 && pg < c.num_pages) ? pg : -1;
  }
  __syncthreads();
  if (tid < npages && s_pages[tid] < 0) atomicOr(&s_err, kErrPageOutOfRange);
}

}  // namespace nqkv::cuda::detail
