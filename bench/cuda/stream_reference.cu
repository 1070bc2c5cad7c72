// Same-bytes streaming reference for quantize-append: reads `in_bytes` and writes a quarter of that
// (the XOR of four 16-byte words), every warp access whole and contiguous, no other work. It shows
// what a kernel moving the append's bytes can reach at that size, next to the large copy's rate.
#include "bench/cuda/stream_reference.hpp"

#include <cuda_runtime.h>

namespace {
__global__ void fold4_kernel(const uint4* __restrict__ in, uint4* __restrict__ out, size_t n_out) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_out) return;
  const uint4 a = __ldcs(in + i), b = __ldcs(in + i + n_out), c = __ldcs(in + i + 2 * n_out), d = __ldcs(in + i + 3 * n_out);
  out[i] = make_uint4(a.x ^ b.x ^ c.x ^ d.x, a.y ^ b.y ^ c.y ^ d.y, a.z ^ b.z ^ c.z ^ d.z, a.w ^ b.w ^ c.w ^ d.w);
}
}  // namespace

void stream_fold4(const void* in, void* out, size_t in_bytes, void* stream) {
  const size_t n_out = in_bytes / 64;  // 16-byte output words
  fold4_kernel<<<unsigned((n_out + 255) / 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(static_cast<const uint4*>(in), static_cast<uint4*>(out), n_out);
}
