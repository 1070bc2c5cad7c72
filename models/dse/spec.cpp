#include "models/dse/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/sha256.hpp"

namespace nqkv::dse {
namespace {

constexpr const char* kAxisKeys[kAxisCount] = {
    "hardware.lanes",     "hardware.block_max", "hardware.bits_max", "hardware.div_sps", "system.clock_ghz",
    "system.buffer_kib",  "system.memory",      "format.codebook",   "format.block",     "format.elem",
    "workload.model",     "workload.context",   "workload.batch",    "workload.gen"};
constexpr const char* kAxisNames[kAxisCount] = {"lanes",     "block_max", "bits_max", "div_sps", "clock_ghz",
                                                "buffer_kib", "memory",    "codebook", "block",   "elem",
                                                "model",      "context",   "batch",    "gen"};

// Defaults of axes the spec leaves out: the simulation build (LANES 16, BLOCK_MAX 256, BITS_MAX 4,
// DIV_SPS 4), 1 GHz, 256 KiB, one HBM2 stack (JEDEC 2.4 Gb/s x 1024 bits = 307 GB/s, 16 GiB, 3.9 pJ/bit
// as O'Connor et al. MICRO 2017), NF4/B64 fp16, llama-3-8b, context 2048, batch 1, 256 tokens.
Memory default_memory() { return {"hbm2", 307.0, 16.0, 3.9, "hbm2"}; }

struct Ctx {
  std::string file;
  std::string at(const std::string& key) const { return file + ": " + key + ": "; }
  [[noreturn]] void fail(const std::string& key, const std::string& msg) const { throw InputError(at(key) + msg); }
};

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

void check_keys(const Ctx& c, const YAML::Node& map, const std::string& where, const std::vector<std::string>& known) {
  if (!map.IsMap()) c.fail(where.empty() ? "(top level)" : where, "expected a mapping, got " + scalar_text(map));
  for (const auto& kv : map) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      const std::string s = did_you_mean(k, known);
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      c.fail(where.empty() ? k : where + "." + k,
             "unknown key" + (s.empty() ? std::string(" (known: ") + list + ")" : "; did you mean '" + s + "'?"));
    }
  }
}

bool parse_number(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno != ERANGE && std::isfinite(v);
}

double number(const Ctx& c, const YAML::Node& n, const std::string& key, bool integer, double lo, double hi) {
  if (!n.IsScalar()) c.fail(key, std::string("expected ") + (integer ? "an integer" : "a number") + ", got " + scalar_text(n));
  double v = 0;
  if (!parse_number(n.Scalar(), v))
    c.fail(key, std::string("expected ") + (integer ? "an integer" : "a number") + ", got " + scalar_text(n));
  if (integer && v != std::floor(v)) c.fail(key, "expected an integer, got " + scalar_text(n));
  if (v < lo || v > hi) {
    std::ostringstream os;
    os << "must be in " << lo << ".." << hi << ", got " << n.Scalar();
    c.fail(key, os.str());
  }
  return v;
}

std::string text(const Ctx& c, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar() || n.Scalar().empty()) c.fail(key, "expected a string, got " + scalar_text(n));
  return n.Scalar();
}

constexpr size_t kMaxAxisValues = 10'000'000;

