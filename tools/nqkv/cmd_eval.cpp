// nqkv eval: perplexity on held-out text and greedy-token agreement for KV-cache formats against
// the float cache (workloads/llama/eval.hpp), as a markdown table and optionally CSV and a plot.
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "golden/codebook.hpp"
#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/plot.hpp"
#include "io/sha256.hpp"
#include "tools/nqkv/commands.hpp"
#include "workloads/gguf/text_model.hpp"
#include "workloads/llama/cli_common.hpp"
#include "workloads/llama/eval.hpp"
#include "workloads/llama/kv_store.hpp"
#include "workloads/llama/texts.hpp"

namespace {

struct EvalOptions {
  std::string checkpoint, tokenizer, gguf, csv, md, plot, reference, type = "f16", path = "auto", tensors = "kv";
  std::vector<std::string> text_files;
  int context = 0;
  std::vector<std::string> kv{"nf4", "nf3", "nf2", "int4", "fp4"};
  std::vector<int> blocks{32, 8};
  int gen = 256;
  int kivi_group = 32, kivi_residual = 128;
  bool no_baselines = false;
};

void run_eval(const EvalOptions& o) {
  using namespace nqkv;
  using namespace nqkv::llama;
  // Inputs, then outputs (writable, distinct, none of them an input), before any work.
  const RunFiles files = check_run_files(o.checkpoint, o.tokenizer, o.gguf, o.text_files,
                                         {{o.csv, "--csv"}, {o.md, "--md"}, {o.plot, "--plot"}, {o.reference, "--reference"}});
  const golden::ElemType type = parse_elem_type(o.type);
  if (type == golden::ElemType::F32) throw InputError("--type: quantized KV caches hold f16 or bf16 elements");
  if (o.path != "auto" && o.path != "golden" && o.path != "dequant" && o.path != "both")
    throw InputError("--path must be auto, golden, dequant or both");
  if (o.gen < 1) throw InputError("--gen must be positive");
  gguf::TextModel tm = gguf::load_text_model(o.checkpoint, o.tokenizer, o.gguf);
  files.check_outputs_against(tm.inputs);  // the default tokenizer beside a checkpoint included
  const Config c = tm.checkpoint.config;
  const int context = gguf::resolve_context(tm, o.context);
  const std::string model_name = tm.is_gguf ? "SmolLM2/GGUF" : "stories260K";
  const std::string text_label = llama::text_label(o.text_files);
  std::vector<KVFormat> formats;
  if (!o.no_baselines) {
    formats.push_back({"f32", 0, "", golden::ElemType::F32});
    formats.push_back({"f16", 0, "", golden::ElemType::F16});
  }
  for (const auto& name : o.kv) {
    if (name == "f32" || name == "f16" || name == "bf16") {
      formats.push_back({name, 0, "", type});
      continue;
    }
    if (name == "kivi4" || name == "kivi2") {  // one format: --block does not apply (--kivi-group does)
      KVFormat f{name, o.kivi_group, "kivi", golden::ElemType::F16, o.tensors};
      f.kivi_residual = o.kivi_residual;
      f.context = context;
      formats.push_back(f);
      continue;
    }
    const golden::Codebook& cb = golden::codebook_by_name(name);
    for (int b : o.blocks) {
      if (b <= 0 || c.kv_dim() % b != 0)
        throw InputError(fmt::format("--block: {} does not divide the K/V row of kv_dim = {} elements", b, c.kv_dim()));
      std::vector<std::string> paths;
      if (o.tensors != "kv") {
        if (o.path == "golden" || o.path == "both")
          throw InputError("--tensors k|v (one tensor quantized) needs --path dequant or auto");
        paths = {"dequant"};
      } else if (o.path == "auto") paths = {cb.affine ? "dequant" : "golden"};
      else if (o.path == "both") paths = cb.affine ? std::vector<std::string>{"dequant"}
                                                    : std::vector<std::string>{"golden", "dequant"};
      else if (o.path == "golden" && cb.affine)
        throw InputError("--path golden: " + name + " is affine and the golden decode attention takes absmax "
                         "codebooks only; use --path auto or dequant");
      else paths = {o.path};
      for (const auto& p : paths) formats.push_back({name, b, p, type, o.tensors});
    }
  }
  // Every format's KV store is built once before the work: a shape it cannot hold (the golden
  // cache's block limits per head) fails here, not after the float reference.
  for (const KVFormat& f : formats) (void)make_kv_store(c, f);
  const auto windows = gguf::text_windows(tm, o.text_files, builtin_eval_text(), context);
  Model model(std::move(tm.checkpoint));
  EvalReference ref;
  const std::string ref_key =
      o.reference.empty() ? "" : reference_key(io::sha256_file(o.gguf.empty() ? o.checkpoint : o.gguf), windows, o.gen);
  if (!o.reference.empty() && load_reference(o.reference, ref_key, ref)) {
    std::fprintf(stderr, "eval: float reference from %s (same model, text windows and --gen)\n", o.reference.c_str());
  } else {
    std::fprintf(stderr, "eval: float reference (%zu window(s), %d greedy steps)\n", windows.size(), o.gen);
    ref = make_reference(model, windows, o.gen);
    if (!o.reference.empty()) save_reference(o.reference, ref_key, ref);
  }
  std::vector<EvalResult> results;
  for (const KVFormat& f : formats) {
    const std::string label = f.label();
    results.push_back(evaluate_format(model, f, ref, [&](const std::string& stage, int64_t d, int64_t t) {
      std::fprintf(stderr, "eval: %s: %s %lld/%lld\n", label.c_str(), stage.c_str(), (long long)d, (long long)t);
    }));
  }
  const double base_ppl = results.front().ppl;
  std::ostringstream md, csv;
  md << fmt::format("## KV-cache formats against the float cache: {}\n\n", tm.label);
  md << fmt::format(
      "Held-out text: {} ({} scored tokens in {} window(s)); greedy continuation from BOS: {} tokens. Quantizer "
      "element type {}; blocks are slices of the per-token kv_dim = {} row. Path golden = golden::decode_attention "
      "(integer dequant-MAC); dequant = golden quantize/dequantize then float attention. ΔPPL is against the first "
      "row.\n\n",
      text_label + fmt::format(", windows of at most {} tokens", context), results.front().predicted, windows.size(),
      results.front().greedy_tokens, o.type, c.kv_dim());
  md << "| KV format | block | path | bits/elem | PPL | ΔPPL | text top-1 agree | greedy teacher-forced agree | "
        "free-run first divergence | free-run same token | seconds |\n";
  md << "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  csv << "format,block,path,bits_per_element,ppl,delta_ppl_pct,text_top1,greedy_tf,first_divergence,free_run_match,"
         "golden_attention_calls,seconds\n";
  for (const EvalResult& r : results) {
    const KVFormat& f = r.format;
    const double dp = 100 * (r.ppl / base_ppl - 1);
    md << fmt::format("| {} | {} | {} | {:.3f} | {:.4f} | {:+.2f}% | {:.1f}% | {:.1f}% | {} | {:.1f}% | {:.1f} |\n",
                      (f.kivi() ? fmt::format("{} R{}", f.name, f.kivi_residual) : f.name) +
                          (f.tensors == "kv" ? "" : " (" + f.tensors + " only)"),
                      f.quantized() ? std::to_string(f.block) : "-",
                      f.quantized() ? f.path : "float",
                      r.bits_per_element, r.ppl, dp, 100 * r.text_top1_agreement, 100 * r.greedy_tf_agreement,
                      r.first_divergence, 100 * r.free_run_match, r.seconds);
    csv << fmt::format("{}{},{},{},{:.6g},{:.9g},{:.6g},{:.6g},{:.6g},{},{:.6g},{},{:.3f}\n",
                       f.kivi() ? fmt::format("{}_R{}", f.name, f.kivi_residual) : f.name, f.tensors == "kv" ? "" : "_" + f.tensors + "only", f.block,
                       f.quantized() ? f.path : "float", r.bits_per_element, r.ppl, dp, r.text_top1_agreement,
                       r.greedy_tf_agreement, r.first_divergence, r.free_run_match, r.golden_attention_calls,
                       r.seconds);
  }
  const std::string out = md.str();
  std::fputs(out.c_str(), stdout);
  if (!o.md.empty()) io::write_text_atomically(o.md, out);
  if (!o.csv.empty()) io::write_text_atomically(o.csv, csv.str());
  if (!o.plot.empty()) {
    // ΔPPL against block size, one series per codebook and path.
    std::map<std::string, io::PlotSeries> series;
    for (const EvalResult& r : results) {
      if (!r.format.quantized()) continue;
      const std::string key = r.format.name + (o.path == "both" ? " " + r.format.path : "");
      auto& s = series[key];
      s.name = key;
      s.x.push_back(r.format.block);
      s.y.push_back(100 * (r.ppl / base_ppl - 1));
    }
    std::vector<io::PlotSeries> ps;
    for (auto& [k, s] : series) ps.push_back(s);
    io::write_line_plot_png(o.plot, {"Perplexity increase from quantized KV caches (" + model_name + ")",
                                     "block size (elements)", "perplexity increase over f32 cache (%)", true, true},
                            ps);
  }
}

}  // namespace

