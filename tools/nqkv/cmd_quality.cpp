// nqkv quality: relative MSE and SQNR of every codebook at block sizes 32..1024 on synthetic data,
// plus the equal-storage comparison (bits per element with the scales counted).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "golden/quality.hpp"
#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/plot.hpp"
#include "tools/nqkv/commands.hpp"

namespace {
using namespace nqkv;

struct QualityArgs {
  std::string csv, plot;
  int64_t elements = 1 << 21;
  uint64_t seed = 1;
  std::vector<int> blocks = {32, 64, 128, 256, 512, 1024};
};

void run_quality(const QualityArgs& a) {
  if (a.elements < 1024 || a.elements % 1024 != 0) throw InputError("--elements must be a positive multiple of 1024");
  for (int b : a.blocks)
    if (b < 8 || b % 8 != 0 || a.elements % b != 0)
      throw InputError(fmt::format("block {} must be a multiple of 8 that divides --elements", b));
  // Outputs are checked before the (long) table is computed.
  if (!a.csv.empty() && a.csv != "-") io::check_output_file(a.csv, "--csv");
  if (!a.plot.empty()) io::check_output_file(a.plot, "--plot");
  io::check_distinct_outputs({{a.csv == "-" ? "" : a.csv, "--csv"}, {a.plot, "--plot"}});
  const auto rows = golden::quality_table(a.blocks, a.elements, a.seed);
  std::ostringstream csv;
  csv << "distribution,codebook,block,bits_per_element,rel_mse,sqnr_db\n";
  for (const auto& r : rows)
    csv << fmt::format("{},{},{},{:.6g},{:.6g},{:.4f}\n", golden::distribution_name(r.dist), r.codebook, r.block,
                       r.bits_per_element, r.rel_mse, r.sqnr_db);
  if (!a.csv.empty()) {
    if (a.csv == "-") {
      fmt::print("{}", csv.str());
      return;
    }
    io::write_text_atomically(a.csv, csv.str());
  }
  for (auto d : {golden::Distribution::Normal, golden::Distribution::Laplace, golden::Distribution::StudentT3}) {
    fmt::print("\nRelative MSE on {} data ({} elements, seed {}); SQNR in dB in parentheses\n", golden::distribution_name(d),
               a.elements, a.seed);
    fmt::print("{:<9}", "codebook");
    for (int b : a.blocks) fmt::print(" {:>17}", fmt::format("B={}", b));
    fmt::print("\n");
    std::string last;
    for (const auto& r : rows) {
      if (r.dist != d) continue;
      if (r.codebook != last) fmt::print("{}{:<9}", last.empty() ? "" : "\n", r.codebook);
      last = r.codebook;
      fmt::print(" {:>9.5f} ({:>5.2f})", r.rel_mse, r.sqnr_db);
    }
    fmt::print("\n");
  }
  // Equal storage: group configurations by bits per element (fp16 scales counted).
  fmt::print("\nEqual storage on normal data: configurations sorted by bits/element (scales counted)\n");
  std::vector<golden::QualityRow> normal;
  for (const auto& r : rows)
    if (r.dist == golden::Distribution::Normal) normal.push_back(r);
  std::stable_sort(normal.begin(), normal.end(), [](const auto& x, const auto& y) { return x.bits_per_element < y.bits_per_element; });
  fmt::print("{:>8}  {:<9} {:>6} {:>10} {:>8}\n", "bits/el", "codebook", "block", "rel MSE", "SQNR dB");
  for (const auto& r : normal)
    if (r.bits_per_element >= 4.0 && r.bits_per_element <= 4.5 + 1e-9)
      fmt::print("{:>8.4f}  {:<9} {:>6} {:>10.5f} {:>8.2f}\n", r.bits_per_element, r.codebook, r.block, r.rel_mse, r.sqnr_db);
  if (!a.plot.empty()) {
    // SQNR against storage cost on normal data: one curve per codebook, block size along the curve.
    std::vector<io::PlotSeries> series;
    for (const auto& r : normal) {
      auto it = std::find_if(series.begin(), series.end(), [&](const auto& s) { return s.name == r.codebook; });
      if (it == series.end()) {
        series.push_back({r.codebook, {}, {}});
        it = series.end() - 1;
      }
      it->x.push_back(r.bits_per_element);
      it->y.push_back(r.sqnr_db);
    }
    io::write_line_plot_png(a.plot,
                            {"Codebook quality at equal storage, N(0,1) (points: block 1024 ... 32)", "bits per element (fp16 scales counted)",
                             "SQNR (dB)", false, false, 900, 560},
                            series);
    fmt::print("wrote {}\n", a.plot);
  }
  if (!a.csv.empty()) fmt::print("\nwrote {}\n", a.csv);
}

}  // namespace

NQKV_COMMAND(quality) {
  auto* cmd = app.add_subcommand("quality", "Relative MSE / SQNR of every codebook on N(0,1), Laplace and Student-t(3) data");
  auto a = std::make_shared<QualityArgs>();
  cmd->add_option("--csv", a->csv, "Also write the full table as CSV to this file ('-' prints CSV only)");
  cmd->add_option("--plot", a->plot, "Also write a PNG of SQNR against bits per element (normal data)");
  // 2^26 samples: about 0.5 GiB of working memory and a few minutes.
  cmd->add_option("--elements", a->elements, "Samples per distribution (a multiple of 1024, at most 2^26)")
      ->check(nqkv::cli::int_range(1024, int64_t{1} << 26, 1024))
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Random seed")->check(nqkv::cli::seed_range())->capture_default_str();
  cmd->add_option("--blocks", a->blocks, "Block sizes")
      ->check(nqkv::cli::int_range(8, 1 << 20, 8))
      ->capture_default_str();
  cmd->callback([a] { run_quality(*a); });
}
