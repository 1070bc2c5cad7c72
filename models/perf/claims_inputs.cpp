#include "models/perf/claims_inputs.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/error.hpp"

namespace nqkv::perf {
namespace {

nlohmann::json parse_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path + ": not valid JSON (" + e.what() + ")");
  }
}

double need_number(const std::string& path, const nlohmann::json& o, const char* field, const std::string& where) {
  if (!o.contains(field) || !o[field].is_number())
    throw InputError(path + ": " + where + ": missing or non-numeric field '" + field + "'");
  return o[field].get<double>();
}

}  // namespace

ClaimsReportInputs read_claims_inputs(const std::string& path) {
  const nlohmann::json j = parse_file(path);
  if (!j.is_object()) throw InputError(path + ": expected an object {\"sdpa_runs\": [...], ...}");
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  auto resolve = [&](const nlohmann::json& v, const std::string& field) {
    if (!v.is_string()) throw InputError(path + ": field '" + field + "' must be a path (string)");
    const std::filesystem::path p = v.get<std::string>();
    return (p.is_absolute() ? p : dir / p).lexically_normal().string();
  };
  ClaimsReportInputs in;
  in.inputs_file = path;
  if (j.contains("hardware")) {
    if (!j["hardware"].is_string()) throw InputError(path + ": field 'hardware' must be a hardware-table name");
    in.hardware = j["hardware"].get<std::string>();
  }
  if (j.contains("sdpa_runs")) {
    if (!j["sdpa_runs"].is_array()) throw InputError(path + ": field 'sdpa_runs' must be an array of paths");
    for (size_t i = 0; i < j["sdpa_runs"].size(); ++i)
      in.sdpa_jsons.push_back(resolve(j["sdpa_runs"][i], "sdpa_runs[" + std::to_string(i) + "]"));
  }
  if (j.contains("gpu_bench")) in.gpu_bench_json = resolve(j["gpu_bench"], "gpu_bench");
  if (j.contains("rtl_cycles")) in.rtl_cycles_json = resolve(j["rtl_cycles"], "rtl_cycles");
  return in;
}

std::vector<SdpaCase> read_sdpa_run(const std::string& path, SdpaRun& run) {
  const nlohmann::json j = parse_file(path);
  if (!j.contains("copy") || !j["copy"].is_object()) throw InputError(path + ": missing field 'copy'");
  if (!j.contains("cases") || !j["cases"].is_array()) throw InputError(path + ": missing field 'cases'");
  run.path = path;
  run.device = j.value("device", std::string("?"));
  run.torch = j.value("torch", std::string("?"));
  run.source = j.value("source", std::string());
  run.copy_bandwidth = need_number(path, j["copy"], "bandwidth_bytes_per_s", "copy");
  std::vector<SdpaCase> out;
  for (size_t i = 0; i < j["cases"].size(); ++i) {
    const auto& c = j["cases"][i];
    const std::string where = "cases[" + std::to_string(i) + "]";
    SdpaCase r;
    r.batch = static_cast<int64_t>(need_number(path, c, "batch", where));
    r.q_heads = static_cast<int64_t>(need_number(path, c, "q_heads", where));
    r.kv_heads = static_cast<int64_t>(need_number(path, c, "kv_heads", where));
    r.tokens = static_cast<int64_t>(need_number(path, c, "tokens", where));
    r.head_dim = static_cast<int64_t>(need_number(path, c, "head_dim", where));
    r.median_s = need_number(path, c, "median_ms", where) * 1e-3;
    r.gqa_mode = c.value("gqa_mode", std::string("?"));
    r.p10_s = c.value("p10_ms", 0.0) * 1e-3;
    r.p90_s = c.value("p90_ms", 0.0) * 1e-3;
    out.push_back(r);
  }
  run.cases = out.size();
  return out;
}

std::vector<GbenchDecodeRow> read_gbench_decode(const std::string& path) {
  const nlohmann::json j = parse_file(path);
  if (!j.contains("benchmarks") || !j["benchmarks"].is_array()) throw InputError(path + ": missing field 'benchmarks'");
  auto is_median = [](const nlohmann::json& b) {
    return b.value("run_type", std::string()) == "aggregate" && b.value("aggregate_name", std::string()) == "median";
  };
  // Prefer the median aggregate when the run has repetitions; else the single iteration row.
  const bool have_median = std::any_of(j["benchmarks"].begin(), j["benchmarks"].end(), is_median);
  std::vector<std::string> seen;
  std::vector<GbenchDecodeRow> out;
  for (const auto& b : j["benchmarks"]) {
    const std::string name = b.value("name", std::string());
    if (name.rfind("BM_DecodeAttention/", 0) != 0) continue;
    if (have_median ? !is_median(b) : b.value("run_type", std::string("iteration")) != "iteration") continue;
    const std::string run = b.value("run_name", name);
    if (std::find(seen.begin(), seen.end(), run) != seen.end()) continue;
    seen.push_back(run);
    auto field = [&](const std::string& key) -> int64_t {
      const auto pos = name.find("/" + key + ":");
      if (pos == std::string::npos) throw InputError(path + ": benchmark '" + name + "' has no '" + key + "' argument");
      return std::stoll(name.substr(pos + key.size() + 2));
    };
    GbenchDecodeRow r;
    r.batch = field("B"), r.q_heads = field("Hq"), r.kv_heads = field("Hkv"), r.head_dim = field("D");
    r.tokens = field("T"), r.block = field("blk"), r.bits = field("bits");
    // Launch-inclusive, like the SDPA runs' median_ms: bench_cuda's sync_us (its median_us is the
    // queued GPU time since session 3; files from before have only median_us, launch-inclusive then).
    const char* key = b.contains("sync_us") ? "sync_us" : "median_us";
    if (b.contains(key) && b[key].is_number()) {
      r.measured_s = b[key].get<double>() * 1e-6;
    } else {
      const std::string unit = b.value("time_unit", std::string("ns"));
      const double scale = unit == "s" ? 1 : unit == "ms" ? 1e-3 : unit == "us" ? 1e-6 : 1e-9;
      r.measured_s = b.value("real_time", 0.0) * scale;
    }
    out.push_back(r);
  }
  return out;
}

std::vector<RtlCycleCase> read_rtl_cycles(const std::string& path) {
  const nlohmann::json doc = parse_file(path);
  const nlohmann::json meas = doc.is_object() && doc.contains("cases") ? doc["cases"] : doc;
  if (!meas.is_array()) throw InputError(path + ": expected {\"cases\": [...]} or an array of cases");
  std::vector<RtlCycleCase> out;
  for (size_t i = 0; i < meas.size(); ++i) {
    const auto& c = meas[i];
    auto num = [&](const char* k) -> int64_t {
      if (!c.contains(k) || !c[k].is_number())
        throw InputError(path + ": case " + std::to_string(i) + ": missing or non-numeric field '" + k + "'");
      return c[k].get<int64_t>();
    };
    RtlCycleCase r;
    r.lanes = num("lanes"), r.q_heads = num("q_heads"), r.kv_heads = num("kv_heads"), r.head_dim = num("head_dim");
    r.context = num("context"), r.block = num("block");
    r.mac_cycles = num("mac_cycles"), r.quant_cycles = num("quant_cycles"), r.quant_elements = num("quant_elements");
    r.quant_runs = c.value("quant_runs", int64_t{2});
    r.codebook = c.value("codebook", std::string("nf4"));
    out.push_back(r);
  }
  return out;
}

}  // namespace nqkv::perf