// A numeric axis: a value, a list, or a range {from, to, step|count, scale: linear|log}.
std::vector<double> numeric_axis(const Ctx& c, const YAML::Node& n, const std::string& key, bool integer, double lo,
                                 double hi, bool allow_max = false) {
  std::vector<double> out;
  auto one = [&](const YAML::Node& v, const std::string& k) {
    if (allow_max && v.IsScalar() && v.Scalar() == "max") return -1.0;
    return number(c, v, k, integer, lo, hi);
  };
  if (n.IsScalar()) {
    out.push_back(one(n, key));
  } else if (n.IsSequence()) {
    if (n.size() == 0) c.fail(key, "empty axis (give at least one value)");
    for (size_t i = 0; i < n.size(); ++i) out.push_back(one(n[i], key + "[" + std::to_string(i) + "]"));
  } else if (n.IsMap()) {
    check_keys(c, n, key, {"from", "to", "step", "count", "scale"});
    if (!n["from"] || !n["to"]) c.fail(key, "a range needs 'from' and 'to'");
    const double from = number(c, n["from"], key + ".from", integer, lo, hi);
    const double to = number(c, n["to"], key + ".to", integer, lo, hi);
    if (to < from) c.fail(key, "empty axis ('to' is below 'from')");
    bool log = false;
    if (n["scale"]) {
      const std::string s = text(c, n["scale"], key + ".scale");
      if (s != "linear" && s != "log") c.fail(key + ".scale", "expected linear or log, got '" + s + "'");
      log = s == "log";
    }
    if (!!n["step"] == !!n["count"]) c.fail(key, "a range needs exactly one of 'step' and 'count'");
    if (log && from <= 0) c.fail(key + ".from", "a log range must start above 0");
    if (n["step"]) {
      const double step = number(c, n["step"], key + ".step", false, 0, 1e18);
      if (log ? !(step > 1) : !(step > 0)) c.fail(key + ".step", log ? "a log step is a factor > 1" : "must be > 0");
      const double tol = 1e-9 * std::max(1.0, std::fabs(to));
      for (size_t i = 0;; ++i) {
        const double v = log ? from * std::pow(step, static_cast<double>(i)) : from + step * static_cast<double>(i);
        if (v > to + tol) break;
        if (out.size() >= kMaxAxisValues) c.fail(key, "more than 10000000 values");
        out.push_back(integer ? std::round(v) : v);
      }
    } else {
      const double cnt = number(c, n["count"], key + ".count", true, 1, static_cast<double>(kMaxAxisValues));
      const auto k = static_cast<size_t>(cnt);
      for (size_t i = 0; i < k; ++i) {
        const double t = k == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(k - 1);
        const double v = log ? from * std::pow(to / from, t) : from + (to - from) * t;
        out.push_back(integer ? std::round(v) : v);
      }
    }
    if (integer) out.erase(std::unique(out.begin(), out.end()), out.end());
  } else {
    c.fail(key, "empty axis (give at least one value)");
  }
  if (out.empty()) c.fail(key, "empty axis (give at least one value)");
  return out;
}

std::vector<std::string> string_axis(const Ctx& c, const YAML::Node& n, const std::string& key,
                                     const std::vector<std::string>& allowed) {
  std::vector<std::string> out;
  auto one = [&](const YAML::Node& v, const std::string& k) {
    const std::string s = text(c, v, k);
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      const std::string m = did_you_mean(s, allowed);
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      c.fail(k, "unknown value '" + s + "'" + (m.empty() ? " (known: " + list + ")" : "; did you mean '" + m + "'?"));
    }
    out.push_back(s);
  };
  if (n.IsScalar()) {
    one(n, key);
  } else if (n.IsSequence()) {
    if (n.size() == 0) c.fail(key, "empty axis (give at least one value)");
    for (size_t i = 0; i < n.size(); ++i) one(n[i], key + "[" + std::to_string(i) + "]");
  } else {
    c.fail(key, "expected a string or a list of strings, got " + scalar_text(n));
  }
  return out;
}

Memory memory_object(const Ctx& c, const YAML::Node& n, const std::string& key) {
  check_keys(c, n, key, {"name", "bandwidth_gbs", "capacity_gib", "pj_per_bit", "technology"});
  for (const char* f : {"name", "bandwidth_gbs", "capacity_gib", "pj_per_bit"})
    if (!n[f]) c.fail(key, std::string("missing '") + f + "'");
  Memory m;
  m.name = text(c, n["name"], key + ".name");
  m.bandwidth_gbs = number(c, n["bandwidth_gbs"], key + ".bandwidth_gbs", false, 1e-3, 1e9);
  m.capacity_gib = number(c, n["capacity_gib"], key + ".capacity_gib", false, 1e-3, 1e9);
  m.pj_per_bit = number(c, n["pj_per_bit"], key + ".pj_per_bit", false, 0, 1e6);
  if (n["technology"]) m.technology = text(c, n["technology"], key + ".technology");
  return m;
}

const std::vector<std::string>& codebook_names() {
  static const std::vector<std::string> v = {"nf4", "nf3", "nf2", "fp4", "e2m1", "int4sym", "lloyd4"};
  return v;
}

bool is_name_char(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; }

}  // namespace

const char* axis_key(int axis) { return kAxisKeys[axis]; }
const char* axis_name(int axis) { return kAxisNames[axis]; }

const std::vector<std::string>& quantity_names() {
  static const std::vector<std::string> v = {
      // axes and what follows from them alone
      "lanes", "block_max", "bits_max", "div_sps", "clock_ghz", "buffer_kib", "bandwidth_gbs", "capacity_gib",
      "pj_per_bit", "bits", "block", "elem_bits", "context", "gen", "layers", "heads", "kv_heads", "head_dim",
      // area
      "transistors", "area_mm2",
      // quality
      "rel_mse", "sqnr_db", "bits_per_element",
      // analytic
      "batch", "cycles_per_layer", "mac_cycles", "tokens_per_s", "tpot_s", "max_batch", "max_context", "host_step_s",
      "accel_step_s",
      // energy
      "energy_pj_per_token"};
  return v;
}

