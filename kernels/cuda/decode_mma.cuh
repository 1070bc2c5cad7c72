// The fast-path partition kernel (4-bit codes, head_dim 128, G <= 4, block 32/64/128): integer tensor
// cores, one CTA of 8 warps per (partition of 512 tokens, kv head, sequence). Its stages stay in one
// function body, in order: page-table prefetch and sequence length (page_table.cuh), the warp's copies
// (copy.cuh primitives), the query in fixed point and its B fragments, the score pass (P_b by MMA), the
// per-token epilogue (S_t, U_t, M_p; helpers in epilogue.cuh), the scale scan (e_p), E_t, L_p and W, the
// value pass (MMA), the CTA sum and the partition partials (partials.cuh). Moving a stage into a
// __forceinline__ function of its own changes the register allocation (tried for the copies, the query,
// its fragments and the score pass: 4 to 68 SASS lines of decode_mma_kernel<1, 1> differ), so the split
// by role stops at this body until such a change is timed. The same body, with PIPE > 0, is the persistent,
// software-pipelined kernel of the build option NQKV_CUDA_PERSISTENT (a CTA walks several items with the next
// item's copies in flight; measured slower than one CTA per item, reports/gpu.md).
#pragma once
#include <climits>

#include "kernels/cuda/combine.cuh"
#include "kernels/cuda/copy.cuh"
#include "kernels/cuda/epilogue.cuh"
#include "kernels/cuda/page_table.cuh"
#include "kernels/cuda/partials.cuh"
#include "kernels/cuda/tile_traits.cuh"
#include "kernels/cuda/warp_ops.cuh"

