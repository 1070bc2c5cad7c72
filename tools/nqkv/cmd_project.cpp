// nqkv project: capacity and throughput projections of KV-cache formats for a model on a device
// (models/perf, docs/perf-model.md), and the generator of reports/nqkv-claims.md.
#include <fmt/format.h>

#include <cstdio>
#include <sstream>

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "models/perf/claims_report.hpp"
#include "models/perf/projection.hpp"
#include "tools/nqkv/commands.hpp"

namespace {

struct ProjectArgs {
  std::string model, gpu = "a100-40gb", kv = "nf4", hw_file, out, plot_dir, report, report_inputs;
  int block = 64, kivi_group = 32, kivi_residual = 128;
  int64_t context = 2048, gen = 256, batch = 0, context_batch = 1, page_tokens = 16, prefill_chunk = 2048;
  double mem_util = 0.90, reserve_gib = 0.5, act_mib = -1, workspace_gib = -1, weight_bytes = 0;
  double mem_eff = 1.0, compute_eff = 1.0;
  bool full_prompt_logits = false, json = false, csv = false, list = false;
  int accel_lanes = 0;
  double accel_clock_mhz = 0, accel_bw_gbs = 0, accel_buffer_kib = 0;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) v.push_back(item);
  return v;
}

std::string list_known() {
  std::string s = "models (zoo):\n";
  for (const auto& m : nqkv::perf::model_zoo())
    s += fmt::format("  {:<12} {:>3} layers {:>3} heads {:>3} kv {:>5} hidden  {}\n", m.name, m.layers, m.heads,
                     m.kv_heads, m.hidden, m.source);
  s += "hardware:\n";
  for (const auto& h : nqkv::perf::builtin_hardware())
    s += fmt::format("  {:<12} {:>6.1f} GiB {:>6.0f} GB/s {:>7.1f} TFLOP/s fp16  {}\n", h.name, h.mem_bytes / 1073741824.0,
                     h.mem_bw / 1e9, h.fp16_flops / 1e12, h.source);
  s += "KV formats: fp16 bf16 fp8 int8 kivi4 kivi2 nf4 nf3 nf2 none (comma-separated, or 'all')\n";
  return s;
}

