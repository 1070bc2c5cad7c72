// Which partition kernel a decode call takes (host side; dispatch.cu launches it). One place for the
// shape rules and for the environment switches that select other production paths for A/B timings and
// for running the golden suite over every path:
//   NQKV_CUDA_GENERIC=1  the generic kernel for every shape (decode_generic.cuh)
//   NQKV_CUDA_TMA=0      cp.async instead of TMA copies in the G = 1 fast path
//   NQKV_CUDA_PDL=0      the combine as a plain stream-ordered launch instead of a programmatic dependent
//   NQKV_CUDA_PDL_PARTITION=0  the partition kernel as a plain launch instead of a programmatic dependent
//                        of the previous kernel in the stream
// and, only in a build with the option NQKV_CUDA_PERSISTENT (measured slower, reports/gpu.md):
//   NQKV_CUDA_PERSIST=1|3  the fast path's persistent partition kernel for every shape: 1 = two K slots,
//                        2 CTAs per SM; 3 = one K slot, 3 CTAs per SM (decode_mma_body's PIPE 2 / 1)
//   NQKV_CUDA_PERSIST_CTAS=N  at most N persistent CTAs (tests: several items per CTA on small shapes)
//   NQKV_CUDA_FUSE=1     with the persistent kernel, the combine fused into the CTA that finishes the last
//                        item of each (sequence, kv head) (combine_in_cta; no combine kernel)
#pragma once
#include <cstdint>

namespace nqkv::cuda::detail {

struct DecodeVariant {
  enum Kind { Generic, Mma, MmaTma } kind = Generic;
  int bits = 4;        // Generic: the codebook's bits (2, 3, 4)
  int nb = 1, G = 1;   // Mma*: blocks per 128-dim row (1, 2, 4) and query heads per kv head (1, 2, 4)
  bool split = true;   // Mma: split MAC table (split_mac_table) or the select-based LUT
};

// The variant for this shape. page_rows = num_pages * kv_heads (the fast path indexes page rows in
// 32 bits); split_ok = split_mac_table succeeded for the codebook. MmaTma is chosen for G = 1 unless
// NQKV_CUDA_TMA=0; the dispatch falls back to Mma when the tensor maps cannot be encoded.
DecodeVariant choose_decode_variant(int bits, int head_dim, int block, int G, int64_t page_rows, bool split_ok);
// How the fast path's partition work is scheduled (dispatch.cu): items = batch * kv_heads * max_parts.
struct DecodeSchedule {
  int pipe = 0;       // decode_mma_persistent_kernel<.., pipe> over ctas CTAs (0: one CTA per item)
  int ctas = 0;
  bool fuse = false;  // (pipe != 0) the combine fused into the partition kernel (no combine_kernel launch)
};
DecodeSchedule choose_decode_schedule(const DecodeVariant& v, int64_t items, int sms);
bool combine_uses_pdl();    // false with NQKV_CUDA_PDL=0
bool partition_uses_pdl();  // false with NQKV_CUDA_PDL_PARTITION=0

// Split MAC table of the fast path (see heuristics.cpp): false if the codebook has none.
bool split_mac_table(const int8_t (&mac)[16], uint32_t (&out)[4]);

}  // namespace nqkv::cuda::detail
