// Golden vector files (one safetensors file per named case) and their bit-exact checking.
// Case kinds and tensor names are listed in docs/golden-vectors.md.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "golden/float_formats.hpp"
#include "io/safetensors.hpp"

namespace nqkv::golden {

struct GoldenCase {
  std::string name;
  io::SafeTensors data;
};

// Every corner and random suite, seeded and reproducible: the same seed gives the same bytes.
std::vector<GoldenCase> generate_golden_cases(uint64_t seed);

// An attention case from explicit inputs: k and v are tokens x kv_heads x head_dim raw element
// bits, q is q_heads x head_dim fp32. The expected outputs are computed with the golden library.
GoldenCase make_attention_case(const std::string& name, const std::string& codebook, ElemType type, int q_heads,
                               int kv_heads, int head_dim, int block, int tokens, const std::vector<uint32_t>& k_bits,
                               const std::vector<uint32_t>& v_bits, const std::vector<float>& q);

// Recomputes a case from its inputs with the golden library: the expected tensors.
io::SafeTensors recompute_case(const io::SafeTensors& c);
// The one reader of a golden case's metadata: the value of `key`, InputError naming the file when
// it is missing (case_meta_int: or not an integer).
std::string case_meta(const io::SafeTensors& c, const std::string& key);
int case_meta_int(const io::SafeTensors& c, const std::string& key);
int64_t case_meta_int64(const io::SafeTensors& c, const std::string& key);
// Names of the output tensors of a case (what a backend must reproduce).
std::vector<std::string> output_tensor_names(const io::SafeTensors& c);

struct TensorDiff {
  int64_t compared = 0, mismatches = 0;
  std::string report;  // the first mismatches: index, expected and got in hex, ULP distance
};
// Bit comparison of two tensors of the same dtype and shape; shape/dtype disagreements count as
// a mismatch of the whole tensor and are reported.
TensorDiff compare_tensors(const std::string& name, const io::Tensor& expected, const io::Tensor& got,
                           int max_report = 5);

}  // namespace nqkv::golden
