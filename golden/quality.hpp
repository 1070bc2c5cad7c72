// Quantization error of the codebooks on synthetic data (what `nqkv quality` prints): relative MSE
// sum((x - deq x)^2) / sum(x^2) and SQNR = -10 log10(relative MSE), through the exact encode and
// dequantize of docs/numerics.md (fp32 analysis input, so the scale is stored exactly).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "golden/codebook.hpp"

namespace nqkv::golden {

enum class Distribution { Normal, Laplace, StudentT3 };
const char* distribution_name(Distribution d);

struct QualityRow {
  std::string codebook;
  Distribution dist;
  int block;
  double bits_per_element;  // with fp16 scales counted (section 4.4)
  double rel_mse, sqnr_db;
};

double relative_mse(const std::vector<float>& x, const std::vector<float>& y);
std::vector<float> synthetic_data(Distribution d, int64_t n, uint64_t seed);
// Quantizes and dequantizes x (fp32) with a codebook and block size; returns the relative MSE.
double codebook_rel_mse(const Codebook& cb, int block, const std::vector<float>& x);

std::vector<QualityRow> quality_table(const std::vector<int>& blocks, int64_t elements, uint64_t seed);

}  // namespace nqkv::golden
