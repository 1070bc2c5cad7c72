// PNG line plots through gnuplot (Debian's gnuplot-nox, pngcairo terminal). Used by reports.
// The PNG is written atomically; a missing gnuplot raises InputError naming the package.
#pragma once
#include <string>
#include <vector>

namespace nqkv::io {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;
};

struct PlotSpec {
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  int width = 900, height = 560;
};

void write_line_plot_png(const std::string& path, const PlotSpec& spec, const std::vector<PlotSeries>& series);

// The pieces for other plot kinds: a gnuplot string literal; the temporary PNG a script must
// `set output` to; running such a script and renaming its PNG into place (InputError on failure).
std::string gnuplot_quote(const std::string& s);
std::string plot_tmp_path(const std::string& path);
void run_gnuplot_script(const std::string& script, const std::string& path);

}  // namespace nqkv::io
