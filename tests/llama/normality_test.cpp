// D'Agostino-Pearson K^2: hand-derived moments, published scipy values for the two component
// tests, and the test's behaviour on seeded Gaussian, Laplace and uniform samples.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "golden/rng.hpp"
#include "golden/codebook.hpp"
#include "workloads/llama/kvstats.hpp"
#include "workloads/llama/normality.hpp"

namespace nqkv::llama {
namespace {

TEST(Normality, HandDerivedMoments) {
  // x = {2,8,0,4,1,9,9,0}: mean 33/8 = 4.125; deviations -2.125 3.875 -4.125 -0.125 -3.125 4.875
  // 4.875 -4.125; sum of squares 110.875 -> m2 = 13.859375; sum of cubes 109.40625 ->
  // m3 = 13.67578125; g1 = m3 / m2^1.5 = 13.67578125 / 51.5954... = 0.26505...
  const std::vector<double> x = {2, 8, 0, 4, 1, 9, 9, 0};
  const SampleMoments m = moments(x.data(), x.size());
  EXPECT_DOUBLE_EQ(m.mean, 4.125);
  EXPECT_DOUBLE_EQ(m.m2, 13.859375);
  EXPECT_DOUBLE_EQ(m.m3, 13.67578125);
  EXPECT_NEAR(m.skewness(), 0.26505, 1e-4);
  // 0..19 (discrete uniform, n = 20): m2 = (n^2-1)/12 = 33.25, m4 = (n^2-1)(3n^2-7)/240 =
  // 399 * 1193 / 240 = 476007 / 240 = 1983.3625, b2 = 1983.3625 / 33.25^2 = 1.79398...
  std::vector<double> r(20);
  for (int i = 0; i < 20; ++i) r[i] = i;
  const SampleMoments mr = moments(r.data(), r.size());
  EXPECT_DOUBLE_EQ(mr.m2, 33.25);
  EXPECT_NEAR(mr.m4, 1983.3625, 1e-9);
  EXPECT_NEAR(mr.kurtosis(), 1.79398, 1e-5);
}

TEST(Normality, PublishedScipyValues) {
  // scipy.stats documentation examples (scipy 1.1-1.5 reference pages):
  //   skewtest([2, 8, 0, 4, 1, 9, 9, 0]).statistic        = 0.44626385374196975
  //   skewtest([1, 2, 3, 4, 5, 6, 7, 8000]).statistic    = 3.571773510360407
  //   kurtosistest(list(range(20))).statistic            = -1.7058104152122062
  const std::vector<double> a = {2, 8, 0, 4, 1, 9, 9, 0};
  EXPECT_NEAR(skewtest_z(moments(a.data(), 8).skewness(), 8), 0.44626385374196975, 1e-12);
  const std::vector<double> b = {1, 2, 3, 4, 5, 6, 7, 8000};
  EXPECT_NEAR(skewtest_z(moments(b.data(), 8).skewness(), 8), 3.571773510360407, 1e-11);
  std::vector<double> r(20);
  for (int i = 0; i < 20; ++i) r[i] = i;
  EXPECT_NEAR(kurtosistest_z(moments(r.data(), 20).kurtosis(), 20), -1.7058104152122062, 1e-12);
  // The omnibus statistic combines them; an exactly symmetric sample has Z1 = 0.
  const NormalTestResult t = normaltest(r.data(), 20);
  ASSERT_TRUE(t.valid);
  EXPECT_NEAR(t.z_skew, 0.0, 1e-12);
  EXPECT_NEAR(t.k2, 1.7058104152122062 * 1.7058104152122062, 1e-10);
  EXPECT_NEAR(t.p, std::exp(-t.k2 / 2), 1e-15);
}

TEST(Normality, DegenerateSamplesAreInvalid) {
  const std::vector<double> c(16, 3.0);
  EXPECT_FALSE(normaltest(c.data(), c.size()).valid);
  const std::vector<double> s = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_FALSE(normaltest(s.data(), s.size()).valid);  // n < 8
}

double pass_rate(const char* kind, int n, int trials, uint64_t seed) {
  golden::SplitMix64 rng(seed);
  std::vector<double> x(n);
  int pass = 0, valid = 0;
  for (int t = 0; t < trials; ++t) {
    for (double& v : x) {
      const std::string k = kind;
      v = k == "gaussian" ? rng.normal() : k == "laplace" ? rng.laplace() : rng.uniform();
    }
    const NormalTestResult r = normaltest(x.data(), n);
    if (!r.valid) continue;
    ++valid;
    pass += r.p >= 0.05;
  }
  return static_cast<double>(pass) / valid;
}

TEST(Normality, GaussianPassesAboutNinetyFivePercent) {
  // 4000 blocks: the binomial standard error of a 95% rate is 0.34%; the asymptotic chi-square
  // makes the true size a little different from 5% at small n, so allow +-2.5%.
  for (int n : {32, 64, 256}) EXPECT_NEAR(pass_rate("gaussian", n, 4000, 11 + n), 0.95, 0.025) << "n = " << n;
}

TEST(Normality, HeavyAndLightTailsFailAtLargeN) {
  EXPECT_LT(pass_rate("laplace", 256, 1000, 5), 0.15);
  EXPECT_LT(pass_rate("uniform", 256, 1000, 6), 0.15);
  // And the power grows with n.
  EXPECT_LT(pass_rate("laplace", 128, 2000, 7), pass_rate("laplace", 32, 2000, 8));
}

}  // namespace
}  // namespace nqkv::llama


namespace nqkv::llama {
namespace {
// Codebook error of slices (the per-layer rows of `nqkv kvstats`) summed into the overall figure:
// one part is returned unchanged; the parts of a split capture give the whole capture's relative
// MSE (float64 sums in another order: equal to 1e-12); dropping one part (a planted fault) is seen.
TEST(CodebookErrorParts, SlicesSumToTheWhole) {
  const golden::Codebook& nf4 = golden::codebook_by_name("nf4");
  const int C = 64, rows_per = 50, parts = 4;
  const std::vector<float> x = synthetic_rows("laplace", parts * rows_per, C, 17);
  const CodebookError whole = codebook_error(nf4, golden::ElemType::F16, "K", x.data(), parts * rows_per, C, 32);
  std::vector<CodebookError> p;
  for (int i = 0; i < parts; ++i)
    p.push_back(codebook_error(nf4, golden::ElemType::F16, "K", x.data() + i * rows_per * C, rows_per, C, 32));
  const CodebookError one = combine_codebook_errors({p[0]});
  EXPECT_EQ(one.rel_mse, p[0].rel_mse);
  EXPECT_EQ(one.sqnr_db, p[0].sqnr_db);
  const CodebookError sum = combine_codebook_errors(p);
  EXPECT_NEAR(sum.rel_mse / whole.rel_mse, 1.0, 1e-12);
  EXPECT_EQ(sum.bits_per_element, whole.bits_per_element);
  p.pop_back();
  EXPECT_GT(std::abs(combine_codebook_errors(p).rel_mse / whole.rel_mse - 1.0), 1e-6);
}

}  // namespace
}  // namespace nqkv::llama
