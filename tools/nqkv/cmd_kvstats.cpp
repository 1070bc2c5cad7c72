// nqkv kvstats: capture a real model's KV cache over text and report normality of quantization
// blocks, per-channel outliers of keys versus values and every codebook's error on real K and V
// next to Gaussian data (workloads/llama/kvstats.hpp). --dump writes the capture as safetensors.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "golden/codebook.hpp"
#include "golden/kivi.hpp"
#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/plot.hpp"
#include "tools/nqkv/commands.hpp"
#include "workloads/gguf/text_model.hpp"
#include "workloads/llama/cli_common.hpp"
#include "workloads/llama/kvstats.hpp"
#include "workloads/llama/texts.hpp"

namespace {

struct KvstatsOptions {
  std::string checkpoint, tokenizer, gguf, dump, csv, md, plot_prefix, type = "f16";
  std::vector<std::string> text_files;
  int context = 0;
  std::vector<int> blocks{8, 16, 32};
  std::vector<std::string> codebooks;
  uint64_t seed = 2505162100ull;
  bool kivi = false, per_head = false;
};

// KIVI's error on captured K (per channel over groups of G tokens, within each window) or V (per
// token over groups of G channels): relative MSE against the fp16-rounded input over the elements
// KIVI quantizes (tokens of a window's final partial K group, which KIVI keeps in fp16, excluded).
double kivi_rel_mse(bool keys, const std::vector<float>& x, const std::vector<int>& positions, int cols, int bits,
                    int group) {
  using namespace nqkv::golden;
  double num = 0, den = 0;
  const int64_t T = static_cast<int64_t>(positions.size());
  for (int64_t s = 0; s < T;) {
    int64_t e = s + 1;
    while (e < T && positions[e] != 0) ++e;  // one window: positions restart at 0
    const int64_t n = e - s, q = keys ? n - n % group : n;
    const float* w = x.data() + s * cols;
    const std::vector<float> y = keys ? kivi::roundtrip_keys(w, n, cols, bits, group)
                                      : kivi::roundtrip_values(w, n, cols, bits, group);
    for (int64_t i = 0; i < q * cols; ++i) {
      const double in = kivi::round_f16(w[i]), d = in - y[i];
      num += d * d;
      den += in * in;
    }
    s = e;
  }
  return den > 0 ? num / den : 0;
}

void run_kvstats(const KvstatsOptions& o) {
  using namespace nqkv;
  using namespace nqkv::llama;
  // Inputs, then outputs (writable, distinct, none of them an input), before any work.
  std::vector<std::pair<std::string, std::string>> outputs = {{o.dump, "--dump"}, {o.csv, "--csv"}, {o.md, "--md"}};
  if (!o.plot_prefix.empty())
    for (const char* suffix : {"_normality.png", "_sqnr_k.png", "_sqnr_v.png", "_sqnr_k_layers.png"})
      outputs.emplace_back(o.plot_prefix + suffix, "--plot-prefix");
  const RunFiles files = check_run_files(o.checkpoint, o.tokenizer, o.gguf, o.text_files, std::move(outputs));
  const golden::ElemType type = parse_elem_type(o.type);
  std::vector<const golden::Codebook*> cbs;
  if (o.codebooks.empty())
    for (auto id : golden::all_codebooks()) cbs.push_back(&golden::codebook(id));
  else
    for (const auto& n : o.codebooks) cbs.push_back(&golden::codebook_by_name(n));

  gguf::TextModel tm = gguf::load_text_model(o.checkpoint, o.tokenizer, o.gguf);
  files.check_outputs_against(tm.inputs);  // the default tokenizer beside a checkpoint included
  const Config c = tm.checkpoint.config;
  const int context = gguf::resolve_context(tm, o.context);
  const std::string model_name = tm.is_gguf ? "SmolLM2/GGUF" : "stories260K";
  const std::string text_label = llama::text_label(o.text_files);
  for (int b : o.blocks)
    if (b < 8 || c.kv_dim() % b != 0)
      throw InputError(fmt::format("--blocks: {} must be at least 8 (the K^2 test needs n >= 8) and divide the "
                                   "K/V row of kv_dim = {} elements",
                                   b, c.kv_dim()));
  const auto windows = gguf::text_windows(tm, o.text_files, builtin_kvstats_text(), context);
  Model model(std::move(tm.checkpoint));
  const KVCapture cap = capture_kv(model, windows, [](int64_t d, int64_t t) {
    if (d % 100 == 0 || d == t) std::fprintf(stderr, "kvstats: forward pass %lld/%lld tokens\n", (long long)d, (long long)t);
  });
  const int64_t T = cap.rows();
  const int L = c.n_layers, C = c.kv_dim();
  // All layers stacked: rows = L * T.
  std::vector<float> Kall, Vall;
  for (int l = 0; l < L; ++l) {
    Kall.insert(Kall.end(), cap.k[l].begin(), cap.k[l].end());
    Vall.insert(Vall.end(), cap.v[l].begin(), cap.v[l].end());
  }
  const int64_t R = static_cast<int64_t>(L) * T;
  const std::vector<float> gauss = synthetic_rows("gaussian", R, C, o.seed);
  const std::vector<float> lap = synthetic_rows("laplace", R, C, o.seed + 1);

  std::ostringstream md, csv;
  csv << "section,source,layer,block,codebook,metric,value\n";
  auto csvrow = [&](const std::string& sec, const std::string& src, int layer, int block, const std::string& cb,
                    const std::string& metric, double v) {
    csv << sec << ',' << src << ',' << layer << ',' << block << ',' << cb << ',' << metric << ','
        << fmt::format("{:.9g}", v) << '\n';
  };
  md << fmt::format("## KV statistics: {}\n\n", tm.label);
  md << fmt::format(
      "Model: dim {}, {} layers, {} heads, {} kv heads, head_dim {}; K/V row per token and layer = {} elements. "
      "Text: {} ({} tokens in {} window(s)); {} K rows and {} V rows ({} per layer). Element type {}; "
      "blocks are contiguous slices of the row. Gaussian/Laplace: the same number of seeded rows (seed {}).\n\n",
      c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_size(), C,
      text_label + fmt::format(", windows of at most {} tokens", context), T, windows.size(), R, R, T, o.type, o.seed);

  md << "### Normality of blocks (D'Agostino-Pearson K^2, pass = p >= 0.05)\n\n";
  md << "| block | data | blocks | pass at 5% | median p | mean skew | mean abs skew | mean excess kurtosis |\n";
  md << "|---:|---|---:|---:|---:|---:|---:|---:|\n";
  std::map<std::string, std::vector<double>> pass_by_source;
  for (int b : o.blocks) {
    for (const auto& [name, data] : {std::pair<std::string, const std::vector<float>*>{"K", &Kall},
                                     {"V", &Vall}, {"gaussian", &gauss}, {"laplace", &lap}}) {
      const NormalitySummary s = normality_of_blocks(name, data->data(), R, C, b);
      pass_by_source[name].push_back(s.pass_fraction);
      md << fmt::format("| {} | {} | {} | {:.1f}% | {:.3f} | {:+.3f} | {:.3f} | {:+.3f} |\n", b, name, s.valid,
                        100 * s.pass_fraction, s.median_p, s.mean_skew, s.mean_abs_skew, s.mean_excess_kurtosis);
      csvrow("normality", name, -1, b, "", "pass_fraction", s.pass_fraction);
      csvrow("normality", name, -1, b, "", "median_p", s.median_p);
      csvrow("normality", name, -1, b, "", "mean_skew", s.mean_skew);
      csvrow("normality", name, -1, b, "", "mean_abs_skew", s.mean_abs_skew);
      csvrow("normality", name, -1, b, "", "mean_excess_kurtosis", s.mean_excess_kurtosis);
    }
  }
  md << "\n### Normality pass rate per layer\n\n| layer |";
  for (int b : o.blocks) md << fmt::format(" K B{} | V B{} |", b, b);
  md << "\n|---:|";
  for (size_t i = 0; i < o.blocks.size(); ++i) md << "---:|---:|";
  md << "\n";
  for (int l = 0; l < L; ++l) {
    md << "| " << l << " |";
    for (int b : o.blocks) {
      const NormalitySummary k = normality_of_blocks("K", cap.k[l].data(), T, C, b);
      const NormalitySummary v = normality_of_blocks("V", cap.v[l].data(), T, C, b);
      md << fmt::format(" {:.1f}% | {:.1f}% |", 100 * k.pass_fraction, 100 * v.pass_fraction);
      csvrow("normality_layer", "K", l, b, "", "pass_fraction", k.pass_fraction);
      csvrow("normality_layer", "V", l, b, "", "pass_fraction", v.pass_fraction);
    }
    md << "\n";
  }

  if (o.per_head) {
    // Per kv head: the head's slice of every row (all layers); blocks inside one head only.
    const int hs = c.head_size();
    md << "\n### Normality pass rate per kv head (all layers)\n\n| block | tensor |";
    for (int h = 0; h < c.n_kv_heads; ++h) md << fmt::format(" head {} |", h);
    md << "\n|---:|---|";
    for (int h = 0; h < c.n_kv_heads; ++h) md << "---:|";
    md << "\n";
    std::vector<float> slice(static_cast<size_t>(R) * hs);
    for (int b : o.blocks) {
      if (hs % b != 0) continue;
      for (const auto& [name, data] : {std::pair<std::string, const std::vector<float>*>{"K", &Kall}, {"V", &Vall}}) {
        md << "| " << b << " | " << name << " |";
        for (int h = 0; h < c.n_kv_heads; ++h) {
          for (int64_t r = 0; r < R; ++r)
            std::copy_n(data->data() + r * C + h * hs, hs, slice.data() + r * hs);
          const NormalitySummary s = normality_of_blocks(name, slice.data(), R, hs, b);
          md << fmt::format(" {:.1f}% |", 100 * s.pass_fraction);
          csvrow("normality_head", name, h, b, "", "pass_fraction", s.pass_fraction);
        }
        md << "\n";
      }
    }
  }

  md << "\n### Per-channel outliers (channel = one of the row's elements, over all tokens)\n\n";
  md << "| layer | K max/median channel RMS | K channels > 2x median | K peak/RMS | K excess kurtosis | "
        "V max/median channel RMS | V channels > 2x median | V peak/RMS | V excess kurtosis |\n";
  md << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (int l = 0; l < L; ++l) {
    const ChannelOutliers k = channel_outliers(l, "K", cap.k[l].data(), T, C);
    const ChannelOutliers v = channel_outliers(l, "V", cap.v[l].data(), T, C);
    md << fmt::format("| {} | {:.2f} | {} | {:.1f} | {:+.2f} | {:.2f} | {} | {:.1f} | {:+.2f} |\n", l,
                      k.max_over_median_rms, k.channels_over_2x, k.peak_over_rms, k.excess_kurtosis,
                      v.max_over_median_rms, v.channels_over_2x, v.peak_over_rms, v.excess_kurtosis);
    for (const ChannelOutliers* x : {&k, &v}) {
      csvrow("outliers", x->tensor, l, 0, "", "max_over_median_rms", x->max_over_median_rms);
      csvrow("outliers", x->tensor, l, 0, "", "channels_over_2x", x->channels_over_2x);
      csvrow("outliers", x->tensor, l, 0, "", "peak_over_rms", x->peak_over_rms);
      csvrow("outliers", x->tensor, l, 0, "", "excess_kurtosis", x->excess_kurtosis);
    }
  }

  md << "\n### Codebook error on real K and V versus Gaussian (relative MSE, SQNR in dB)\n\n";
  md << "| codebook | block | bits/elem | K rel. MSE | K SQNR | V rel. MSE | V SQNR | Gaussian SQNR |\n";
  md << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  std::map<std::string, std::vector<double>> sqnr_k, sqnr_v;
  std::map<double, std::vector<std::pair<double, std::string>>> rank_k, rank_v;  // by bits/elem
  // Per layer (CSV rows with the layer's index; the md table below), summed into the overall figure.
  std::map<std::string, std::vector<std::string>> layer_cells_k, layer_cells_v;  // column -> cell per layer
  std::vector<std::string> layer_columns;
  std::map<std::string, std::vector<double>> layer_sqnr_k;  // plot: K SQNR per layer at the largest block
  auto add_layer_cell = [&](const std::string& column, int l, double k_db, double v_db) {
    if (layer_cells_k.find(column) == layer_cells_k.end()) {
      layer_columns.push_back(column);
      layer_cells_k[column].assign(L, "");
      layer_cells_v[column].assign(L, "");
    }
    auto add = [](std::string& cell, double db) { cell += fmt::format("{}{:.2f}", cell.empty() ? "" : " / ", db); };
    add(layer_cells_k[column][l], k_db);
    add(layer_cells_v[column][l], v_db);
  };
  const int max_block = *std::max_element(o.blocks.begin(), o.blocks.end());
  for (const golden::Codebook* cb : cbs) {
    for (int b : o.blocks) {
      std::vector<CodebookError> kl, vl;
      for (int l = 0; l < L; ++l) {
        kl.push_back(codebook_error(*cb, type, "K", cap.k[l].data(), T, C, b));
        vl.push_back(codebook_error(*cb, type, "V", cap.v[l].data(), T, C, b));
        csvrow("codebook", "K", l, b, cb->name, "sqnr_db", kl.back().sqnr_db);
        csvrow("codebook", "V", l, b, cb->name, "sqnr_db", vl.back().sqnr_db);
        add_layer_cell(cb->name, l, kl.back().sqnr_db, vl.back().sqnr_db);
        if (b == max_block && cb->bits == 4) layer_sqnr_k[fmt::format("{} B{}", cb->name, b)].push_back(kl.back().sqnr_db);
      }
      const CodebookError k = combine_codebook_errors(kl);
      const CodebookError v = combine_codebook_errors(vl);
      const CodebookError g = codebook_error(*cb, type, "gaussian", gauss.data(), R, C, b);
      md << fmt::format("| {} | {} | {:.3f} | {:.5f} | {:.2f} | {:.5f} | {:.2f} | {:.2f} |\n", cb->name, b,
                        k.bits_per_element, k.rel_mse, k.sqnr_db, v.rel_mse, v.sqnr_db, g.sqnr_db);
      for (const CodebookError* e : {&k, &v, &g}) {
        csvrow("codebook", e->source, -1, b, cb->name, "rel_mse", e->rel_mse);
        csvrow("codebook", e->source, -1, b, cb->name, "sqnr_db", e->sqnr_db);
      }
      sqnr_k[cb->name].push_back(k.sqnr_db);
      sqnr_v[cb->name].push_back(v.sqnr_db);
      if (cb->bits == 4) {
        rank_k[k.bits_per_element].emplace_back(k.sqnr_db, fmt::format("{} B{}", cb->name, b));
        rank_v[k.bits_per_element].emplace_back(v.sqnr_db, fmt::format("{} B{}", cb->name, b));
      }
    }
  }
  if (o.kivi) {
    // KIVI (golden/kivi.hpp) on the same K and V, without its fp16 window: bits/elem = bits + 32/G.
    for (int bits : {4, 2})
      for (int g : {32, 64}) {
        if (c.head_size() % g != 0) continue;
        double km = 0, kd = 0, vm = 0, vd = 0;
        for (int l = 0; l < L; ++l) {  // per layer (the same per-layer weighting as the stacked codebook rows)
          const double rk = kivi_rel_mse(true, cap.k[l], cap.positions, C, bits, g);
          const double rv = kivi_rel_mse(false, cap.v[l], cap.positions, C, bits, g);
          double ek = 0, ev = 0;
          for (float x : cap.k[l]) ek += static_cast<double>(x) * x;
          for (float x : cap.v[l]) ev += static_cast<double>(x) * x;
          km += rk * ek, kd += ek, vm += rv * ev, vd += ev;
          csvrow("codebook", "K", l, g, fmt::format("kivi{}", bits), "sqnr_db", -10 * std::log10(rk));
          csvrow("codebook", "V", l, g, fmt::format("kivi{}", bits), "sqnr_db", -10 * std::log10(rv));
          add_layer_cell(fmt::format("kivi{}", bits), l, -10 * std::log10(rk),
                         -10 * std::log10(rv));
          if (bits == 4 && g == 32) layer_sqnr_k["kivi4 G32 (per channel)"].push_back(-10 * std::log10(rk));
        }
        const double k_rel = km / kd, v_rel = vm / vd;
        const std::string name = fmt::format("kivi{} (K per channel, V per token)", bits);
        md << fmt::format("| {} | G{} | {:.3f} | {:.5f} | {:.2f} | {:.5f} | {:.2f} | - |\n", name, g, bits + 32.0 / g,
                          k_rel, -10 * std::log10(k_rel), v_rel, -10 * std::log10(v_rel));
        csvrow("codebook", "K", -1, g, fmt::format("kivi{}", bits), "rel_mse", k_rel);
        csvrow("codebook", "K", -1, g, fmt::format("kivi{}", bits), "sqnr_db", -10 * std::log10(k_rel));
        csvrow("codebook", "V", -1, g, fmt::format("kivi{}", bits), "rel_mse", v_rel);
        csvrow("codebook", "V", -1, g, fmt::format("kivi{}", bits), "sqnr_db", -10 * std::log10(v_rel));
      }
  }
  for (const auto& [title, cells] : {std::pair<std::string, const std::map<std::string, std::vector<std::string>>*>{
                                         "K", &layer_cells_k},
                                     {"V", &layer_cells_v}}) {
    std::string blocks;
    for (int b : o.blocks) blocks += (blocks.empty() ? "B" : " / B") + std::to_string(b);
    md << fmt::format("\n### {} SQNR per layer (dB; each cell {}, KIVI G 32 / 64)\n\n| layer |", title, blocks);
    for (const std::string& col : layer_columns) md << ' ' << col << " |";
    md << "\n|---:|";
    for (size_t i = 0; i < layer_columns.size(); ++i) md << "---:|";
    md << '\n';
    for (int l = 0; l < L; ++l) {
      md << "| " << l << " |";
      for (const std::string& col : layer_columns) md << ' ' << cells->at(col)[l] << " |";
      md << '\n';
    }
  }
  md << "\nBest 4-bit format by SQNR at equal storage (bits/elem, scales counted):\n\n";
  md << "| bits/elem | candidates | best on K | best on V |\n|---:|---|---|---|\n";
  for (const auto& [bits, cand] : rank_k) {
    const auto bk = *std::max_element(cand.begin(), cand.end());
    const auto bv = *std::max_element(rank_v[bits].begin(), rank_v[bits].end());
    std::string names;
    for (const auto& c : cand) names += (names.empty() ? "" : ", ") + c.second;
    md << fmt::format("| {:.3f} | {} | {} ({:.2f} dB) | {} ({:.2f} dB) |\n", bits, names, bk.second, bk.first,
                      bv.second, bv.first);
  }

  const std::string out = md.str();
  std::fputs(out.c_str(), stdout);
  if (!o.md.empty()) io::write_text_atomically(o.md, out);
  if (!o.csv.empty()) io::write_text_atomically(o.csv, csv.str());
  if (!o.plot_prefix.empty()) {
    std::vector<double> xs(o.blocks.begin(), o.blocks.end());
    std::vector<io::PlotSeries> s;
    for (const std::string n : {"K", "V", "gaussian", "laplace"}) {
      std::vector<double> y;
      for (double p : pass_by_source[n]) y.push_back(100 * p);
      s.push_back({n, xs, y});
    }
    io::write_line_plot_png(o.plot_prefix + "_normality.png",
                            {"Blocks passing the K^2 normality test at 5% (" + model_name + ")", "block size (elements)",
                             "blocks passing (%)", true, false},
                            s);
    for (const auto& [which, m] : {std::pair<std::string, const std::map<std::string, std::vector<double>>*>{"k", &sqnr_k},
                                   {"v", &sqnr_v}}) {
      std::vector<io::PlotSeries> ps;
      for (const auto& [name, y] : *m) ps.push_back({name, xs, y});
      io::write_line_plot_png(o.plot_prefix + "_sqnr_" + which + ".png",
                              {std::string("Codebook SQNR on real ") + (which == "k" ? "keys" : "values") +
                                   " (" + model_name + ")",
                               "block size (elements)", "SQNR (dB)", true, false},
                              ps);
    }
  }
  if (!o.plot_prefix.empty() && !layer_sqnr_k.empty()) {
    std::vector<double> layers(L);
    for (int l = 0; l < L; ++l) layers[l] = l;
    std::vector<io::PlotSeries> ps;
    for (const auto& [name, y] : layer_sqnr_k) ps.push_back({name, layers, y});
    io::write_line_plot_png(o.plot_prefix + "_sqnr_k_layers.png",
                            {"SQNR on real keys per layer (" + model_name + ")", "layer", "SQNR (dB)", false, false}, ps);
  }
  if (!o.dump.empty())
    dump_capture(cap, o.dump, o.text_files.empty() ? "built-in kvstats text" : "text file(s) " + text_label);
}

}  // namespace

