// The Dut interface for each verilated parameter set (sim/CMakeLists.txt verilates one model per
// LANES of NQKV_SIM_LANES; rtl_models.hpp, generated there, includes them and lists them), and
// the models of other LANES built on demand (sim/rtl/build_plugin.sh: a shared library made from
// rtl_plugin.cpp, named by NQKV_RTL_PLUGINS="LANES=path[:LANES=path...]", loaded with dlopen).
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "io/error.hpp"
#include "models/accel/accel_config.hpp"
#include "sim/rtl/dut_impl.hpp"
#include "sim/rtl/rtl_dut.hpp"
#include "rtl_models.hpp"

// DPI import of rtl/nq_assert.svh (one definition serves every verilated model of this binary).
extern "C" void nq_assert_fail(const char* msg) { nqkv::sim::rtl_assert_fail(msg); }

namespace nqkv::sim {

std::vector<std::pair<int, std::string>> rtl_plugins() {
  std::vector<std::pair<int, std::string>> v;
  const char* env = std::getenv("NQKV_RTL_PLUGINS");
  if (!env || !*env) return v;
  const std::string s = env;
  size_t b = 0;
  while (b <= s.size()) {
    const size_t e = std::min(s.find(':', b), s.size());
    const std::string item = s.substr(b, e - b);
    const size_t eq = item.find('=');
    int lanes = 0;
    if (eq != std::string::npos) lanes = std::atoi(item.substr(0, eq).c_str());
    if (lanes <= 0 || eq + 1 >= item.size())
      throw InputError("NQKV_RTL_PLUGINS: expected LANES=path[:LANES=path...], got '" + item + "'");
    v.emplace_back(lanes, item.substr(eq + 1));
    b = e + 1;
  }
  return v;
}

std::vector<int> rtl_lanes() {
  std::vector<int> v = accel::sim_lanes();
  for (const auto& p : rtl_plugins())
    if (std::find(v.begin(), v.end(), p.first) == v.end()) v.push_back(p.first);
  return v;
}

namespace {

// The factory of an on-demand build (rtl_plugin.cpp); loaded once per path, never unloaded.
using PluginFactory = Dut* (*)(int lanes, int rand_reset, uint64_t seed);
PluginFactory load_plugin(const std::string& path, int lanes) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) throw InputError("cannot load the RTL model of LANES " + std::to_string(lanes) + ": " + dlerror());
  auto* lanes_of = reinterpret_cast<int (*)()>(dlsym(h, "nqkv_rtl_plugin_lanes"));
  auto* make = reinterpret_cast<PluginFactory>(dlsym(h, "nqkv_rtl_make_dut"));
  if (!lanes_of || !make) throw InputError(path + ": not an nqkv RTL model (no nqkv_rtl_make_dut)");
  if (lanes_of() != lanes)
    throw InputError(path + ": holds LANES " + std::to_string(lanes_of()) + ", not " + std::to_string(lanes));
  return make;
}

}  // namespace

std::unique_ptr<Dut> make_rtl_dut(int lanes, int rand_reset, uint64_t rand_seed) {
#define NQKV_MAKE_RTL(L) \
  if (lanes == L) return std::make_unique<DutImpl<Vnq_l##L>>(L, rand_reset, rand_seed);
  NQKV_RTL_MODELS(NQKV_MAKE_RTL)
#undef NQKV_MAKE_RTL
  for (const auto& p : rtl_plugins())
    if (p.first == lanes) return std::unique_ptr<Dut>(load_plugin(p.second, lanes)(lanes, rand_reset, rand_seed));
  std::string built;
  for (int l : rtl_lanes()) built += (built.empty() ? "" : ", ") + std::to_string(l);
  throw InputError("no verilated model with LANES " + std::to_string(lanes) + " (built: " + built + ")");
}

}  // namespace nqkv::sim
