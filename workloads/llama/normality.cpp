#include "workloads/llama/normality.hpp"

#include <cmath>
#include <limits>

namespace nqkv::llama {

double SampleMoments::skewness() const { return m3 / std::pow(m2, 1.5); }
double SampleMoments::kurtosis() const { return m4 / (m2 * m2); }

SampleMoments moments(const double* x, size_t n) {
  SampleMoments m;
  if (n == 0) return m;
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  m.mean = s / static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    const double d = x[i] - m.mean, d2 = d * d;
    m.m2 += d2;
    m.m3 += d2 * d;
    m.m4 += d2 * d2;
  }
  m.m2 /= static_cast<double>(n);
  m.m3 /= static_cast<double>(n);
  m.m4 /= static_cast<double>(n);
  return m;
}

// D'Agostino (1970): y = g1 sqrt((n+1)(n+3) / (6(n-2))), beta2 of sqrt(b1), W^2, delta, alpha,
// Z1 = delta * asinh(y / alpha). (scipy additionally replaces y = 0 by 1, which gives a nonzero
// Z1 for exactly symmetric samples; here Z1 = 0 for them, as the formula says.)
double skewtest_z(double g1, size_t nn) {
  const double n = static_cast<double>(nn);
  const double y = g1 * std::sqrt((n + 1) * (n + 3) / (6.0 * (n - 2)));
  const double beta2 = 3.0 * (n * n + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2) * (n + 5) * (n + 7) * (n + 9));
  const double W2 = -1 + std::sqrt(2 * (beta2 - 1));
  const double delta = 1 / std::sqrt(0.5 * std::log(W2));
  const double alpha = std::sqrt(2.0 / (W2 - 1));
  const double ya = y / alpha;
  return delta * std::log(ya + std::sqrt(ya * ya + 1));
}

// Anscombe & Glynn (1983): standardise b2 by its exact normal-theory mean and variance, then a
// Wilson-Hilferty cube-root transform with A chosen from the third standardised moment of b2.
double kurtosistest_z(double b2, size_t nn) {
  const double n = static_cast<double>(nn);
  const double E = 3.0 * (n - 1) / (n + 1);
  const double varb2 = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) * (n + 1) * (n + 3) * (n + 5));
  const double x = (b2 - E) / std::sqrt(varb2);
  const double sqrtbeta1 =
      6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * std::sqrt(6.0 * (n + 3) * (n + 5) / (n * (n - 2) * (n - 3)));
  const double A = 6.0 + 8.0 / sqrtbeta1 * (2.0 / sqrtbeta1 + std::sqrt(1 + 4.0 / (sqrtbeta1 * sqrtbeta1)));
  const double term1 = 1 - 2 / (9.0 * A);
  const double denom = 1 + x * std::sqrt(2 / (A - 4.0));
  if (denom == 0) return std::numeric_limits<double>::quiet_NaN();
  const double term2 = (denom < 0 ? -1.0 : 1.0) * std::cbrt((1 - 2.0 / A) / std::fabs(denom));
  return (term1 - term2) / std::sqrt(2 / (9.0 * A));
}

NormalTestResult normaltest(const double* x, size_t n) {
  NormalTestResult r;
  const SampleMoments m = moments(x, n);
  if (n < 8 || !(m.m2 > 0) || !std::isfinite(m.m2)) {
    r.valid = false;
    r.p = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  r.z_skew = skewtest_z(m.skewness(), n);
  r.z_kurt = kurtosistest_z(m.kurtosis(), n);
  if (!std::isfinite(r.z_skew) || !std::isfinite(r.z_kurt)) {
    r.valid = false;
    r.p = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  r.k2 = r.z_skew * r.z_skew + r.z_kurt * r.z_kurt;
  r.p = std::exp(-r.k2 / 2);
  return r;
}

}  // namespace nqkv::llama
