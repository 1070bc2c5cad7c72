// Which partition kernel a decode call takes (host side; dispatch.cu launches it). One place for the
// shape rules and for the environment switches that select other production paths for A/B timings and
// for running the golden suite over every path:
//   NQKV_CUDA_GENERIC=1  the generic kernel for every shape (decode_generic.cuh)
//   NQKV_CUDA_TMA=0      cp.async instead of TMA copies in the G = 1 fast path
//   NQKV_CUDA_PDL=0      the combine as a plain stream-ordered launch instead of a programmatic dependent
//   NQKV_CUDA_PDL_PARTITION=0  the partition kernel as a plain launch instead of a programmatic dependent
//                        of the previous kernel in the stream
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
bool combine_uses_pdl();    // false with NQKV_CUDA_PDL=0
bool partition_uses_pdl();  // false with NQKV_CUDA_PDL_PARTITION=0

// Split MAC table of the fast path (see heuristics.cpp): false if the codebook has none.
bool split_mac_table(const int8_t (&mac)[16], uint32_t (&out)[4]);

}  // namespace nqkv::cuda::detail