void run(const ProjectArgs& a) {
  using namespace nqkv::perf;
  // Input files and outputs are checked before any work (the claims report reads its own inputs).
  if (!a.hw_file.empty()) nqkv::io::check_input_file(a.hw_file, "--hw-file", nqkv::io::kMaxJsonFileBytes);
  if (!a.model.empty()) nqkv::cli::check_model_file(a.model);
  if (!a.out.empty()) nqkv::io::check_output_file(a.out, "--out", {a.hw_file, a.model, a.report_inputs});
  if (!a.plot_dir.empty()) nqkv::io::check_output_dir(a.plot_dir, "--plot");
  if (!a.hw_file.empty()) load_hardware_file(a.hw_file);
  auto emit = [&](const std::string& text) {
    if (a.out.empty())
      std::fwrite(text.data(), 1, text.size(), stdout);
    else
      nqkv::io::write_text_atomically(a.out, text);
  };
  if (a.list) return emit(list_known());
  if (!a.report.empty()) {
    ClaimsReportInputs r = a.report_inputs.empty() ? ClaimsReportInputs{} : read_claims_inputs(a.report_inputs);
    r.plot_dir = a.plot_dir;
    const std::string text = claims_report(r);
    nqkv::io::write_text_atomically(a.report, text);
    std::fprintf(stderr, "nqkv project: wrote %s\n", a.report.c_str());
    return;
  }
  if (a.model.empty()) throw nqkv::InputError("--model is required (a zoo name or a config.json; see --list)");

  ProjectionInput in;
  in.model = resolve_model(a.model);
  if (a.weight_bytes > 0) in.model.weight_bytes = a.weight_bytes;
  in.hw = find_hardware(a.gpu);
  if (in.hw.accelerator && (a.accel_lanes || a.accel_clock_mhz > 0 || a.accel_bw_gbs > 0 || a.accel_buffer_kib > 0)) {
    AcceleratorParams p = in.hw.accel;
    if (a.accel_lanes) p.lanes = a.accel_lanes;
    if (a.accel_clock_mhz > 0) p.clock_hz = a.accel_clock_mhz * 1e6;
    if (a.accel_bw_gbs > 0) p.mem_bw = a.accel_bw_gbs * 1e9;
    if (a.accel_buffer_kib > 0) p.buffer_bytes = a.accel_buffer_kib * 1024;
    in.hw = make_accelerator(in.hw.name, p);
  }
  std::vector<std::string> names = a.kv == "all" ? kv_format_names() : split(a.kv);
  if (names.empty()) throw nqkv::InputError("--kv needs at least one format");
  for (const auto& n : names) in.formats.push_back(parse_kv_format(n, a.block, a.kivi_group, a.kivi_residual));
  in.context = a.context;
  in.gen = a.gen;
  in.batch = a.batch;
  in.context_batch = a.context_batch;
  in.mem.utilization = a.mem_util;
  in.mem.reserve_bytes = a.reserve_gib * 1073741824.0;
  in.mem.page_tokens = a.page_tokens;
  in.mem.prefill_chunk_tokens = a.prefill_chunk;
  in.mem.act_per_seq_bytes = a.act_mib >= 0 ? a.act_mib * 1048576.0 : -1;
  in.mem.workspace_bytes = a.workspace_gib >= 0 ? a.workspace_gib * 1073741824.0 : -1;
  in.mem.full_prompt_logits = a.full_prompt_logits;
  in.time.mem_efficiency = a.mem_eff;
  in.time.compute_efficiency = a.compute_eff;

  const Projection p = project(in);
  if (a.json)
    emit(to_json(p).dump(2) + "\n");
  else if (a.csv)
    emit(to_csv(p));
  else
    emit(render_table(p));
  if (!a.plot_dir.empty())
    for (const auto& f : write_plots(in, a.plot_dir)) std::fprintf(stderr, "nqkv project: wrote %s\n", f.c_str());
}

}  // namespace