int quantity_stage(const std::string& name) {
  const auto& v = quantity_names();
  const auto it = std::find(v.begin(), v.end(), name);
  if (it == v.end()) return -1;
  const size_t i = static_cast<size_t>(it - v.begin());
  if (i < 18) return kStageAxes;
  if (i < 20) return kStageArea;
  if (i < 23) return kStageQuality;
  if (i < 32) return kStageAnalytic;
  return kStageEnergy;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t bd = 4;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < bd) bd = d, best = c;
  }
  return best;
}

Constraint parse_constraint(const std::string& text, const std::string& where) {
  Constraint con;
  con.text = text;
  size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto operand = [&](std::string& name, double& num) {
    skip();
    const size_t s = i;
    if (i < text.size() && (std::isalpha(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
      while (i < text.size() && is_name_char(text[i])) ++i;
      name = text.substr(s, i - s);
      if (quantity_stage(name) < 0) {
        const std::string m = did_you_mean(name, quantity_names());
        throw InputError(where + "unknown quantity '" + name + "' in '" + text + "'" +
                         (m.empty() ? "" : "; did you mean '" + m + "'?"));
      }
      con.stage = std::max(con.stage, quantity_stage(name));
      return;
    }
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '.' || text[i] == '-' ||
                               text[i] == '+'))
      ++i;
    if (!parse_number(text.substr(s, i - s), num))
      throw InputError(where + "expected a quantity name or a number at '" + text.substr(s) + "' in '" + text + "'");
  };
  for (;;) {
    Clause c;
    operand(c.lhs, c.lhs_num);
    skip();
    const std::string two = text.substr(i, 2);
    if (two == "<=") c.op = Clause::LE, i += 2;
    else if (two == ">=") c.op = Clause::GE, i += 2;
    else if (two == "==") c.op = Clause::EQ, i += 2;
    else if (two == "!=") c.op = Clause::NE, i += 2;
    else if (two.size() >= 1 && two[0] == '<') c.op = Clause::LT, i += 1;
    else if (two.size() >= 1 && two[0] == '>') c.op = Clause::GT, i += 1;
    else throw InputError(where + "expected one of <= < >= > == != in '" + text + "'");
    operand(c.rhs, c.rhs_num);
    con.clauses.push_back(c);
    skip();
    if (i == text.size()) break;
    if (text.compare(i, 3, "and") == 0 && (i + 3 == text.size() || !is_name_char(text[i + 3]))) {
      i += 3;
      continue;
    }
    throw InputError(where + "expected 'and' or the end at '" + text.substr(i) + "' in '" + text + "'");
  }
  return con;
}

Objective parse_objective(const std::string& text, const std::string& where) {
  std::istringstream is(text);
  std::string dir, metric, rest;
  is >> dir >> metric >> rest;
  static const std::vector<std::string> metrics = {"tokens_per_s", "tpot_s",  "energy_pj_per_token", "area_mm2",
                                                   "transistors",  "rel_mse", "sqnr_db",             "max_batch",
                                                   "max_context"};
  if ((dir != "max" && dir != "min") || metric.empty() || !rest.empty())
    throw InputError(where + "expected 'max METRIC' or 'min METRIC', got '" + text + "'");
  if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) {
    const std::string m = did_you_mean(metric, metrics);
    throw InputError(where + "unknown metric '" + metric + "'" + (m.empty() ? "" : "; did you mean '" + m + "'?"));
  }
  return {metric, dir == "max"};
}

uint64_t Spec::grid_size() const {
  uint64_t n = 1;
  for (const auto& a : axes) {
    const uint64_t s = a.size();
    if (s != 0 && n > UINT64_MAX / s) return UINT64_MAX;
    n *= s;
  }
  return n;
}

