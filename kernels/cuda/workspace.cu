// DecodeWorkspace (nqkv_cuda.hpp): the per (sequence, query head, partition) integer partials of the
// split-K decode and the per (sequence, kv head) error slots and counters.
#include "kernels/cuda/workspace.hpp"

#include "kernels/cuda/common.cuh"

namespace nqkv::cuda {

using detail::cuda_result;
using detail::invalid;
using detail::join_o;
using detail::kPartTokens;

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

}  // namespace nqkv::cuda
