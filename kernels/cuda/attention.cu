// Fused split-K decode attention over the paged quantized cache (docs/numerics.md sections 7-9).
//
// One CTA per (partition of 512 tokens, kv head, sequence) computes the integer partition partials
// (M_p, L_p, e_p, O_p) of all G = Hq/Hkv query heads of its kv head, so the codes are read once per
// group. The partials are integers, so how the work inside a partition is divided does not matter.
// A second kernel (combine_kernel, CTAs over slabs of outputs) runs the fixed-order float64 combine
// (section 9.2) with explicit __dmul_rn/__dadd_rn/__ddiv_rn. Bit-exact with golden/attention.cpp.
//
// Inside a CTA (256 threads): the partition's K and V codes and scales are copied to shared memory
// with cp.async (K first, so the score pass overlaps the V copy). Score pass: each thread owns a
// 32-element chunk of the head dimension and keeps the fixed-point query of up to 4 heads for that
// chunk in registers; codes are expanded nibble -> int8 MAC entry with a register LUT (prmt) and
// multiplied with dp2a (int16 x int8 pairs) into exact int32 chunk partials; one thread per
// (head, token) then forms S_t, x_t and U_t (int128). Value pass: integer weights W (uint16 pairs of
// two tokens) times int8 entries with dp2a into int32 accumulators, reduced exactly in int64.
#include <climits>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

#include <cooperative_groups.h>
#include <cuda.h>  // CUtensorMap and its enums (the encoder is fetched through the runtime; no libcuda link)
#include <cudaTypedefs.h>

#include "golden/attention.hpp"
#include "kernels/cuda/common.cuh"

