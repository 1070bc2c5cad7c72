// Shared-memory tiles of the partition kernels: the generic kernel's layout (make_layout), the fast
// path's size (fast_smem_bytes, with the exp2 table staged for G = 1 at blocks 64/128) and the swizzle of
// its P_b tiles at G = 4, block 32 (p_byte_swz).
#pragma once
#include "kernels/cuda/decode_params.cuh"

namespace nqkv::cuda::detail {

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

// Shared memory of the fast path (one CTA per partition, 512 tokens): codes,
// scales, the query, and for G = 1 at blocks of 64 or 128 the 4 KB exp2 table of E_t (section 8.4).
// E_t's table loads have a random index per lane: through L1 a warp's load touches up to 32 sectors,
// from shared memory it is one wavefront plus bank conflicts; G >= 2 keeps the L1 path (measured:
// reports/archive/cuda-kernel-history-2026-12-06.md, exp2 table).
// At block 32 the table would cost the third CTA per SM (228 KB).
__host__ __device__ constexpr bool exp2_in_smem(int nb, int G) { return nb <= 2 && G == 1; }
// The persistent kernel (persist) double-buffers the K codes and K scales: 32 KB + 2 KB nb more, 2 CTAs per SM.
__host__ __device__ inline int fast_smem_bytes(int nb, int G, bool persist = false) {
  return (persist ? 98304 + 3072 * nb : 65536 + 2048 * nb) + G * 128 * 2 + (exp2_in_smem(nb, G) ? 4096 : 0);
}

// P_b tiles at G = 4, block 32 (NB G = 16 ints, 64 bytes per token): a lane reads its token pair
// t = 2L, 2L + 1 (mod 16) as 16-byte chunks, and pairs sit 128 bytes apart, so in the plain layout
// ([16 tokens][NB][G]) the 8 lanes of a quarter-warp hit one bank group (8-way conflicts). This layout
// XORs the chunk index with the pair (0..7): those lanes get distinct bank groups, loads and the score
// pass's int2 stores (an 8-byte word never crosses a chunk) both conflict-free. Byte offset of int j
// (= bk G + h) of tile token t. Smaller NB G keep the plain layout (measured:
// reports/archive/cuda-kernel-history-2026-12-06.md, P_b swizzle).
__device__ __forceinline__ int p_byte_swz(int t, int j) {
  const int pair = t >> 1;
  return pair * 128 + (((t & 1) * 64 + 4 * j) ^ ((pair & 7) << 4));
}

}  // namespace nqkv::cuda::detail
