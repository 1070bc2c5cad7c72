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
  std::string rtl_cycles_json;  // scripts/perf/rtl_cycles.py output ({"cases": [...]}); empty or missing = pending
  std::string gpu_bench_json;   // Google Benchmark JSON of bench/cuda (BM_DecodeAttention rows); empty or missing = none
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
  double fitted_s = 0, fitted_error = 0;  // the fitted kernel-time model (KernelTimeFit)
  bool fit_set = false;                   // used to fit the model (else held out)
  std::string gqa_mode;
};
// Kernel time = launch_s + bytes / (mem_eff x copy bandwidth): a fixed launch/latency term and a
// memory-efficiency factor, fitted by least squares on the relative error over the fit cases
// (tokens <= kSdpaFitMaxTokens), checked on the held-out rest.
inline constexpr int64_t kSdpaFitMaxTokens = 16384;
struct KernelTimeFit {
  double launch_s = 0, mem_eff = 1;
  int fit_cases = 0;
  bool ok = false;
  double time(double bytes, double copy_bandwidth) const { return launch_s + bytes / (mem_eff * copy_bandwidth); }
};
// Minimizes sum ((launch + k bytes) / measured - 1)^2 over the cases (closed form, 2 x 2 normal equations).
KernelTimeFit fit_kernel_time(const std::vector<double>& bytes, const std::vector<double>& measured_s,
                              double copy_bandwidth);
struct SdpaValidation {
  bool measured = false;
  std::string device;
  double copy_bandwidth = 0;  // bytes read + written per second
  KernelTimeFit fit;
  std::vector<SdpaRow> rows;
};
SdpaValidation validate_sdpa(const std::string& json_path);

// The project's CUDA NF decode-attention kernel (bench/cuda BM_DecodeAttention rows of a Google
// Benchmark JSON) against the same kernel-time model with NF bytes.
struct NfKernelRow {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, tokens = 0, head_dim = 0, block = 0, bits = 0;
  double measured_s = 0, bytes = 0, roofline_s = 0, fitted_s = 0, roofline_error = 0, fitted_error = 0;
};
std::vector<NfKernelRow> validate_nf_kernel(const std::string& bench_json, const SdpaValidation& sdpa);

}  // namespace nqkv::perf