namespace nqkv::cuda {
namespace detail {

constexpr int kThreads = 256;

struct Layout {
  int kc, vc, ks, vs, qs, us, wp, r1, total;
};
__host__ __device__ inline int up16(int v) { return (v + 15) & ~15; }
__host__ __device__ inline Layout make_layout(int D, int bits, int nb, int G) {
  Layout L;
  int o = 0;
  const int rb = D * bits / 8;
  L.kc = o; o += up16(kPartTokens * rb);
  L.vc = o; o += up16(kPartTokens * rb);
  L.ks = o; o += up16(kPartTokens * nb * 2);
  L.vs = o; o += up16(kPartTokens * nb * 2);
  L.qs = o; o += up16(G * D * 2);
  L.us = o; o += up16(G * kPartTokens * 8);
  L.wp = o; o += up16(nb * (kPartTokens / 2) * 16);
  L.r1 = o; o += (16384 > 8 * 4 * D * 4 ? 16384 : 8 * 4 * D * 4);
  L.total = o;
  return L;
}

struct DecodeParams {
  PagedCache c;
  uint32_t lut[4];
  uint32_t lutx[4];  // split MAC table (fast path): X entries A[0..7] in lutx[0..1], Y entries B[0..7] in lutx[2..3]
  const float* q;
  float* out;
  int q_heads, group, max_parts, max_seq_len;
  int64_t cfix;
  const uint32_t* exp2;
  int32_t* err;
  int64_t* part_M;
  uint64_t* part_L;
  int32_t* part_e;
  uint32_t* part_Olo;  // O_p low words and high bytes (DecodeWorkspace)
  int8_t* part_Ohi;
  int32_t* counters;
  int32_t* seq_err;
  DecodeTrace tr;
};
// Fast path with TMA copies: 2D maps of the K / V code rows ([num_pages * kv_heads * page_size] x 64 bytes,
// boxes of one page, 64-byte swizzle = the ldmatrix swizzle of the cp.async path). A kernel parameter of
// its own, not part of DecodeParams: growing DecodeParams by the maps made ptxas spill in the G = 4 kernel.
struct CodeMaps {
  CUtensorMap k, v;
};

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

// Section 9.2, per partition: a_p from d = M_p - M (exp2 table T[f] * 2^n, 0 below n = -1000),
// L_p 2^-31 and 2^(e_p - 15); one fixed-order step of an output's chain; the final division.
__device__ __forceinline__ void partition_factors(const uint32_t* exp2, int64_t d, uint64_t Lp, int e, double& a,
                                                  double& l, double& f) {
  const int64_t n = d >> 10;
  a = n < -1000 ? 0.0 : __dmul_rn(static_cast<double>(exp2[d & 1023]), pow2d(static_cast<int>(n)));
  l = __dmul_rn(__ull2double_rn(Lp), pow2d(-31));
  f = pow2d(e - 15);
}
// O_p from its low word and its sign-extending high byte (DecodeWorkspace).
__host__ __device__ inline int64_t join_o(uint32_t lo, int8_t hi) {
  return static_cast<int64_t>((static_cast<uint64_t>(static_cast<int64_t>(hi)) << 32) | lo);
}
__device__ __forceinline__ void combine_step(double a, double l, double f, int64_t O, double& den, double& num) {
  den = __dadd_rn(den, __dmul_rn(a, l));
  num = __dadd_rn(num, __dmul_rn(a, __dmul_rn(__ll2double_rn(O), f)));
}
__device__ __forceinline__ float combine_output(double num, double den) {
  return __double2float_rn(__ddiv_rn(num, __dmul_rn(den, 127.0)));
}

// End of a partition CTA: its error bits go to the (sequence, kv head)'s slot, which combine_kernel
// reads (NaN outputs) and resets, and to the caller's error word.
__device__ __forceinline__ void publish_partition_errors(const DecodeParams& p, int b, int kvh, int s_err) {
  __syncthreads();  // s_err is final
  if (threadIdx.x == 0 && s_err) {
    atomicOr(&p.seq_err[b * p.c.kv_heads + kvh], s_err);
    atomicOr(p.err, s_err);
  }
  // combine_kernel may be scheduled once every partition CTA is here (programmatic dependent launch;
  // its griddepcontrol.wait still waits for this grid's completion and memory flush).
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
}

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

// The combine (section 9.2), after the partition kernel: CTA (slab, kv head, sequence) runs the
// fixed-order chains of kCombineSlab consecutive outputs of one query head, staging up to
// kCombineChunk partitions at a time; when a (sequence, kv head) has an error, its last CTA resets the
// error slot and counter for the next call. (Spreading the combine over the GPU this way measured faster
// on every benchmark shape than the last partition CTA of each pair running it alone: reports/gpu.md
// round 13.)
// 64 outputs per CTA: half the CTAs of 32 (each re-reads its head's M_p, L_p, e_p), 0.976 at B 32 Hkv 8
// T 8192 and neutral at T 32768 (reports/gpu.md round 16); 32 partitions per round were slower at T 32768.
constexpr int kCombineSlab = 64, kCombineChunk = 64, kCombineThreads = 128;
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

template <int BITS>
__global__ void __launch_bounds__(kThreads, 2) decode_kernel(const DecodeParams p) {
  extern __shared__ __align__(16) uint8_t smem[];
  __shared__ int s_pages[kPartTokens / 16];
  __shared__ int s_err, s_emax, s_qshift[64];
  __shared__ int64_t s_M[64];

  const PagedCache& c = p.c;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int part = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  const int D = c.head_dim, nb = D / c.block, G = p.group, Hq = p.q_heads, H = c.kv_heads;
  const int rb = D * BITS / 8, ps = c.page_size;
  const int is_bf16 = c.type == golden::ElemType::BF16;
  const Layout L = make_layout(D, BITS, nb, G);
  uint8_t* kc = smem + L.kc;
  uint8_t* vc = smem + L.vc;
  const uint16_t* ks = reinterpret_cast<const uint16_t*>(smem + L.ks);
  const uint16_t* vs = reinterpret_cast<const uint16_t*>(smem + L.vs);
  int16_t* qs = reinterpret_cast<int16_t*>(smem + L.qs);
  int64_t* us = reinterpret_cast<int64_t*>(smem + L.us);
  uint32_t* es = reinterpret_cast<uint32_t*>(smem + L.us);  // E of head h at [h * 1024 + t] (inside h's U row)
  uint32_t* wp = reinterpret_cast<uint32_t*>(smem + L.wp);
  int32_t* r1 = reinterpret_cast<int32_t*>(smem + L.r1);

  const int len = checked_seq_len(p, b, kvh, G, D, part == 0, kThreads);
  if (len == 0) return;
  const int nparts = (len + kPartTokens - 1) / kPartTokens;
  if (part >= nparts) return;
  const int t0 = part * kPartTokens;
  const int ntok = min(kPartTokens, len - t0);
  const int npages = (ntok + ps - 1) / ps;
  load_cta_pages(c, b, t0, npages, s_pages, s_err, s_emax);

  // ---- copies: K codes + scales (group 0), V codes + scales (group 1)
  {
    const int cc = ps * rb / 16, sc = ps * nb * 2 / 16;
    for (int is_v = 0; is_v < 2; ++is_v) {
      const uint8_t* gcodes = is_v ? c.v_codes : c.k_codes;
      const uint16_t* gscales = is_v ? c.v_scales : c.k_scales;
      uint8_t* dcodes = is_v ? vc : kc;
      uint8_t* dscales = smem + (is_v ? L.vs : L.ks);
      for (int i = tid; i < npages * (cc + sc); i += kThreads) {
        const int pg = i / (cc + sc), ch = i % (cc + sc);
        const int page = s_pages[pg];
        if (page < 0) continue;
        const int64_t row0 = (int64_t(page) * H + kvh) * ps;
        if (ch < cc) {
          cp_async16(dcodes + pg * ps * rb + ch * 16, gcodes + row0 * rb + ch * 16);
        } else {
          const int s = ch - cc;
          cp_async16(dscales + pg * ps * nb * 2 + s * 16,
                     reinterpret_cast<const uint8_t*>(gscales + row0 * nb) + s * 16);
        }
      }
      cp_async_commit();
    }
  }

  // ---- query in fixed point (section 7.1), one warp per head; stored permuted per 8 elements
  for (int h = warp; h < G; h += kThreads / 32) {
    const int hq = kvh * G + h;
    const float* qv = p.q + (int64_t(b) * Hq + hq) * D;
    float amax = 0.0f;
    bool fin = true;
    for (int i = lane; i < D; i += 32) {
      const float v = qv[i];
      fin = fin && isfinite(v);
      amax = fmaxf(amax, fabsf(v));
    }
    for (int o = 16; o; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    fin = __all_sync(0xffffffffu, fin);
    if (!fin && lane == 0) atomicOr(&s_err, kErrNonFiniteQuery);
    const int sq = (fin && amax > 0.0f) ? 14 - ilogbf(amax) : 0;
    for (int i = lane; i < D; i += 32) {
      int16_t qi = 0;
      if (fin && amax > 0.0f) {
        const double r = rint(ldexp(static_cast<double>(qv[i]), sq));
        qi = static_cast<int16_t>(fmin(fmax(r, -32767.0), 32767.0));
      }
      int n = 0;
      while (perm8(BITS, n) != (i & 7)) ++n;
      qs[h * D + (i & ~7) + n] = qi;
      if (part == 0 && p.tr.q_fixed) p.tr.q_fixed[(int64_t(b) * Hq + hq) * D + i] = qi;
    }
    if (lane == 0) {
      s_qshift[h] = sq;
      if (part == 0 && p.tr.q_shift) p.tr.q_shift[int64_t(b) * Hq + hq] = sq;
    }
  }
  cp_async_wait<1>();
  __syncthreads();

  // ---- score pass (section 7.2 + 8.2)
  {
    const int nchunk = D / 32, TS = 1024 / nchunk, tstride = kThreads / nchunk;
    const int c32 = tid % nchunk, tslot = tid / nchunk, cpb = c.block / 32;
    for (int hg = 0; hg < G; hg += 4) {
      const int nh = min(4, G - hg);
      uint32_t qr[4][16];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const uint4* src = reinterpret_cast<const uint4*>(qs + (hg + min(j, nh - 1)) * D + c32 * 32);
#pragma unroll
        for (int w = 0; w < 4; ++w) {
          const uint4 v = src[w];
          qr[j][4 * w + 0] = j < nh ? v.x : 0u;
          qr[j][4 * w + 1] = j < nh ? v.y : 0u;
          qr[j][4 * w + 2] = j < nh ? v.z : 0u;
          qr[j][4 * w + 3] = j < nh ? v.w : 0u;
        }
      }
      for (int base = 0; base < ntok; base += TS) {
#pragma unroll 1
        for (int k = 0; k < 4; ++k) {
          const int tl = tslot + k * tstride, t = base + tl;
          if (t >= ntok) continue;
          const uint8_t* cp = kc + t * rb + c32 * 4 * BITS;
          int acc[4] = {0, 0, 0, 0};
#pragma unroll
          for (int u = 0; u < 4; ++u) {
            uint32_t lo, hi;
            lut8(spread8<BITS>(cp + u * BITS), p.lut, lo, hi);
#pragma unroll
            for (int j = 0; j < 4; ++j) {
              if (j >= nh) break;  // warp-uniform: G = 1 does a quarter of the work
              acc[j] = dp2a_lo_ss(qr[j][4 * u + 0], lo, acc[j]);
              acc[j] = dp2a_hi_ss(qr[j][4 * u + 1], lo, acc[j]);
              acc[j] = dp2a_lo_ss(qr[j][4 * u + 2], hi, acc[j]);
              acc[j] = dp2a_hi_ss(qr[j][4 * u + 3], hi, acc[j]);
            }
          }
#pragma unroll
          for (int j = 0; j < 4; ++j)
            if (j < nh) r1[(j * TS + tl) * nchunk + c32] = acc[j];
        }
        __syncthreads();
        for (int idx = tid; idx < nh * TS; idx += kThreads) {
          const int j = idx / TS, tl = idx % TS, t = base + tl;
          if (t >= ntok) continue;
          const int32_t* P = r1 + (j * TS + tl) * nchunk;
          int xt = 0;
          bool any = false;
          for (int bk = 0; bk < nb; ++bk) {
            int m, x;
            scale_parts(is_bf16, ks[t * nb + bk], m, x);
            if (m) {
              xt = any ? max(xt, x) : x;
              any = true;
            }
          }
          int64_t S = 0;
          if (any) {
            for (int bk = 0; bk < nb; ++bk) {
              int m, x;
              scale_parts(is_bf16, ks[t * nb + bk], m, x);
              if (!m) continue;
              int32_t Pb = 0;
              for (int q = 0; q < cpb; ++q) Pb += P[bk * cpb + q];
              const int64_t v = int64_t(m) * Pb;
              const int sh = kGuard - (xt - x);
              S += sh >= 0 ? v * (int64_t(1) << sh) : floor_shr(v, -sh);
            }
          } else {
            xt = 0;
          }
          const int h = hg + j;
          const int64_t U = score_to_log2(S, xt, s_qshift[h], p.cfix);
          us[h * kPartTokens + t] = U;
          const int tg = t0 + t;
          if (tg < p.tr.trace_tokens) {
            const int64_t ti = (int64_t(b) * Hq + kvh * G + h) * p.tr.trace_tokens + tg;
            if (p.tr.scores_S) p.tr.scores_S[ti] = S;
            if (p.tr.scores_x) p.tr.scores_x[ti] = xt;
            if (p.tr.logits) p.tr.logits[ti] = U;
          }
        }
        __syncthreads();
      }
    }
  }

  cp_async_wait<0>();
  __syncthreads();

  // ---- scale scan: non-finite blocks, partition V exponent e_p (section 7.3.1)
  {
    int emax = INT_MIN;
    bool nonfin = false;
    for (int i = tid; i < ntok * nb; i += kThreads) {
      const uint32_t sk = ks[i], sv = vs[i];
      nonfin = nonfin || scale_nonfinite(is_bf16, sk) || scale_nonfinite(is_bf16, sv);
      int m, x;
      scale_parts(is_bf16, sv, m, x);
      if (m) emax = max(emax, x + bit_length32(uint32_t(m)) - 1);
    }
    for (int o = 16; o; o >>= 1) emax = max(emax, __shfl_xor_sync(0xffffffffu, emax, o));
    nonfin = __any_sync(0xffffffffu, nonfin);
    if (lane == 0) {
      atomicMax(&s_emax, emax);
      if (nonfin) atomicOr(&s_err, kErrNonFiniteCache);
    }
  }
  // ---- per head: M_p, E_t, L_p (one warp per head; E overwrites the head's own U row)
  for (int h = warp; h < G; h += kThreads / 32) {
    int64_t u[kPartTokens / 32];
    int64_t mx = LLONG_MIN;
#pragma unroll
    for (int k = 0; k < kPartTokens / 32; ++k) {
      const int t = lane + 32 * k;
      u[k] = t < ntok ? us[h * kPartTokens + t] : LLONG_MIN;
      mx = max(mx, u[k]);
    }
    for (int o = 16; o; o >>= 1) mx = max(mx, static_cast<int64_t>(__shfl_xor_sync(0xffffffffu, mx, o)));
    __syncwarp();
    uint64_t sum = 0;
#pragma unroll
    for (int k = 0; k < kPartTokens / 32; ++k) {
      const int t = lane + 32 * k;
      const uint32_t E = t < ntok ? exp2_fixed(p.exp2, u[k] - mx) : 0u;
      es[h * 2 * kPartTokens + t] = E;
      sum += E;
    }
    for (int o = 16; o; o >>= 1) sum += static_cast<uint64_t>(__shfl_xor_sync(0xffffffffu, sum, o));
    if (lane == 0) {
      s_M[h] = mx;
      const int64_t pi = (int64_t(b) * Hq + kvh * G + h) * p.max_parts + part;
      p.part_M[pi] = mx;
      p.part_L[pi] = sum;
    }
  }
  __syncthreads();
  const int ep = s_emax == INT_MIN ? 0 : s_emax;

  // ---- value pass (section 7.3), 4 heads at a time
  {
    const int SC = D / 8, sc = tid % SC, tl = tid / SC, NTL = kThreads / SC;
    const int bk = sc * 8 / c.block;
    const int npairs = (ntok + 1) / 2;
    for (int hg = 0; hg < G; hg += 4) {
      const int nh = min(4, G - hg);
      // weight pairs: wp[(block * 256 + pair) * 4 + j] = W(t0) | W(t0 + 1) << 16
      for (int idx = tid; idx < nb * (kPartTokens / 2); idx += kThreads) {
        const int blk = idx / (kPartTokens / 2), tp = idx % (kPartTokens / 2);
        uint32_t wv[4] = {0, 0, 0, 0};
        for (int tt = 0; tt < 2; ++tt) {
          const int t = 2 * tp + tt;
          if (t >= ntok) continue;
          int m, x;
          scale_parts(is_bf16, vs[t * nb + blk], m, x);
          if (!m) continue;
          const int k = 16 + ep - x;
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            if (j >= nh) continue;
            const uint64_t E = es[(hg + j) * 2 * kPartTokens + t];
            uint64_t w = 0;
            if (E && k < 64) {
              const uint64_t prod = E * uint64_t(m);
              const uint64_t q = prod >> k, r = prod & ((uint64_t(1) << k) - 1), half = uint64_t(1) << (k - 1);
              w = q + ((r > half || (r == half && (q & 1))) ? 1 : 0);
              w = w > 65535 ? 65535 : w;
            }
            wv[j] |= uint32_t(w) << (16 * tt);
          }
        }
        reinterpret_cast<uint4*>(wp)[idx] = make_uint4(wv[0], wv[1], wv[2], wv[3]);
      }
      __syncthreads();
      int acc[4][8];
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int n = 0; n < 8; ++n) acc[j][n] = 0;
      for (int tp = tl; tp < npairs; tp += NTL) {
        const int ta = 2 * tp;
        const uint32_t w0 = spread8<BITS>(vc + ta * rb + sc * BITS);
        const uint32_t w1 = ta + 1 < ntok ? spread8<BITS>(vc + (ta + 1) * rb + sc * BITS) : w0;
        uint32_t lo0, hi0, lo1, hi1;
        lut8(w0, p.lut, lo0, hi0);
        lut8(w1, p.lut, lo1, hi1);
        const uint32_t il0 = prmt(lo0, lo1, 0x5140u), il1 = prmt(lo0, lo1, 0x7362u);
        const uint32_t il2 = prmt(hi0, hi1, 0x5140u), il3 = prmt(hi0, hi1, 0x7362u);
        const uint4 wv = reinterpret_cast<const uint4*>(wp)[bk * (kPartTokens / 2) + tp];
        const uint32_t wj[4] = {wv.x, wv.y, wv.z, wv.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          if (j >= nh) break;
          acc[j][0] = dp2a_lo_us(wj[j], il0, acc[j][0]);
          acc[j][1] = dp2a_hi_us(wj[j], il0, acc[j][1]);
          acc[j][2] = dp2a_lo_us(wj[j], il1, acc[j][2]);
          acc[j][3] = dp2a_hi_us(wj[j], il1, acc[j][3]);
          acc[j][4] = dp2a_lo_us(wj[j], il2, acc[j][4]);
          acc[j][5] = dp2a_hi_us(wj[j], il2, acc[j][5]);
          acc[j][6] = dp2a_lo_us(wj[j], il3, acc[j][6]);
          acc[j][7] = dp2a_hi_us(wj[j], il3, acc[j][7]);
        }
      }
      // token lanes of one warp (lanes sc, sc + SC, ...): exact int32 sums (< 2^30)
      for (int o = SC; o < 32; o <<= 1)
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (j < nh)
#pragma unroll
          for (int n = 0; n < 8; ++n) acc[j][n] += __shfl_xor_sync(0xffffffffu, acc[j][n], o);
      if (lane < SC) {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (j < nh)
#pragma unroll
            for (int n = 0; n < 8; ++n) r1[(warp * 4 + j) * D + sc * 8 + perm8(BITS, n)] = acc[j][n];
      }
      __syncthreads();
      for (int idx = tid; idx < nh * D; idx += kThreads) {
        const int j = idx / D, i = idx % D;
        int64_t o = 0;
        for (int w = 0; w < kThreads / 32; ++w) o += r1[(w * 4 + j) * D + i];
        const int64_t pi = (int64_t(b) * Hq + kvh * G + hg + j) * p.max_parts + part;
        p.part_Olo[pi * D + i] = static_cast<uint32_t>(o);
        p.part_Ohi[pi * D + i] = static_cast<int8_t>(o >> 32);
        if (i == 0) p.part_e[pi] = ep;
      }
      __syncthreads();
    }
  }

  publish_partition_errors(p, b, kvh, s_err);
}

