// The combine (section 9.2) as the dispatch sees it: slab sizes and the launcher (combine.cu).
#pragma once
#include <cuda_runtime.h>

#include "kernels/cuda/decode_params.cuh"

namespace nqkv::cuda::detail {

// 64 outputs per CTA, up to 64 partitions staged per round, 128 threads
// (measured: reports/archive/cuda-kernel-history-2026-12-06.md, combine).
constexpr int kCombineSlab = 64, kCombineChunk = 64, kCombineThreads = 128;

// Launches combine_kernel over (G * D / kCombineSlab, kv_heads, batch) after the partition kernel on
// stream s; with pdl, as its programmatic dependent (the launch overlaps the partition grid's tail).
Result launch_combine(const DecodeParams& p, int G, int D, int kv_heads, int batch, cudaStream_t s, bool pdl);

}  // namespace nqkv::cuda::detail
