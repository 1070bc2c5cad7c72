// The generator of reports/nqkv-claims.md: reproduces the NQKV paper's headline figures under
// stated set-ups and carries the validation tables (measured vs projected).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/perf/model_zoo.hpp"

namespace nqkv::perf {

struct ClaimsReportInputs {
  std::string sdpa_json;        // scripts/gpu/sdpa_decode_baseline.py output; empty or missing = not yet measured
  std::string rtl_cycles_json;  // [{"q_heads","kv_heads","head_dim","tokens","block","format","cycles"}]; empty = pending
  std::string plot_dir;         // where the report's plots go (reports/perf); empty = no plots
};

std::string claims_report(const ClaimsReportInputs& in);

// vLLM's own arithmetic (vllm/worker/cache_engine.py get_cache_block_size and
// worker.py determine_num_available_blocks), written out independently of memory_model so the
// report can compare the two: tokens = floor(free / (block * layers * 2 * kv_heads * head_dim *
// dtype_bytes)) * block.
int64_t vllm_kv_tokens(const ModelConfig& m, int64_t block_size, double dtype_bytes, double free_bytes);

// Rows of the measured-vs-projected SDPA table (empty when the file is absent).
struct SdpaRow {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, tokens = 0, head_dim = 0;
  double measured_s = 0, p10_s = 0, p90_s = 0, projected_s = 0, error = 0, bytes = 0;
  std::string gqa_mode;
};
struct SdpaValidation {
  bool measured = false;
  std::string device;
  double copy_bandwidth = 0;  // bytes read + written per second
  std::vector<SdpaRow> rows;
};
SdpaValidation validate_sdpa(const std::string& json_path);

}  // namespace nqkv::perf
