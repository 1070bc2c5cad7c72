// Seeded, platform-independent random numbers for workloads and golden vectors: SplitMix64 for
// the bits (the same sequence on every machine), Box-Muller for normals.
#pragma once
#include <cmath>
#include <cstdint>

namespace nqkv::golden {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1): 53 random bits, never exactly 0 (safe for log).
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = uniform(), u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }
  double laplace() {  // unit scale (variance 2)
    const double u = uniform() - 0.5;
    return (u < 0 ? 1.0 : -1.0) * std::log(1.0 - 2.0 * std::fabs(u));
  }
  double student_t(int dof) {  // Student-t via normal / sqrt(chi2/dof)
    double chi2 = 0;
    for (int i = 0; i < dof; ++i) {
      const double z = normal();
      chi2 += z * z;
    }
    return normal() / std::sqrt(chi2 / dof);
  }
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace nqkv::golden
