// nqkv run: the main job. One decode step of a real model's shape (OPT-6.7B by default) on the
// embedded seeded KV workload: quantize the cache, run decode attention through every backend
// this build has, check each bit for bit against the golden library, measure quality against
// float64, project the capacity gains, and write a report.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "golden/attention.hpp"
#include "golden/backend.hpp"
#include "golden/quality.hpp"
#include "golden/reference.hpp"
#include "golden/tensor_io.hpp"
#include "golden/vectors.hpp"
#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "tools/nqkv/commands.hpp"
#include "models/perf/projection.hpp"
#include "workloads/model_zoo.hpp"
#include "workloads/synthetic_kv.hpp"

namespace {
using namespace nqkv;
using Clock = std::chrono::steady_clock;

struct RunArgs {
  std::string model = "opt-6.7b", codebook = "nf4", dtype = "f16", report = "reports/run.md", json, gpu = "a100-40gb";
  int block = 64, layers = 0;
  int64_t context = 2048;
  uint64_t seed = 1;
};

struct BackendResult {
  std::string name, verdict, detail;
};

workloads::KvShape model_shape(const RunArgs& a) {
  workloads::KvShape s;
  const workloads::ModelConfig m = workloads::resolve_model(a.model);
  s.layers = static_cast<int>(m.layers);
  s.q_heads = static_cast<int>(m.heads);
  s.kv_heads = static_cast<int>(m.kv_heads);
  s.head_dim = static_cast<int>(m.head_dim);
  s.context = a.context;
  if (a.layers > 0) s.layers = std::min(s.layers, a.layers);
  return s;
}

// Each layer's K and V caches are held in memory several times over (fp32, float64 copies for the
// references, the quantized cache): about 48 bytes per element of context x kv_heads x head_dim.
constexpr int64_t kMaxLayerCacheElements = int64_t{1} << 25;  // about 1.6 GiB of working memory

void run_main_job(const RunArgs& a) {
  const auto t_start = Clock::now();
  // Everything that can fail is checked before the job: outputs (writable, distinct, not the
  // model's config.json), the model, the shape's size, and the projection (--gpu, fit).
  cli::check_model_file(a.model);
  const std::string model_file = cli::is_model_file(a.model) ? a.model : "";
  io::check_output_file(a.report, "--report", {model_file});
  if (!a.json.empty()) io::check_output_file(a.json, "--json", {model_file});
  io::check_distinct_outputs({{a.report, "--report"}, {a.json, "--json"}});
  const golden::Codebook& cb = golden::codebook_by_name(a.codebook);
  if (cb.affine) throw InputError("decode attention needs an absmax codebook; int4 (affine) is quantize-only");
  const golden::ElemType type = golden::elem_type_from_name(a.dtype);
  if (type == golden::ElemType::F32) throw InputError("KV caches are f16 or bf16");
  if (a.context < 1 || a.context > (1 << 20)) throw InputError("--context must be in [1, 1048576]");
  const workloads::KvShape s = model_shape(a);
  if (a.block <= 0 || s.head_dim % a.block != 0)
    throw InputError(fmt::format("--block {} does not divide head_dim {}", a.block, s.head_dim));
  const int64_t layer_elements = s.context * s.kv_heads * int64_t{s.head_dim};
  if (layer_elements > kMaxLayerCacheElements)
    throw InputError(fmt::format("the workload's KV cache (context {} x kv_heads {} x head_dim {} = {} elements per layer) "
                                 "exceeds the limit of 2^25 = {} elements (about 1.6 GiB of working memory); lower --context",
                                 s.context, s.kv_heads, s.head_dim, layer_elements, kMaxLayerCacheElements));

  // 4 (computed first: it is cheap and its errors must come before the job). Capacity and
  // throughput projection for the model on a real GPU, at the run's context (at least 2 tokens:
  // a prompt and one generated token) with at most half of it generated.
  std::string projection;
  nlohmann::json projection_json;
  {
    perf::ProjectionInput in;
    in.model = perf::resolve_model(a.model);
    in.hw = perf::find_hardware(a.gpu);
    in.formats = {perf::parse_kv_format(cb.name.substr(0, 2) == "nf" ? cb.name : "nf4", a.block, 32, 128)};
    in.context = std::max<int64_t>(2, std::min<int64_t>(a.context, in.model.max_positions));
    in.gen = std::min<int64_t>(in.gen, in.context / 2);
    const auto p = perf::project(in);
    projection = perf::render_table(p);
    projection_json = perf::to_json(p);
  }
  fmt::print("nqkv run: {} decode step, {} layers x {} q heads / {} kv heads x head_dim {}, context {}, {} {} B={}, seed {}\n",
             a.model, s.layers, s.q_heads, s.kv_heads, s.head_dim, s.context, a.dtype, cb.name, a.block, a.seed);

  // 1. Quantize every layer's cache and run the golden decode attention; measure accuracy.
  double err_exact = 0, ref_norm = 0, err_mac = 0, kv_bytes_fp16 = 0, kv_bytes_q = 0;
  golden::QuantStats stats;
  std::vector<std::vector<float>> sample_k, sample_v;  // for the codebook table
  std::vector<float> layer0_q;
  std::vector<uint32_t> layer0_k, layer0_v;
  const int probe_tokens = static_cast<int>(std::min<int64_t>(s.context, 600));
  for (int l = 0; l < s.layers; ++l) {
    const auto kv = workloads::synthetic_layer(s, l, type, a.seed);
    golden::QuantKVCache cache(cb, type, s.kv_heads, s.head_dim, a.block);
    const size_t row = static_cast<size_t>(s.kv_heads) * s.head_dim;
    for (int64_t t = 0; t < s.context; ++t) {
      const auto st = cache.append(kv.k.data() + t * row, kv.v.data() + t * row);
      stats.blocks += st.blocks;
      stats.zero_blocks += st.zero_blocks;
      stats.flushed_blocks += st.flushed_blocks;
      stats.nonfinite_blocks += st.nonfinite_blocks;
    }
    const auto out = golden::decode_attention(cache, kv.q.data(), golden::AttentionConfig{s.q_heads, 0.0f});
    // Float64 attention on the unquantized (fp16) cache: the end-to-end quantization error...
    std::vector<double> q(kv.q.begin(), kv.q.end()), k(kv.k.begin(), kv.k.end()), v(kv.v.begin(), kv.v.end());
    const double sm = 1.0 / std::sqrt(double(s.head_dim));
    const auto ref = golden::reference_attention(q, k, v, static_cast<int>(s.context), s.q_heads, s.kv_heads, s.head_dim, sm);
    // ...and on the MAC-dequantized cache: the error of the integer arithmetic alone.
    std::vector<double> km, vm;
    golden::mac_dequantized_cache(cache, km, vm);
    const auto ref_mac = golden::reference_attention(q, km, vm, static_cast<int>(s.context), s.q_heads, s.kv_heads, s.head_dim, sm);
    for (size_t i = 0; i < out.size(); ++i) {
      if (!std::isfinite(out[i])) throw std::logic_error("non-finite attention output");
      err_exact += (out[i] - ref[i]) * (out[i] - ref[i]);
      err_mac += (out[i] - ref_mac[i]) * (out[i] - ref_mac[i]);
      ref_norm += ref[i] * ref[i];
    }
    kv_bytes_fp16 += 2.0 * kv.k.size() * 2;
    kv_bytes_q += 2.0 * kv.k.size() * golden::bits_per_element(cb, a.block, 16) / 8;
    const size_t sample = std::min<size_t>(kv.k.size(), 256 * row);
    sample_k.emplace_back(kv.k.begin(), kv.k.begin() + static_cast<std::ptrdiff_t>(sample));
    sample_v.emplace_back(kv.v.begin(), kv.v.begin() + static_cast<std::ptrdiff_t>(sample));
    if (l == 0) {
      layer0_q = kv.q;
      for (size_t i = 0; i < static_cast<size_t>(probe_tokens) * row; ++i) {
        layer0_k.push_back(golden::f32_to_elem(type, kv.k[i]));
        layer0_v.push_back(golden::f32_to_elem(type, kv.v[i]));
      }
    }
    std::fprintf(stderr, "\r  layer %d/%d quantized and attended", l + 1, s.layers);
  }
  std::fprintf(stderr, "\n");
  const double rel_exact = std::sqrt(err_exact / ref_norm), rel_mac = std::sqrt(err_mac / ref_norm);

  // 2. Backends, each checked bit for bit on layer 0 (first tokens) against the golden library.
  std::vector<BackendResult> backends;
  const auto probe = golden::make_attention_case("run_layer0", cb.name, type, s.q_heads, s.kv_heads, s.head_dim, a.block,
                                                 probe_tokens, layer0_k, layer0_v, layer0_q);
  for (const auto& e : backend::entries()) {
    if (!e.backend) {
      backends.push_back({e.name, "not built", e.not_built});
      continue;
    }
    std::string why;
    if (!e.backend->available(&why)) {
      backends.push_back({e.name, "skipped", why});
      continue;
    }
    backend::Options opt;
    opt.lanes = e.backend->default_lanes();
    const auto r = e.backend->check_case(probe.data, opt);
    std::string detail = r.skipped ? r.skip_reason : fmt::format("{} values compared", r.compared);
    if (!r.skipped && r.has_cycles)
      detail += fmt::format(", LANES {}, {} cycles, {} stall cycles", opt.lanes, r.cycles.cycles, r.cycles.stall_cycles);
    detail += " (" + e.backend->description() + ")";
    backends.push_back({e.name, r.skipped ? "skipped" : r.mismatches ? "MISMATCH" : "bit-exact", detail});
  }

  // 3. Quality of every codebook on this workload's keys and values (first 256 tokens per layer).
  struct CbRow {
    std::string name;
    double bits, k_mse, v_mse;
  };
  std::vector<CbRow> cbrows;
  for (auto id : golden::all_codebooks()) {
    const auto& c = golden::codebook(id);
    double ke = 0, ve = 0;
    for (size_t l = 0; l < sample_k.size(); ++l) {
      ke += golden::codebook_rel_mse(c, a.block, sample_k[l]);
      ve += golden::codebook_rel_mse(c, a.block, sample_v[l]);
    }
    cbrows.push_back({c.name, golden::bits_per_element(c, a.block, 16), ke / sample_k.size(), ve / sample_v.size()});
  }

  const double secs = std::chrono::duration<double>(Clock::now() - t_start).count();
  // Console summary.
  fmt::print("\nBackends (decode attention on layer 0, first {} tokens, every intermediate compared):\n", probe_tokens);
  bool all_ok = true;
  for (const auto& b : backends) {
    fmt::print("  {:<16} {:<10} {}\n", b.name, b.verdict, b.detail);
    all_ok = all_ok && b.verdict != "MISMATCH";
  }
  fmt::print("\nAccuracy of the quantized decode step ({} blocks, {} zero, {} non-finite):\n", stats.blocks, stats.zero_blocks,
             stats.nonfinite_blocks);
  fmt::print("  relative L2 error vs float64 attention on the fp16 cache:      {:.4g}\n", rel_exact);
  fmt::print("  relative L2 error vs float64 on the MAC-dequantized cache:     {:.3g} (integer arithmetic alone)\n", rel_mac);
  fmt::print("  KV cache: {:.1f} MiB fp16 -> {:.1f} MiB {} B={} ({:.3f} bits/element, {:.2f}x smaller)\n",
             kv_bytes_fp16 / (1 << 20), kv_bytes_q / (1 << 20), cb.name, a.block, golden::bits_per_element(cb, a.block, 16),
             kv_bytes_fp16 / kv_bytes_q);
  fmt::print("\nCodebooks on this workload (relative MSE, B={}):\n  {:<9} {:>8} {:>10} {:>10}\n", a.block, "codebook", "bits/el",
             "keys", "values");
  for (const auto& r : cbrows) fmt::print("  {:<9} {:>8.3f} {:>10.5f} {:>10.5f}\n", r.name, r.bits, r.k_mse, r.v_mse);
  fmt::print("\nProjection ({} on {}):\n{}", a.model, a.gpu, projection);

  // Report (markdown) and optional JSON, both written atomically.
  std::ostringstream md;
  md << "# nqkv run: one decode step on the embedded workload\n\n"
     << fmt::format("Command: `nqkv run --model {} --context {} --codebook {} --block {} --dtype {} --seed {}{}`  \n", a.model,
                    a.context, cb.name, a.block, a.dtype, a.seed, a.layers ? fmt::format(" --layers {}", a.layers) : "")
     << fmt::format("Shape: {} layers x {} q heads / {} kv heads x head_dim {}, context {}; wall time {:.1f} s.\n\n", s.layers,
                    s.q_heads, s.kv_heads, s.head_dim, s.context, secs)
     << "## Backends (bit-exact against the golden library)\n\n| backend | verdict | detail |\n|---|---|---|\n";
  for (const auto& b : backends) md << "| " << b.name << " | " << b.verdict << " | " << b.detail << " |\n";
  md << "\n## Accuracy\n\n"
     << fmt::format("- relative L2 error vs float64 attention on the fp16 cache: {:.4g}\n", rel_exact)
     << fmt::format("- relative L2 error vs float64 on the MAC-dequantized cache (integer arithmetic alone): {:.3g}\n", rel_mac)
     << fmt::format("- KV bytes: {:.1f} MiB fp16 -> {:.1f} MiB ({:.3f} bits/element)\n\n", kv_bytes_fp16 / (1 << 20),
                    kv_bytes_q / (1 << 20), golden::bits_per_element(cb, a.block, 16))
     << "## Codebooks on this workload (relative MSE)\n\n| codebook | bits/el | keys | values |\n|---|---|---|---|\n";
  for (const auto& r : cbrows) md << fmt::format("| {} | {:.3f} | {:.5f} | {:.5f} |\n", r.name, r.bits, r.k_mse, r.v_mse);
  md << "\n## Projection (" << a.model << " on " << a.gpu << ")\n\n```\n" << projection << "```\n";
  io::write_text_atomically(a.report, md.str());
  if (!a.json.empty()) {
    nlohmann::json j;
    j["shape"] = {{"layers", s.layers}, {"q_heads", s.q_heads}, {"kv_heads", s.kv_heads}, {"head_dim", s.head_dim}, {"context", s.context}};
    j["codebook"] = cb.name;
    j["block"] = a.block;
    for (const auto& b : backends) j["backends"].push_back({{"name", b.name}, {"verdict", b.verdict}, {"detail", b.detail}});
    j["rel_l2_error_vs_fp16"] = rel_exact;
    j["rel_l2_error_vs_mac_dequantized"] = rel_mac;
    for (const auto& r : cbrows) j["codebooks"].push_back({{"name", r.name}, {"bits", r.bits}, {"k_rel_mse", r.k_mse}, {"v_rel_mse", r.v_mse}});
    j["projection"] = projection_json;
    io::write_text_atomically(a.json, j.dump(2) + "\n");
  }
  fmt::print("\nwrote {}{} ({:.1f} s)\n", a.report, a.json.empty() ? "" : " and " + a.json, secs);
  if (!all_ok) std::exit(1);
}

}  // namespace

