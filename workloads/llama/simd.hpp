// Run-time choice of the AVX2 builds of the forward pass's hot loops (matmat_avx2.cpp,
// attend_avx2.cpp). Both are chosen only when the CPU has AVX2 and FMA; the attention kernels
// reproduce the scalar loops of FloatKVStore::attend bit for bit (same order of every rounded
// operation, no fused multiply-add), tests/llama/attend_simd_test.cpp compares them.
#pragma once
#include <cstdint>

namespace nqkv::llama::detail {

bool have_avx2();

// Y (T x rows) = X (T x cols) W^T, W row-major rows x cols (Eigen GEMM built for AVX2 + FMA).
void matmat_avx2(float* Y, const float* W, const float* X, int T, int rows, int cols);

// scores[t] = (sum over i = 0..hs-1, in order, of q[i] * K[t * stride + i]) / div for t < T, each
// product and each sum rounded to float as the scalar loop does. hs must be a multiple of 8.
void attend_scores_avx2(const float* q, const float* K, int64_t stride, int64_t T, int hs, float div, float* scores);
// out[i] = sum over t = 0..T-1, in order, of att[t] * V[t * stride + i] for i < hs (out is
// overwritten), rounded as the scalar loop does. hs must be a multiple of 8 and at most 256.
void attend_values_avx2(const float* att, const float* V, int64_t stride, int64_t T, int hs, float* out);

}  // namespace nqkv::llama::detail
