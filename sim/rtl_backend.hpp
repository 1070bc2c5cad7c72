// The RTL backend: runs golden cases (docs/numerics.md) through the verilated nq_accel_top and
// compares every output with the golden library, bit for bit.
#pragma once
#include <cstdint>
#include <string>

#include "io/safetensors.hpp"

namespace nqkv::sim {

// lanes selects the verilated model (4 or 16). The models take the block size and the code
// width at run time (built with BLOCK_MAX 256, BITS_MAX 4), so block and bits are not limits:
// a case runs when its block is a multiple of 8 and of lanes, at most 256, its codebook is an
// absmax table of at most 4 bits and its elements are fp16/bf16; other cases are skipped.
struct RtlConfig {
  int lanes = 16;
  uint64_t seed = 1;
  bool backpressure = true;
  std::string trace_fst;
};

// Runs one golden case file through the verilated accelerator; returns number of mismatches and
// prints the first few (index, expected and got in hex).
struct RtlCheckResult {
  int64_t compared = 0, mismatches = 0;
  uint64_t cycles = 0, stall_cycles = 0;
  std::string first_mismatches;
  bool skipped = false;
  std::string skip_reason;
};
RtlCheckResult rtl_check_case(const nqkv::io::SafeTensors& golden_case, const RtlConfig& cfg);

// Constrained-random self-check (tests and `nqkv sim --selftest`): `cases` random quantize and
// attention cases with the contract's corner cases, stimulus from the golden library.
struct RtlRandomSpec {
  std::string codebook = "nf4";
  std::string dtype = "f16";  // f16 | bf16
  int block = 64;
  int cases = 4;
  bool quantize = true, attention = true;
};
RtlCheckResult rtl_random_check(const RtlRandomSpec& spec, const RtlConfig& cfg);

// `nqkv sim --backend rtl`: a decode workload. For each sequence of the batch: the K/V of
// `context` tokens go through the RTL quantizer (compared with the golden encoder), then one
// decode step runs the score and value passes on the RTL (softmax and combine on the host) and
// the output is compared with golden decode_attention.
struct RtlWorkload {
  int q_heads = 8, kv_heads = 2, head_dim = 128;
  int64_t context = 512;
  int batch = 1;
  std::string codebook = "nf4";
  std::string dtype = "f16";
  int block = 64;
};
struct RtlWorkloadResult {
  RtlCheckResult check;
  uint64_t quant_cycles = 0, quant_elements = 0, quant_stall_cycles = 0;
  uint64_t score_cycles = 0, value_cycles = 0, macs = 0, mac_stall_cycles = 0;
  double quant_steady = 0, mac_steady = 0;  // data beats per cycle between first and last beat
  double seconds = 0;
};
RtlWorkloadResult rtl_decode_workload(const RtlWorkload& w, const RtlConfig& cfg);

}  // namespace nqkv::sim