NQKV_COMMAND(run) {
  auto* cmd = app.add_subcommand("run", "The main job: one decode step of a model's shape through every backend, checked bit for bit");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("--model", a->model, "Model shape (zoo name or Hugging Face config.json)")->capture_default_str();
  cmd->add_option("--context", a->context, "Context length in tokens (context x kv_heads x head_dim <= 2^25)")
      ->check(nqkv::cli::int_range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--layers", a->layers, "Simulate only the first N layers (0: all)")
      ->check(nqkv::cli::int_range(0, 4096))
      ->capture_default_str();
  cmd->add_option("--codebook", a->codebook, "nf4|nf3|nf2|fp4|e2m1|int4sym|lloyd4")->capture_default_str();
  cmd->add_option("--block", a->block, "Block size (a multiple of 8 dividing head_dim)")
      ->check(nqkv::cli::int_range(8, 4096, 8))
      ->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "KV element type: f16|bf16")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Workload seed")->check(nqkv::cli::seed_range())->capture_default_str();
  cmd->add_option("--gpu", a->gpu, "GPU for the projection")->capture_default_str();
  cmd->add_option("--report", a->report, "Markdown report path")->capture_default_str();
  cmd->add_option("--json", a->json, "Also write the results as JSON");
  cmd->callback([a] { run_main_job(*a); });
}
