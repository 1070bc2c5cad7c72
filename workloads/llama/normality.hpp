// Normality statistics of small samples (one quantization block each): moments, D'Agostino's
// skewness test (D'Agostino 1970), the Anscombe-Glynn kurtosis test (1983) and their omnibus
// combination, the D'Agostino-Pearson K^2 test (what scipy.stats.normaltest computes and what the
// NQKV paper applies to KV-cache blocks). Valid for n >= 8 (skewtest's minimum; the kurtosis test
// is only approximate below n = 20, which is why kvstats also runs every test on Gaussian blocks
// of the same size as a calibration).
#pragma once
#include <cstddef>

namespace nqkv::llama {

struct SampleMoments {
  double mean = 0, m2 = 0, m3 = 0, m4 = 0;  // central moments with 1/n (biased, like scipy)
  double skewness() const;                   // g1 = m3 / m2^1.5
  double kurtosis() const;                   // b2 = m4 / m2^2 (Pearson; normal: 3)
};
SampleMoments moments(const double* x, size_t n);

// Z statistics (standard normal under H0). Both are two-sided in use.
double skewtest_z(double g1, size_t n);     // n >= 8
double kurtosistest_z(double b2, size_t n); // n >= 5; NaN where the transform is undefined

struct NormalTestResult {
  double z_skew = 0, z_kurt = 0, k2 = 0, p = 1;
  bool valid = true;  // false for constant samples or n < 8
};
// K^2 = Z1^2 + Z2^2, p = exp(-K^2 / 2) (chi-square with 2 degrees of freedom).
NormalTestResult normaltest(const double* x, size_t n);

}  // namespace nqkv::llama
