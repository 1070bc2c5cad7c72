#include "io/plot.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/atomic_file.hpp"
#include "io/error.hpp"

namespace nqkv::io {
namespace {
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}
}  // namespace

void write_line_plot_png(const std::string& path, const PlotSpec& spec, const std::vector<PlotSeries>& series) {
  namespace fs = std::filesystem;
  const fs::path tmp_png = fs::path(path).parent_path() / (".tmp." + fs::path(path).filename().string());
  std::ostringstream gp;
  gp << "set terminal pngcairo size " << spec.width << "," << spec.height << " font 'sans,10'\n"
     << "set output " << quoted(tmp_png.string()) << "\n"
     << "set title " << quoted(spec.title) << "\n"
     << "set xlabel " << quoted(spec.xlabel) << "\nset ylabel " << quoted(spec.ylabel) << "\n"
     << "set grid\nset key outside right\n";
  if (spec.logx) gp << "set logscale x 2\n";
  if (spec.logy) gp << "set logscale y\n";
  gp << "plot ";
  for (size_t i = 0; i < series.size(); ++i)
    gp << (i ? ", " : "") << "'-' using 1:2 with linespoints lw 2 title " << quoted(series[i].name);
  gp << "\n";
  for (const auto& s : series) {
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) gp << s.x[k] << " " << s.y[k] << "\n";
    gp << "e\n";
  }
  FILE* pipe = ::popen("gnuplot 2>/dev/null", "w");
  if (!pipe) throw InputError("cannot run gnuplot (install Debian package gnuplot-nox)");
  const std::string script = gp.str();
  std::fwrite(script.data(), 1, script.size(), pipe);
  const int rc = ::pclose(pipe);
  std::error_code ec;
  if (rc != 0 || !fs::exists(tmp_png, ec)) {
    fs::remove(tmp_png, ec);
    throw InputError("gnuplot failed to write " + path + " (is Debian package gnuplot-nox installed?)");
  }
  fs::rename(tmp_png, path, ec);
  if (ec) throw InputError("cannot write " + path + ": " + ec.message());
}

}  // namespace nqkv::io
