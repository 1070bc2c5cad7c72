// Parameters of the split-K decode kernels (docs/numerics.md sections 7-9): what a launch passes to the
// partition kernels (decode_generic.cuh, decode_mma.cuh) and to the combine (combine.cu).
#pragma once
#include <cuda.h>  // CUtensorMap and its enums (the encoder is fetched through the runtime; no libcuda link)

#include "kernels/cuda/common.cuh"

namespace nqkv::cuda::detail {

constexpr int kThreads = 256;
constexpr int kFW = 8;  // fast path: warps per CTA, 64 tokens each

struct DecodeParams {
  PagedCache c;
  uint32_t lut[4];
  uint32_t lutx[4];  // split MAC table (fast path): X entries A[0..7] in lutx[0..1], Y entries B[0..7] in lutx[2..3]
  const float* q;
  float* out;
  int q_heads, group, max_parts, max_seq_len;
  int fuse_combine;  // fast path: the last item of each (sequence, kv head) runs the combine (combine_in_cta)
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

}  // namespace nqkv::cuda::detail