// ================================================================================================
// Fast path (4-bit codes, head_dim 128, G <= 4, block 32/64/128): integer tensor cores.
// One CTA of 8 warps per (partition, kv head, sequence); warp w owns tokens [64w, 64w + 64) of the
// partition and copies them itself (cp.async, K then V, 16-byte chunks, XOR-swizzled rows).
// Scores: mma.m16n8k32 with A = LUT-expanded K codes (16 tokens x 32 dims of one block, ldmatrix),
// B = the int16 query split as Q = 256 * Qh (s8) + Ql (u8); per block acc = (sum Qh.C) << 8, then
// += sum Ql.C: exactly P_b (|P_b| < 2^30 for <= 256 dims). Values: mma with A = codes transposed
// (16 dims x 32 tokens; ldmatrix.trans + byte permutes), B = W split as 256 * Wh + Wl (u8, u8) in the
// 8 columns (head, half); per-warp int32 sums (< 2^30), CTA sum in int64 via shared atomics.
// Every sum is an exact integer, so the partials equal the generic kernel's bit for bit.
constexpr int kFW = 8;  // warps per CTA, 64 tokens each
constexpr double kTwo52 = 4503599627370496.0;  // 2^52: hi word 0x43300000 + int32 lo word = 2^52 + lo

__device__ __forceinline__ void ldsm4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}
__device__ __forceinline__ void ldsm4t(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
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
// Shared memory of the fast path for CS CTAs per partition (each stages 512 / CS tokens): codes,
// scales, the query, and for G = 1 at blocks of 64 or 128 the 4 KB exp2 table of E_t (section 8.4).
// E_t's table loads have a random index per lane: through L1 a warp's load touches up to 32 sectors,
// from shared memory it is one wavefront plus bank conflicts. Same-run A/B (reports/gpu.md round 16):
// G = 1 rows 1.5-2% faster; G = 4 rows mixed (B 1 / B 8 up to 3.7% faster, B 32 T 32768 0.9% slower),
// so G >= 2 keeps the L1 path. At block 32 the table would cost the third CTA per SM (228 KB).
__host__ __device__ constexpr bool exp2_in_smem(int nb, int G) { return nb <= 2 && G == 1; }
__host__ __device__ inline int fast_smem_bytes(int nb, int G, int cs = 1) {
  return (65536 + 2048 * nb) / cs + G * 128 * 2 + (exp2_in_smem(nb, G) ? 4096 : 0);
}

// P_b tiles at G = 4, block 32 (NB G = 16 ints, 64 bytes per token): a lane reads its token pair
// t = 2L, 2L + 1 (mod 16) as 16-byte chunks, and pairs sit 128 bytes apart, so in the plain layout
// ([16 tokens][NB][G]) the 8 lanes of a quarter-warp hit one bank group (8-way conflicts). This layout
// XORs the chunk index with the pair (0..7): those lanes get distinct bank groups, loads and the score
// pass's int2 stores (an 8-byte word never crosses a chunk) both conflict-free. Byte offset of int j
// (= bk G + h) of tile token t. Smaller NB G keep the plain layout: at 64 bytes per pair (G = 4, block
// 64; 4-way) the swizzled addressing measured 1% slower (reports/gpu.md round 16).
__device__ __forceinline__ int p_byte_swz(int t, int j) {
  const int pair = t >> 1;
  return pair * 128 + (((t & 1) * 64 + 4 * j) ^ ((pair & 7) << 4));
}

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

// CS = 2: a cluster of 2 CTAs (4 warps, 256 tokens each) per partition, for small grids. The
// partition max M_p and e_p are exchanged over distributed shared memory before E/W (E_t needs the
// partition max), and rank 0 adds the peer's integer partials L and O (exact, any order).
//
// TMA = true: each warp's pages arrive by bulk copies (one lane per (page, K|V, codes|scales); codes
// through the tensor maps with the same 64-byte swizzle), completing on two mbarriers per warp, instead
// of 16-byte cp.async per lane. The dynamic shared memory is then aligned up to 1 KB (swizzle period).
template <int NB, int G, int MINB, int CS, bool SPLIT, bool TMA>
__device__ __forceinline__ void decode_mma_body(const DecodeParams& p, const CodeMaps* maps) {
  constexpr int NW = kFW / CS, NT = 32 * NW, TOK = 64 * NW;  // warps, threads, tokens of this CTA
  static_assert(!TMA || CS == 1, "TMA copies: one CTA per partition");
  extern __shared__ __align__(16) uint8_t smem_raw[];
  uint8_t* const smem =
      TMA ? smem_raw + ((1024u - static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw))) & 1023u) : smem_raw;
  __shared__ __align__(8) unsigned long long s_bar[TMA ? NW : 1][2];
  __shared__ int s_err, s_emax, s_qshift[G];
  __shared__ long long s_Mw[NW][G];
  __shared__ unsigned long long s_Lw[NW][G];
  constexpr int D = 128, SPB = 4 / NB;  // k-steps (32 dims) per block
  const PagedCache& c = p.c;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, tig = lane & 3;
  const int part = blockIdx.x / CS, rank = CS > 1 ? int(blockIdx.x % CS) : 0;
  const int kvh = blockIdx.y, b = blockIdx.z;
  const int Hq = p.q_heads, H = c.kv_heads, ps = c.page_size;
  const int is_bf16 = c.type == golden::ElemType::BF16;
  uint8_t* Kc = smem;
  uint8_t* Vc = smem + 64 * TOK;
  uint16_t* Ks = reinterpret_cast<uint16_t*>(smem + 128 * TOK);
  uint16_t* Vs = Ks + TOK * NB;
  int16_t* qs = reinterpret_cast<int16_t*>(smem + 128 * TOK + 4 * TOK * NB);
  uint32_t* const s_exp2 = reinterpret_cast<uint32_t*>(smem + 128 * TOK + 4 * TOK * NB + G * 128 * 2);  // if exp2_in_smem

  // The page-table entries (lane i of each warp: page i of the warp's 64 tokens) and (warps < G) the
  // query are loaded before the sequence length is known, so the CTA's first three global round trips
  // overlap instead of following each other; each warp then works from its own lanes' entries (shuffles),
  // with no shared-memory page list and no barrier before its copies.
  const int pshift = ps == 64 ? 6 : 4;  // validate_cache: page_size is 16 or 64
  const int wt0 = warp * 64;
  const int pg_pre = lane < (64 >> pshift) ? prefetch_page(c, b, part * kPartTokens + rank * TOK + wt0, pshift, lane) : -1;
  float qraw[4];
  if (warp < G) {
    const float* qv = p.q + (int64_t(b) * Hq + kvh * G + warp) * D;
#pragma unroll
    for (int k = 0; k < 4; ++k) qraw[k] = __ldg(&qv[lane + 32 * k]);
  }
  const int len = checked_seq_len(p, b, kvh, G, D, part == 0 && rank == 0, NT);
  if (len == 0) return;  // uniform over the cluster
  const int nparts = (len + kPartTokens - 1) / kPartTokens;
  if (part >= nparts) return;  // uniform over the cluster
  const int ntok_part = min(kPartTokens, len - part * kPartTokens);
  const int t0 = part * kPartTokens + rank * TOK;  // this CTA's first token
  const int ntok = max(0, min(TOK, len - t0));
  const int wn = max(0, min(64, ntok - wt0));
  const int npw = (wn + ps - 1) >> pshift;  // pages of this warp; lane i < npw holds page i (-1: outside the pool)
  const bool pg_ok = pg_pre >= 0 && pg_pre < c.num_pages;
  const int wpage = lane < npw && pg_ok ? pg_pre : -1;
  // Errors found before the query barrier are added to s_err after it (tid 0 resets s_err before it).
  int early_err = __any_sync(0xffffffffu, lane < npw && !pg_ok) ? kErrPageOutOfRange : 0;
  if (tid == 0) {
    s_err = 0;
    s_emax = INT_MIN;
  }
  // ---- this warp's copies: group 0 = K codes + scales, group 1 = V codes + scales.
  // Scales: each lane copies the K and V scales of the two tokens it owns in the epilogue (wt0 + 2 lane
  // and + 1, always in one page: pages hold 16 or 64 tokens), 4 NB bytes each, by cp.async; the 64-bit
  // source offset is shared by K and V.
  const uint32_t bar_k = static_cast<uint32_t>(__cvta_generic_to_shared(&s_bar[TMA ? warp : 0][0])), bar_v = bar_k + 8;
  // The exp2 table rides in group 0 (every thread's wait<0> and the CTA barrier before E_t cover it).
  if constexpr (exp2_in_smem(NB, G)) {
#pragma unroll
    for (int i = tid; i < 256; i += NT) cp_async16(s_exp2 + 4 * i, p.exp2 + 4 * i);
  }
  const int tl0 = 2 * lane;
  const int spage_l = __shfl_sync(0xffffffffu, wpage, tl0 >> pshift);
  const int spage = tl0 < wn ? spage_l : -1;
  const uint64_t soff =
      (uint64_t(uint32_t(spage) * uint32_t(H) + uint32_t(kvh)) * uint32_t(ps) + uint32_t((wt0 + tl0) & (ps - 1))) * (2 * NB);
  const uint32_t sdst = static_cast<uint32_t>(__cvta_generic_to_shared(Ks + (wt0 + tl0) * NB));
  auto copy_scales = [&](int is_v) {
    cp_async_if<4 * NB>(sdst + (is_v ? 2 * TOK * NB : 0),
                        reinterpret_cast<const uint8_t*>(is_v ? c.v_scales : c.k_scales) + soff, spage >= 0);
    cp_async_commit();
  };
  if constexpr (TMA) {
    // Lane i < the warp's page count issues the K and the V code copies of page i (tensor maps, one box =
    // the page's rows of this kv head). A page of the warp starts at a page boundary (64-token warps,
    // page_size 16 or 64).
    if (lane == 0) {
      mbar_init(bar_k, 1);
      mbar_init(bar_v, 1);
      asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncwarp();
    const int page = wpage;
    const int nvalid = __popc(__ballot_sync(0xffffffffu, page >= 0));
    if (lane == 0) {
      const uint32_t bytes = static_cast<uint32_t>(nvalid * ps * 64);
      mbar_arrive_expect_tx(bar_k, bytes);
      mbar_arrive_expect_tx(bar_v, bytes);
    }
    __syncwarp();
    if (page >= 0) {
      const int row = (page * H + kvh) * ps;  // < 2^31: checked on the host
      const uint32_t dst = static_cast<uint32_t>(__cvta_generic_to_shared(Kc + (wt0 + lane * ps) * 64));
      tma_load_2d_kv(dst, &maps->k, &maps->v, row, bar_k, 64 * TOK);  // Vc = Kc + 64 TOK, bar_v = bar_k + 8
    }
    copy_scales(0);
    copy_scales(1);
  } else {
    // Lane: 16-byte chunk lane & 3 of tokens lane / 4 + 8j. Tokens 16m + tr and 16m + 8 + tr share a page
    // (pages of 16 or 64 tokens), so 4 page lookups and 64-bit offsets serve the 8 rows (32-bit page row
    // index: the host checks num_pages * kv_heads < 2^31); the destinations are one base plus immediates,
    // and the copies are predicated rather than branched around.
    const int ch = lane & 3, tr = lane >> 2;
    const uint32_t sw = static_cast<uint32_t>((ch ^ ((tr >> 1) & 3)) << 4);
    uint64_t goff[4];
    unsigned okm = 0;
#pragma unroll
    for (int m = 0; m < 4; ++m) {
      const int pm = __shfl_sync(0xffffffffu, wpage, (16 * m) >> pshift);  // page of rows 16m .. 16m + 15
      const int page = tr + 16 * m < wn ? pm : -1;
      if (page >= 0) okm |= (tr + 16 * m + 8 < wn ? 3u : 1u) << (2 * m);
      goff[m] = uint64_t(uint32_t(page) * uint32_t(H) + uint32_t(kvh)) * uint32_t(ps * 64) +
                uint32_t((((tr + 16 * m) & (ps - 1)) << 6) + ch * 16);
    }
    const uint32_t kdst = static_cast<uint32_t>(__cvta_generic_to_shared(Kc + (wt0 + tr) * 64 + sw));
#pragma unroll
    for (int is_v = 0; is_v < 2; ++is_v) {
      const uint8_t* gc = is_v ? c.v_codes : c.k_codes;
      const uint32_t dst = kdst + (is_v ? 64 * TOK : 0);  // Vc = Kc + 64 TOK
#pragma unroll
      for (int j = 0; j < 8; ++j) cp_async16_if(dst + 512 * j, gc + goff[j >> 1] + (j & 1) * 512, (okm >> j) & 1u);
      copy_scales(is_v);
    }
  }

  // ---- query in fixed point (section 7.1), one warp per head, natural order
  if (warp < G) {
    const int h = warp, hq = kvh * G + h;
    float v[4];
    float amax = 0.0f;
    bool fin = true;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      v[k] = qraw[k];
      fin = fin && isfinite(v[k]);
      amax = fmaxf(amax, fabsf(v[k]));
    }
    // The bits of a non-negative float order like its value: one redux instead of 5 shuffle rounds
    // (a NaN's bits may win, but then fin is false and amax is not used).
    amax = __uint_as_float(__reduce_max_sync(0xffffffffu, __float_as_uint(amax)));
    fin = __all_sync(0xffffffffu, fin);
    if (!fin) early_err |= kErrNonFiniteQuery;
    const int sq = (fin && amax > 0.0f) ? 14 - ilogbf(amax) : 0;
    // q * 2^sq in fp32, as two power-of-two factors (sq is in [-113, 163], each factor's exponent in
    // [-57, 82], a normal float): exact whenever |q 2^sq| >= 2^-126 (then every intermediate is normal
    // too), and smaller values round to 0 either way; |q 2^sq| < 2^15, so the int conversion is RNE
    // without overflow and the clamp only maps 32768 to 32767.
    const float f1 = __int_as_float((127 + (sq >> 1)) << 23), f2 = __int_as_float((127 + sq - (sq >> 1)) << 23);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const int i = lane + 32 * k;
      int16_t qi = 0;
      if (fin && amax > 0.0f) qi = static_cast<int16_t>(max(-32767, min(32767, __float2int_rn(__fmul_rn(__fmul_rn(v[k], f1), f2)))));
      qs[h * D + i] = qi;
      if (part == 0 && rank == 0 && p.tr.q_fixed) p.tr.q_fixed[(int64_t(b) * Hq + hq) * D + i] = qi;
    }
    if (lane == 0) {
      s_qshift[h] = sq;
      if (part == 0 && rank == 0 && p.tr.q_shift) p.tr.q_shift[int64_t(b) * Hq + hq] = sq;
    }
    // Pack this head's B-fragment words once per CTA (not once per warp), over its own (now dead)
    // qs row: lane -> (tig, k-step s, half r), words qh[s][r] / ql[s][r] of fragment lane (g = h, tig).
    // Row h holds 4 chunks of 16 bytes per tig: chunk c = qh words (c = 0, 1) / ql words (c = 2, 3),
    // stored at ((c ^ (h & 1)) * 4 + tig) * 16 so that the 16-byte loads of heads 2m and 2m + 1
    // (one quarter-warp) fall in different banks.
    // (Only with the split table: the non-split variants keep packing per warp, below, because
    // the shared fragments raised one of their existing spills, <2, 4, .., false>, 64 -> 112 bytes.)
    if constexpr (SPLIT) {
      __syncwarp();
      const int ft = lane & 3, fs = (lane >> 2) & 3, fr = lane >> 4;
      uint32_t hv = 0, lv = 0;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int q = qs[h * D + 32 * fs + 8 * ft + ((4 * fr + j) ^ 1)];
        hv |= uint32_t((q >> 8) & 255) << (8 * j);
        lv |= uint32_t(q & 255) << (8 * j);
      }
      __syncwarp();
      const int w = 2 * fs + fr;  // word of the 8 qh (and 8 ql) words
      uint32_t* row = reinterpret_cast<uint32_t*>(qs + h * D);
      row[((((w >> 2) ^ (h & 1)) * 4 + ft) << 2) + (w & 3)] = hv;
      row[((((2 + (w >> 2)) ^ (h & 1)) * 4 + ft) << 2) + (w & 3)] = lv;
    }
  }
  __syncthreads();
  if (lane == 0 && early_err) atomicOr(&s_err, early_err);

  // ---- B fragments of the query: column n = g (head), k-step s, rows k <-> dims 32s + 8tig + perm
  // (packed above by the head's warp; 4 x 16-byte loads per lane, zero for columns g >= G)
  uint32_t qh[4][2], ql[4][2];
  if constexpr (SPLIT) {
    uint4 fc[4];
#pragma unroll
    for (int c4 = 0; c4 < 4; ++c4) {
      fc[c4] = make_uint4(0u, 0u, 0u, 0u);
      if (g < G) fc[c4] = reinterpret_cast<const uint4*>(qs + g * D)[((c4 ^ (g & 1)) << 2) + tig];
    }
#pragma unroll
    for (int h2 = 0; h2 < 2; ++h2) {
      qh[2 * h2][0] = fc[h2].x, qh[2 * h2][1] = fc[h2].y, qh[2 * h2 + 1][0] = fc[h2].z, qh[2 * h2 + 1][1] = fc[h2].w;
      ql[2 * h2][0] = fc[2 + h2].x, ql[2 * h2][1] = fc[2 + h2].y, ql[2 * h2 + 1][0] = fc[2 + h2].z, ql[2 * h2 + 1][1] = fc[2 + h2].w;
    }
  } else {
#pragma unroll
    for (int s = 0; s < 4; ++s)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        uint32_t hv = 0, lv = 0;
        if (g < G) {
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const int q = qs[g * D + 32 * s + 8 * tig + ((4 * r + j) ^ 1)];
            hv |= uint32_t((q >> 8) & 255) << (8 * j);
            lv |= uint32_t(q & 255) << (8 * j);
          }
        }
        qh[s][r] = hv;
        ql[s][r] = lv;
      }
  }

  cp_async_wait<1>();
  if constexpr (TMA) mbar_wait(bar_k, 0);
  __syncwarp();
  const uint32_t kbase = static_cast<uint32_t>(__cvta_generic_to_shared(Kc));
  const uint32_t vbase = static_cast<uint32_t>(__cvta_generic_to_shared(Vc));
  // ---- score pass: 4 m-tiles of 16 tokens; P_b stored over the tile's own (consumed) K rows
  for (int mt = 0; mt < 4; ++mt) {
    if (16 * mt >= wn) break;
    uint32_t w0[4], w1[4];
    {
      const int t = wt0 + 16 * mt + (lane & 7), s = lane >> 3;
      ldsm4(kbase + t * 64 + ((s ^ ((t >> 1) & 3)) << 4), w0[0], w0[1], w0[2], w0[3]);
      const int t2 = t + 8;
      ldsm4(kbase + t2 * 64 + ((s ^ ((t2 >> 1) & 3)) << 4), w1[0], w1[1], w1[2], w1[3]);
    }
    int acc[NB][4];
    if constexpr (SPLIT) {
      // Split table: fragments X and Y with X + Y = C (split_mac_table), 7 instructions per 8 codes
      // instead of 11; P_b = ((Qh.X + Qh.Y) << 8) + Ql.X + Ql.Y (exact integers, no overflow).
  #pragma unroll
      for (int bk = 0; bk < NB; ++bk) {
        int ah[4] = {0, 0, 0, 0}, al[4] = {0, 0, 0, 0};
  #pragma unroll
        for (int u = 0; u < SPB; ++u) {
          const int s = bk * SPB + u;
          uint32_t x[4], y[4];
          lut8x(w0[s], p.lutx, x[0], x[2], y[0], y[2]);
          lut8x(w1[s], p.lutx, x[1], x[3], y[1], y[3]);
          mma_ss(ah, x, qh[s][0], qh[s][1]);
          mma_su(al, x, ql[s][0], ql[s][1]);
          mma_ss(ah, y, qh[s][0], qh[s][1]);
          mma_su(al, y, ql[s][0], ql[s][1]);
        }
  #pragma unroll
        for (int r = 0; r < 4; ++r) acc[bk][r] = (ah[r] << 8) + al[r];
      }
    } else {  // codebooks without a split table (split_mac_table false): select-based LUT
  #pragma unroll
      for (int bk = 0; bk < NB; ++bk) {
        uint32_t a[SPB][4];
  #pragma unroll
        for (int u = 0; u < SPB; ++u) {
          const int s = bk * SPB + u;
          lut8(w0[s], p.lut, a[u][0], a[u][2]);
          lut8(w1[s], p.lut, a[u][1], a[u][3]);
        }
  #pragma unroll
        for (int r = 0; r < 4; ++r) acc[bk][r] = 0;
  #pragma unroll
        for (int u = 0; u < SPB; ++u) mma_ss(acc[bk], a[u], qh[bk * SPB + u][0], qh[bk * SPB + u][1]);
  #pragma unroll
        for (int r = 0; r < 4; ++r) acc[bk][r] <<= 8;
  #pragma unroll
        for (int u = 0; u < SPB; ++u) mma_su(acc[bk], a[u], ql[bk * SPB + u][0], ql[bk * SPB + u][1]);
      }
    }
    __syncwarp();
    // (G = 1: predicated stores, 1-2% faster than the branch the compiler made; for G = 4 they were 0.3-2%
    // slower, reports/gpu.md round 15)
    int32_t* Pt = reinterpret_cast<int32_t*>(Kc + (wt0 + 16 * mt) * 64);  // [16 tokens][NB][G] (or p_byte_swz)
#pragma unroll
    for (int bk = 0; bk < NB; ++bk) {
      if constexpr (G >= 2) {
        if (2 * tig < G) {
          if constexpr (NB * G == 16) {
            uint8_t* const pb = reinterpret_cast<uint8_t*>(Pt);
            *reinterpret_cast<int2*>(pb + p_byte_swz(g, bk * G + 2 * tig)) = make_int2(acc[bk][0], acc[bk][1]);
            *reinterpret_cast<int2*>(pb + p_byte_swz(g + 8, bk * G + 2 * tig)) = make_int2(acc[bk][2], acc[bk][3]);
          } else {
            *reinterpret_cast<int2*>(&Pt[(g * NB + bk) * G + 2 * tig]) = make_int2(acc[bk][0], acc[bk][1]);
            *reinterpret_cast<int2*>(&Pt[((g + 8) * NB + bk) * G + 2 * tig]) = make_int2(acc[bk][2], acc[bk][3]);
          }
        }
      } else {
        const uint32_t pt = kbase + (wt0 + 16 * mt) * 64;  // = Pt
        st_shared_if(pt + (g * NB + bk) * 4, acc[bk][0], tig == 0);
        st_shared_if(pt + ((g + 8) * NB + bk) * 4, acc[bk][2], tig == 0);
      }
    }
  }
  __syncwarp();
  // ---- per token (lane owns tokens 2 lane, 2 lane + 1 of the warp): the K scale parts, x_t and the
  // block shifts once per token, then S_t (7.2) and U_t (8.2) of all G heads.
  int64_t u[2][G];
  int xts[2];
  uint32_t ksw[NB];
  load_scale_words<NB>(Ks + (wt0 + tl0) * NB, ksw);
  {
    const uint8_t* const Ptile = Kc + (wt0 + (tl0 & ~15)) * 64;  // this lane's 16-token P_b tile
    const int32_t* Pp = reinterpret_cast<const int32_t*>(Ptile) + (tl0 & 15) * NB * G;
    // Int j of this lane's token tl0 + e in the tile (NB G = 16: the swizzled layout, p_byte_swz).
    auto P_at = [&](int e, int j) -> int32_t {
      if constexpr (NB * G == 16)
        return *reinterpret_cast<const int32_t*>(Ptile + p_byte_swz((tl0 & 15) + e, j));
      else
        return Pp[e * NB * G + j];
    };
    int mm[2][NB], rs[2][NB];
    bool fast = true;
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      int ms[NB], xs[NB];
      int xt = INT_MIN;
#pragma unroll
      for (int bk = 0; bk < NB; ++bk) {
        scale_parts(is_bf16, scale_at(ksw, e * NB + bk), ms[bk], xs[bk]);
        if (ms[bk]) xt = max(xt, xs[bk]);
      }
      if (xt == INT_MIN) xt = 0;
      xts[e] = xt;
#pragma unroll
      for (int bk = 0; bk < NB; ++bk) {
        const int sh = kGuard - (xt - xs[bk]);
        mm[e][bk] = ms[bk] ? (sh >= 0 ? ms[bk] << sh : ms[bk]) : 0;
        rs[e][bk] = (ms[bk] && sh < 0) ? min(-sh, 63) : 0;
        fast = fast && rs[e][bk] == 0;
      }
#pragma unroll
      for (int h = 0; h < G; ++h) {
        const int k = 38 + kGuard + s_qshift[h] - xt;
        fast = fast && k > 64 && k < 127;
      }
    }
    fast = fast && p.cfix > 0;
    if (__all_sync(0xffffffffu, fast)) {
      const uint64_t lomask = ~uint64_t(0) >> (__ffsll(p.cfix) - 1);  // cfix > 0 here
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        int32_t Pv[NB * G];
        if constexpr ((NB * G) % 4 == 0) {
#pragma unroll
          for (int i = 0; i < NB * G / 4; ++i) {
            const int4 v = NB * G == 16 ? *reinterpret_cast<const int4*>(Ptile + p_byte_swz((tl0 & 15) + e, 4 * i))
                                        : reinterpret_cast<const int4*>(Pp + e * NB * G)[i];
            Pv[4 * i] = v.x;
            Pv[4 * i + 1] = v.y;
            Pv[4 * i + 2] = v.z;
            Pv[4 * i + 3] = v.w;
          }
        } else {
#pragma unroll
          for (int i = 0; i < NB * G; ++i) Pv[i] = Pp[e * NB * G + i];
        }
#pragma unroll
        for (int h = 0; h < G; ++h) {
          int64_t S = 0;
#pragma unroll
          for (int bk = 0; bk < NB; ++bk) S += static_cast<int64_t>(mm[e][bk]) * Pv[bk * G + h];
          const int s = 38 + kGuard + s_qshift[h] - xts[e] - 64;
          u[e][h] = logit_fast(S, s, p.cfix, lomask);
        }
      }
      if (p.tr.trace_tokens > t0) {  // trace needs S: recompute (trace runs only in the tests)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int tg = t0 + wt0 + tl0 + e;
          if (tl0 + e >= wn || tg >= p.tr.trace_tokens) continue;
#pragma unroll
          for (int h = 0; h < G; ++h) {
            int64_t S = 0;
#pragma unroll
            for (int bk = 0; bk < NB; ++bk) S += static_cast<int64_t>(mm[e][bk]) * P_at(e, bk * G + h);
            const int64_t ti = (int64_t(b) * Hq + kvh * G + h) * p.tr.trace_tokens + tg;
            if (p.tr.scores_S) p.tr.scores_S[ti] = S;
            if (p.tr.scores_x) p.tr.scores_x[ti] = xts[e];
            if (p.tr.logits) p.tr.logits[ti] = u[e][h];
          }
        }
      }
    } else {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
#pragma unroll
        for (int h = 0; h < G; ++h) {
          int xt;
          int64_t S;
          int64_t U;
          if constexpr (NB * G == 16) {
            int32_t Pb[NB];  // this head's P_b, gathered from the swizzled layout
#pragma unroll
            for (int bk = 0; bk < NB; ++bk) Pb[bk] = P_at(e, bk * G + h);
            U = score_entry_generic(Ks + (wt0 + tl0 + e) * NB, Pb, NB, 1, is_bf16, s_qshift[h], p.cfix, xt, S);
          } else {
            U = score_entry_generic(Ks + (wt0 + tl0 + e) * NB, Pp + e * NB * G + h, NB, G, is_bf16, s_qshift[h], p.cfix,
                                    xt, S);
          }
          u[e][h] = U;
          const int tg = t0 + wt0 + tl0 + e;
          if (tl0 + e < wn && tg < p.tr.trace_tokens) {
            const int64_t ti = (int64_t(b) * Hq + kvh * G + h) * p.tr.trace_tokens + tg;
            if (p.tr.scores_S) p.tr.scores_S[ti] = S;
            if (p.tr.scores_x) p.tr.scores_x[ti] = xt;
            if (p.tr.logits) p.tr.logits[ti] = U;
          }
        }
      }
    }