Spec parse_spec(const std::string& content, const std::string& origin) {
  const Ctx c{origin};
  YAML::Node root;
  try {
    root = YAML::Load(content);
  } catch (const YAML::Exception& e) {
    throw InputError(origin + ": line " + std::to_string(e.mark.line + 1) + ": not valid YAML/JSON: " + e.msg);
  }
  if (!root || root.IsNull()) throw InputError(origin + ": empty spec (expected 'version: 1' and the axes)");
  Spec s;
  s.path = origin;
  s.sha256 = io::sha256_hex(content);
  s.text = content;
  try {
    check_keys(c, root, "",
               {"version", "name", "description", "hardware", "system", "format", "workload", "constraints",
                "objectives", "strategy", "seed", "evaluators"});
    if (!root["version"]) c.fail("version", "missing (this nqkv reads 'version: 1')");
    if (!root["version"].IsScalar() || root["version"].Scalar() != "1")
      c.fail("version", "unsupported version " + scalar_text(root["version"]) + " (this nqkv reads version 1)");
    if (root["name"]) s.name = text(c, root["name"], "name");
    for (char ch : s.name)
      if (!is_name_char(ch) && ch != '-' && ch != '.') c.fail("name", "letters, digits, '_', '-' and '.' only");

    auto& A = s.axes;
    A[kLanes].num = {16};
    A[kBlockMax].num = {256};
    A[kBitsMax].num = {4};
    A[kDivSps].num = {4};
    A[kClockGhz].num = {1.0};
    A[kBufferKib].num = {256};
    A[kMemory].mem = {default_memory()};
    A[kCodebook].str = {"nf4"};
    A[kBlock].num = {64};
    A[kElem].str = {"f16"};
    A[kModel].str = {"llama-3-8b"};
    A[kContext].num = {2048};
    A[kBatch].num = {1};
    A[kGen].num = {256};
    if (const auto hw = root["hardware"]) {
      check_keys(c, hw, "hardware", {"lanes", "block_max", "bits_max", "div_sps"});
      if (hw["lanes"]) A[kLanes].num = numeric_axis(c, hw["lanes"], "hardware.lanes", true, 1, 1024);
      if (hw["block_max"]) A[kBlockMax].num = numeric_axis(c, hw["block_max"], "hardware.block_max", true, 1, 65536);
      if (hw["bits_max"]) A[kBitsMax].num = numeric_axis(c, hw["bits_max"], "hardware.bits_max", true, 1, 8);
      if (hw["div_sps"]) A[kDivSps].num = numeric_axis(c, hw["div_sps"], "hardware.div_sps", true, 1, 24);
    }
    if (const auto sys = root["system"]) {
      check_keys(c, sys, "system", {"clock_ghz", "buffer_kib", "memory", "host", "overlap"});
      if (sys["host"]) s.host = text(c, sys["host"], "system.host");  // resolved (and checked) by the Study
      if (sys["overlap"]) {
        const std::string o = text(c, sys["overlap"], "system.overlap");
        if (o != "none" && o != "full") c.fail("system.overlap", "expected none or full, got '" + o + "'");
        s.overlap = o == "full";
      }
      if (sys["clock_ghz"]) A[kClockGhz].num = numeric_axis(c, sys["clock_ghz"], "system.clock_ghz", false, 1e-3, 100);
      if (sys["buffer_kib"]) A[kBufferKib].num = numeric_axis(c, sys["buffer_kib"], "system.buffer_kib", false, 1, 1 << 20);
      if (const auto m = sys["memory"]) {
        A[kMemory].mem.clear();
        if (m.IsMap()) {
          A[kMemory].mem.push_back(memory_object(c, m, "system.memory"));
        } else if (m.IsSequence()) {
          if (m.size() == 0) c.fail("system.memory", "empty axis (give at least one memory)");
          for (size_t i = 0; i < m.size(); ++i)
            A[kMemory].mem.push_back(memory_object(c, m[i], "system.memory[" + std::to_string(i) + "]"));
        } else {
          c.fail("system.memory", "expected a memory {name, bandwidth_gbs, capacity_gib, pj_per_bit} or a list of them, got " +
                                      scalar_text(m));
        }
      }
    }
    if (const auto f = root["format"]) {
      check_keys(c, f, "format", {"codebook", "block", "elem"});
      if (f["codebook"]) A[kCodebook].str = string_axis(c, f["codebook"], "format.codebook", codebook_names());
      if (f["block"]) A[kBlock].num = numeric_axis(c, f["block"], "format.block", true, 8, 65536);
      if (f["elem"]) A[kElem].str = string_axis(c, f["elem"], "format.elem", {"f16", "bf16"});
    }
    if (const auto w = root["workload"]) {
      check_keys(c, w, "workload", {"model", "context", "batch", "gen"});
      if (w["model"]) A[kModel].str = string_axis(c, w["model"], "workload.model", {});
      if (w["context"]) A[kContext].num = numeric_axis(c, w["context"], "workload.context", true, 2, 1 << 24);
      if (w["batch"]) A[kBatch].num = numeric_axis(c, w["batch"], "workload.batch", true, 1, 1 << 20, true);
      if (w["gen"]) A[kGen].num = numeric_axis(c, w["gen"], "workload.gen", true, 1, 1 << 24);
    }
    if (const auto cs = root["constraints"]) {
      if (cs.IsScalar()) {
        s.constraints.push_back(parse_constraint(cs.Scalar(), c.at("constraints")));
      } else if (cs.IsSequence()) {
        for (size_t i = 0; i < cs.size(); ++i) {
          const std::string k = "constraints[" + std::to_string(i) + "]";
          s.constraints.push_back(parse_constraint(text(c, cs[i], k), c.at(k)));
        }
      } else {
        c.fail("constraints", "expected a list of expressions such as 'block <= block_max'");
      }
    }
    if (const auto os = root["objectives"]) {
      if (os.IsScalar()) {
        s.objectives.push_back(parse_objective(os.Scalar(), c.at("objectives")));
      } else if (os.IsSequence() && os.size() > 0) {
        for (size_t i = 0; i < os.size(); ++i) {
          const std::string k = "objectives[" + std::to_string(i) + "]";
          s.objectives.push_back(parse_objective(text(c, os[i], k), c.at(k)));
        }
      } else {
        c.fail("objectives", "expected a list such as ['max tokens_per_s', 'min area_mm2']");
      }
    } else {
      s.objectives = {{"tokens_per_s", true}, {"area_mm2", false}, {"rel_mse", false}};
    }
    if (root["seed"]) s.seed = static_cast<uint64_t>(number(c, root["seed"], "seed", true, 0, 9007199254740992.0));
    if (const auto st = root["strategy"]) {
      const std::string v = text(c, st, "strategy");
      if (v == "grid") {
        s.random = false;
      } else if (v.rfind("random:", 0) == 0) {
        double n = 0;
        if (!parse_number(v.substr(7), n) || n != std::floor(n) || n < 1 || n > 1e9)
          c.fail("strategy", "random:N needs N in 1..1000000000, got '" + v + "'");
        s.random = true;
        s.random_points = static_cast<uint64_t>(n);
      } else {
        c.fail("strategy", "expected 'grid' or 'random:N', got '" + v + "'");
      }
    }
    if (const auto ev = root["evaluators"]) {
      check_keys(c, ev, "evaluators", {"quality", "area", "energy"});
      if (const auto e = ev["energy"]) {
        check_keys(c, e, "evaluators.energy", {"enabled", "weights"});
        if (e["enabled"]) s.energy = number(c, e["enabled"], "evaluators.energy.enabled", true, 0, 1) != 0;
        if (e["weights"]) s.energy_weights = number(c, e["weights"], "evaluators.energy.weights", true, 0, 1) != 0;
      }
      if (const auto q = ev["quality"]) {
        check_keys(c, q, "evaluators.quality", {"enabled", "elements"});
        if (q["enabled"]) s.quality = number(c, q["enabled"], "evaluators.quality.enabled", true, 0, 1) != 0;
        if (q["elements"])
          s.quality_elements = static_cast<int64_t>(number(c, q["elements"], "evaluators.quality.elements", true, 1024, 1 << 26));
      }
      if (const auto a = ev["area"]) {
        check_keys(c, a, "evaluators.area", {"enabled", "script", "timeout_s", "memory_mib", "liberty", "sram_um2_per_bit"});
        if (a["enabled"]) s.area = number(c, a["enabled"], "evaluators.area.enabled", true, 0, 1) != 0;
        if (a["liberty"]) {
          s.area_liberty = text(c, a["liberty"], "evaluators.area.liberty");
          s.area_script = "tools/area/nqkv_area_liberty.py";
        }
        if (a["script"]) s.area_script = text(c, a["script"], "evaluators.area.script");
        if (a["sram_um2_per_bit"])
          s.sram_um2_per_bit = number(c, a["sram_um2_per_bit"], "evaluators.area.sram_um2_per_bit", false, 1e-6, 1e3);
        if (a["timeout_s"]) s.area_timeout_s = number(c, a["timeout_s"], "evaluators.area.timeout_s", false, 0.1, 1e6);
        if (a["memory_mib"]) s.area_memory_mib = number(c, a["memory_mib"], "evaluators.area.memory_mib", false, 16, 1 << 24);
      }
    }
  } catch (const YAML::Exception& e) {
    throw InputError(origin + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (s.grid_size() > (uint64_t{1} << 40))
    throw InputError(origin + ": axes: the grid has more than 2^40 points; narrow the axes or use strategy random:N");
  return s;
}

Spec load_spec(const std::string& path) {
  io::check_input_file(path, "spec", io::kMaxJsonFileBytes);
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  if (!f && !f.eof()) throw InputError(path + ": cannot read the spec");
  return parse_spec(ss.str(), path);
}

}  // namespace nqkv::dse
