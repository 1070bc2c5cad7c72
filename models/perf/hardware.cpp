#include "models/perf/hardware.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/error.hpp"
#include "io/sizes.hpp"

namespace nqkv::perf {
namespace {

constexpr double GiB = 1073741824.0;

// Capacity is the datasheet figure taken as GiB of physical DRAM (HBM and GDDR parts are built from
// power-of-two dies); what the driver, the CUDA context and non-torch allocations take out of it
// is the memory model's fixed reserve, not hidden here. Rates are dense (no 2:4 sparsity).
Hardware gpu(const char* name, double mem_gib, double bw_gbs, double fp16_tf, double int8_tops, double fp32_tf,
             const char* source) {
  Hardware h;
  h.name = name;
  h.source = source;
  h.mem_bytes = mem_gib * GiB;
  h.mem_bw = bw_gbs * 1e9;
  h.fp16_flops = fp16_tf * 1e12;
  h.int8_ops = int8_tops * 1e12;
  h.fp32_flops = fp32_tf * 1e12;
  return h;
}

// SM counts: the same datasheets / whitepapers (A100 SXM4 108, H100 SXM5 132, H200 SXM 132 (GH100 as
// H100 SXM5), L4 58, RTX 4090 128); cuda_name is what cudaGetDeviceProperties reports for the part.
Hardware with_sms(Hardware h, int sms, const char* cuda_name) {
  h.sms = sms;
  h.cuda_name = cuda_name;
  return h;
}

std::vector<Hardware> build() {
  std::vector<Hardware> v;
  // NVIDIA A100 Tensor Core GPU datasheet (nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/
  // pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf), SXM columns: 40 GB HBM2 at 1,555 GB/s,
  // 80 GB HBM2e at 2,039 GB/s; FP16/BF16 tensor 312 TFLOPS, INT8 624 TOPS, FP32 19.5 TFLOPS.
  v.push_back(with_sms(gpu("a100-40gb", 40, 1555, 312, 624, 19.5, "NVIDIA A100 datasheet (SXM4 40GB)"), 108, "NVIDIA A100-SXM4-40GB"));
  v.push_back(with_sms(gpu("a100-80gb", 80, 2039, 312, 624, 19.5, "NVIDIA A100 datasheet (SXM4 80GB)"), 108, "NVIDIA A100-SXM4-80GB"));
  // NVIDIA H100 Tensor Core GPU datasheet, H100 SXM: 80 GB HBM3 at 3.35 TB/s; FP16/BF16 tensor
  // 1,979 TFLOPS with sparsity = 989.4 dense; INT8 3,958 TOPS sparse = 1,979 dense; FP32 67 TFLOPS.
  // (The Hopper whitepaper table gives 989.4 / 1978.9 / 66.9.)
  v.push_back(with_sms(gpu("h100-80gb", 80, 3350, 989.4, 1978.9, 66.9, "NVIDIA H100 datasheet (SXM5 80GB)"), 132, "NVIDIA H100 80GB HBM3"));
  // NVIDIA H200 Tensor Core GPU datasheet, H200 SXM: 141 GB HBM3e at 4.8 TB/s; same GH100 compute as
  // H100 SXM (FP16/BF16 1,979 TFLOPS sparse, INT8 3,958 TOPS sparse, FP32 67 TFLOPS).
  v.push_back(with_sms(gpu("h200", 141, 4800, 989.4, 1978.9, 66.9, "NVIDIA H200 datasheet (SXM 141GB)"), 132, "NVIDIA H200"));
  // NVIDIA L4 Tensor Core GPU datasheet: 24 GB GDDR6 at 300 GB/s; FP16 tensor 242 TFLOPS sparse =
  // 121 dense; INT8 485 TOPS sparse = 242.5 dense; FP32 30.3 TFLOPS.
  v.push_back(with_sms(gpu("l4", 24, 300, 121, 242.5, 30.3, "NVIDIA L4 datasheet"), 58, "NVIDIA L4"));
  // NVIDIA Ada Lovelace architecture whitepaper v2.1, Appendix A (GeForce RTX 4090): 24 GB GDDR6X at
  // 1,008 GB/s; FP16 tensor with FP32 accumulate 165.2 TFLOPS dense (the 330.3 figure is FP16
  // accumulate, which PyTorch does not use); INT8 tensor 660.6 TOPS dense; FP32 82.6 TFLOPS.
  v.push_back(with_sms(gpu("rtx-4090", 24, 1008, 165.2, 660.6, 82.6, "NVIDIA Ada Lovelace architecture whitepaper"), 128, "NVIDIA GeForce RTX 4090"));
  v.push_back(make_accelerator("nqkv-accel", AcceleratorParams{}));
  return v;
}

std::vector<Hardware>& registry() {
  static std::vector<Hardware> v = build();
  return v;
}

double positive_number(const nlohmann::json& j, const char* field, const std::string& where, bool required,
                       double fallback) {
  if (!j.contains(field)) {
    if (required) throw InputError(where + ": missing field '" + field + "'");
    return fallback;
  }
  const auto& v = j.at(field);
  if (!v.is_number())
    throw InputError(where + ": field '" + field + "' must be a positive number, got " + v.dump());
  const double x = v.get<double>();
  // At most 1e9 in the field's unit (GiB, GB/s, TFLOPS, MHz, KiB): absurd, but every figure
  // derived from it stays finite.
  if (!(x > 0) || !(x <= 1e9))
    throw InputError(where + ": field '" + field + "' must be a positive number up to 1e9, got " + v.dump());
  return x;
}

}  // namespace

const Hardware* find_hardware_by_cuda_name(const std::string& cuda_name) {
  for (const auto& h : registry())
    if (!h.cuda_name.empty() && h.cuda_name == cuda_name) return &h;
  return nullptr;
}

Hardware make_accelerator(const std::string& name, const AcceleratorParams& p) {
  Hardware h;
  h.name = name;
  h.source = "modeled NQKV accelerator (parameters, docs/perf-model.md section 5)";
  h.accelerator = true;
  h.accel = p;
  h.mem_bytes = p.mem_bytes;
  h.mem_bw = p.mem_bw;
  // One MAC = 2 FLOPs per lane per cycle; the same lanes serve int8 codes and the fp32 epilogue.
  h.fp16_flops = 2.0 * p.lanes * p.clock_hz;
  h.int8_ops = 2.0 * p.lanes * p.clock_hz;
  h.fp32_flops = 1.0 * p.lanes * p.clock_hz;
  return h;
}

const std::vector<Hardware>& builtin_hardware() { return registry(); }

void register_hardware(const Hardware& hw) {
  for (auto& h : registry())
    if (h.name == hw.name) {
      h = hw;
      return;
    }
  registry().push_back(hw);
}

const Hardware& find_hardware(const std::string& name) {
  std::string known;
  for (const auto& h : registry()) {
    if (h.name == name) return h;
    known += (known.empty() ? "" : ", ") + h.name;
  }
  throw InputError("unknown GPU '" + name + "' (known: " + known + "; or define it with --hw-file)");
}

std::vector<Hardware> parse_hardware_json(const std::string& text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    throw InputError(origin + ": not valid JSON (" + e.what() + ")");
  }
  std::vector<nlohmann::json> entries;
  if (j.is_object() && j.contains("hardware")) {
    if (!j["hardware"].is_array()) throw InputError(origin + ": field 'hardware' must be an array");
    for (const auto& e : j["hardware"]) entries.push_back(e);
  } else if (j.is_object()) {
    entries.push_back(j);
  } else {
    throw InputError(origin + ": expected an object or {\"hardware\": [...]}");
  }
  std::vector<Hardware> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const std::string where = origin + ": hardware[" + std::to_string(i) + "]";
    if (!e.is_object()) throw InputError(where + ": expected an object");
    if (!e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty())
      throw InputError(where + ": missing field 'name'");
    const std::string name = e["name"].get<std::string>();
    const std::string w = where + " ('" + name + "')";
    if (e.contains("accelerator")) {
      const auto& a = e["accelerator"];
      if (!a.is_object()) throw InputError(w + ": field 'accelerator' must be an object");
      AcceleratorParams p;
      p.lanes = static_cast<int>(io::checked_integer(positive_number(a, "lanes", w, true, 0), 1, 65536, w + ": field 'lanes'"));
      p.clock_hz = positive_number(a, "clock_mhz", w, true, 0) * 1e6;
      p.mem_bw = positive_number(a, "bandwidth_gb_s", w, true, 0) * 1e9;
      p.buffer_bytes = positive_number(a, "buffer_kib", w, false, p.buffer_bytes / 1024) * 1024;
      p.mem_bytes = positive_number(a, "memory_gib", w, false, p.mem_bytes / 1073741824.0) * 1073741824.0;
      Hardware h = make_accelerator(name, p);
      h.source = origin;
      out.push_back(h);
      continue;
    }
    Hardware h;
    h.name = name;
    h.source = e.contains("source") && e["source"].is_string() ? e["source"].get<std::string>() : origin;
    h.mem_bytes = positive_number(e, "memory_gib", w, true, 0) * 1073741824.0;
    h.mem_bw = positive_number(e, "bandwidth_gb_s", w, true, 0) * 1e9;
    h.fp16_flops = positive_number(e, "fp16_tflops", w, true, 0) * 1e12;
    h.int8_ops = positive_number(e, "int8_tops", w, false, h.fp16_flops / 1e12 * 2) * 1e12;
    // Without a figure, assume the CUDA-core fp32 rate is 1/8 of the tensor rate (roughly the
    // Ampere/Hopper ratio is 1/16 to 1/15; Ada 1/2): dequantization cost is then visible, not zero.
    h.fp32_flops = positive_number(e, "fp32_tflops", w, false, h.fp16_flops / 1e12 / 8) * 1e12;
    out.push_back(h);
  }
  return out;
}

std::vector<Hardware> load_hardware_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read hardware file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  auto v = parse_hardware_json(ss.str(), path);
  for (const auto& h : v) register_hardware(h);
  return v;
}

}  // namespace nqkv::perf
