// Cases of the verification environment: what one quantizer run or one attention head's score
// and value passes feed the accelerator and what it must produce (bit patterns from the golden
// library), read from a golden case file (`nqkv golden gen`) or made by sim/common/stimulus.
// Model-independent: every cycle model (RTL, SystemC) runs the same cases.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"
#include "io/safetensors.hpp"
#include "models/accel/accel_config.hpp"

namespace nqkv::sim {

struct QuantCase {
  const golden::Codebook* cb = nullptr;
  golden::ElemType type = golden::ElemType::F16;
  int block = 64;
  int64_t rows = 0, cols = 0;
  std::vector<uint16_t> x, scales;
  std::vector<uint8_t> codes, status;
};

struct AttnCase {
  const golden::Codebook* cb = nullptr;
  golden::ElemType type = golden::ElemType::F16;
  int block = 64, q_heads = 1, kv_heads = 1, head_dim = 64;
  int64_t tokens = 0;
  std::vector<int16_t> q_fixed;                 // [Hq, D]
  std::vector<uint8_t> k_codes, v_codes;        // [T, Hkv, D*bits/8]
  std::vector<uint16_t> k_absmax, v_absmax;     // [T, Hkv, nb]
  std::vector<int64_t> logits, part_M;          // [Hq, T], [Hq, P]
  std::vector<int32_t> part_e, scores_x;        // [Hq, P], [Hq, T]
  std::vector<int64_t> scores_S, part_O;        // [Hq, T], [Hq, P, D]
};

// What one query head's passes stream (cases are stored [T, Hkv, ...]): its KV head's K and V
// scales (T x nb) and packed K and V code rows (T x D*bits/8 bytes).
struct HeadStreams {
  std::vector<uint16_t> k_scales, v_scales;
  std::vector<uint8_t> k_codes, v_codes;
};
HeadStreams head_streams(const AttnCase& c, int q_head);
// The value-form block weights W_{t,b} of one partition of one query head (nb per token), computed
// on the host from E_t (exp2 step of 8.4) and the V scales with golden::value_weight.
std::vector<uint16_t> partition_weights(const AttnCase& c, int q_head, int64_t partition, const HeadStreams& hs);

// Why a build of the accelerator cannot run a case ("" when it can): affine codebooks, f32
// input, more bits than BITS_MAX, a block above BLOCK_MAX or not a multiple of LANES and 8.
std::string cannot_run(const accel::AccelConfig& cfg, const golden::Codebook& cb, golden::ElemType type, int block,
                       int64_t cols);
// As cannot_run, plus the MAC's head_dim limits (DMAX, at most NBMAX blocks per head vector).
std::string cannot_run_attention(const accel::AccelConfig& cfg, const golden::Codebook& cb, golden::ElemType type,
                                 int block, int head_dim);

// A golden case file as a case. kind() is "quantize", "attention" or anything else (not ours).
// The read validates the metadata against the tensors (shapes and sizes) and throws InputError
// naming the file on any disagreement.
struct FileCase {
  std::string kind;
  QuantCase quant;
  AttnCase attn;
};
// Reads only the metadata and shapes needed to decide cannot_run (cheap); tensors follow with
// load_case_tensors.
FileCase read_case_header(const io::SafeTensors& f);
void load_case_tensors(const io::SafeTensors& f, FileCase& c);

}  // namespace nqkv::sim
