// Inputs of reports/nqkv-claims.md and the readers of the external formats it takes: the inputs
// file (which runs to read), the SDPA baseline JSON of scripts/gpu/sdpa_decode_baseline.py, bench/cuda's
// Google Benchmark JSON and the RTL cycle JSON of scripts/perf/rtl_cycles.py. Every reader throws
// InputError naming the file and the field on bad input; nothing here computes a projection.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nqkv::perf {

struct ClaimsReportInputs {
  // scripts/gpu/sdpa_decode_baseline.py outputs, one per measurement run (same device); none or all
  // missing = not yet measured. Per case the report uses the median of the runs' medians.
  std::vector<std::string> sdpa_jsons;
  std::string rtl_cycles_json;  // scripts/perf/rtl_cycles.py output ({"cases": [...]}); empty or missing = pending
  std::string gpu_bench_json;   // Google Benchmark JSON of bench/cuda (BM_DecodeAttention rows); empty or missing = none
  std::string plot_dir;         // where the report's plots go (reports/perf); empty = no plots
  std::string hardware = "h100-80gb";  // hardware-table entry of the measured device (SMs, peak rates)
  std::string inputs_file;      // the inputs file these came from (named in the report's commands); empty = none
};

// Reads an inputs file: {"hardware": "h100-80gb", "sdpa_runs": [...], "gpu_bench": "...", "rtl_cycles": "..."}
// (every key optional). Relative paths are taken from the file's own folder and written normalized, so
// `reports/nqkv-claims/inputs.json` naming `../runs/X/sdpa.json` gives `reports/runs/X/sdpa.json`.
ClaimsReportInputs read_claims_inputs(const std::string& path);

// One SDPA measurement run: the device, torch and copy rate, and per case the shape and the run's
// median (and its 10th / 90th percentile) of the launch-inclusive time.
struct SdpaRun {
  std::string path, device, torch, source;  // source: optional "source" field (where the run was recovered from)
  double copy_bandwidth = 0;
  size_t cases = 0;
};
struct SdpaCase {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, tokens = 0, head_dim = 0;
  std::string gqa_mode;
  double median_s = 0, p10_s = 0, p90_s = 0;
};
std::vector<SdpaCase> read_sdpa_run(const std::string& path, SdpaRun& run);

// bench/cuda's BM_DecodeAttention rows: shape from the name's arguments (B, Hq, Hkv, D, T, blk, bits),
// launch-inclusive time (sync_us, else median_us, else real_time). The median aggregate is taken when
// the run has repetitions, else the iteration row; each run name once.
struct GbenchDecodeRow {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, tokens = 0, head_dim = 0, block = 0, bits = 0;
  double measured_s = 0;
};
std::vector<GbenchDecodeRow> read_gbench_decode(const std::string& path);

// scripts/perf/rtl_cycles.py: {"cases": [...]} or a bare array of cases.
struct RtlCycleCase {
  int64_t lanes = 0, q_heads = 0, kv_heads = 0, head_dim = 0, context = 0, block = 0;
  int64_t mac_cycles = 0, quant_cycles = 0, quant_elements = 0, quant_runs = 2;
  std::string codebook = "nf4";
};
std::vector<RtlCycleCase> read_rtl_cycles(const std::string& path);

}  // namespace nqkv::perf
