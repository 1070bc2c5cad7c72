#include "golden/backend.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "io/error.hpp"

namespace nqkv::backend {

std::unique_ptr<Backend> make_cpu_backend();  // golden/cpu_backend.cpp

bool Mismatches::cmp(const std::string& name, int64_t index, uint64_t expected, uint64_t got, int hex_digits) {
  ++compared_;
  if (expected == got) return true;
  ++mismatches_;
  if (shown_++ < max_shown_)
    report_ += fmt::format("  {}[{}]: expected 0x{:0{}x} got 0x{:0{}x}\n", name, index, expected, hex_digits, got, hex_digits);
  return false;
}

void Mismatches::error(const std::string& what) {
  ++mismatches_;
  if (shown_++ < max_shown_) report_ += "  " + what + "\n";
}

void CycleStats::add(const CycleStats& o) {
  cycles += o.cycles;
  stall_cycles += o.stall_cycles;
  for (const auto& [k, v] : o.stalls) stalls[k] += v;
}

WorkloadResult Backend::run_workload(const Workload&, const Options&) const {
  throw InputError("backend " + name() + " has no clock: `nqkv sim` runs cycle models only (" +
                   fmt::format("{}", fmt::join(built_names(), ", ")) + " are built)");
}

namespace {

// The backends of the project, in listing order, with the reason one is missing from a build.
struct Known {
  const char* name;
  const char* not_built;
};
constexpr Known kKnown[] = {
    {"cpu", "the golden library is always built"},
    {"rtl", "Verilator was not found at configure time"},
    {"systemc", "the SystemC model was not part of this build"},
    {"lockstep", "needs both the verilated RTL and the SystemC model (Verilator was not found at configure time)"},
    {"cuda", "nvcc was not found at configure time"},
};

struct Registry {
  std::vector<std::pair<std::string, Factory>> factories;
  std::map<std::string, std::unique_ptr<Backend>> instances;
};
Registry& registry() {
  static Registry r{{{"cpu", make_cpu_backend}}, {}};
  return r;
}

const Backend* instance(const std::string& name) {
  auto& r = registry();
  auto it = r.instances.find(name);
  if (it != r.instances.end()) return it->second.get();
  for (auto& [n, f] : r.factories)
    if (n == name) return (r.instances[name] = f()).get();
  return nullptr;
}

}  // namespace

Registrar::Registrar(const std::string& name, Factory f) { registry().factories.emplace_back(name, std::move(f)); }

std::vector<Entry> entries() {
  std::vector<Entry> out;
  for (const auto& k : kKnown) {
    Entry e{k.name, instance(k.name), ""};
    if (!e.backend) e.not_built = k.not_built;
    out.push_back(e);
  }
  std::vector<std::string> extra;
  for (const auto& entry : registry().factories)  // no structured binding: C++17 lambdas cannot capture one (clang)
    if (const std::string& n = entry.first; std::none_of(std::begin(kKnown), std::end(kKnown), [&](const Known& k) { return n == k.name; })) extra.push_back(n);
  std::sort(extra.begin(), extra.end());
  for (const auto& n : extra) out.push_back({n, instance(n), ""});
  return out;
}

std::vector<std::string> built_names() {
  std::vector<std::string> out;
  for (const auto& e : entries())
    if (e.backend) out.push_back(e.name);
  return out;
}

const Backend& find(const std::string& name, bool require_available) {
  std::vector<std::string> names;
  for (const auto& e : entries()) {
    names.push_back(e.name);
    if (e.name != name) continue;
    if (!e.backend) throw InputError("backend " + name + " is not built into this nqkv (" + e.not_built + ")");
    std::string why;
    if (require_available && !e.backend->available(&why)) throw InputError("backend " + name + " is not available: " + why);
    return *e.backend;
  }
  throw InputError(fmt::format("unknown backend '{}' (valid: {})", name, fmt::join(names, ", ")));
}

int resolve_lanes(const Backend& b, int lanes) {
  const auto built = b.lanes();
  if (built.empty()) return 0;
  if (lanes == 0) return b.default_lanes();
  if (std::find(built.begin(), built.end(), lanes) == built.end())
    throw InputError(fmt::format("backend {} has no LANES {} model in this build (built: {})", b.name(), lanes,
                                 fmt::join(built, ", ")));
  return lanes;
}

std::string resolve_level(const Backend& b, const std::string& level) {
  const auto lv = b.levels();
  if (lv.empty()) {
    if (level.empty()) return "";
    throw InputError("backend " + b.name() + " has one level only (no --level)");
  }
  if (level.empty()) return lv.front();
  if (std::find(lv.begin(), lv.end(), level) == lv.end())
    throw InputError(fmt::format("unknown level '{}' for backend {} (valid: {})", level, b.name(), fmt::join(lv, ", ")));
  return level;
}

}  // namespace nqkv::backend