namespace nqkv::cuda::detail {

// Fast path (4-bit codes, head_dim 128, G <= 4, block 32/64/128): integer tensor cores.
// One CTA of 8 warps per (partition, kv head, sequence); warp w owns tokens [64w, 64w + 64) of the
// partition and copies them itself (cp.async, K then V, 16-byte chunks, XOR-swizzled rows).
// Scores: mma.m16n8k32 with A = LUT-expanded K codes (16 tokens x 32 dims of one block, ldmatrix),
// B = the int16 query split as Q = 256 * Qh (s8) + Ql (u8); per block acc = (sum Qh.C) << 8, then
// += sum Ql.C: exactly P_b (|P_b| < 2^30 for <= 256 dims). Values: mma with A = codes transposed
// (16 dims x 32 tokens; ldmatrix.trans + byte permutes), B = W split as 256 * Wh + Wl (u8, u8) in the
// 8 columns (head, half); per-warp int32 sums (< 2^30), CTA sum in int64 in a fixed order (no atomics).
// Every sum is an exact integer, so the partials equal the generic kernel's bit for bit.
// TMA = true: each warp's pages arrive by bulk copies (one lane per (page, K|V, codes|scales); codes
// through the tensor maps with the same 64-byte swizzle), completing on two mbarriers per warp, instead
// of 16-byte cp.async per lane. The dynamic shared memory is then aligned up to 1 KB (swizzle period).
// PIPE: 0 = one item per CTA; the persistent kernel with 2 = two K slots (2 CTAs per SM: the next item's K
// copies in flight during the whole current item, its V copies from the end of the current value pass) or
// 1 = one K slot (3 CTAs per SM: the next item's K copies from the end of the warp's value pass, its V
// copies when the item starts; the O partials over the V rows).
template <int NB, int G, bool SPLIT, bool TMA, int PIPE>
__device__ __forceinline__ void decode_mma_body(const DecodeParams& p, const CodeMaps* maps) {
  constexpr bool PERSIST = PIPE != 0;
  constexpr int NW = kFW, NT = 32 * NW, TOK = 64 * NW;  // warps, threads, tokens of this CTA
  extern __shared__ __align__(16) uint8_t smem_raw[];
  uint8_t* const smem =
      TMA ? smem_raw + ((1024u - static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw))) & 1023u) : smem_raw;
  // mbarriers per warp: [0] K codes (slot 0), [1] V codes, [2] K codes of slot 1 (persistent kernel)
  __shared__ __align__(8) unsigned long long s_bar[TMA ? NW : 1][PIPE == 2 ? 3 : 2];
  __shared__ int s_err, s_emax, s_qshift[G];
  __shared__ long long s_Mw[NW][G];
  __shared__ unsigned long long s_Lw[NW][G];
  constexpr int D = 128, SPB = 4 / NB;  // k-steps (32 dims) per block
  const PagedCache& c = p.c;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, g = lane >> 2, tig = lane & 3;
  const int Hq = p.q_heads, H = c.kv_heads, ps = c.page_size;
  const int is_bf16 = c.type == golden::ElemType::BF16;
  // Shared memory (fast_smem_bytes): K codes (the persistent kernel: two slots, the second after the V
  // codes), V codes, K scales (two slots), V scales, the query rows, the exp2 table.
  constexpr int SC = PIPE == 2 ? 192 * TOK : 128 * TOK;  // first scale byte
  uint8_t* Kc = smem;
  uint8_t* const Vc = smem + 64 * TOK;
  uint16_t* Ks = reinterpret_cast<uint16_t*>(smem + SC);
  uint16_t* const Vs = reinterpret_cast<uint16_t*>(smem + SC) + TOK * NB;
  int16_t* qs = reinterpret_cast<int16_t*>(smem + SC + (PIPE == 2 ? 6 : 4) * TOK * NB);
  uint32_t* const s_exp2 = reinterpret_cast<uint32_t*>(smem + SC + (PIPE == 2 ? 6 : 4) * TOK * NB + G * 128 * 2);  // if exp2_in_smem

  // The page-table entries (lane i of each warp: page i of the warp's 64 tokens) and (warps < G) the
  // query are loaded before the sequence length is known, so the CTA's first three global round trips
  // overlap instead of following each other; each warp then works from its own lanes' entries (shuffles),
  // with no shared-memory page list and no barrier before its copies.
  const int pshift = ps == 64 ? 6 : 4;  // validate_cache: page_size is 16 or 64
  const int wt0 = warp * 64, tl0 = 2 * lane;
  wait_for_previous_kernel();
  // The work: one (partition, kv head, sequence) per CTA, or (persistent kernel) the items [w, w_end) of
  // the host's schedule, in (sequence, kv head, partition) order; fetch_item skips items past their
  // sequence's end (and writes the NaN outputs of an invalid length at partition 0).
  int part, kvh, b, len, pg_pre;
  float qraw[4];
  int w = 0, w_end = 0;
  // An item's start: its page-table entries and query (warps < G), then its checked length (0: invalid).
  auto start_item = [&](int i_part, int i_kvh, int i_b, int& f_pg, float (&f_q)[4]) {
    f_pg = lane < (64 >> pshift) ? prefetch_page(c, i_b, i_part * kPartTokens + wt0, pshift, lane) : -1;
    if (warp < G) {
      const float* qv = p.q + (int64_t(i_b) * Hq + i_kvh * G + warp) * D;
#pragma unroll
      for (int k = 0; k < 4; ++k) f_q[k] = __ldg(&qv[lane + 32 * k]);
    }
    return checked_seq_len(p, i_b, i_kvh, G, D, i_part == 0, NT);
  };
  auto fetch_item = [&](int& it, int& f_part, int& f_kvh, int& f_b, int& f_len, int& f_pg, float (&f_q)[4]) -> bool {
    while (it < w_end) {
      const int r = it / p.max_parts;
      f_part = it - r * p.max_parts;
      f_kvh = r % H;
      f_b = r / H;
      f_len = start_item(f_part, f_kvh, f_b, f_pg, f_q);
      if (f_part * kPartTokens < f_len) return true;
      it = (r + 1) * p.max_parts;  // the rest of this (sequence, kv head) is past its end (or invalid)
    }
    return false;
  };
  if constexpr (PERSIST) {
    const int64_t n = int64_t(c.batch) * H * p.max_parts;
    w = static_cast<int>(n * blockIdx.x / gridDim.x);
    w_end = static_cast<int>(n * (blockIdx.x + 1) / gridDim.x);
    if (!fetch_item(w, part, kvh, b, len, pg_pre, qraw)) {
      trigger_dependents();
      return;
    }
  } else {
    part = blockIdx.x;
    kvh = blockIdx.y;
    b = blockIdx.z;
    len = start_item(part, kvh, b, pg_pre, qraw);
    if (len == 0) return;
    if (part >= (len + kPartTokens - 1) / kPartTokens) return;
  }
  // This warp's tokens of an item and its pages (lane i < the warp's page count holds page i; -1: outside
  // the pool or the sequence).
  auto warp_tokens = [&](int i_part, int i_len) { return max(0, min(64, min(TOK, i_len - i_part * kPartTokens) - wt0)); };
  auto warp_page = [&](int i_wn, int i_pg, bool& bad) {
    const int npw = (i_wn + ps - 1) >> pshift;
    const bool ok = i_pg >= 0 && i_pg < c.num_pages;
    bad = __any_sync(0xffffffffu, lane < npw && !ok);
    return lane < npw && ok ? i_pg : -1;
  };
  // Persistent kernel: the next item (its K copies go out when the current item starts, its V copies once
  // this warp's value pass is done) and the one after it (fetched during the current item's value pass).
  int n_part = 0, n_kvh = 0, n_b = 0, n_len = 0, n_pg = -1;
  float n_q[4];
  bool has_next = false;
  int wn, wpage, early_err;
  {
    wn = warp_tokens(part, len);
    bool bad;
    wpage = warp_page(wn, pg_pre, bad);
    early_err = bad ? kErrPageOutOfRange : 0;
  }
  if constexpr (!PERSIST) {  // (the persistent kernel resets them per item)
    if (tid == 0) {
      s_err = 0;
      s_emax = INT_MIN;
    }
  }
  // ---- copies: group "K" = K codes + scales, group "V" = V codes + scales (one cp.async group each; the
  // TMA path's codes complete on the warp's mbarriers instead). Scales: each lane copies the K and V
  // scales of the two tokens it owns in the epilogue (wt0 + 2 lane and + 1, always in one page: pages
  // hold 16 or 64 tokens), 4 NB bytes each; a warp's copies land in its own rows only, so a warp needs no
  // CTA barrier before it refills them.
  const uint32_t bar0 = static_cast<uint32_t>(__cvta_generic_to_shared(&s_bar[TMA ? warp : 0][0]));
  // The exp2 table rides in the first K group (every thread's wait and the CTA barrier before E_t cover it).
  if constexpr (exp2_in_smem(NB, G)) {
#pragma unroll
    for (int i = tid; i < 256; i += NT) cp_async16(s_exp2 + 4 * i, p.exp2 + 4 * i);
  }
  if constexpr (TMA) {
    if (lane == 0) {
      mbar_init(bar0, 1);
      mbar_init(bar0 + 8, 1);
      if constexpr (PIPE == 2) mbar_init(bar0 + 16, 1);
      asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncwarp();
  }
  // Copies of one item's K (is_v = 0, into K slot ks) or V codes and scales; wn, wpage from warp_tokens /
  // warp_page of the item.
  auto issue_copies = [&](int is_v, int ks, int i_b, int i_kvh, int i_wn, int i_wpage) {
    uint8_t* const cdst = is_v ? Vc : smem + (ks ? 128 * TOK : 0);
    uint16_t* const sbase = is_v ? Vs : reinterpret_cast<uint16_t*>(smem + SC) + (ks ? 2 * TOK * NB : 0);
    const int spage_l = __shfl_sync(0xffffffffu, i_wpage, tl0 >> pshift);
    const int spage = tl0 < i_wn ? spage_l : -1;
    const uint64_t soff = (uint64_t(uint32_t(spage) * uint32_t(H) + uint32_t(i_kvh)) * uint32_t(ps) +
                           uint32_t((wt0 + tl0) & (ps - 1))) * (2 * NB);
    if constexpr (TMA) {
      // Lane i < the warp's page count issues the code box of page i (tensor map, one box = the page's
      // rows of this kv head). A page of the warp starts at a page boundary (64-token warps, pages of 16 or 64).
      const uint32_t bar = is_v ? bar0 + 8 : bar0 + (ks ? 16 : 0);
      if constexpr (PERSIST) fence_proxy_async();  // the rows held generic-proxy accesses of the previous item
      const int nvalid = __popc(__ballot_sync(0xffffffffu, i_wpage >= 0));
      if (lane == 0) mbar_arrive_expect_tx(bar, static_cast<uint32_t>(nvalid * ps * 64));
      __syncwarp();
      if (i_wpage >= 0) {
        const int row = (i_wpage * H + i_kvh) * ps;  // < 2^31: checked on the host
        tma_load_2d(static_cast<uint32_t>(__cvta_generic_to_shared(cdst + (wt0 + lane * ps) * 64)), is_v ? &maps->v : &maps->k,
                    row, bar);
      }
    } else {
      // Lane: 16-byte chunk lane & 3 of tokens lane / 4 + 8j. Tokens 16m + tr and 16m + 8 + tr share a page
      // (pages of 16 or 64 tokens), so 4 page lookups and 64-bit offsets serve the 8 rows (32-bit page row
      // index: the host checks num_pages * kv_heads < 2^31); the destinations are one base plus immediates,
      // and the copies are predicated rather than branched around.
      const int ch = lane & 3, tr = lane >> 2;
      const uint32_t sw = static_cast<uint32_t>((ch ^ ((tr >> 1) & 3)) << 4);
      const uint8_t* gc = is_v ? c.v_codes : c.k_codes;
      const uint32_t dst = static_cast<uint32_t>(__cvta_generic_to_shared(cdst + (wt0 + tr) * 64 + sw));
#pragma unroll
      for (int m = 0; m < 4; ++m) {
        const int pm = __shfl_sync(0xffffffffu, i_wpage, (16 * m) >> pshift);  // page of rows 16m .. 16m + 15
        const int page = tr + 16 * m < i_wn ? pm : -1;
        const uint64_t goff = uint64_t(uint32_t(page) * uint32_t(H) + uint32_t(i_kvh)) * uint32_t(ps * 64) +
                              uint32_t((((tr + 16 * m) & (ps - 1)) << 6) + ch * 16);
        cp_async16_if(dst + 1024 * m, gc + goff, page >= 0);
        cp_async16_if(dst + 1024 * m + 512, gc + goff + 512, page >= 0 && tr + 16 * m + 8 < i_wn);
      }
    }
    cp_async_if<4 * NB>(static_cast<uint32_t>(__cvta_generic_to_shared(sbase + (wt0 + tl0) * NB)),
                        reinterpret_cast<const uint8_t*>(is_v ? c.v_scales : c.k_scales) + soff, spage >= 0);
    cp_async_commit();
  };
  // Persistent kernel: the next item's K (is_v = 0, into K slot ks) or V copies.
  auto issue_next = [&](int is_v, int ks) {
    const int nwn = warp_tokens(n_part, n_len);
    bool bad;
    issue_copies(is_v, ks, n_b, n_kvh, nwn, warp_page(nwn, n_pg, bad));
  };
  if constexpr (PERSIST) {
    issue_copies(0, 0, b, kvh, wn, wpage);
    issue_copies(1, 0, b, kvh, wn, wpage);
    ++w;
    has_next = fetch_item(w, n_part, n_kvh, n_b, n_len, n_pg, n_q);
  } else if constexpr (TMA) {
    // K and V code boxes of page i from lane i in one asm statement (V lands 64 TOK bytes after K).
    const int nvalid = __popc(__ballot_sync(0xffffffffu, wpage >= 0));
    if (lane == 0) {
      const uint32_t bytes = static_cast<uint32_t>(nvalid * ps * 64);
      mbar_arrive_expect_tx(bar0, bytes);
      mbar_arrive_expect_tx(bar0 + 8, bytes);
    }
    __syncwarp();
    if (wpage >= 0) {
      const int row = (wpage * H + kvh) * ps;  // < 2^31: checked on the host
      const uint32_t dst = static_cast<uint32_t>(__cvta_generic_to_shared(Kc + (wt0 + lane * ps) * 64));
      tma_load_2d_kv(dst, &maps->k, &maps->v, row, bar0, 64 * TOK);  // Vc = Kc + 64 TOK, bar_v = bar_k + 8
    }
    const int spage_l = __shfl_sync(0xffffffffu, wpage, tl0 >> pshift);
    const int spage = tl0 < wn ? spage_l : -1;
    const uint64_t soff =
        (uint64_t(uint32_t(spage) * uint32_t(H) + uint32_t(kvh)) * uint32_t(ps) + uint32_t((wt0 + tl0) & (ps - 1))) * (2 * NB);
    const uint32_t sdst = static_cast<uint32_t>(__cvta_generic_to_shared(Ks + (wt0 + tl0) * NB));
    for (int is_v = 0; is_v < 2; ++is_v) {
      cp_async_if<4 * NB>(sdst + (is_v ? 2 * TOK * NB : 0),
                          reinterpret_cast<const uint8_t*>(is_v ? c.v_scales : c.k_scales) + soff, spage >= 0);
      cp_async_commit();
    }
  } else {
    // Lane: 16-byte chunk lane & 3 of tokens lane / 4 + 8j (as issue_copies, K and V from one set of offsets).
    const int spage_l = __shfl_sync(0xffffffffu, wpage, tl0 >> pshift);
    const int spage = tl0 < wn ? spage_l : -1;
    const uint64_t soff =
        (uint64_t(uint32_t(spage) * uint32_t(H) + uint32_t(kvh)) * uint32_t(ps) + uint32_t((wt0 + tl0) & (ps - 1))) * (2 * NB);
    const uint32_t sdst = static_cast<uint32_t>(__cvta_generic_to_shared(Ks + (wt0 + tl0) * NB));
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
      cp_async_if<4 * NB>(sdst + (is_v ? 2 * TOK * NB : 0),
                          reinterpret_cast<const uint8_t*>(is_v ? c.v_scales : c.k_scales) + soff, spage >= 0);
      cp_async_commit();
    }
  }

  for (int item = 0;; ++item) {
  const int t0 = part * kPartTokens;  // this item's first token
  const int nparts = (len + kPartTokens - 1) / kPartTokens;
  const int kslot = PIPE == 2 ? (item & 1) : 0;
  if constexpr (PIPE == 1) {
    // This item's V copies (the V rows were free after the previous item's CTA sum), then the next item.
    if (item > 0) {
      issue_copies(1, 0, b, kvh, wn, wpage);
      int it = w + 1;
      has_next = fetch_item(it, n_part, n_kvh, n_b, n_len, n_pg, n_q);
      w = it;
    }
  }
  if constexpr (PIPE == 2) {
    Kc = smem + (kslot ? 128 * TOK : 0);
    Ks = reinterpret_cast<uint16_t*>(smem + SC) + (kslot ? 2 * TOK * NB : 0);
    // The next item's K copies go into the other slot (free: its last reader, the previous item, ended
    // with the CTA barrier of publish_partition_errors). Always one group, empty without a next item.
    if (has_next) {
      issue_next(0, kslot ^ 1);
    } else {
      cp_async_commit();
    }
  }
  if constexpr (PERSIST) {
    if (tid == 0) {
      s_err = 0;
      s_emax = INT_MIN;
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
      if (part == 0 && p.tr.q_fixed) p.tr.q_fixed[(int64_t(b) * Hq + hq) * D + i] = qi;
    }
    if (lane == 0) {
      s_qshift[h] = sq;
      if (part == 0 && p.tr.q_shift) p.tr.q_shift[int64_t(b) * Hq + hq] = sq;
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

  cp_async_wait<PIPE == 2 ? 2 : 1>();  // this item's K group (V and with PIPE 2 the next K may be in flight)
  if constexpr (TMA) mbar_wait(bar0 + (kslot ? 16 : 0), PIPE == 2 ? (item >> 1) & 1 : item & 1);
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
    // (G = 1: predicated stores; G >= 2: plain stores; measured:
    // reports/archive/cuda-kernel-history-2026-12-06.md, P_b stores)
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
  cp_async_wait<PIPE == 2 ? 1 : 0>();  // this item's V group
  if constexpr (TMA) mbar_wait(bar0 + 8, item & 1);
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
  // Mstart: LLONG_MIN, the start of each head's M_p max below. (Written as the max with it, as before the
  // split into files: dropping it changes the SASS of the non-split G = 4 kernels, 74-102 lines.)
  int ep_raw;
  int64_t Mstart[G];
  __syncthreads();
  ep_raw = s_emax;
#pragma unroll
  for (int h = 0; h < G; ++h) Mstart[h] = LLONG_MIN;
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
      for (int h = 0; h < G; ++h) M[h] = max(Mstart[h], warp_max_i64(lane % G == h ? v : LLONG_MIN));
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
  int nn_part = 0, nn_kvh = 0, nn_b = 0, nn_len = 0, nn_pg = -1;
  float nn_q[4];
  bool nn_has = false;
  if constexpr (PIPE == 1) {
    // This warp's K rows (W) and scales are consumed: the next item's K copies go out now.
    __syncwarp();
    if (has_next) {
      issue_next(0, 0);
    }
  }
  if constexpr (PIPE == 2) {
    // This warp's V rows and scales are consumed: the next item's V copies go out now (one group, empty
    // without a next item), and the item after it is fetched, its loads overlapping the CTA sum.
    __syncwarp();
    if (has_next) {
      issue_next(1, 0);
      int it = w + 1;
      nn_has = fetch_item(it, nn_part, nn_kvh, nn_b, nn_len, nn_pg, nn_q);
      w = it;
    } else {
      cp_async_commit();
    }
  }
  // ---- CTA sum of the per-warp partials (int32 per warp, int64 sum; exact, fixed order), over the free K/V rows,
  // then the partition partials.
  __syncthreads();
  // Per-warp partials in int32: o = sum over the warp's <= 64 tokens of W * C, |o| <= 64 * 65535 * 128
  // < 2^29 (section 7.3). Rows (warp, head) of RS = D + 8 ints (the pad makes the int4 stores of
  // lanes (g, tig) hit distinct banks); warps without tokens store zeros (acc = 0), so the sum below
  // runs over all NW warps with a compile-time count. Tiles m = 2c, 2c + 1 are dims 32c + 4g .. + 3.
  constexpr int RS = D + 8;
  static_assert(NW % 2 == 0, "warp pairs");
  int* Op = reinterpret_cast<int*>(PIPE == 1 ? Vc : Kc);  // [NW][G][RS]
  if (tig < G) {
#pragma unroll
    for (int c4 = 0; c4 < 4; ++c4) {
      const int* a0 = acc[2 * c4];
      const int* a1 = acc[2 * c4 + 1];
      *reinterpret_cast<int4*>(&Op[(warp * G + tig) * RS + 32 * c4 + 4 * g]) =
          make_int4(a0[0] * 256 + a0[1], a0[2] * 256 + a0[3], a1[0] * 256 + a1[1], a1[2] * 256 + a1[3]);
    }
  }
  __syncthreads();
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
      p.part_e[pi] = ep;
      p.part_M[pi] = M;
      p.part_L[pi] = L;
    }
  }
  // The partials are out; with the fused combine the last item of a (sequence, kv head) runs its combine.
  if (PERSIST && p.fuse_combine) {
    __shared__ int s_last;
    __threadfence();  // this thread's partials, before the CTA's arrival
    publish_partition_errors(p, b, kvh, s_err);
    if (tid == 0) {
      __threadfence();
      s_last = atomicAdd(&p.counters[b * H + kvh], 1) == nparts - 1;
    }
    __syncthreads();
    if (s_last) {
      __threadfence();
      combine_in_cta<G, NT>(p, b, kvh, nparts, reinterpret_cast<double*>(PIPE == 1 ? Vc : Kc));
    }
  } else {
    publish_partition_errors(p, b, kvh, s_err);
  }
  if constexpr (!PERSIST) {
    break;
  } else {
    if (!has_next) break;
    part = n_part, kvh = n_kvh, b = n_b, len = n_len, pg_pre = n_pg;
#pragma unroll
    for (int k = 0; k < 4; ++k) qraw[k] = n_q[k];
    wn = warp_tokens(part, len);
    bool bad;
    wpage = warp_page(wn, pg_pre, bad);
    early_err = bad ? kErrPageOutOfRange : 0;
    if constexpr (PIPE == 2) {
      has_next = nn_has;
      n_part = nn_part, n_kvh = nn_kvh, n_b = nn_b, n_len = nn_len, n_pg = nn_pg;
#pragma unroll
      for (int k = 0; k < 4; ++k) n_q[k] = nn_q[k];
    } else {
      has_next = false;  // fetched when the item starts
    }
  }
  }  // items
  trigger_dependents();
}
template <int NB, int G, bool SPLIT = true>
__global__ void __launch_bounds__(kThreads, 3) decode_mma_kernel(const DecodeParams p) {
  decode_mma_body<NB, G, SPLIT, false, 0>(p, nullptr);
}
template <int NB, int G>
__global__ void __launch_bounds__(kThreads, 3) decode_mma_tma_kernel(const __grid_constant__ DecodeParams p,
                                                                     const __grid_constant__ CodeMaps maps) {
  decode_mma_body<NB, G, true, true, 0>(p, &maps);
}
#if NQKV_CUDA_PERSISTENT
// The persistent, software-pipelined partition kernel (build option NQKV_CUDA_PERSISTENT; measured slower
// than decode_mma_kernel on every shape, reports/gpu.md): gridDim.x CTAs walk contiguous ranges of the
// host's (sequence, kv head, partition) item order, PIPE as decode_mma_body (2: 2 CTAs per SM,
// fast_smem_bytes with persist; 1: 3 CTAs per SM). TMA copies at G = 1, cp.async at G = 2, 4.
template <int NB, int G, int PIPE>
__global__ void __launch_bounds__(kThreads, PIPE == 2 ? 2 : 3)
    decode_mma_persistent_kernel(const __grid_constant__ DecodeParams p, const __grid_constant__ CodeMaps maps) {
  decode_mma_body<NB, G, true, G == 1, PIPE>(p, &maps);
}
#endif

}  // namespace nqkv::cuda::detail
