#include "io/plot.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/atomic_file.hpp"
#include "io/error.hpp"

namespace nqkv::io {
namespace fs = std::filesystem;

std::string gnuplot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string plot_tmp_path(const std::string& path) {
  return (fs::path(path).parent_path() / (".tmp." + fs::path(path).filename().string())).string();
}

void run_gnuplot_script(const std::string& script, const std::string& path) {
  const std::string tmp = plot_tmp_path(path);
  FILE* pipe = ::popen("gnuplot 2>/dev/null", "w");
  if (!pipe) throw InputError("cannot run gnuplot (install Debian package gnuplot-nox)");
  std::fwrite(script.data(), 1, script.size(), pipe);
  const int rc = ::pclose(pipe);
  std::error_code ec;
  if (rc != 0 || !fs::exists(tmp, ec)) {
    fs::remove(tmp, ec);
    throw InputError("gnuplot failed to write " + path + " (is Debian package gnuplot-nox installed?)");
  }
  fs::rename(tmp, path, ec);
  if (ec) throw InputError("cannot write " + path + ": " + ec.message());
}

void write_line_plot_png(const std::string& path, const PlotSpec& spec, const std::vector<PlotSeries>& series) {
  const std::string tmp_png = plot_tmp_path(path);
  std::ostringstream gp;
  gp << "set terminal pngcairo size " << spec.width << "," << spec.height << " font 'sans,10'\n"
     << "set output " << gnuplot_quote(tmp_png) << "\n"
     << "set title " << gnuplot_quote(spec.title) << "\n"
     << "set xlabel " << gnuplot_quote(spec.xlabel) << "\nset ylabel " << gnuplot_quote(spec.ylabel) << "\n"
     << "set grid\nset key outside right\n";
  if (spec.logx) gp << "set logscale x 2\n";
  if (spec.logy) gp << "set logscale y\n";
  gp << "plot ";
  for (size_t i = 0; i < series.size(); ++i)
    gp << (i ? ", " : "") << "'-' using 1:2 with linespoints lw 2 title " << gnuplot_quote(series[i].name);
  gp << "\n";
  for (const auto& s : series) {
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) gp << s.x[k] << " " << s.y[k] << "\n";
    gp << "e\n";
  }
  run_gnuplot_script(gp.str(), path);
}

}  // namespace nqkv::io
