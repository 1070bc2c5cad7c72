// The generic partition kernel: every codebook (2, 3, 4 bits), head_dim 64/128/256, any block and group
// size; the shapes the fast path (decode_mma.cuh) does not take, and every shape with NQKV_CUDA_GENERIC=1.
//
// Inside a CTA (256 threads): the partition's K and V codes and scales are copied to shared memory
// with cp.async (K first, so the score pass overlaps the V copy). Score pass: each thread owns a
// 32-element chunk of the head dimension and keeps the fixed-point query of up to 4 heads for that
// chunk in registers; codes are expanded nibble -> int8 MAC entry with a register LUT (prmt) and
// multiplied with dp2a (int16 x int8 pairs) into exact int32 chunk partials; one thread per
// (head, token) then forms S_t, x_t and U_t (int128). Value pass: integer weights W (uint16 pairs of
// two tokens) times int8 entries with dp2a into int32 accumulators, reduced exactly in int64.
#pragma once
#include <climits>

#include "kernels/cuda/copy.cuh"
#include "kernels/cuda/page_table.cuh"
#include "kernels/cuda/partials.cuh"
#include "kernels/cuda/tile_traits.cuh"

namespace nqkv::cuda::detail {

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

  wait_for_previous_kernel();
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
  trigger_dependents();
}

}  // namespace nqkv::cuda::detail
