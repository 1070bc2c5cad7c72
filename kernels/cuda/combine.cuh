// The combine (section 9.2): its fixed-order float64 steps (shared by combine_kernel and the fused combine
// of the partition kernels, combine_in_cta), slab sizes and the launcher (combine.cu).
#pragma once
#include <cuda_runtime.h>

#include <climits>

#include "kernels/cuda/decode_params.cuh"
#include "kernels/cuda/warp_ops.cuh"
#include "kernels/cuda/workspace.hpp"

namespace nqkv::cuda::detail {

// 64 outputs per CTA, up to 64 partitions staged per round, 128 threads
// (measured: reports/archive/cuda-kernel-history-2026-12-06.md, combine).
constexpr int kCombineSlab = 64, kCombineChunk = 64, kCombineThreads = 128;

// Section 9.2, per partition: a_p from d = M_p - M (exp2 table T[f] * 2^n, 0 below n = -1000),
// L_p 2^-31 and 2^(e_p - 15); one fixed-order step of an output's chain; the final division.
__device__ __forceinline__ void partition_factors(const uint32_t* exp2, int64_t d, uint64_t Lp, int e, double& a,
                                                  double& l, double& f) {
  const int64_t n = d >> 10;
  a = n < -1000 ? 0.0 : __dmul_rn(static_cast<double>(exp2[d & 1023]), pow2d(static_cast<int>(n)));
  l = __dmul_rn(__ull2double_rn(Lp), pow2d(-31));
  f = pow2d(e - 15);
}
__device__ __forceinline__ void combine_step(double a, double l, double f, int64_t O, double& den, double& num) {
  den = __dadd_rn(den, __dmul_rn(a, l));
  num = __dadd_rn(num, __dmul_rn(a, __dmul_rn(__ll2double_rn(O), f)));
}
__device__ __forceinline__ float combine_output(double num, double den) {
  return __double2float_rn(__ddiv_rn(num, __dmul_rn(den, 127.0)));
}

// The fused combine (DecodeParams::fuse_combine): the partition CTA that finished the last item of
// (sequence b, kv head kvh) runs the section 9.2 chains of its G query heads itself, after a
// __threadfence, reading every item's partials from L2 (__ldcg). Same factors and the same fixed
// partition order as combine_kernel, so the same bits. scratch: 3 G kCombineChunk doubles of free shared
// memory. Resets the (sequence, kv head)'s counter and error slot for the next call. Ends with a barrier.
template <int G, int NT>
__device__ __forceinline__ void combine_in_cta(const DecodeParams& p, int b, int kvh, int nparts, double* scratch) {
  constexpr int D = 128, NO = (G * D + NT - 1) / NT;  // outputs per thread
  __shared__ long long s_cM[G];
  __shared__ int s_cerr;
  double* const sa = scratch;
  double* const sl = scratch + G * kCombineChunk;
  double* const sf = scratch + 2 * G * kCombineChunk;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int sk = b * p.c.kv_heads + kvh;
  const int64_t hrow0 = (int64_t(b) * p.q_heads + kvh * G) * p.max_parts;  // head h: + h max_parts
  if (warp < G) {
    long long m = LLONG_MIN;
    for (int pp = lane; pp < nparts; pp += 32)
      m = max(m, static_cast<long long>(__ldcg(reinterpret_cast<const long long*>(p.part_M + hrow0 + warp * p.max_parts + pp))));
    m = warp_max_i64(m);
    if (lane == 0) s_cM[warp] = m;
  }
  if (tid == 0) s_cerr = __ldcg(p.seq_err + sk);
  __syncthreads();
  const int serr = s_cerr;
  double den[NO], num[NO];
#pragma unroll
  for (int k = 0; k < NO; ++k) den[k] = num[k] = 0.0;
  for (int p0 = 0; p0 < nparts && !serr; p0 += kCombineChunk) {
    const int pn = min(kCombineChunk, nparts - p0);
    for (int i = tid; i < G * pn; i += NT) {
      const int h = i / pn, pp = i - h * pn;
      const int64_t hb = hrow0 + h * p.max_parts + p0 + pp;
      partition_factors(p.exp2, static_cast<int64_t>(__ldcg(reinterpret_cast<const long long*>(p.part_M + hb))) - s_cM[h],
                        __ldcg(reinterpret_cast<const unsigned long long*>(p.part_L + hb)), __ldcg(p.part_e + hb), sa[i], sl[i],
                        sf[i]);
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < NO; ++k) {
      const int o = tid + k * NT;
      if (o < G * D) {
        const int h = o / D, i = o - h * D;
        const int64_t hb = hrow0 + h * p.max_parts + p0;
#pragma unroll 8
        for (int pp = 0; pp < pn; ++pp)
          combine_step(sa[h * pn + pp], sl[h * pn + pp], sf[h * pn + pp],
                       join_o(__ldcg(p.part_Olo + (hb + pp) * D + i), __ldcg(p.part_Ohi + (hb + pp) * D + i)), den[k], num[k]);
      }
    }
    __syncthreads();  // the next chunk overwrites the factors
  }
#pragma unroll
  for (int k = 0; k < NO; ++k) {
    const int o = tid + k * NT;
    if (o < G * D) {
      const int h = o / D, i = o - h * D;
      p.out[(int64_t(b) * p.q_heads + kvh * G + h) * D + i] = serr ? __int_as_float(0x7fc00000) : combine_output(num[k], den[k]);
    }
  }
  if (tid == 0) {
    p.counters[sk] = 0;
    if (serr) p.seq_err[sk] = 0;
  }
  __syncthreads();
}

// Launches combine_kernel over (G * D / kCombineSlab, kv_heads, batch) after the partition kernel on
// stream s; with pdl, as its programmatic dependent (the launch overlaps the partition grid's tail).
Result launch_combine(const DecodeParams& p, int G, int D, int kv_heads, int batch, cudaStream_t s, bool pdl);

}  // namespace nqkv::cuda::detail
