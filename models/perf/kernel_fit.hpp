// Kernel-time models fitted to measured decode-attention times (reports/nqkv-claims.md 6.1): the
// measured SDPA runs combined per case, the projection and the two fitted models per case, and the
// project's NF kernel against the same model. Readers of the files are in claims_inputs.hpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/perf/claims_inputs.hpp"
#include "models/perf/time_model.hpp"

namespace nqkv::perf {

// Median of a list (the mean of the middle two for an even count); 0 for an empty list.
double median_of(std::vector<double> v);

// Rows of the measured-vs-projected SDPA table (empty when no file is present).
struct SdpaRow {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, tokens = 0, head_dim = 0;
  // measured_s: median over the runs of each run's median; run_min_s / run_max_s: the smallest and
  // largest run median (the across-run spread); p10_s / p90_s: the within-run spread (one run only).
  double measured_s = 0, p10_s = 0, p90_s = 0, run_min_s = 0, run_max_s = 0;
  int runs = 0;
  double projected_s = 0, error = 0, bytes = 0;
  FlashDecodeLaunch launch;               // what flash SDPA launches for this shape
  double fitted_s = 0, fitted_error = 0;  // the fitted kernel-time model (FlashTimeFit)
  bool latency_bound = false;             // its parallelism term is the smaller rate
  double linear_s = 0, linear_error = 0;  // the previous two-parameter model (KernelTimeFit)
  bool fit_set = false;                   // used to fit the models (else held out)
  std::string gqa_mode;
};
// Previous model, kept for comparison: kernel time = launch_s + bytes / (mem_eff x copy bandwidth),
// least squares on the relative error over the fit cases (tokens <= kSdpaFitMaxTokens).
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
// The model of 6.1: FlashDecodeTime (t0, mem_eff, latency), least squares on the relative error over
// the fit cases: t0 in closed form for each (mem_eff, latency) on a grid (mem_eff 0.30..1.50, latency
// 0.05..10 us), then a finer grid around the best point.
struct FlashTimeFit {
  FlashDecodeTime model;
  int fit_cases = 0, latency_bound_fit_cases = 0;  // both regimes must be present for all three to be determined
  bool ok = false;
  bool at_grid_edge = false;  // the optimum sits on the grid's boundary (parameter not determined)
};
FlashTimeFit fit_flash_decode_time(const std::vector<double>& bytes, const std::vector<FlashDecodeLaunch>& launches,
                                   const std::vector<double>& measured_s, double copy_bandwidth);

struct SdpaValidation {
  bool measured = false;
  std::string device;
  std::string hardware;       // hardware-table entry used (SM count for the launch geometry, peak rates)
  double copy_bandwidth = 0;  // bytes read + written per second: median over the runs
  std::vector<SdpaRun> runs;
  FlashTimeFit fit;
  KernelTimeFit linear_fit;
  std::vector<SdpaRow> rows;
};
// One or several runs of the same cases on the same device: per case the median of the run medians.
// `hardware` names the hardware-table entry of the device (its SM count sizes FA2's launch).
// Throws InputError on bad JSON, on runs from different devices, or when some files exist and others do not.
SdpaValidation validate_sdpa(const std::vector<std::string>& json_paths, const std::string& hardware = "h100-80gb");

// The project's CUDA NF decode-attention kernel (bench/cuda BM_DecodeAttention rows of a Google
// Benchmark JSON) against the same kernel-time model with NF bytes.
struct NfKernelRow {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, tokens = 0, head_dim = 0, block = 0, bits = 0;
  double measured_s = 0, bytes = 0, roofline_s = 0, fitted_s = 0, roofline_error = 0, fitted_error = 0;
};
std::vector<NfKernelRow> validate_nf_kernel(const std::string& bench_json, const SdpaValidation& sdpa);

}  // namespace nqkv::perf
