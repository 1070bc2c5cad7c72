#include "golden/quality.hpp"

#include <cmath>

#include "golden/quantize.hpp"
#include "golden/rng.hpp"

namespace nqkv::golden {

const char* distribution_name(Distribution d) {
  return d == Distribution::Normal ? "normal" : d == Distribution::Laplace ? "laplace" : "student-t3";
}

double relative_mse(const std::vector<float>& x, const std::vector<float>& y) {
  double err = 0, sig = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(y[i]) - x[i];
    err += d * d;
    sig += static_cast<double>(x[i]) * x[i];
  }
  return sig > 0 ? err / sig : 0.0;
}

std::vector<float> synthetic_data(Distribution d, int64_t n, uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x)
    v = static_cast<float>(d == Distribution::Normal ? rng.normal() : d == Distribution::Laplace ? rng.laplace() : rng.student_t(3));
  return x;
}

double codebook_rel_mse(const Codebook& cb, int block, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  std::vector<uint8_t> codes(static_cast<size_t>(block));
  for (size_t b = 0; b + block <= x.size(); b += block) {
    const BlockScale s = quantize_block(cb, ElemType::F32, x.data() + b, block, codes.data());
    dequantize_block(cb, ElemType::F32, s, codes.data(), block, y.data() + b);
  }
  return relative_mse(x, y);
}

std::vector<QualityRow> quality_table(const std::vector<int>& blocks, int64_t elements, uint64_t seed) {
  std::vector<QualityRow> rows;
  for (Distribution d : {Distribution::Normal, Distribution::Laplace, Distribution::StudentT3}) {
    const auto x = synthetic_data(d, elements, seed + static_cast<uint64_t>(d));
    for (CodebookId id : all_codebooks()) {
      const Codebook& cb = codebook(id);
      for (int B : blocks) {
        const double m = codebook_rel_mse(cb, B, x);
        rows.push_back({cb.name, d, B, bits_per_element(cb, B, 16), m, -10.0 * std::log10(m)});
      }
    }
  }
  return rows;
}

}  // namespace nqkv::golden