#pragma unroll
    for (int h = 0; h < G; ++h) {
      int64_t mx = LLONG_MIN;
#pragma unroll
      for (int e = 0; e < 2; ++e)
        if (tl0 + e < wn) mx = max(mx, u[e][h]);
      mx = warp_max_i64(mx);
      if (lane == 0) s_Mw[warp][h] = mx;
    }
  }

  // ---- scale scan of this warp's tokens: non-finite blocks, e_p (7.3.1)
  cp_async_wait<0>();
  if constexpr (TMA) mbar_wait(bar_v, 0);
  __syncwarp();
  uint32_t vsw[NB];  // this lane's V scales: the scan, and for G = 1 also W
  if constexpr (G == 1 || NB == 2) load_scale_words<NB>(Vs + (wt0 + tl0) * NB, vsw);
  if constexpr (!SPLIT) {  // non-split variants keep the per-scale scan (their spills stay as at HEAD)
    int emax = INT_MIN;
    bool nonfin = false;
    for (int i = lane; i < wn * NB; i += 32) {
      const uint32_t sk = Ks[wt0 * NB + i], sv = Vs[wt0 * NB + i];
      nonfin = nonfin || scale_nonfinite(is_bf16, sk) || scale_nonfinite(is_bf16, sv);
      int m, x;
      scale_parts(is_bf16, sv, m, x);
      if (m) emax = max(emax, x + bit_length32(uint32_t(m)) - 1);
    }
    emax = __reduce_max_sync(0xffffffffu, emax);
    nonfin = __any_sync(0xffffffffu, nonfin);
    if (lane == 0) {
      if (emax != INT_MIN) atomicMax(&s_emax, emax);
      if (nonfin) atomicOr(&s_err, kErrNonFiniteCache);
    }
  } else
  // Both tests read only the magnitude bits |s| = bits & 0x7fff (fp16 and bf16): the exponent is all
  // ones iff |s| >= 0x7c00 (fp16) / 0x7f80 (bf16), and x + bitlength(m) - 1 (m != 0) is a
  // non-decreasing function of |s|, so e_p is that function of the largest |s| of the V scales
  // (none when it is 0, i.e. every m = 0). The largest |s| by 16x2 unsigned max (exact same e_p and
  // error flag as the per-scale scan), over each lane's own two tokens (words kw, vsw; a token at or
  // past wn counts as 0), or, for G >= 2 at block 32 or 128, where those words made the kernel spill,
  // over 16-byte chunks of the warp's scales. Only G = 1 keeps vsw for W (across the barrier the words
  // made the G = 4 kernel spill; it reloads its V scales there).
  {
    constexpr bool kLaneScan = G == 1 || NB == 2;
    uint32_t km = 0, vm = 0;
    if constexpr (kLaneScan) {
      uint32_t kw[NB];  // reloaded, not kept from the score stage (register pressure at G = 4)
      load_scale_words<NB>(Ks + (wt0 + tl0) * NB, kw);
      const bool ok0 = tl0 < wn, ok1 = tl0 + 1 < wn;
#pragma unroll
      for (int i = 0; i < NB; ++i) {
        const uint32_t mask = (((2 * i) / NB == 0 ? ok0 : ok1) ? 0x7fffu : 0u) |
                              (((2 * i + 1) / NB == 0 ? ok0 : ok1) ? 0x7fff0000u : 0u);
        km = __vmaxu2(km, kw[i] & mask);
        vm = __vmaxu2(vm, vsw[i] & mask);
      }
      km = max(km & 0xffffu, km >> 16);
      vm = max(vm & 0xffffu, vm >> 16);
    } else {
      constexpr int CPA = 8 * NB;  // 16-byte chunks of one array (64 tokens x NB scales)
#pragma unroll
      for (int j = 0; j < (2 * CPA + 31) / 32; ++j) {
        const int c = lane + 32 * j;
        if (c < 2 * CPA) {
          const bool isv = c >= CPA;
          const int cc = isv ? c - CPA : c;
          const uint4 q = reinterpret_cast<const uint4*>((isv ? Vs : Ks) + wt0 * NB)[cc];
          uint32_t w0 = q.x & 0x7fff7fffu, w1 = q.y & 0x7fff7fffu, w2 = q.z & 0x7fff7fffu, w3 = q.w & 0x7fff7fffu;
          const int nv = wn * NB - 8 * cc;  // valid scales in this chunk
          if (nv < 8) {
            w0 = nv <= 0 ? 0u : nv == 1 ? (w0 & 0xffffu) : w0;
            w1 = nv <= 2 ? 0u : nv == 3 ? (w1 & 0xffffu) : w1;
            w2 = nv <= 4 ? 0u : nv == 5 ? (w2 & 0xffffu) : w2;
            w3 = nv <= 6 ? 0u : (w3 & 0xffffu);
          }
          const uint32_t m2 = __vmaxu2(__vimax3_u16x2(w0, w1, w2), w3);
          const uint32_t m1 = max(m2 & 0xffffu, m2 >> 16);
          if (isv) vm = max(vm, m1); else km = max(km, m1);
        }
      }
    }
    const uint32_t thr = is_bf16 ? 0x7f80u : 0x7c00u;
    const bool nonfin = __any_sync(0xffffffffu, km >= thr || vm >= thr);
    const uint32_t vmax = __reduce_max_sync(0xffffffffu, vm);
    if (lane == 0) {
      if (vmax != 0) {
        const int sh = is_bf16 ? 7 : 10, e = int(vmax >> sh);
        const int f = int(vmax & ((1u << sh) - 1u));
        // e != 0: x + sh (m = 2^sh + f); e = 0: x0 + bitlength(f) - 1 (x0 = -24 / -133)
        const int emax = e ? e - (is_bf16 ? 127 : 15) : (is_bf16 ? -134 : -25) + bit_length32(uint32_t(f));
        atomicMax(&s_emax, emax);
      }
      if (nonfin) atomicOr(&s_err, kErrNonFiniteCache);
    }
  }
  int ep_raw;
  int64_t Mpeer[G];
  if constexpr (CS > 1) {
    cooperative_groups::cluster_group cl = cooperative_groups::this_cluster();
    cl.sync();  // s_Mw and s_emax of both CTAs are final
    const int* pe = cl.map_shared_rank(&s_emax, rank ^ 1);
    const long long* pM = cl.map_shared_rank(&s_Mw[0][0], rank ^ 1);
    ep_raw = max(s_emax, *pe);
#pragma unroll
    for (int h = 0; h < G; ++h) {
      long long m = pM[h];
#pragma unroll
      for (int w = 1; w < NW; ++w) m = max(m, pM[w * G + h]);
      Mpeer[h] = m;
    }
  } else {
    __syncthreads();
    ep_raw = s_emax;
#pragma unroll
    for (int h = 0; h < G; ++h) Mpeer[h] = LLONG_MIN;
  }
  const int ep = ep_raw == INT_MIN ? 0 : ep_raw;
  // ---- E_t (8.4), L_p, block weights W (7.3.2) into B-fragment order over this warp's K rows:
  // word ((ks * NB + blk) * 8 + q * 4 + a) * 8 + n, byte 2r + e  <->  token 32ks + 16q + 8r + 2a + e,
  // column n = 2h (W >> 8) or 2h + 1 (W & 255). Lane L holds tokens 2L + e: a = L & 3, r = (L >> 2) & 1,
  // q = (L >> 3) & 1, ks = L >> 4; lanes L and L ^ 4 (r = 0 / 1) exchange halves to write whole words.
  uint8_t* Wb = Kc + wt0 * 64;
  {
    double Ed[2][G];  // E as doubles (the W below in fp64)
    // M_p per head: lane i < NW G loads the warp maximum s_Mw[i / G][i % G] (one load per lane instead of
    // NW G per lane), then one 64-bit warp max per head over the lanes of that head.
    int64_t M[G];
    {
      const int64_t v = lane < NW * G ? static_cast<int64_t>(s_Mw[lane / G][lane % G]) : LLONG_MIN;
#pragma unroll
      for (int h = 0; h < G; ++h) M[h] = max(Mpeer[h], warp_max_i64(lane % G == h ? v : LLONG_MIN));
    }
#pragma unroll
    for (int h = 0; h < G; ++h) {
      uint64_t sum = 0;
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        // Branch-free, so every lane issues its table load: d <= 0 (M is the maximum), and d is clamped
        // at -32 * 1024; any d < -31 * 1024 then has n = 32 and E = 0, 8.4's cut-off (a token at or past
        // wn takes d = -32 * 1024).
        const int d32 = tl0 + e < wn ? static_cast<int>(max(u[e][h] - M[h], int64_t(-32 * 1024))) : -32 * 1024;
        const uint32_t t = exp2_in_smem(NB, G) ? s_exp2[d32 & 1023] : __ldg(&p.exp2[d32 & 1023]);
        const int n = -(d32 >> 10);  // 0 .. 32
        const uint32_t Ev = n < 32 ? t >> n : 0u;
        Ed[e][h] = __dadd_rn(__hiloint2double(0x43300000, int(Ev)), -kTwo52);  // = Ev exactly
        sum += Ev;
      }
      sum = warp_sum_u33(sum);
      if (lane == 0) s_Lw[warp][h] = sum;
    }
    __syncwarp();  // every lane has read its P (over which W is written)
    const int r = (lane >> 2) & 1;
    uint32_t* Wrow = reinterpret_cast<uint32_t*>(Wb) + ((lane >> 4) * NB * 8 + ((lane >> 3) & 1) * 4 + (lane & 3)) * 8 +
                     (r ? G : 0);
