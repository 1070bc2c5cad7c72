// Every table of reports/nqkv-claims.md as data: the sweeps behind the paper's three figures
// (sections 1-5), the validation against measurements (section 6) and the plots (section 7).
// compute_claims_tables() does all the arithmetic; claims_report.cpp only formats the result.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/perf/claims_inputs.hpp"
#include "models/perf/hardware.hpp"
#include "models/perf/kernel_fit.hpp"
#include "workloads/model_zoo.hpp"

namespace nqkv::perf {

// vLLM's own arithmetic (vllm/worker/cache_engine.py get_cache_block_size and
// worker.py determine_num_available_blocks), written out independently of memory_model so the
// report can compare the two: tokens = floor(free / (block * layers * 2 * kv_heads * head_dim *
// dtype_bytes)) * block.
int64_t vllm_kv_tokens(const ModelConfig& m, int64_t block_size, double dtype_bytes, double free_bytes);

int64_t pow2_floor(int64_t x);  // largest power of two <= x (0 for x <= 0)

// ---- Sections 1-5: the paper's figures -------------------------------------------------------
struct BatchRow {
  std::string model, gpu;
  int64_t context = 0;
  bool logits = false;  // full-logits runtime (else paged)
  int64_t b16 = 0, b4 = 0;
  double ratio = 0, ladder_ratio = 0;
};
struct ContextRow {
  std::string model, gpu;
  int64_t batch = 0, c16 = 0, c4 = 0;
  double ratio = 0, ladder_ratio = 0;
  bool capped = false;     // NF4 context beyond the model's trained positions
  bool ladder_ok = false;  // 4x on the power-of-two ladder with the NF4 rung within the positions
};
struct ThroughputRow {
  std::string model, gpu;
  int64_t context = 0, gen = 0, batch = 0;
  double tps_nf4 = 0, tps_none = 0, ratio = 0;
};
// OPT-6.7B on an A100-40GB: one set-up for all three figures.
struct OneSetup {
  int64_t b16 = 0, b4 = 0, c16 = 0, c4 = 0;
  double throughput_ratio = 0;
};
// Peak FLOP per byte of a GPU (fp16 tensor peak / DRAM bandwidth): what the no-cache ratio scales with.
struct FlopPerByte {
  std::string gpu;
  double fp16_flops = 0, mem_bw = 0, ratio = 0;
};
struct MaxBatchGap {  // each mode at its own largest batch (section 4's closing sentence)
  int64_t nf4_batch = 0, none_batch = 0;
  double ratio = 0;
};
struct BatchGainWhy {  // section 5: bytes per token of OPT-6.7B
  double kv16 = 0, kv4 = 0, logit = 0;
};

// ---- Section 6: validation --------------------------------------------------------------------
struct ErrorTally {  // cases, cases within 15%, mean and max absolute relative error
  int n = 0, within = 0;
  double sum = 0, max = 0;
  void add(double e);
};
struct SdpaRunAlone {  // one run fitted and held out on its own
  std::string label;
  ErrorTally fit3, held3, fit2, held2;
};
struct SdpaSection {
  SdpaValidation v;
  Hardware hw;                        // the device's hardware-table entry
  std::vector<double> pending_us;     // not measured: the projected times of the planned cases
  int64_t ctas_lo = 0, ctas_hi = 0, n_split = 0;
  double icpt_split_lo = 1e30, icpt_split_hi = -1e30, icpt_single_lo = 1e30, icpt_single_hi = -1e30;
  int roof_within = 0;
  ErrorTally fit3, held3, fit2, held2;
  std::vector<SdpaRunAlone> per_run;  // only for more than one run
  double no_wave_held_max = 0;        // held-out max error of the fit without wave rounding
  FlashDecodeLaunch single;           // a single-pass launch (its parallelism rate is quoted)
};
struct NfSection {
  std::vector<NfKernelRow> rows;
  int within = 0;
  double lo = 1e30, hi = -1e30;
};
struct RtlRow {
  RtlCycleCase c;
  double mac = 0, quant = 0, first = 0;  // model MAC, model quantizer, first model's decode step
  double e_mac = 0, e_quant = 0, e_first = 0;
};
struct RtlSection {
  AcceleratorParams accel;  // default accelerator (latencies quoted in the formula)
  bool have = false;
  std::vector<RtlRow> rows;
  std::vector<int64_t> lanes;  // distinct LANES of the measured cases, ascending
  double max_mac = 0, max_quant = 0, max_first = 0, min_first = 1e9;
  struct Reference {
    int64_t kv_heads = 0, tokens = 0;
    AccelCycles c;
  };
  std::vector<Reference> reference;  // full decode-step projection of the default accelerator
};
struct VllmRow {
  std::string model;
  double free_gib = 0;
  int64_t ours = 0, theirs = 0;
};

struct ClaimsTables {
  ClaimsReportInputs in;
  std::vector<BatchRow> batch;
  std::vector<ContextRow> context;
  std::vector<ThroughputRow> throughput;
  // The set-ups the report leads with (indices into the vectors above; -1 = none).
  int best_batch = -1;       // closest to 2x on a data-centre GPU
  int best_context = -1;     // 4x on the power-of-two ladder, longest NF4 rung
  int best_throughput = -1;  // closest to 9.3x
  OneSetup one;
  std::vector<FlopPerByte> flop_per_byte;  // a100-40gb, a100-80gb, h100-80gb
  MaxBatchGap max_batch_gap;
  BatchGainWhy why;
  SdpaSection sdpa;
  NfSection nf;
  RtlSection rtl;
  std::vector<VllmRow> vllm;
  std::vector<std::string> plots;  // files written into in.plot_dir
};

bool is_datacentre_gpu(const std::string& gpu);  // the GPUs the headline set-ups are chosen from
// The `nqkv project` command that prints a row's set-up.
std::string project_command(const std::string& model, const std::string& gpu, int64_t context, int64_t gen,
                            int64_t batch, bool full_logits);

// All tables (and the plots, when in.plot_dir is set).
ClaimsTables compute_claims_tables(const ClaimsReportInputs& in);

}  // namespace nqkv::perf
