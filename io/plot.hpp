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

}  // namespace nqkv::io