#pragma unroll
    for (int bk = 0; bk < NB; ++bk) {
      uint32_t pr[2 * G];
      {
        uint32_t w[2][G];
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          int m, x;
          scale_parts(is_bf16, G == 1 ? scale_at(vsw, e * NB + bk) : uint32_t(Vs[(wt0 + tl0 + e) * NB + bk]), m, x);
          // W = min(65535, rne_shr(E m, sh)), sh = 16 + e_p - x, in fp64 (the FP64 pipe is otherwise idle),
          // with the scale factor m 2^-sh once per token for all G heads: E m 2^-sh is exact (E <= 2^31,
          // m < 2^11, 2^-sh a normal double: sh <= 16 + 127 + 133), and fma(E, m 2^-sh, 2^52) rounds it
          // once, to the nearest integer, ties to even (2^52 is even), into the low word (E m 2^-sh < 2^16:
          // e_p >= x + bitlength(m) - 1 gives m < 2^(sh - 15)).
          const int sh = 16 + ep - x;
          const double sc =
              __dmul_rn(__dadd_rn(__hiloint2double(0x43300000, m), -kTwo52), __hiloint2double((1023 - sh) << 20, 0));
#pragma unroll
          for (int h = 0; h < G; ++h) w[e][h] = min(uint32_t(__double2loint(__fma_rn(Ed[e][h], sc, kTwo52))), 65535u);
        }
#pragma unroll
        for (int h = 0; h < G; ++h) {
          pr[2 * h] = prmt(w[0][h], w[1][h], 0x0051u);      // W >> 8 of tokens e = 0, 1
          pr[2 * h + 1] = prmt(w[0][h], w[1][h], 0x0040u);  // W & 255
        }
      }
      uint32_t out[G];