NQKV_COMMAND(eval) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* sub = app.add_subcommand(
      "eval", "Perplexity and greedy agreement of a llama2.c or GGUF model with quantized KV caches versus the float cache");
  sub->add_option("--checkpoint", o->checkpoint, "llama2.c checkpoint (legacy v0 format); or --gguf");
  sub->add_option("--gguf", o->gguf, "llama-architecture GGUF model (e.g. SmolLM2-135M-Instruct); or --checkpoint");
  sub->add_option("--context", o->context, "tokens per window (default: the checkpoint's seq_len; 512 for GGUF)")
      ->check(nqkv::cli::int_range(2, 1 << 20));
  sub->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer (default: tok<vocab>.bin beside the checkpoint)");
  sub->add_option("--text", o->text_files, "held-out UTF-8 text file(s), comma-separated (default: built-in paragraphs)")
      ->delimiter(',');
  sub->add_option("--kv", o->kv,
                  "KV formats: codebook names (nf4,nf3,nf2,fp4,int4,int4sym,lloyd4), f32/f16/bf16, or kivi4/kivi2 "
                  "(KIVI: K per channel, V per token, asymmetric, fp16 residual window; golden/kivi.hpp)")
      ->delimiter(',');
  sub->add_option("--kivi-group", o->kivi_group, "KIVI group size G (tokens per K group, channels per V group)")
      ->check(nqkv::cli::int_range(1, 1 << 16))
      ->capture_default_str();
  sub->add_option("--kivi-residual", o->kivi_residual, "KIVI residual window R in fp16 tokens (a multiple of G)")
      ->check(nqkv::cli::int_range(1, 1 << 20))
      ->capture_default_str();
  sub->add_option("--block", o->blocks, "block sizes (must divide the per-token K/V row, kv_dim)")
      ->delimiter(',')
      ->check(nqkv::cli::int_range(1, 1 << 20));
  sub->add_option("--path", o->path,
                  "auto (golden decode attention; dequant for affine int4), golden, dequant, or both");
  sub->add_option("--type", o->type, "element type of the quantized cache: f16 or bf16");
  sub->add_option("--tensors", o->tensors, "kv (default), or k / v to quantize one tensor only (dequant path)")
      ->check(CLI::IsMember({"kv", "k", "v"}));
  sub->add_option("--gen", o->gen, "greedy tokens to generate and compare")->check(nqkv::cli::int_range(1, 1 << 16));
  sub->add_flag("--no-baselines", o->no_baselines, "omit the f32 and f16 float-cache rows");
  sub->add_option("--reference", o->reference,
                  "float-reference cache (JSON): read when it matches the model, text windows and --gen, else "
                  "computed and written; lets several eval jobs on one long text share the reference pass");
  sub->add_option("--csv", o->csv, "write the table as CSV");
  sub->add_option("--md", o->md, "write the markdown table to a file as well");
  sub->add_option("--plot", o->plot, "write a PNG of perplexity increase against block size");
  sub->callback([o] { run_eval(*o); });
}
