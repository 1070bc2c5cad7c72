// The codebooks of docs/numerics.md section 3: their fp32 values, the fp32 decision thresholds the
// encoder compares against, and the int8 fixed-point entries the dequant-MAC uses (section 7).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nqkv::golden {

enum class CodebookId { NF4, NF3, NF2, FP4, E2M1, INT4SYM, LLOYD4, INT4 };

struct Codebook {
  CodebookId id;
  std::string name;   // CLI spelling: nf4, nf3, nf2, fp4, e2m1, int4sym, lloyd4, int4
  int bits = 4;       // bits per code
  bool affine = false;  // INT4 (KIVI-style min/max): codes 0..15 on a per-block grid, no table
  // Symmetric (absmax) codebooks: values sorted ascending in [-1, 1], thresholds[k] separates
  // values[k] and values[k+1]; code = number of thresholds t with xn > t (strict).
  std::vector<float> values;
  std::vector<float> thresholds;
  std::vector<int8_t> mac;  // round_half_even(values[k] * 127): the MAC's fixed-point entries
  int zero_code = 0;        // the code an all-zero block gets (count of thresholds below 0)
};

const Codebook& codebook(CodebookId id);
// Parses a CLI name; throws nqkv::InputError listing the valid names.
const Codebook& codebook_by_name(const std::string& name);
std::vector<CodebookId> all_codebooks();

// Storage cost in bits per element with the per-block metadata counted: a symmetric codebook stores
// one scale (absmax) per block, the affine INT4 stores two (minimum and step). scale_bits is 16
// for fp16/bf16 caches and 32 for fp32 analysis data.
double bits_per_element(const Codebook& cb, int block, int scale_bits = 16);

// The normal-quantile construction of section 3.2 (bitsandbytes' create_normal_map with
// use_extra_value=True): 2^(bits-1) positive and 2^(bits-1)-1 negative quantiles of N(0,1) plus 0,
// normalised by the largest. Computed in float64; the tables above are these values rounded to
// fp32. Exposed so tests can rebuild the tables independently.
std::vector<double> normal_quantile_values(int bits, double offset = 0.9677083);
// Inverse standard normal CDF to ~1e-15 relative accuracy (Acklam's rational approximation
// refined by Newton steps on erfc).
double normal_ppf(double p);

// Lloyd-Max construction of section 3.4 for the block-normalised Gaussian (x / absmax over blocks
// of `block` N(0,1) samples), from `blocks` seeded blocks. Returns 2^bits sorted levels.
std::vector<double> lloyd_max_block_gaussian(int bits, int block, int blocks, uint64_t seed, int iterations);

}  // namespace nqkv::golden