NQKV_COMMAND(project) {
  auto a = std::make_shared<ProjectArgs>();
  auto* c = app.add_subcommand("project",
                               "Project batch size, context length and throughput of KV-cache formats (NF4 and "
                               "baselines) for a model on a GPU or the modeled accelerator");
  c->add_option("--model", a->model, "Zoo model (see --list) or path to a Hugging Face config.json");
  c->add_option("--gpu", a->gpu, "Device: a100-40gb, a100-80gb, h100-80gb, h200, l4, rtx-4090, nqkv-accel, or --hw-file entries")
      ->capture_default_str();
  c->add_option("--hw-file", a->hw_file, "JSON file with user-defined devices ({\"hardware\": [...]})");
  c->add_option("--kv", a->kv, "KV formats, comma-separated, or 'all' (fp16 is always the baseline)")->capture_default_str();
  c->add_option("--block", a->block, "NF4/NF3/NF2 block size (elements per fp16 scale)")
      ->check(nqkv::cli::int_range(8, 1 << 16, 8))
      ->capture_default_str();
  c->add_option("--kivi-group", a->kivi_group, "KIVI group size")
      ->check(nqkv::cli::int_range(1, 1 << 16))
      ->capture_default_str();
  c->add_option("--kivi-residual", a->kivi_residual, "KIVI fp16 residual window (tokens)")
      ->check(nqkv::cli::int_range(0, 1 << 20))
      ->capture_default_str();
  c->add_option("--context", a->context, "Tokens per sequence at the end of generation (prompt + output)")
      ->check(nqkv::cli::int_range(1, 1 << 24))
      ->capture_default_str();
  c->add_option("--gen", a->gen, "Output tokens per sequence (prompt = context - gen)")
      ->check(nqkv::cli::int_range(1, 1 << 24))
      ->capture_default_str();
  c->add_option("--batch", a->batch, "Batch for the time projection (0: each format at its max batch)")
      ->check(nqkv::cli::int_range(0, 1 << 20))
      ->capture_default_str();
  c->add_option("--context-batch", a->context_batch, "Batch at which the max context is reported")
      ->check(nqkv::cli::int_range(1, 1 << 20))
      ->capture_default_str();
  c->add_option("--mem-util", a->mem_util, "Fraction of device memory the server may use (vLLM gpu_memory_utilization)")
      ->check(nqkv::cli::real_range(0.01, 1))->capture_default_str();
  c->add_option("--reserve-gib", a->reserve_gib, "Fixed reserve: CUDA context and non-torch allocations (GiB)")
      ->check(nqkv::cli::real_range(0, 1e6))
      ->capture_default_str();
  c->add_option("--page-tokens", a->page_tokens, "Tokens per KV page (vLLM block_size)")
      ->check(nqkv::cli::int_range(1, 1 << 16))
      ->capture_default_str();
  c->add_option("--prefill-chunk", a->prefill_chunk, "Tokens of one prefill forward (sizes the fixed workspace)")
      ->check(nqkv::cli::int_range(1, 1 << 24))
      ->capture_default_str();
  c->add_option("--act-per-seq-mib", a->act_mib, "Override per-sequence activation memory (MiB)")
      ->check(nqkv::cli::real_range(0, 1e9));
  c->add_option("--workspace-gib", a->workspace_gib, "Override the fixed activation workspace (GiB)")
      ->check(nqkv::cli::real_range(0, 1e6));
  c->add_flag("--full-prompt-logits", a->full_prompt_logits,
              "Keep fp32 logits for every prompt position (HF generate before transformers 4.45)");
  c->add_option("--weight-bytes", a->weight_bytes, "Bytes per weight parameter (default: the config's torch_dtype)")
      ->check(nqkv::cli::real_range(0.125, 8));
  c->add_option("--mem-eff", a->mem_eff, "Fraction of peak bandwidth reached")
      ->check(nqkv::cli::real_range(0.01, 1))
      ->capture_default_str();
  c->add_option("--compute-eff", a->compute_eff, "Fraction of peak FLOP/s reached")
      ->check(nqkv::cli::real_range(0.01, 1))
      ->capture_default_str();
  c->add_option("--accel-lanes", a->accel_lanes, "Accelerator lanes (elements/MACs per cycle)")
      ->check(nqkv::cli::int_range(1, 4096));
  c->add_option("--accel-clock-mhz", a->accel_clock_mhz, "Accelerator clock (MHz)")
      ->check(nqkv::cli::real_range(0, 1e5, true));
  c->add_option("--accel-bw-gbs", a->accel_bw_gbs, "Accelerator memory bandwidth (GB/s)")
      ->check(nqkv::cli::real_range(0, 1e6, true));
  c->add_option("--accel-buffer-kib", a->accel_buffer_kib, "Accelerator on-chip KV buffer (KiB)")
      ->check(nqkv::cli::real_range(0, 1e9, true));
  c->add_flag("--json", a->json, "Print JSON instead of the table");
  c->add_flag("--csv", a->csv, "Print CSV instead of the table");
  c->add_option("-o,--out", a->out, "Write the table/JSON/CSV to this file (atomically) instead of stdout");
  c->add_option("--plot", a->plot_dir, "Also write PNG curves and their CSV into this directory");
  c->add_flag("--list", a->list, "List zoo models, devices and KV formats");
  c->add_option("--claims-report", a->report, "Write the NQKV claims/validation report (markdown) to this file");
  c->add_option("--inputs", a->report_inputs,
                 "With --claims-report: the JSON file naming the report's measurements (reports/nqkv-claims/inputs.json: "
                 "hardware, sdpa_runs, gpu_bench, rtl_cycles; paths relative to the file)");
  c->callback([a] { run(*a); });
}