#pragma unroll
      for (int j = 0; j < G; ++j) {
        const uint32_t mine = r ? pr[G + j] : pr[j], send = r ? pr[j] : pr[G + j];
        const uint32_t recv = __shfl_xor_sync(0xffffffffu, send, 4);
        out[j] = r ? prmt(recv, mine, 0x5410u) : prmt(mine, recv, 0x5410u);
      }
      uint32_t* dst = Wrow + bk * 64;
      if constexpr (G == 4) {
        *reinterpret_cast<uint4*>(dst) = make_uint4(out[0], out[1], out[2], out[3]);
      } else if constexpr (G == 2) {
        *reinterpret_cast<uint2*>(dst) = make_uint2(out[0], out[1]);
      } else {
        dst[0] = out[0];
      }
    }
  }
  __syncwarp();
  // ---- value pass: tiles m = 2c + p2 (c = 32-dim chunk); rows g / g + 8 <-> dims 32c + 4g + 2p2 (+1)
  int acc[8][4];
#pragma unroll
  for (int m = 0; m < 8; ++m)
#pragma unroll
    for (int r = 0; r < 4; ++r) acc[m][r] = 0;
  if (wn > 0) {
    const uint32_t* Wv = reinterpret_cast<const uint32_t*>(Wb);
    for (int ks = 0; ks < 2; ++ks) {
      if (32 * ks >= wn) break;
      uint32_t bw[NB][2];
#pragma unroll
      for (int bk = 0; bk < NB; ++bk) {
        bw[bk][0] = Wv[((ks * NB + bk) * 8 + tig) * 8 + g];
        bw[bk][1] = Wv[((ks * NB + bk) * 8 + 4 + tig) * 8 + g];
      }
#pragma unroll
      for (int ch = 0; ch < 4; ++ch) {
        uint32_t r0, r1, r2, r3;
        const int t = wt0 + 32 * ks + lane;  // matrix lane / 8 = tokens 8(lane/8) .. + 7
        ldsm4t(vbase + t * 64 + ((ch ^ ((t >> 1) & 3)) << 4), r0, r1, r2, r3);
        if constexpr (SPLIT) {
          uint32_t dx[2][4], dy[2][4];  // split-table fragments X, Y: [q][dim 4g + j]
  #pragma unroll
          for (int q = 0; q < 2; ++q) {
            const uint32_t ra = q ? r2 : r0, rb = q ? r3 : r1;
  #pragma unroll
            for (int hf = 0; hf < 2; ++hf) {
              uint32_t xlo, xhi, ylo, yhi;
              lut8x(prmt(ra, rb, hf ? 0x7531u : 0x6420u), p.lutx, xlo, xhi, ylo, yhi);
              dx[q][2 * hf] = prmt(xlo, xhi, 0x7531u);
              dx[q][2 * hf + 1] = prmt(xlo, xhi, 0x6420u);
              dy[q][2 * hf] = prmt(ylo, yhi, 0x7531u);
              dy[q][2 * hf + 1] = prmt(ylo, yhi, 0x6420u);
            }
          }
          const int bk = (32 * ch) / (128 / NB);
  #pragma unroll
          for (int p2 = 0; p2 < 2; ++p2) {
            const uint32_t ax[4] = {dx[0][2 * p2], dx[0][2 * p2 + 1], dx[1][2 * p2], dx[1][2 * p2 + 1]};
            const uint32_t ay[4] = {dy[0][2 * p2], dy[0][2 * p2 + 1], dy[1][2 * p2], dy[1][2 * p2 + 1]};
            mma_su(acc[2 * ch + p2], ax, bw[bk][0], bw[bk][1]);
            mma_su(acc[2 * ch + p2], ay, bw[bk][0], bw[bk][1]);
          }
        } else {
          uint32_t d[2][4];  // [q][dim 4g + j]
  #pragma unroll
          for (int q = 0; q < 2; ++q) {
            const uint32_t ra = q ? r2 : r0, rb = q ? r3 : r1;
            uint32_t lo, hi;
            lut8(prmt(ra, rb, 0x6420u), p.lut, lo, hi);
            d[q][0] = prmt(lo, hi, 0x7531u);
            d[q][1] = prmt(lo, hi, 0x6420u);
            lut8(prmt(ra, rb, 0x7531u), p.lut, lo, hi);
            d[q][2] = prmt(lo, hi, 0x7531u);
            d[q][3] = prmt(lo, hi, 0x6420u);
          }
          const int bk = (32 * ch) / (128 / NB);
  #pragma unroll
          for (int p2 = 0; p2 < 2; ++p2) {
            const uint32_t a[4] = {d[0][2 * p2], d[0][2 * p2 + 1], d[1][2 * p2], d[1][2 * p2 + 1]};
            mma_su(acc[2 * ch + p2], a, bw[bk][0], bw[bk][1]);
          }
        }
      }
    }
  }
  // ---- CTA sum of the per-warp partials (int32 per warp, int64 sum; exact, fixed order), over the free K/V rows;
  // with a cluster, rank 0 also adds the peer CTA's per-warp partials (DSMEM), then writes the partition partials.
  __syncthreads();
  // Per-warp partials in int32: o = sum over the warp's <= 64 tokens of W * C, |o| <= 64 * 65535 * 128
  // < 2^29 (section 7.3). Rows (warp, head) of RS = D + 8 ints (the pad makes the int4 stores of
  // lanes (g, tig) hit distinct banks); warps without tokens store zeros (acc = 0), so the sum below
  // runs over all NW warps with a compile-time count. Tiles m = 2c, 2c + 1 are dims 32c + 4g .. + 3.
  constexpr int RS = D + 8;
  static_assert(NW % 2 == 0, "warp pairs");
  int* Op = reinterpret_cast<int*>(smem);  // [NW][G][RS]
  if (tig < G) {
#pragma unroll
    for (int c4 = 0; c4 < 4; ++c4) {
      const int* a0 = acc[2 * c4];
      const int* a1 = acc[2 * c4 + 1];
      *reinterpret_cast<int4*>(&Op[(warp * G + tig) * RS + 32 * c4 + 4 * g]) =
          make_int4(a0[0] * 256 + a0[1], a0[2] * 256 + a0[3], a1[0] * 256 + a1[1], a1[2] * 256 + a1[3]);
    }
  }
  const int* Opeer = nullptr;
  const long long* Mw_peer = nullptr;
  const unsigned long long* Lw_peer = nullptr;
  if constexpr (CS > 1) {
    cooperative_groups::cluster_group cl = cooperative_groups::this_cluster();
    cl.sync();  // both CTAs' O, L partials and errors are final
    if (rank != 0) {
      cl.sync();  // rank 0 has read this CTA's shared memory
      return;
    }
    Opeer = cl.map_shared_rank(Op, 1);
    Mw_peer = cl.map_shared_rank(&s_Mw[0][0], 1);
    Lw_peer = cl.map_shared_rank(&s_Lw[0][0], 1);
    if (tid == 0) {
      const int e1 = *cl.map_shared_rank(&s_err, 1);
      if (e1) atomicOr(&s_err, e1);
    }
  } else {
    __syncthreads();
  }
  // One thread per 4 consecutive dims of one head (G * D / 4 <= NT): warp pairs summed in int32
  // (128 tokens, |.| < 2^30), the pair sums in int64 (exact, any order; fixed here).
  static_assert(G * D / 4 <= NT, "one quad per thread");
  if (tid < G * D / 4) {
    const int h = tid / (D / 4), i = (tid % (D / 4)) * 4;
    long long o[4] = {0, 0, 0, 0};
    auto add_pairs = [&](const int* src) {
#pragma unroll
      for (int w = 0; w < NW; w += 2) {
        const int4 x = *reinterpret_cast<const int4*>(&src[(w * G + h) * RS + i]);
        const int4 y = *reinterpret_cast<const int4*>(&src[((w + 1) * G + h) * RS + i]);
        o[0] += x.x + y.x;
        o[1] += x.y + y.y;
        o[2] += x.z + y.z;
        o[3] += x.w + y.w;
      }
    };
    add_pairs(Op);
    if constexpr (CS > 1) add_pairs(Opeer);
    const int64_t pi = (int64_t(b) * Hq + kvh * G + h) * p.max_parts + part;
    *reinterpret_cast<uint4*>(p.part_Olo + pi * D + i) =
        make_uint4(uint32_t(o[0]), uint32_t(o[1]), uint32_t(o[2]), uint32_t(o[3]));
    *reinterpret_cast<uint32_t*>(p.part_Ohi + pi * D + i) = (uint32_t(o[0] >> 32) & 0xffu) | ((uint32_t(o[1] >> 32) & 0xffu) << 8) |
                                                            ((uint32_t(o[2] >> 32) & 0xffu) << 16) | (uint32_t(o[3] >> 32) << 24);
    if (i == 0) {
      long long M = s_Mw[0][h];
      unsigned long long L = 0;
      for (int w = 0; w < NW; ++w) {
        M = max(M, s_Mw[w][h]);
        L += s_Lw[w][h];
      }
      if constexpr (CS > 1)
        for (int w = 0; w < NW; ++w) {
          M = max(M, Mw_peer[w * G + h]);
          L += Lw_peer[w * G + h];
        }
      p.part_e[pi] = ep;
      p.part_M[pi] = M;
      p.part_L[pi] = L;
    }
  }
  if constexpr (CS > 1) cooperative_groups::this_cluster().sync();  // release the peer
  publish_partition_errors(p, b, kvh, s_err);
}
template <int NB, int G, int MINB = 3, int CS = 1, bool SPLIT = true>
__global__ void __launch_bounds__(kThreads / CS, MINB * CS) decode_mma_kernel(const DecodeParams p) {
  decode_mma_body<NB, G, MINB, CS, SPLIT, false>(p, nullptr);
}
template <int NB, int G>
__global__ void __launch_bounds__(kThreads, 3) decode_mma_tma_kernel(const __grid_constant__ DecodeParams p,
                                                                     const __grid_constant__ CodeMaps maps) {
  decode_mma_body<NB, G, 3, 1, true, true>(p, &maps);
}


