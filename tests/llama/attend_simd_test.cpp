// The AVX2 attention kernels (workloads/llama/attend_avx2.cpp) against the scalar loops of
// FloatKVStore::attend, bit for bit, on seeded random rows and corner values. The scalar reference
// below is the same loop as kv_store.cpp's (this file is built with -ffp-contract=off, so it rounds
// every product and sum as the production scalar build does). A planted fault (the same dot
// product summed in another order) must be caught, which shows the comparison sees rounding order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "workloads/llama/simd.hpp"

namespace {

using namespace nqkv::llama::detail;

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

void scores_scalar(const float* q, const float* K, int64_t stride, int64_t T, int hs, float div, float* s) {
  for (int64_t t = 0; t < T; ++t) {
    float score = 0.f;
    for (int i = 0; i < hs; ++i) score += q[i] * K[t * stride + i];
    s[t] = score / div;
  }
}

void values_scalar(const float* att, const float* V, int64_t stride, int64_t T, int hs, float* out) {
  std::fill(out, out + hs, 0.f);
  for (int64_t t = 0; t < T; ++t)
    for (int i = 0; i < hs; ++i) out[i] += att[t] * V[t * stride + i];
}

struct Shape {
  int hs;
  int64_t T;
  int64_t stride;  // elements between token rows (the cache's kv_dim); the head starts at offset 'off'
  int off;
};

// Rows of mixed magnitudes with corner values: zeros of both signs, subnormals, large values whose
// products overflow to infinity, and exact cancellations.
std::vector<float> random_rows(std::mt19937& rng, size_t n, bool corners) {
  std::normal_distribution<float> g(0.f, 1.f);
  std::uniform_int_distribution<int> e(-20, 20), pick(0, 40);
  std::vector<float> x(n);
  for (auto& v : x) {
    v = std::ldexp(g(rng), e(rng));
    if (!corners) continue;
    switch (pick(rng)) {
      case 0: v = 0.f; break;
      case 1: v = -0.f; break;
      case 2: v = std::numeric_limits<float>::denorm_min() * 3; break;
      case 3: v = 3e38f; break;
      case 4: v = -3e38f; break;
      default: break;
    }
  }
  return x;
}

class AttendSimd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_avx2()) GTEST_SKIP() << "this CPU (or build) has no AVX2 + FMA: the scalar loops are the only path";
  }
};

const Shape kShapes[] = {{8, 1, 8, 0},      {8, 9, 32, 8},    {16, 7, 48, 16},   {64, 8, 192, 0},
                         {64, 63, 192, 64}, {64, 513, 192, 128}, {128, 64, 256, 128}, {256, 17, 256, 0},
                         {64, 0, 192, 0}};

TEST_F(AttendSimd, ScoresAndValuesMatchTheScalarLoopsBitForBit) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    for (const Shape& s : kShapes) {
      std::mt19937 rng(seed * 7919u + static_cast<uint32_t>(s.hs * 131 + s.T));
      const bool corners = seed % 4 == 0;
      const size_t n = static_cast<size_t>(std::max<int64_t>(s.T, 1) * s.stride);
      const std::vector<float> K = random_rows(rng, n, corners), V = random_rows(rng, n, corners);
      const std::vector<float> q = random_rows(rng, s.hs, corners);
      std::vector<float> att = random_rows(rng, std::max<int64_t>(s.T, 1), corners);
      const float div = std::sqrt(static_cast<float>(s.hs));
      std::vector<float> want(std::max<int64_t>(s.T, 1)), got(want.size());
      scores_scalar(q.data(), K.data() + s.off, s.stride, s.T, s.hs, div, want.data());
      attend_scores_avx2(q.data(), K.data() + s.off, s.stride, s.T, s.hs, div, got.data());
      for (int64_t t = 0; t < s.T; ++t)
        ASSERT_EQ(bits(got[t]), bits(want[t])) << "score, seed " << seed << " hs " << s.hs << " T " << s.T << " t " << t;
      std::vector<float> wv(s.hs), gv(s.hs, 1.f);
      values_scalar(att.data(), V.data() + s.off, s.stride, s.T, s.hs, wv.data());
      attend_values_avx2(att.data(), V.data() + s.off, s.stride, s.T, s.hs, gv.data());
      for (int i = 0; i < s.hs; ++i)
        ASSERT_EQ(bits(gv[i]), bits(wv[i])) << "value, seed " << seed << " hs " << s.hs << " T " << s.T << " i " << i;
    }
  }
}

// Planted fault: summing the same products from the last element down differs in some bit for some
// seeded row, so a kernel that reordered its additions would fail the test above.
TEST_F(AttendSimd, AReorderedSumIsCaught) {
  int differ = 0;
  for (uint32_t seed = 1; seed <= 40 && !differ; ++seed) {
    std::mt19937 rng(seed);
    const int hs = 64;
    const std::vector<float> K = random_rows(rng, 8 * hs, false), q = random_rows(rng, hs, false);
    std::vector<float> got(8);
    attend_scores_avx2(q.data(), K.data(), hs, 8, hs, 8.f, got.data());
    for (int t = 0; t < 8; ++t) {
      float reversed = 0.f;
      for (int i = hs - 1; i >= 0; --i) reversed += q[i] * K[t * hs + i];
      differ += bits(reversed / 8.f) != bits(got[t]);
    }
  }
  EXPECT_GT(differ, 0) << "no seed distinguishes summation orders: the bit comparison would not catch a reorder";
}

}  // namespace
