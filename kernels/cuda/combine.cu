// The combine kernel (docs/numerics.md section 9.2): per (slab of outputs, kv head, sequence), the
// fixed-order float64 chain over the partition partials with explicit __dmul_rn/__dadd_rn/__ddiv_rn
// (the library is compiled with -fmad=false too). Bit-exact with golden/attention.cpp.
#include <climits>

#include "kernels/cuda/combine.cuh"
#include "kernels/cuda/copy.cuh"
#include "kernels/cuda/page_table.cuh"
#include "kernels/cuda/warp_ops.cuh"
#include "kernels/cuda/workspace.hpp"

namespace nqkv::cuda::detail {

// The combine (section 9.2), after the partition kernel: CTA (slab, kv head, sequence) runs the
// fixed-order chains of kCombineSlab consecutive outputs of one query head, staging up to
// kCombineChunk partitions at a time; when a (sequence, kv head) has an error, its last CTA resets the
// error slot and counter for the next call. Why a separate kernel and these sizes:
// reports/archive/cuda-kernel-history-2026-12-06.md (combine).
__global__ void __launch_bounds__(kCombineThreads) combine_kernel(const DecodeParams p, int D) {
  __shared__ __align__(16) uint32_t sOlo[kCombineChunk][kCombineSlab];
  __shared__ __align__(16) int8_t sOhi[kCombineChunk][kCombineSlab];
  __shared__ __align__(16) uint32_t s_exp2[1024];
  __shared__ double sa[kCombineChunk], sl[kCombineChunk], sf[kCombineChunk];
  __shared__ long long sMp[kCombineChunk];
  __shared__ unsigned long long sLp[kCombineChunk];
  __shared__ int sEp[kCombineChunk];
  __shared__ long long s_M;
  __shared__ int s_serr;
  const int G = p.group, kvh = blockIdx.y, b = blockIdx.z, tid = threadIdx.x;
  // The next call's partition kernel may be scheduled now (programmatic dependent; it waits for this grid's
  // completion before touching global memory, wait_for_previous_kernel).
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
  // Inputs the partition kernel does not write, fetched while it may still be running (PDL).
  for (int i = tid; i < 256; i += kCombineThreads) cp_async16(s_exp2 + 4 * i, p.exp2 + 4 * i);
  cp_async_commit();
  const int len = p.c.seq_lens[b];
  asm volatile("griddepcontrol.wait;\n" ::: "memory");  // the partition grid is complete and visible
  if (!seq_len_ok(p, len)) {  // the partition kernel wrote the NaN outputs and the error bit
    cp_async_wait<0>();
    return;
  }
  const int nparts = (len + kPartTokens - 1) / kPartTokens;
  const int sk = b * p.c.kv_heads + kvh, nslab = G * D / kCombineSlab;
  const int o0 = blockIdx.x * kCombineSlab, h = o0 / D, i0 = o0 - h * D;
  const int64_t hq = int64_t(b) * p.q_heads + kvh * G + h, hrow = hq * p.max_parts;
  // One round trip for the first chunk: its O slab (cp.async) and its partials (M_p, L_p, e_p) together;
  // M over the partitions beyond the first chunk (contexts > 32768 tokens) straight from global memory.
  double den = 0.0, num = 0.0;
  for (int p0 = 0; p0 < nparts; p0 += kCombineChunk) {
    const int pn = min(kCombineChunk, nparts - p0);
    for (int c = tid; c < pn * (kCombineSlab / 4); c += kCombineThreads) {  // low words, 4 per copy
      const int pp = c / (kCombineSlab / 4), q = c - pp * (kCombineSlab / 4);
      cp_async16(&sOlo[pp][4 * q], p.part_Olo + (hrow + p0 + pp) * D + i0 + 4 * q);
    }
    for (int c = tid; c < pn * (kCombineSlab / 16); c += kCombineThreads) {  // high bytes, 16 per copy
      const int pp = c / (kCombineSlab / 16), q = c - pp * (kCombineSlab / 16);
      cp_async16(&sOhi[pp][16 * q], p.part_Ohi + (hrow + p0 + pp) * D + i0 + 16 * q);
    }
    cp_async_commit();
    for (int pp = tid; pp < pn; pp += kCombineThreads) {
      const int64_t hb = hrow + p0 + pp;
      sMp[pp] = static_cast<long long>(__ldcg(reinterpret_cast<const long long*>(p.part_M + hb)));
      sLp[pp] = __ldcg(reinterpret_cast<const unsigned long long*>(p.part_L + hb));
      sEp[pp] = __ldcg(p.part_e + hb);
    }
    long long m_rest = LLONG_MIN;
    if (p0 == 0 && tid < 32)
      for (int pp = kCombineChunk + tid; pp < nparts; pp += 32)
        m_rest = max(m_rest, static_cast<long long>(__ldcg(reinterpret_cast<const long long*>(p.part_M + hrow + pp))));
    __syncthreads();
    if (p0 == 0 && tid < 32) {
      long long m = m_rest;
      for (int pp = tid; pp < pn; pp += 32) m = max(m, sMp[pp]);
      m = warp_max_i64(m);
      if (tid == 0) {
        s_M = m;
        s_serr = __ldcg(p.seq_err + sk);
      }
    }
    cp_async_wait<0>();
    __syncthreads();
    if (s_serr) break;
    for (int pp = tid; pp < pn; pp += kCombineThreads)
      partition_factors(s_exp2, sMp[pp] - s_M, sLp[pp], sEp[pp], sa[pp], sl[pp], sf[pp]);
    __syncthreads();
    if (tid < kCombineSlab)
      for (int pp = 0; pp < pn; ++pp) combine_step(sa[pp], sl[pp], sf[pp], join_o(sOlo[pp][tid], sOhi[pp][tid]), den, num);
    __syncthreads();  // the next chunk overwrites the stage
  }
  if (tid < kCombineSlab) p.out[hq * D + i0 + tid] = s_serr ? __int_as_float(0x7fc00000) : combine_output(num, den);
  // Only a set error slot needs the reset, and every CTA of the pair reads the same value, so without an
  // error no CTA touches the counter (no fence or atomic on the common path's tail).
  if (tid == 0 && s_serr) {  // s_serr was read before this CTA's increment, so the last one may reset
    __threadfence();
    if (atomicAdd(&p.counters[sk], 1) == nslab - 1) {
      p.seq_err[sk] = 0;
      p.counters[sk] = 0;
    }
  }
}

Result launch_combine(const DecodeParams& p, int G, int D, int kv_heads, int batch, cudaStream_t s, bool pdl) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(G * D / kCombineSlab, kv_heads, batch);
  cfg.blockDim = dim3(kCombineThreads);
  cfg.stream = s;
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at;
  cfg.numAttrs = pdl ? 1 : 0;
  return cuda_result(cudaLaunchKernelEx(&cfg, combine_kernel, p, D), "decode_attention combine launch");
}

}  // namespace nqkv::cuda::detail