// Split MAC table of the fast path: C[c] = X[c] + Y[c] with X from prmt(A, selector c) and Y from
// prmt(B, selector c ^ 8). prmt returns the byte for a selector nibble < 8 and the byte's sign
// replicated (0 or -1) for a nibble >= 8, so for j = 0..7: A[j] + sgn(B[j]) = C[j] and
// sgn(A[j]) + B[j] = C[j + 8] (sgn(v) = v < 0 ? -1 : 0). Two IMMAs (X and Y fragments) then add up to
// the C fragment's product exactly. Solved per j over the 4 sign choices; false if some j has none.
bool split_mac_table(const int8_t (&mac)[16], uint32_t (&out)[4]) {
  int A[8], B[8];
  for (int j = 0; j < 8; ++j) {
    bool found = false;
    for (int sa = 0; sa >= -1 && !found; --sa)
      for (int sb = 0; sb >= -1 && !found; --sb) {
        const int a = mac[j] - sb, bb = mac[j + 8] - sa;
        if (a < -128 || a > 127 || bb < -128 || bb > 127) continue;
        if ((a < 0 ? -1 : 0) != sa || (bb < 0 ? -1 : 0) != sb) continue;
        A[j] = a;
        B[j] = bb;
        found = true;
      }
    if (!found) return false;
  }
  for (int w = 0; w < 2; ++w) {
    uint32_t va = 0, vb = 0;
    for (int j = 0; j < 4; ++j) {
      va |= uint32_t(uint8_t(int8_t(A[4 * w + j]))) << (8 * j);
      vb |= uint32_t(uint8_t(int8_t(B[4 * w + j]))) << (8 * j);
    }
    out[w] = va;
    out[2 + w] = vb;
  }
  return true;
}

}  // namespace detail

using namespace detail;

DecodeWorkspace::~DecodeWorkspace() { release(); }
void DecodeWorkspace::release() {
  cudaFree(part_M);
  cudaFree(part_L);
  cudaFree(part_e);
  cudaFree(part_Olo);
  cudaFree(part_Ohi);
  cudaFree(counters);
  cudaFree(seq_err);
  part_M = nullptr;
  part_L = nullptr;
  part_e = nullptr;
  part_Olo = nullptr;
  part_Ohi = nullptr;
  counters = seq_err = nullptr;
}
Result DecodeWorkspace::download_part_O(size_t n, std::vector<int64_t>& out) const {
  if (n > size_t(batch) * q_heads * max_parts * head_dim) return invalid("download_part_O: more values than the workspace holds");
  std::vector<uint32_t> lo(n);
  std::vector<int8_t> hi(n);
  cudaError_t e = cudaMemcpy(lo.data(), part_Olo, n * 4, cudaMemcpyDeviceToHost);
  if (!e) e = cudaMemcpy(hi.data(), part_Ohi, n, cudaMemcpyDeviceToHost);
  if (e) return cuda_result(e, "download_part_O");
  out.resize(n);
  for (size_t i = 0; i < n; ++i) out[i] = join_o(lo[i], hi[i]);
  return Result::success();
}

Result DecodeWorkspace::allocate(int batch_, int q_heads_, int kv_heads_, int head_dim_, int max_seq_len) {
  release();
  if (batch_ <= 0 || q_heads_ <= 0 || kv_heads_ <= 0 || head_dim_ <= 0 || max_seq_len <= 0)
    return invalid("DecodeWorkspace: dimensions must be positive");
  batch = batch_;
  q_heads = q_heads_;
  kv_heads = kv_heads_;
  head_dim = head_dim_;
  max_parts = (max_seq_len + kPartTokens - 1) / kPartTokens;
  const size_t n = size_t(batch) * q_heads * max_parts;
  cudaError_t e = cudaSuccess;
  if (!e) e = cudaMalloc(&part_M, n * 8);
  if (!e) e = cudaMalloc(&part_L, n * 8);
  if (!e) e = cudaMalloc(&part_e, n * 4);
  if (!e) e = cudaMalloc(&part_Olo, n * head_dim * 4);
  if (!e) e = cudaMalloc(&part_Ohi, n * head_dim);
  if (!e) e = cudaMalloc(&counters, size_t(batch) * kv_heads * 4);
  if (!e) e = cudaMalloc(&seq_err, size_t(batch) * kv_heads * 4);
  if (!e) e = cudaMemset(counters, 0, size_t(batch) * kv_heads * 4);
  if (!e) e = cudaMemset(seq_err, 0, size_t(batch) * kv_heads * 4);
  if (e) {
    release();
    return cuda_result(e, "DecodeWorkspace::allocate");
  }
  return Result::success();
}

// cudaFuncSetAttribute once per (kernel, device, size): decode calls of small batches are latency
// bound, and the attribute call costs host time on every launch otherwise.
static cudaError_t set_dynamic_smem(const void* kernel, int bytes) {
  static std::mutex mu;
  static std::map<std::pair<const void*, int>, int> done;  // (kernel, device) -> bytes set
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) return e;
  std::lock_guard<std::mutex> lock(mu);
  int& have = done[{kernel, dev}];
  if (have >= bytes) return cudaSuccess;
  e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (e == cudaSuccess) have = bytes;
  return e;
}

// The driver's tensor-map encoder (cuTensorMapEncodeTiled), fetched once through the runtime; null when
// the driver does not provide it (the fast path then copies with cp.async).
static PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
      f = nullptr;
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

