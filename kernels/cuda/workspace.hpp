// The split-K workspace's storage format (DecodeWorkspace, nqkv_cuda.hpp; methods in workspace.cpp):
// O_p is kept as its low 32 bits and its sign-extending high byte, 5 bytes per value instead of 8
// (|O_p| < 512 x 65535 x 128 <= 2^32); join_o puts the two together (combine kernel, download_part_O).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace nqkv::cuda::detail {

// O_p from its low word and its sign-extending high byte (DecodeWorkspace).
__host__ __device__ inline int64_t join_o(uint32_t lo, int8_t hi) {
  return static_cast<int64_t>((static_cast<uint64_t>(static_cast<int64_t>(hi)) << 32) | lo);
}

}  // namespace nqkv::cuda::detail