NQKV_COMMAND(kvstats) {
  auto o = std::make_shared<KvstatsOptions>();
  CLI::App* sub = app.add_subcommand(
      "kvstats", "Capture a llama2.c or GGUF model's KV cache over text; report block normality, channel outliers and "
                 "codebook error on real K/V versus Gaussian data");
  sub->add_option("--checkpoint", o->checkpoint, "llama2.c checkpoint (legacy v0 format); or --gguf");
  sub->add_option("--gguf", o->gguf, "llama-architecture GGUF model (e.g. SmolLM2-135M-Instruct); or --checkpoint");
  sub->add_option("--context", o->context, "tokens per window (default: the checkpoint's seq_len; 512 for GGUF)")
      ->check(nqkv::cli::int_range(2, 1 << 20));
  sub->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer (default: tok<vocab>.bin beside the checkpoint)");
  sub->add_option("--text", o->text_files, "UTF-8 text file(s) to run, comma-separated (default: a built-in few paragraphs)")
      ->delimiter(',');
  sub->add_option("--blocks", o->blocks, "block sizes (elements of the per-token K/V row; >= 8)")
      ->delimiter(',')
      ->check(nqkv::cli::int_range(8, 1 << 20));
  sub->add_option("--codebooks", o->codebooks, "codebooks (default: all)")->delimiter(',');
  sub->add_option("--type", o->type, "element type the quantizer sees: f16, bf16 or f32");
  sub->add_option("--seed", o->seed, "seed of the Gaussian/Laplace comparison data")->check(nqkv::cli::seed_range());
  sub->add_option("--dump", o->dump, "write the captured q/k/v as OUT.safetensors");
  sub->add_option("--csv", o->csv, "write every statistic as long-form CSV");
  sub->add_option("--md", o->md, "write the markdown report to a file as well");
  sub->add_option("--plot-prefix", o->plot_prefix, "write PREFIX_normality.png, PREFIX_sqnr_k.png, PREFIX_sqnr_v.png");
  sub->add_flag("--kivi", o->kivi, "add KIVI-style rows (INT4/INT2, G 32/64: K per channel, V per token) to the error table");
  sub->add_flag("--per-head", o->per_head, "add the normality pass rate per kv head");
  sub->callback([o] { run_kvstats(*o); });
}