// Tensor maps of the 4-bit, 128-dim code arrays for the fast path's TMA copies: rows of 64 bytes, one box =
// one page of one kv head, 64-byte swizzle. False when TMA cannot be used for this cache (alignment, row
// count, no encoder) or NQKV_CUDA_TMA=0.
static bool encode_code_maps(const PagedCache& c, CodeMaps& maps) {
  static const bool off = [] {
    const char* e = std::getenv("NQKV_CUDA_TMA");
    return e && e[0] == '0';
  }();
  const PFN_cuTensorMapEncodeTiled_v12000 encode = tensor_map_encoder();
  const int64_t rows = int64_t(c.num_pages) * c.kv_heads * c.page_size;
  auto a16 = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  if (off || !encode || rows >= (int64_t(1) << 31) || !a16(c.k_codes) || !a16(c.v_codes) || !a16(c.k_scales) ||
      !a16(c.v_scales))
    return false;
  auto one = [&](CUtensorMap* m, const void* base) {
    const cuuint64_t dims[2] = {64, static_cast<cuuint64_t>(rows)};
    const cuuint64_t strides[1] = {64};
    const cuuint32_t box[2] = {64, static_cast<cuuint32_t>(c.page_size)};
    const cuuint32_t estr[2] = {1, 1};
    return encode(m, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void*>(base), dims, strides, box, estr,
                  CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_64B, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                  CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
  };
  return one(&maps.k, c.k_codes) && one(&maps.v, c.v_codes);
}

Result decode_attention(const PagedCache& c, const float* q, int q_heads, float sm_scale, int max_seq_len, float* out,
                        DecodeWorkspace& ws, int32_t* err_word, const DecodeTrace* trace, void* stream) {
  Result r = validate_cache(c);
  if (!r.ok()) return r;
  if (!q || !out || !err_word) return invalid("decode_attention: null pointer");
  if (reinterpret_cast<uintptr_t>(q) % 4 || reinterpret_cast<uintptr_t>(out) % 4)
    return invalid("decode_attention: q and out must be 4-byte aligned");
  if (q_heads <= 0 || q_heads % c.kv_heads != 0)
    return invalid("q_heads (" + std::to_string(q_heads) + ") must be a multiple of kv_heads (" +
                   std::to_string(c.kv_heads) + ")");
  const int G = q_heads / c.kv_heads;
  if (G > 64) return invalid("decode_attention: at most 64 query heads per kv head");
  if (max_seq_len <= 0 || int64_t(max_seq_len) > int64_t(c.max_pages_per_seq) * c.page_size)
    return invalid("decode_attention: max_seq_len must be in [1, max_pages_per_seq * page_size]");
  const int max_parts = (max_seq_len + kPartTokens - 1) / kPartTokens;
  if (ws.batch != c.batch || ws.q_heads != q_heads || ws.kv_heads != c.kv_heads || ws.head_dim != c.head_dim ||
      ws.max_parts < max_parts || !ws.part_M)
    return invalid("decode_attention: workspace does not match (allocate it for this batch, heads and max_seq_len)");
  if (c.batch > 65535 || c.kv_heads > 65535) return invalid("decode_attention: batch and kv_heads must be <= 65535");
  if (trace && (trace->trace_tokens < 0)) return invalid("decode_attention: trace_tokens must be >= 0");
  const float scale = sm_scale > 0.0f ? sm_scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.head_dim)));
  int64_t cfix = 0;
  try {
    cfix = golden::softmax_scale_fixed(scale);
  } catch (const std::exception& e) {
    return invalid(std::string("decode_attention: ") + e.what());
  }
  const uint32_t* exp2 = exp2_table_device(&r);
  if (!exp2) return r;
  const DevCodebook cb = make_dev_codebook(c.codebook);
  const Layout L = make_layout(c.head_dim, cb.bits, c.head_dim / c.block, G);
  int dev = 0, max_smem = 0;
  cudaGetDevice(&dev);
  r = cuda_result(cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "device attribute");
  if (!r.ok()) return r;
  if (L.total + 4096 > max_smem)
    return invalid("decode_attention: this shape needs " + std::to_string(L.total) + " bytes of shared memory (device has " +
                   std::to_string(max_smem) + ")");
  DecodeParams p{};
  p.c = c;
  for (int i = 0; i < 4; ++i) p.lut[i] = cb.lut[i];
  const bool split_ok = split_mac_table(cb.mac, p.lutx);
  p.q = q;
  p.out = out;
  p.q_heads = q_heads;
  p.group = G;
  p.max_parts = ws.max_parts;
  p.max_seq_len = max_seq_len;
  p.cfix = cfix;
  p.exp2 = exp2;
  p.err = err_word;
  p.part_M = ws.part_M;
  p.part_L = ws.part_L;
  p.part_e = ws.part_e;
  p.part_Olo = ws.part_Olo;
  p.part_Ohi = ws.part_Ohi;
  p.counters = ws.counters;
  p.seq_err = ws.seq_err;
  if (trace) p.tr = *trace;
  const dim3 grid(max_parts, c.kv_heads, c.batch);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  auto launch = [&](auto kernel) {
    cudaError_t e = set_dynamic_smem(reinterpret_cast<const void*>(kernel), L.total);
    if (e) return cuda_result(e, "decode_attention: shared memory attribute");
    kernel<<<grid, kThreads, L.total, s>>>(p);
    return cuda_result(cudaGetLastError(), "decode_attention launch");
  };
  // The partition kernel (the variant for this shape and codebook), then the combine kernel.
  const Result rp = [&]() -> Result {
    // Tensor-core fast path (see decode_mma_kernel); NQKV_CUDA_GENERIC=1 forces the generic kernel.
    static const bool force_generic = [] {
      const char* e = std::getenv("NQKV_CUDA_GENERIC");
      return e && e[0] == '1';
    }();
    if (!force_generic && cb.bits == 4 && c.head_dim == 128 && (G == 1 || G == 2 || G == 4) &&
        (c.block == 32 || c.block == 64 || c.block == 128) && int64_t(c.num_pages) * c.kv_heads < (int64_t(1) << 31)) {
      const int nb = 128 / c.block, bytes = fast_smem_bytes(nb, G);
      auto launch_fast = [&](auto kernel) {
        cudaError_t e = set_dynamic_smem(reinterpret_cast<const void*>(kernel), bytes);
        if (e) return cuda_result(e, "decode_attention: shared memory attribute");
        kernel<<<grid, kThreads, bytes, s>>>(p);
        return cuda_result(cudaGetLastError(), "decode_attention launch");
      };
      // NQKV_CUDA_OCC2=1 (experiment): block 64 with 2 CTAs per SM and no register cap spills.
      static const bool occ2 = [] {
        const char* e = std::getenv("NQKV_CUDA_OCC2");
        return e && e[0] == '1';
      }();
      if (occ2 && split_ok && nb == 2) {
        if (G == 1) return launch_fast(decode_mma_kernel<2, 1, 2>);
        if (G == 2) return launch_fast(decode_mma_kernel<2, 2, 2>);
        return launch_fast(decode_mma_kernel<2, 4, 2>);
      }
      // Cluster of 2 CTAs per partition (decode_mma_kernel<.., CS = 2>): bit-exact and sanitizer-clean,
      // but measured slower on every benchmark shape, B = 1 included (reports/gpu.md), so only with
      // NQKV_CUDA_CLUSTER=1 (experiment).
      static const bool use_cluster = [] {
        const char* e = std::getenv("NQKV_CUDA_CLUSTER");
        return e && e[0] == '1';
      }();
      if (use_cluster && split_ok) {
        const int cbytes = fast_smem_bytes(nb, G, 2);
        auto launch_cl = [&](auto kernel) {
          cudaError_t e = set_dynamic_smem(reinterpret_cast<const void*>(kernel), cbytes);
          if (e) return cuda_result(e, "decode_attention: shared memory attribute");
          cudaLaunchConfig_t cfg = {};
          cfg.gridDim = dim3(2 * max_parts, c.kv_heads, c.batch);
          cfg.blockDim = dim3(kThreads / 2);
          cfg.dynamicSmemBytes = cbytes;
          cfg.stream = s;
          cudaLaunchAttribute at[1];
          at[0].id = cudaLaunchAttributeClusterDimension;
          at[0].val.clusterDim.x = 2;
          at[0].val.clusterDim.y = 1;
          at[0].val.clusterDim.z = 1;
          cfg.attrs = at;
          cfg.numAttrs = 1;
          e = cudaLaunchKernelEx(&cfg, kernel, p);
          if (e) return cuda_result(e, "decode_attention cluster launch");
          return cuda_result(cudaGetLastError(), "decode_attention launch");
        };
        switch (nb * 8 + G) {
          case 9: return launch_cl(decode_mma_kernel<1, 1, 3, 2>);
          case 10: return launch_cl(decode_mma_kernel<1, 2, 3, 2>);
          case 12: return launch_cl(decode_mma_kernel<1, 4, 3, 2>);
          case 17: return launch_cl(decode_mma_kernel<2, 1, 3, 2>);
          case 18: return launch_cl(decode_mma_kernel<2, 2, 3, 2>);
          case 20: return launch_cl(decode_mma_kernel<2, 4, 3, 2>);
          case 33: return launch_cl(decode_mma_kernel<4, 1, 3, 2>);
          case 34: return launch_cl(decode_mma_kernel<4, 2, 3, 2>);
          default: return launch_cl(decode_mma_kernel<4, 4, 3, 2>);
        }
      }
      // Codebooks whose MAC table has no split (fp4, e2m1, int4sym: split_mac_table false).
      if (!split_ok) switch (nb * 8 + G) {
        case 9: return launch_fast(decode_mma_kernel<1, 1, 3, 1, false>);
        case 10: return launch_fast(decode_mma_kernel<1, 2, 3, 1, false>);
        case 12: return launch_fast(decode_mma_kernel<1, 4, 3, 1, false>);
        case 17: return launch_fast(decode_mma_kernel<2, 1, 3, 1, false>);
        case 18: return launch_fast(decode_mma_kernel<2, 2, 3, 1, false>);
        case 20: return launch_fast(decode_mma_kernel<2, 4, 3, 1, false>);
        case 33: return launch_fast(decode_mma_kernel<4, 1, 3, 1, false>);
        case 34: return launch_fast(decode_mma_kernel<4, 2, 3, 1, false>);
        default: return launch_fast(decode_mma_kernel<4, 4, 3, 1, false>);
      }
      // TMA copies for G = 1 only: same-run A/Bs (reports/gpu.md rounds 14 and 15) measured the G = 1 rows
      // 1.0-2.3% faster and the G = 4 rows 1.0% slower (2.4% at B = 1); with per-lane scale copies and one
      // issuing lane per page (round 15), TMA for G = 2/4 was 1.5-3.5% slower than their cp.async.
      CodeMaps maps;
      if (G == 1 && encode_code_maps(c, maps)) {
        auto launch_tma = [&](auto kernel) {
          cudaError_t e = set_dynamic_smem(reinterpret_cast<const void*>(kernel), bytes + 1024);
          if (e) return cuda_result(e, "decode_attention: shared memory attribute");
          kernel<<<grid, kThreads, bytes + 1024, s>>>(p, maps);
          return cuda_result(cudaGetLastError(), "decode_attention launch");
        };
        switch (nb) {
          case 1: return launch_tma(decode_mma_tma_kernel<1, 1>);
          case 2: return launch_tma(decode_mma_tma_kernel<2, 1>);
          default: return launch_tma(decode_mma_tma_kernel<4, 1>);
        }
      }
      switch (nb * 8 + G) {
        case 9: return launch_fast(decode_mma_kernel<1, 1>);
        case 10: return launch_fast(decode_mma_kernel<1, 2>);
        case 12: return launch_fast(decode_mma_kernel<1, 4>);
        case 17: return launch_fast(decode_mma_kernel<2, 1>);
        case 18: return launch_fast(decode_mma_kernel<2, 2>);
        case 20: return launch_fast(decode_mma_kernel<2, 4>);
        case 33: return launch_fast(decode_mma_kernel<4, 1>);
        case 34: return launch_fast(decode_mma_kernel<4, 2>);
        default: return launch_fast(decode_mma_kernel<4, 4>);
      }
    }
    switch (cb.bits) {
      case 4: return launch(decode_kernel<4>);
      case 3: return launch(decode_kernel<3>);
      default: return launch(decode_kernel<2>);
    }
  }();
  if (!rp.ok()) return rp;
  // Launched as a programmatic dependent of the partition kernel, so its launch overlaps the partition
  // kernel's last CTAs (NQKV_CUDA_PDL=0: a plain stream-ordered launch, for A/B).
  static const bool pdl = [] {
    const char* e = std::getenv("NQKV_CUDA_PDL");
    return !(e && e[0] == '0');
  }();
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(G * c.head_dim / kCombineSlab, c.kv_heads, c.batch);
  cfg.blockDim = dim3(kCombineThreads);
  cfg.stream = s;
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at;
  cfg.numAttrs = pdl ? 1 : 0;
  return cuda_result(cudaLaunchKernelEx(&cfg, combine_kernel, p, c.head_dim), "decode_attention combine launch");
}

}  // namespace nqkv::cuda
