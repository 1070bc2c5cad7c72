// The two inner loops of FloatKVStore::attend (kv_store.cpp) for AVX2, bit-identical with the
// scalar loops: this file is built with -mavx2 and -ffp-contract=off (no -mfma), so every product
// and every sum is rounded to float separately, in the scalar loop's order.
//  * Scores: eight tokens at a time. Eight K rows are loaded eight elements at a time and
//    transposed in registers, so lane j accumulates token t + j's dot product over i in order.
//  * Values: the output row is held in registers (hs / 8 vectors) and each token's V row is added
//    in token order, so every output element sees the scalar loop's sequence of additions.
#include <immintrin.h>

#include "workloads/llama/simd.hpp"

namespace nqkv::llama::detail {

namespace {

// In-place 8 x 8 transpose: r[j] holds row j on entry, column j on return.
inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

}  // namespace

void attend_scores_avx2(const float* q, const float* K, int64_t stride, int64_t T, int hs, float div, float* scores) {
  const __m256 vdiv = _mm256_set1_ps(div);
  int64_t t = 0;
  for (; t + 8 <= T; t += 8) {
    const float* k0 = K + t * stride;
    __m256 acc = _mm256_setzero_ps();
    for (int i0 = 0; i0 < hs; i0 += 8) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(k0 + j * stride + i0);
      transpose8(r);  // r[j] = element i0 + j of tokens t .. t + 7
      for (int j = 0; j < 8; ++j) acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(q[i0 + j]), r[j]));
    }
    _mm256_storeu_ps(scores + t, _mm256_div_ps(acc, vdiv));
  }
  for (; t < T; ++t) {
    const float* kt = K + t * stride;
    float score = 0.f;
    for (int i = 0; i < hs; ++i) score += q[i] * kt[i];
    scores[t] = score / div;
  }
}

void attend_values_avx2(const float* att, const float* V, int64_t stride, int64_t T, int hs, float* out) {
  __m256 acc[32];
  const int n = hs / 8;
  for (int c = 0; c < n; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t t = 0; t < T; ++t) {
    const __m256 a = _mm256_set1_ps(att[t]);
    const float* vt = V + t * stride;
    for (int c = 0; c < n; ++c) acc[c] = _mm256_add_ps(acc[c], _mm256_mul_ps(a, _mm256_loadu_ps(vt + 8 * c)));
  }
  for (int c = 0; c < n; ++c) _mm256_storeu_ps(out + 8 * c, acc[c]);
}

}  // namespace nqkv::llama::detail
