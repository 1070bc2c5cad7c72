#include "models/dse/engine.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"
#include "golden/quality.hpp"
#include "golden/rng.hpp"
#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/plot.hpp"
#include "io/sha256.hpp"
#include "models/accel/accel_config.hpp"
#include "models/dse/child.hpp"
#include "models/dse/energy.hpp"
#include "models/dse/mpi_pool.hpp"
#include "models/perf/hardware.hpp"
#include "models/perf/memory_model.hpp"
#include "models/perf/time_model.hpp"
#include "workloads/synthetic_kv.hpp"

#ifndef NQKV_SOURCE_DIR
#define NQKV_SOURCE_DIR "."
#endif

namespace nqkv::dse {
namespace fs = std::filesystem;

namespace {

constexpr const char* kToolVersion = "nqkv-dse 1";
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path + ": cannot read");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A stage-cache entry: true with its JSON when the file exists and parses (a damaged entry counts as
// absent: it is recomputed and replaced).
bool load_cached(const std::string& path, nlohmann::json& j) {
  if (!fs::is_regular_file(path)) return false;
  try {
    j = nlohmann::json::parse(read_file(path));
    return true;
  } catch (...) {
    return false;
  }
}

// The RTL file list (rtl/nqkv_rtl.f), every source it lists and every include (.svh), concatenated:
// what the keys of synthesis and of on-demand Verilator builds hash.
// with_list false: the sources and includes alone (what tools/area/nqkv_area.py's own cache key hashes).
std::string rtl_sources_text(bool with_list = true) {
  std::string h;
  const std::string rtl = std::string(NQKV_SOURCE_DIR) + "/rtl";
  if (!fs::is_regular_file(rtl + "/nqkv_rtl.f")) return h;
  const std::string list = read_file(rtl + "/nqkv_rtl.f");
  if (with_list) h += list;
  std::istringstream is(list);
  std::string l;
  while (std::getline(is, l)) {
    l.erase(0, l.find_first_not_of(" \t"));
    l.erase(l.find_last_not_of(" \t\r") + 1);
    if (l.empty() || l[0] == '#' || l.rfind("//", 0) == 0) continue;
    if (fs::is_regular_file(rtl + "/" + l)) h += read_file(rtl + "/" + l);
  }
  std::vector<std::string> inc;
  for (const auto& e : fs::directory_iterator(rtl))
    if (e.path().extension() == ".svh") inc.push_back(e.path().string());
  std::sort(inc.begin(), inc.end());
  for (const auto& p : inc) h += read_file(p);
  return h;
}

int codebook_bits(const std::string& name) { return golden::codebook_by_name(name).bits; }

golden::ElemType elem_type(const std::string& s) { return s == "bf16" ? golden::ElemType::BF16 : golden::ElemType::F16; }

// One line out of a child's error tail: its last non-empty lines joined, at most 300 characters.
std::string one_line(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream is(s);
  std::string l;
  while (std::getline(is, l))
    if (l.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i) out += (out.empty() ? "" : " | ") + lines[i];
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '"' || c == ',') c = c == ',' ? ';' : ' ';
  return out.size() > 300 ? out.substr(out.size() - 300) : out;
}


uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool compare(double a, Clause::Op op, double b) {
  switch (op) {
    case Clause::LE: return a <= b;
    case Clause::LT: return a < b;
    case Clause::GE: return a >= b;
    case Clause::GT: return a > b;
    case Clause::EQ: return a == b;
    case Clause::NE: return a != b;
  }
  return false;
}

int quantity_index(const std::string& name) {
  const auto& v = quantity_names();
  return static_cast<int>(std::find(v.begin(), v.end(), name) - v.begin());
}

// Progress on stderr: a live bar on a terminal, a line every 10 s otherwise.
class Progress {
 public:
  Progress(bool on, std::string label, int64_t total) : on_(on && total > 0), label_(std::move(label)), total_(total) {
    if (!on_) return;
    tty_ = isatty(2) != 0;
    t0_ = std::chrono::steady_clock::now();
    th_ = std::thread([this] { loop(); });
  }
  ~Progress() { finish(); }
  void add(int64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }
  void finish() {
    if (!on_ || stopped_) return;
    stopped_ = true;
    stop_.store(true);
    th_.join();
    print(true);
  }

 private:
  void loop() {
    auto last = std::chrono::steady_clock::now();
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const auto now = std::chrono::steady_clock::now();
      if (tty_ || now - last >= std::chrono::seconds(10)) {
        print(false);
        last = now;
      }
    }
  }
  void print(bool final) {
    const int64_t d = done_.load();
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    const double rate = el > 0 ? d / el : 0;
    const double eta = rate > 0 ? (total_ - d) / rate : 0;
    const int w = 30, fill = static_cast<int>(w * static_cast<double>(d) / static_cast<double>(total_));
    const std::string bar = std::string(static_cast<size_t>(fill), '#') + std::string(static_cast<size_t>(w - fill), '.');
    const std::string rate_s = rate >= 10 ? fmt::format("{:.0f}/s", rate) : fmt::format("{:.2f}/s", rate);
    const std::string time_s = final ? fmt::format("took {:.1f} s", el)
                                     : d > 0 ? fmt::format("ETA {:.0f} s", eta) : fmt::format("{:.0f} s so far", el);
    const std::string line = fmt::format("nqkv dse: {:<8} [{}] {}/{} {} {}", label_, bar, d, total_, rate_s, time_s);
    if (tty_)
      std::fprintf(stderr, "\r%s%s", line.c_str(), final ? "\n" : "");
    else
      std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }
  bool on_, tty_ = false, stopped_ = false;
  std::string label_;
  int64_t total_;
  std::atomic<int64_t> done_{0};
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point t0_;
  std::thread th_;
};

// Runs f(i) for i in [0, n) on `jobs` threads, chunks of `chunk` handed out in order.
void parallel_for(int64_t n, int jobs, int64_t chunk, const std::function<void(int64_t, int64_t)>& f) {
  if (n <= 0) return;
  jobs = std::max(1, std::min<int>(jobs, static_cast<int>((n + chunk - 1) / chunk)));
  std::atomic<int64_t> next{0};
  std::exception_ptr err;
  std::mutex err_mu;
  auto work = [&] {
    try {
      for (;;) {
        const int64_t b = next.fetch_add(chunk);
        if (b >= n) break;
        f(b, std::min(n, b + chunk));
      }
    } catch (...) {
      std::lock_guard<std::mutex> lk(err_mu);
      if (!err) err = std::current_exception();
      next.store(n);
    }
  };
  std::vector<std::thread> ts;
  for (int j = 1; j < jobs; ++j) ts.emplace_back(work);
  work();
  for (auto& t : ts) t.join();
  if (err) std::rethrow_exception(err);
}

// CSV field quoting (RFC 4180) for strings that need it.
void csv_str(std::string& out, const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}
void json_str(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
    else out += static_cast<char>(c);
  }
  out += '"';
}
// Shortest round-trip text of a double (std::to_chars): the same bytes on every run and process.
void num(std::string& out, double v) {
  if (!std::isfinite(v)) return;
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}
void jnum(std::string& out, double v) {
  if (std::isfinite(v)) num(out, v);
  else out += "null";
}

}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::Pruned: return "pruned";
    case Status::Invalid: return "invalid";
    case Status::Infeasible: return "infeasible";
    case Status::Failed: return "failed";
  }
  return "?";
}

const char* AreaAssumptions::logic_source() {
  return "logic density 91.2 MTr/mm2: TSMC N7 (7 nm FinFET, HD cells), WikiChip 'TSMC 7 nm' page, "
         "from TSMC's disclosed 3.3x density over 16FF; applied to Yosys' generic-CMOS transistor count";
}
const char* AreaAssumptions::sram_source() {
  return "SRAM 0.027 um2/bit: TSMC N7 high-density 6T bit cell (Chang et al., 'A 7nm 256Mb SRAM in high-k "
         "metal-gate FinFET technology', ISSCC 2017); x2.0 array-to-macro overhead is an assumption";
}

const std::vector<EvaluatorInfo>& evaluators() {
  static const std::vector<EvaluatorInfo> v = {
      {"area", "yosys synth + stat -tech cmos (transistors); mm2 from a density table",
       "hardware.{lanes,block_max,bits_max,div_sps}, system.buffer_kib", "transistors, area_mm2",
       "one synthesis per distinct hardware set (minutes), cached"},
      {"quality", "golden library, bit-exact encode/decode on a seeded synthetic KV sample",
       "format.{codebook,block,elem}", "rel_mse, sqnr_db, bits_per_element", "milliseconds per distinct format"},
      {"analytic", "host weight step (models/perf roofline of system.host) + accelerator attention by its cycle "
                   "formulas (equal to the RTL's cycles)",
       "every axis, system.host, system.overlap",
       "cycles_per_layer, mac_cycles, tpot_s, tokens_per_s, host_step_s, accel_step_s, batch, max_batch, max_context",
       "microseconds per point"},
      {"perplexity", "nqkv eval on a llama2.c checkpoint (stories260K): golden decode attention over the quantized cache",
       "format.{codebook,block,elem} of the selected points", "ppl, ppl_delta_pct (vs the f32 cache)",
       "seconds per distinct format (nqkv dse perplexity OUT), cached"},
      {"energy", "models/dse/energy (sourced constant table), when built", "system.memory, buffer, format, workload",
       "energy_pj_per_token and its DRAM/SRAM/MAC-LUT/quantizer split", "microseconds per point"},
  };
  return v;
}

struct HostState {
  perf::Hardware hw;
};

struct Study::EnergyState {
  // One model per (memory, buffer size, BITS_MAX): the constants resolved once.
  std::vector<std::unique_ptr<EnergyModel>> models;
  std::vector<std::string> ids;  // every constant any model uses (energy_table.json)
  size_t index(const Spec& s, const std::array<uint32_t, kAxisCount>& idx) const {
    return (idx[kMemory] * s.axes[kBufferKib].size() + idx[kBufferKib]) * s.axes[kBitsMax].size() + idx[kBitsMax];
  }
};

struct CompiledClause {
  int l = -1, r = -1;
  double ln = 0, rn = 0;
  Clause::Op op = Clause::LE;
};
struct CompiledConstraint {
  int stage = 0;
  std::string text;
  std::vector<CompiledClause> clauses;
};
struct Study::Compiled {
  std::vector<CompiledConstraint> cons;
};

Study::Study(Spec spec, std::string cache_dir) : spec_(std::move(spec)), cache_dir_(std::move(cache_dir)) {
  const std::string& file = spec_.path;
  const auto& A = spec_.axes;
  for (size_t i = 0; i < A[kModel].str.size(); ++i) {
    try {
      models_.push_back(workloads::resolve_model(A[kModel].str[i]));
    } catch (const InputError& e) {
      throw InputError(file + ": workload.model" + (A[kModel].str.size() > 1 ? "[" + std::to_string(i) + "]" : "") +
                       ": " + e.what());
    }
  }
  {
    auto hs = std::make_shared<HostState>();
    std::vector<std::string> names;
    std::string known;
    for (const auto& h : perf::builtin_hardware()) {
      if (h.accelerator) continue;  // the host is a GPU/NPU entry; the accelerator is the point's own
      names.push_back(h.name);
      known += (known.empty() ? "" : ", ") + h.name;
      if (h.name == spec_.host) hs->hw = h;
    }
    if (hs->hw.name.empty()) {
      const std::string m = did_you_mean(spec_.host, names);
      throw InputError(file + ": system.host: unknown host '" + spec_.host + "'" +
                       (m.empty() ? " (known: " + known + ")" : "; did you mean '" + m + "'?"));
    }
    host_ = hs;
  }
  for (size_t i = 0; i < spec_.constraints.size(); ++i) {
    const int st = spec_.constraints[i].stage;
    const std::string where = file + ": constraints[" + std::to_string(i) + "]: ";
    if (st == kStageArea && !spec_.area)
      throw InputError(where + "'" + spec_.constraints[i].text + "' names an area quantity but evaluators.area is off");
    if (st == kStageQuality && !spec_.quality)
      throw InputError(where + "'" + spec_.constraints[i].text + "' names a quality quantity but evaluators.quality is off");
    if (st == kStageEnergy && !spec_.energy)
      throw InputError(where + "'" + spec_.constraints[i].text + "' names energy but evaluators.energy is off");
  }
  if (spec_.area) {
    area_script_ = fs::path(spec_.area_script).is_absolute() ? spec_.area_script
                                                             : std::string(NQKV_SOURCE_DIR) + "/" + spec_.area_script;
    if (!fs::is_regular_file(area_script_))
      throw InputError(file + ": evaluators.area.script: not found: " + area_script_);
    // The key of every area entry: the script, the RTL file list, every listed source and include;
    // with a Liberty file also the library's bytes and nqkv_area.py (which the Liberty script imports).
    std::string h = read_file(area_script_) + rtl_sources_text();
    if (!spec_.area_liberty.empty()) {
      area_liberty_ = spec_.area_liberty;
      if (!fs::is_regular_file(area_liberty_) && !fs::path(area_liberty_).is_absolute())
        area_liberty_ = std::string(NQKV_SOURCE_DIR) + "/" + spec_.area_liberty;
      if (!fs::is_regular_file(area_liberty_))
        throw InputError(file + ": evaluators.area.liberty: not found: " + spec_.area_liberty);
      area_liberty_ = fs::absolute(area_liberty_).string();
      const std::string base = std::string(NQKV_SOURCE_DIR) + "/tools/area/nqkv_area.py";
      h += "\nliberty\n" + read_file(area_liberty_) + (fs::is_regular_file(base) ? read_file(base) : std::string());
    }
    rtl_hash_ = io::sha256_hex(h);
  }
  if (spec_.energy) {
    auto es = std::make_shared<EnergyState>();
    const EnergyTable& table = EnergyTable::builtin();
    const auto techs = table.technologies();
    for (size_t mi = 0; mi < A[kMemory].mem.size(); ++mi) {
      const Memory& m = A[kMemory].mem[mi];
      const std::string tech = m.technology.empty() ? m.name : m.technology;
      if (std::find(techs.begin(), techs.end(), tech) == techs.end()) {
        std::string list;
        for (const auto& t : techs) list += (list.empty() ? "" : ", ") + t;
        throw InputError(file + ": system.memory" + (A[kMemory].mem.size() > 1 ? "[" + std::to_string(mi) + "]" : "") +
                         (m.technology.empty() ? ".name" : ".technology") + ": no DRAM energy entry for '" + tech +
                         "' in the energy table (known: " + list + "); set 'technology' or evaluators.energy.enabled: 0");
      }
      for (double kib : A[kBufferKib].num)
        for (double bm : A[kBitsMax].num) {
          try {
            es->models.push_back(std::make_unique<EnergyModel>(table, EnergyConfig{tech, kib * 1024.0, static_cast<int>(bm)}));
          } catch (const InputError& e) {
            throw InputError(file + ": system.buffer_kib: " + e.what());
          }
          for (const auto& id : es->models.back()->constant_ids()) es->ids.push_back(id);
        }
    }
    std::sort(es->ids.begin(), es->ids.end());
    es->ids.erase(std::unique(es->ids.begin(), es->ids.end()), es->ids.end());
    energy_ = es;
  }
  stride_[kAxisCount - 1] = 1;
  for (int a = kAxisCount - 2; a >= 0; --a) stride_[a] = stride_[a + 1] * A[a + 1].size();
  area_.resize(hw_count());
  area_once_.reset(new std::once_flag[hw_count()]);
  const size_t nfmt = A[kCodebook].size() * A[kBlock].size() * A[kElem].size();
  quality_.resize(nfmt);
  quality_once_.reset(new std::once_flag[nfmt]);

  auto c = std::make_shared<Study::Compiled>();
  for (const auto& con : spec_.constraints) {
    CompiledConstraint cc{con.stage, con.text, {}};
    for (const auto& cl : con.clauses)
      cc.clauses.push_back({cl.lhs.empty() ? -1 : quantity_index(cl.lhs), cl.rhs.empty() ? -1 : quantity_index(cl.rhs),
                            cl.lhs_num, cl.rhs_num, cl.op});
    c->cons.push_back(std::move(cc));
  }
  compiled_ = c;
}

std::string Study::tool_version() const { return kToolVersion; }
std::string Study::area_key_inputs() const { return rtl_hash_; }

uint64_t Study::grid_index(uint64_t id) const {
  if (!spec_.random) return id;
  return splitmix(spec_.seed * 0x2545f4914f6cdd1dull + splitmix(id)) % spec_.grid_size();
}

void Study::decode(uint64_t grid, std::array<uint32_t, kAxisCount>& idx) const {
  for (int a = 0; a < kAxisCount; ++a) {
    idx[a] = static_cast<uint32_t>(grid / stride_[a]);
    grid %= stride_[a];
  }
}

size_t Study::hw_count() const {
  const auto& A = spec_.axes;
  return A[kLanes].size() * A[kBlockMax].size() * A[kBitsMax].size() * A[kDivSps].size();
}

size_t Study::hw_index(const std::array<uint32_t, kAxisCount>& idx) const {
  const auto& A = spec_.axes;
  return ((idx[kLanes] * A[kBlockMax].size() + idx[kBlockMax]) * A[kBitsMax].size() + idx[kBitsMax]) * A[kDivSps].size() +
         idx[kDivSps];
}

namespace {
accel::AccelConfig hw_config(const Spec& s, size_t hw) {
  const auto& A = s.axes;
  accel::AccelConfig c;
  c.div_sps = static_cast<int>(A[kDivSps].num[hw % A[kDivSps].size()]);
  hw /= A[kDivSps].size();
  c.bits_max = static_cast<int>(A[kBitsMax].num[hw % A[kBitsMax].size()]);
  hw /= A[kBitsMax].size();
  c.block_max = static_cast<int>(A[kBlockMax].num[hw % A[kBlockMax].size()]);
  hw /= A[kBlockMax].size();
  c.lanes = static_cast<int>(A[kLanes].num[hw]);
  return c;
}
}  // namespace

std::string Study::hw_label(size_t hw) const {
  const auto c = hw_config(spec_, hw);
  return fmt::format("{},{},{},{},{},{}", c.lanes, c.block_max, c.bits_max, c.dmax, c.acc_w, c.div_sps);
}

std::string Study::area_key(size_t hw) const {
  if (!spec_.area) return "";
  return io::sha256_hex(std::string(kToolVersion) + "\narea\n" + rtl_hash_ + "\n" + hw_label(hw)).substr(0, 32);
}

bool Study::area_is_cached(size_t hw) const {
  return spec_.area && fs::is_regular_file(cache_dir_ + "/area/" + area_key(hw) + ".json");
}

bool Study::area_script_has(size_t hw) const {
  // tools/area/nqkv_area.py's cache_key(): SHA-256 of the RTL sources and includes, the parameters
  // as json.dumps(sort_keys=True) and its flow tag, first 16 hex digits; entries in reports/area/cache.
  if (!spec_.area || fs::path(area_script_).filename() != "nqkv_area.py" || !area_liberty_.empty()) return false;
  const auto c = hw_config(spec_, hw);
  const std::string params = fmt::format(
      "{{\"ACC_W\": {}, \"BITS_MAX\": {}, \"BLOCK_MAX\": {}, \"DIV_SPS\": {}, \"DMAX\": {}, \"LANES\": {}}}", c.acc_w,
      c.bits_max, c.block_max, c.div_sps, c.dmax, c.lanes);
  const std::string key =
      io::sha256_hex(rtl_sources_text(false) + params + "yosys-0.23 synth; abc -g cmos2; stat -tech cmos v2").substr(0, 16);
  return fs::is_regular_file(fs::path(area_script_).parent_path().parent_path().parent_path() / "reports" / "area" /
                             "cache" / (key + ".json"));
}

double Study::mean_cached_area_seconds() const {
  double sum = 0;
  int n = 0;
  std::error_code ec;
  if (!fs::is_directory(cache_dir_ + "/area", ec)) return 0;
  for (const auto& e : fs::directory_iterator(cache_dir_ + "/area", ec)) {
    try {
      const auto j = nlohmann::json::parse(read_file(e.path().string()));
      if (j.value("status", "") == "ok") sum += j.value("elapsed_s", 0.0), ++n;
    } catch (...) {
    }
  }
  return n ? sum / n : 0;
}

const AreaResult& Study::area(size_t hw) const {
  std::call_once(area_once_[hw], [&] {
    AreaResult& r = area_[hw];
    const accel::AccelConfig cfg = hw_config(spec_, hw);
    if (const std::string v = cfg.validate(); !v.empty()) {
      r.status = "invalid";
      r.error = v;
      return;
    }
    const std::string key = area_key(hw);
    const std::string path = cache_dir_ + "/area/" + key + ".json";
    if (fs::is_regular_file(path)) {
      try {
        const auto j = nlohmann::json::parse(read_file(path));
        r.status = j.at("status").get<std::string>();
        r.transistors = j.at("transistors").get<double>();
        r.area_um2 = j.value("area_um2", 0.0);
        r.elapsed_s = j.at("elapsed_s").get<double>();
        r.error = j.at("error").get<std::string>();
        r.cached = true;
        ++counters_.area_cached;
        return;
      } catch (...) {
        // A damaged entry is recomputed (and replaced).
      }
    }
    std::vector<std::string> argv = {"python3", area_script_, "--set", hw_label(hw), "--print-json"};
    if (!area_liberty_.empty()) argv.insert(argv.end(), {"--liberty", area_liberty_});
    const ChildResult c = run_child(argv, spec_.area_timeout_s, spec_.area_memory_mib);
    r.elapsed_s = c.elapsed_s;
    ++counters_.area_computed;
    if (c.status == "ok") {
      try {
        const auto j = nlohmann::json::parse(c.out);
        const auto& e = j.is_array() ? j.at(0) : j;
        r.transistors = e.at("total").at("transistors").get<double>();
        if (!area_liberty_.empty()) r.area_um2 = e.at("total").at("area_um2").get<double>();
        r.status = "ok";
      } catch (const std::exception& e) {
        r.status = "failed";
        r.error = std::string("area script output is not the expected JSON: ") + e.what();
      }
    } else {
      r.status = c.status;
      r.error = fmt::format("area script {} (exit {}): {}", c.status, c.exit_code, one_line(c.err_tail));
    }
    if (r.status != "ok") ++counters_.area_failed;
    if (r.status == "timeout") return;  // transient: not cached
    nlohmann::json j = {{"status", r.status},   {"transistors", r.transistors}, {"elapsed_s", r.elapsed_s},
                        {"error", r.error},     {"params", hw_label(hw)},       {"tool", kToolVersion},
                        {"script", area_script_}};
    if (!area_liberty_.empty()) j["area_um2"] = r.area_um2, j["liberty"] = area_liberty_;
    fs::create_directories(cache_dir_ + "/area");
    io::write_text_atomically(path, j.dump(1) + "\n");
  });
  return area_[hw];
}

std::string Study::export_area(const std::vector<size_t>& hws) const {
  nlohmann::json j = nlohmann::json::array();
  for (size_t hw : hws) {
    const AreaResult& r = area(hw);
    j.push_back({{"hw", hw}, {"status", r.status}, {"transistors", r.transistors}, {"area_um2", r.area_um2},
                 {"elapsed_s", r.elapsed_s}, {"error", r.error}, {"cached", r.cached}});
  }
  return j.dump();
}

void Study::import_area(const std::string& text) const {
  if (text.empty()) return;
  for (const auto& e : nlohmann::json::parse(text)) {
    const size_t hw = e.at("hw").get<size_t>();
    if (hw >= area_.size()) throw std::runtime_error("import_area: hardware set out of range");
    std::call_once(area_once_[hw], [&] {
      AreaResult& r = area_[hw];
      r.status = e.at("status").get<std::string>();
      r.transistors = e.at("transistors").get<double>();
      r.area_um2 = e.at("area_um2").get<double>();
      r.elapsed_s = e.at("elapsed_s").get<double>();
      r.error = e.at("error").get<std::string>();
      r.cached = e.at("cached").get<bool>();
    });
  }
}

const Study::QualityResult& Study::quality(size_t fmt) const {
  std::call_once(quality_once_[fmt], [&] {
    const auto& A = spec_.axes;
    const size_t ne = A[kElem].size(), nb = A[kBlock].size();
    const std::string& elem = A[kElem].str[fmt % ne];
    const int block = static_cast<int>(A[kBlock].num[(fmt / ne) % nb]);
    const std::string& cbn = A[kCodebook].str[fmt / ne / nb];
    workloads::KvShape s;
    s.layers = 1, s.q_heads = 8, s.kv_heads = 8, s.head_dim = 256;
    s.context = std::max<int64_t>(1, spec_.quality_elements / (2 * 8 * 256));
    const auto kv = workloads::synthetic_layer(s, 0, elem_type(elem), spec_.seed);
    std::vector<float> x(kv.k);
    x.insert(x.end(), kv.v.begin(), kv.v.end());
    x.resize(x.size() / static_cast<size_t>(block) * static_cast<size_t>(block));
    QualityResult& r = quality_[fmt];
    r.rel_mse = x.empty() ? kNaN : golden::codebook_rel_mse(golden::codebook_by_name(cbn), block, x);
    r.sqnr_db = -10.0 * std::log10(r.rel_mse);
    ++counters_.quality_computed;
  });
  return quality_[fmt];
}

bool Study::axes_pass(uint64_t id, Record& r) const {
  const auto& A = spec_.axes;
  r.id = id;
  r.grid = grid_index(id);
  decode(r.grid, r.idx);
  r.q.fill(kNaN);
  auto& q = r.q;
  q[qLanes] = A[kLanes].num[r.idx[kLanes]];
  q[qBlockMax] = A[kBlockMax].num[r.idx[kBlockMax]];
  q[qBitsMax] = A[kBitsMax].num[r.idx[kBitsMax]];
  q[qDivSps] = A[kDivSps].num[r.idx[kDivSps]];
  q[qClockGhz] = A[kClockGhz].num[r.idx[kClockGhz]];
  q[qBufferKib] = A[kBufferKib].num[r.idx[kBufferKib]];
  const Memory& m = A[kMemory].mem[r.idx[kMemory]];
  q[qBandwidthGbs] = m.bandwidth_gbs;
  q[qCapacityGib] = m.capacity_gib;
  q[qPjPerBit] = m.pj_per_bit;
  q[qBits] = codebook_bits(A[kCodebook].str[r.idx[kCodebook]]);
  q[qBlock] = A[kBlock].num[r.idx[kBlock]];
  q[qElemBits] = 16;
  q[qContext] = A[kContext].num[r.idx[kContext]];
  q[qGen] = A[kGen].num[r.idx[kGen]];
  const auto& mc = models_[r.idx[kModel]];
  q[qLayers] = static_cast<double>(mc.layers);
  q[qHeads] = static_cast<double>(mc.heads);
  q[qKvHeads] = static_cast<double>(mc.kv_heads);
  q[qHeadDim] = static_cast<double>(mc.head_dim);
  r.reached = kStageAxes;
  std::string failed;
  return check(r, kStageAxes, failed);
}

bool Study::check(const Record& r, int stage, std::string& failed) const {
  for (const auto& c : compiled_->cons) {
    if (c.stage != stage) continue;
    for (const auto& cl : c.clauses) {
      const double a = cl.l >= 0 ? r.q[cl.l] : cl.ln, b = cl.r >= 0 ? r.q[cl.r] : cl.rn;
      if (!compare(a, cl.op, b)) {
        failed = c.text;
        return false;
      }
    }
  }
  return true;
}

// The point's system: a host (system.host, a models/perf GPU entry) holds the weights and runs the
// weight matmuls (perf::linear_step: weights streamed once per step, roofline); the accelerator
// holds the quantized KV cache in its memory, quantizes each new token's K and V and runs decode
// attention over the cache (perf::accel_layer_cycles at the point's LANES and clock: the
// dequant-MAC the RTL implements, the quantizer, softmax and DMA terms, bounded by the memory's
// bandwidth for the quantized KV bytes), one sequence and one layer after another. A decode step
// is host + accelerator (system.overlap: none, the default: a layer's attention needs its q from the
// host and the host's next matmul needs the attention output) or max(host, accelerator) (full: the
// batch split in two halves pipelined between the two, an upper bound). The transfer of q and the
// attention output between them is not modelled (assumptions in summary.json).
void Study::analytic(Record& r) const {
  using namespace perf;
  auto& q = r.q;
  const auto& A = spec_.axes;
  const auto& m = models_[r.idx[kModel]];
  const Hardware& host = host_->hw;
  KvFormat f;
  const int bits = static_cast<int>(q[qBits]);
  f.kind = bits == 4 ? KvKind::NF4 : bits == 3 ? KvKind::NF3 : KvKind::NF2;
  f.block = static_cast<int>(q[qBlock]);
  AcceleratorParams p = AcceleratorParams::from_config(hw_config(spec_, hw_index(r.idx)));
  p.clock_hz = q[qClockGhz] * 1e9;
  p.mem_bw = q[qBandwidthGbs] * 1e9;
  p.buffer_bytes = q[qBufferKib] * 1024.0;
  p.mem_bytes = q[qCapacityGib] * 1073741824.0;
  const MemoryParams mp;
  const TimeParams tp;
  const int64_t context = static_cast<int64_t>(q[qContext]), gen = static_cast<int64_t>(q[qGen]);
  const int64_t prompt = context - gen;
  if (prompt < 1) {
    r.status = Status::Invalid;
    r.error = fmt::format("context {} must exceed gen {} (the prompt needs a token)", context, gen);
    return;
  }
  // Memory: the host keeps the weights (its paged-memory budget after weights, reserve and
  // workspace must be positive); the accelerator's memory keeps only KV pages (utilization 0.90 of
  // the capacity, no weights, no activations).
  KvFormat fp16;
  fp16.kind = KvKind::FP16;
  if (memory_breakdown(m, host, fp16, mp).kv_budget <= 0) {
    r.status = Status::Infeasible;
    r.error = fmt::format("the weights ({:.1f} GiB) do not fit in the host {} ({} GiB)", weight_bytes(m) / 1073741824.0,
                          host.name, host.mem_bytes / 1073741824.0);
    return;
  }
  MemoryParams kvp;
  kvp.act_per_seq_bytes = 0;  // activations live on the host
  const double kv_budget = p.mem_bytes * mp.utilization;
  const int64_t mb = static_cast<int64_t>(std::floor(kv_budget / per_sequence_bytes(m, f, kvp, context)));
  const double bax = A[kBatch].num[r.idx[kBatch]];
  const int64_t batch = bax < 0 ? mb : static_cast<int64_t>(bax);
  q[qMaxBatch] = static_cast<double>(mb);
  if (batch < 1 || batch > mb) {
    r.status = Status::Infeasible;
    r.error = mb == 0 ? fmt::format("no sequence of {} tokens fits in {} GiB of KV memory", context, q[qCapacityGib])
                      : fmt::format("batch {} exceeds the max batch {} at context {}", batch, mb, context);
    return;
  }
  q[qBatch] = static_cast<double>(batch);
  q[qMaxContext] = static_cast<double>(kv_token_capacity(m, f, mp.page_tokens, kv_budget / static_cast<double>(batch)));
  const double b = static_cast<double>(batch), layers = static_cast<double>(m.layers);
  auto combine = [&](double h, double a) { return spec_.overlap ? std::max(h, a) : h + a; };
  // Prefill: the host runs the prompt (weights and causal attention, fp16) and hands the prompt's K
  // and V to the accelerator's quantizer (one run per layer per sequence).
  const double host_pre = prefill(m, host, fp16, batch, prompt, tp).time;
  const double quant_pre =
      b * layers * accel_quantize_cycles(p, 2.0 * m.kv_heads * m.head_dim * static_cast<double>(prompt), 1, f.block) / p.clock_hz;
  const double pre = combine(host_pre, quant_pre);
  // Decode: the host's weight step does not depend on the context; the accelerator's does.
  const double host_step = linear_step(m, host, batch, tp).time;
  const AccelCycles last_c = accel_layer_cycles(p, m.heads, m.kv_heads, m.head_dim, context - 1, f);
  auto accel_step = [&](int64_t cached) {
    return b * layers * accel_layer_cycles(p, m.heads, m.kv_heads, m.head_dim, cached, f).total / p.clock_hz;
  };
  const double a_first = accel_step(prompt), a_last = b * layers * last_c.total / p.clock_hz;
  // Decode time over the generation: the accelerator's step is affine in the cached tokens up to
  // the formulas' ceil terms (docs/dse.md), so its sum over the n = gen - 1 steps is the trapezoid
  // of the first and the last step; with full overlap, the steps where the accelerator's part is
  // below the host's are counted at the host's time (max of an affine sequence and a constant).
  const double first = combine(host_step, a_first);
  const int64_t n = gen - 1;
  double decode = 0;
  if (n > 0) {
    const double a_n = n > 1 ? accel_step(prompt + n - 1) : a_first;
    const double slope = n > 1 ? (a_n - a_first) / static_cast<double>(n - 1) : 0.0;
    auto series = [&](int64_t k0, int64_t k1) {  // sum of the accelerator's steps k0..k1 (0-based)
      return k1 < k0 ? 0.0 : static_cast<double>(k1 - k0 + 1) * (a_first + 0.5 * slope * static_cast<double>(k0 + k1));
    };
    if (!spec_.overlap) {
      decode = static_cast<double>(n) * host_step + series(0, n - 1);
    } else {
      // Steps with a_k >= host_step: k >= k_cross when the slope is >= 0, k <= k_cross when < 0.
      int64_t lo = 0, hi = n - 1;  // the accelerator-bound range [lo, hi]
      if (slope > 0) lo = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((host_step - a_first) / slope)), 0, n);
      else if (slope < 0) hi = std::clamp<int64_t>(static_cast<int64_t>(std::floor((host_step - a_first) / slope)), -1, n - 1);
      else if (a_first < host_step) lo = n;
      const int64_t bound = std::max<int64_t>(0, hi - lo + 1);
      decode = series(lo, hi) + static_cast<double>(n - bound) * host_step;
    }
  }
  q[qTpotS] = n > 0 ? decode / static_cast<double>(n) : first;
  q[qTokensPerS] = b * static_cast<double>(gen) / (pre + decode);
  q[qHostStepS] = host_step;
  q[qAccelStepS] = a_last;
  q[qCyclesPerLayer] = last_c.total;
  q[qMacCycles] = accel_mac_cycles(p, m.heads, m.kv_heads, m.head_dim, context, f).dequant_mac;
  if (energy_) {
    // The accelerator's energy per generated token at the last decode step (context - 1 cached
    // tokens, as cycles_per_layer): its KV traffic, buffer, dequant-MAC and quantizer; the host's
    // weight reads only with evaluators.energy.weights.
    const EnergyResult e = energy_->models[energy_->index(spec_, r.idx)]->evaluate(
        decode_energy_inputs(m, f, context - 1, batch, spec_.energy_weights));
    r.has_energy = true;
    r.e_dram = e.low.dram, r.e_sram = e.low.sram, r.e_mac = e.low.mac_lut, r.e_quant = e.low.quant;
    q[qEnergy] = e.low.total;
    r.e_high = e.high.total;
  }
}

Record Study::evaluate(uint64_t id) const {
  Record r;
  if (!axes_pass(id, r)) {
    r.status = Status::Pruned;
    r.reached = -1;  // pruned by the axes: not in the outputs
    return r;
  }
  const auto& A = spec_.axes;
  auto& q = r.q;
  const size_t hw = hw_index(r.idx);
  const accel::AccelConfig cfg = hw_config(spec_, hw);
  std::string why = cfg.validate();
  const int block = static_cast<int>(q[qBlock]);
  if (why.empty() && q[qBits] > cfg.bits_max) why = fmt::format("{}-bit codes exceed BITS_MAX {}", q[qBits], cfg.bits_max);
  if (why.empty() && (block < 32 || block > cfg.block_max || block % cfg.lanes != 0 || (block & (block - 1)) != 0))
    why = fmt::format("block {} must be a power of two in 32..BLOCK_MAX {} and a multiple of LANES {}", block,
                      cfg.block_max, cfg.lanes);
  if (why.empty() && q[qHeadDim] > cfg.dmax)
    why = fmt::format("head_dim {} exceeds DMAX {}", q[qHeadDim], cfg.dmax);
  if (!why.empty()) {
    r.status = Status::Invalid;
    r.error = why;
    return r;
  }
  std::string failed;
  if (spec_.area) {
    const AreaResult& a = area(hw);
    if (a.status != "ok") {
      r.status = Status::Failed;
      r.error = "area: " + a.error;
      return r;
    }
    q[qTransistors] = a.transistors;
    r.area_logic_mm2 = area_liberty_.empty() ? a.transistors / (area_assumptions_.logic_mtr_per_mm2 * 1e6) : a.area_um2 * 1e-6;
    const double bit = spec_.sram_um2_per_bit > 0 ? spec_.sram_um2_per_bit : area_assumptions_.sram_um2_per_bit;
    r.area_sram_mm2 = q[qBufferKib] * 8192.0 * bit * area_assumptions_.sram_array_overhead / 1e6;
    q[qAreaMm2] = r.area_logic_mm2 + r.area_sram_mm2;
  }
  r.reached = kStageArea;
  if (!check(r, kStageArea, failed)) {
    r.status = Status::Pruned;
    r.error = "constraint: " + failed;
    return r;
  }
  q[qBitsPerElement] = golden::bits_per_element(golden::codebook_by_name(A[kCodebook].str[r.idx[kCodebook]]), block, 16);
  if (spec_.quality) {
    const size_t fmt = (r.idx[kCodebook] * A[kBlock].size() + r.idx[kBlock]) * A[kElem].size() + r.idx[kElem];
    const QualityResult& qr = quality(fmt);
    q[qRelMse] = qr.rel_mse;
    q[qSqnrDb] = qr.sqnr_db;
  }
  r.reached = kStageQuality;
  if (!check(r, kStageQuality, failed)) {
    r.status = Status::Pruned;
    r.error = "constraint: " + failed;
    return r;
  }
  try {
    analytic(r);
  } catch (const std::exception& e) {
    r.status = Status::Failed;
    r.error = std::string("analytic: ") + e.what();
  }
  if (r.status != Status::Ok) return r;
  r.reached = kStageAnalytic;
  if (!check(r, kStageAnalytic, failed)) {
    r.status = Status::Pruned;
    r.error = "constraint: " + failed;
    return r;
  }
  if (energy_) r.reached = kStageEnergy;
  if (!check(r, kStageEnergy, failed)) {
    r.status = Status::Pruned;
    r.error = "constraint: " + failed;
  }
  return r;
}

// ---- rendering

std::string csv_header() {
  return "point_id,grid_index,lanes,block_max,bits_max,div_sps,clock_ghz,buffer_kib,memory,bandwidth_gbs,capacity_gib,"
         "pj_per_bit,codebook,block,elem,model,context,batch_axis,gen,status,batch,max_batch,max_context,"
         "cycles_per_layer,mac_cycles,tpot_s,tokens_per_s,host_step_s,accel_step_s,transistors,area_logic_mm2,area_sram_mm2,area_mm2,"
         "energy_pj_per_token,energy_dram_pj,energy_sram_pj,energy_mac_lut_pj,energy_quant_pj,energy_high_pj,"
         "bits_per_element,rel_mse,sqnr_db,fidelity_perf,fidelity_area,fidelity_energy,fidelity_quality,"
         "rtl_cycle_diff,bit_exact,ppl,ppl_delta_pct,fidelity_ppl,error\n";
}

namespace {
const char* fidelity_perf(const Record& r) { return r.reached >= kStageAnalytic ? "analytic" : ""; }
const char* fidelity_area(const Study& s, const Record& r) {
  if (!s.spec().area || r.reached < kStageArea) return "";
  return s.spec().area_liberty.empty() ? "yosys-cmos" : "yosys-liberty";
}
const char* fidelity_quality(const Study& s, const Record& r) {
  return s.spec().quality && r.reached >= kStageQuality ? "golden-synthetic" : "";
}
}  // namespace

void append_csv(std::string& out, const Study& s, const Record& r) {
  const auto& A = s.spec().axes;
  const auto& q = r.q;
  const Memory& m = A[kMemory].mem[r.idx[kMemory]];
  const double bax = A[kBatch].num[r.idx[kBatch]];
  fmt::format_to(std::back_inserter(out), "{},{},{},{},{},{},{},{},", r.id, r.grid, q[qLanes], q[qBlockMax], q[qBitsMax],
                 q[qDivSps], q[qClockGhz], q[qBufferKib]);
  csv_str(out, m.name);
  fmt::format_to(std::back_inserter(out), ",{},{},{},{},{},{},", m.bandwidth_gbs, m.capacity_gib, m.pj_per_bit,
                 A[kCodebook].str[r.idx[kCodebook]], q[qBlock], A[kElem].str[r.idx[kElem]]);
  csv_str(out, A[kModel].str[r.idx[kModel]]);
  out += ',';
  num(out, q[qContext]);
  out += ',';
  if (bax < 0) out += "max";
  else num(out, bax);
  out += ',';
  num(out, q[qGen]);
  out += ',';
  out += status_name(r.status);
  for (int k : {qBatch, qMaxBatch, qMaxContext, qCyclesPerLayer, qMacCycles, qTpotS, qTokensPerS, qHostStepS,
                qAccelStepS, qTransistors}) {
    out += ',';
    num(out, q[k]);
  }
  out += ',';
  if (r.reached >= kStageArea && s.spec().area) num(out, r.area_logic_mm2);
  out += ',';
  if (r.reached >= kStageArea && s.spec().area) num(out, r.area_sram_mm2);
  out += ',';
  num(out, q[qAreaMm2]);
  out += ',';
  num(out, q[qEnergy]);
  for (double e : {r.e_dram, r.e_sram, r.e_mac, r.e_quant, r.e_high}) {
    out += ',';
    if (r.has_energy) num(out, e);
  }
  for (int k : {qBitsPerElement, qRelMse, qSqnrDb}) {
    out += ',';
    num(out, q[k]);
  }
  fmt::format_to(std::back_inserter(out), ",{},{},{},{},,,,,,", fidelity_perf(r), fidelity_area(s, r),
                 r.has_energy ? "table-low" : "", fidelity_quality(s, r));
  csv_str(out, r.error);
  out += '\n';
}

void append_jsonl(std::string& out, const Study& s, const Record& r) {
  const auto& A = s.spec().axes;
  const auto& q = r.q;
  const Memory& m = A[kMemory].mem[r.idx[kMemory]];
  const double bax = A[kBatch].num[r.idx[kBatch]];
  fmt::format_to(std::back_inserter(out),
                 "{{\"point_id\":{},\"grid_index\":{},\"lanes\":{},\"block_max\":{},\"bits_max\":{},\"div_sps\":{},"
                 "\"clock_ghz\":{},\"buffer_kib\":{},\"memory\":",
                 r.id, r.grid, q[qLanes], q[qBlockMax], q[qBitsMax], q[qDivSps], q[qClockGhz], q[qBufferKib]);
  json_str(out, m.name);
  fmt::format_to(std::back_inserter(out), ",\"bandwidth_gbs\":{},\"capacity_gib\":{},\"pj_per_bit\":{},\"codebook\":\"{}\","
                 "\"block\":{},\"elem\":\"{}\",\"model\":", m.bandwidth_gbs, m.capacity_gib, m.pj_per_bit,
                 A[kCodebook].str[r.idx[kCodebook]], q[qBlock], A[kElem].str[r.idx[kElem]]);
  json_str(out, A[kModel].str[r.idx[kModel]]);
  fmt::format_to(std::back_inserter(out), ",\"context\":{},\"batch_axis\":", q[qContext]);
  if (bax < 0) out += "\"max\"";
  else jnum(out, bax);
  fmt::format_to(std::back_inserter(out), ",\"gen\":{},\"status\":\"{}\"", q[qGen], status_name(r.status));
  static const char* names[] = {"batch", "max_batch", "max_context", "cycles_per_layer", "mac_cycles", "tpot_s",
                                "tokens_per_s", "host_step_s", "accel_step_s", "transistors"};
  const int ks[] = {qBatch,     qMaxBatch,   qMaxContext, qCyclesPerLayer, qMacCycles,
                    qTpotS,     qTokensPerS, qHostStepS,  qAccelStepS,     qTransistors};
  for (int i = 0; i < 10; ++i) {
    fmt::format_to(std::back_inserter(out), ",\"{}\":", names[i]);
    jnum(out, q[ks[i]]);
  }
  const bool area = r.reached >= kStageArea && s.spec().area;
  out += ",\"area_logic_mm2\":";
  jnum(out, area ? r.area_logic_mm2 : kNaN);
  out += ",\"area_sram_mm2\":";
  jnum(out, area ? r.area_sram_mm2 : kNaN);
  out += ",\"area_mm2\":";
  jnum(out, q[qAreaMm2]);
  out += ",\"energy_pj_per_token\":";
  jnum(out, q[qEnergy]);
  static const char* en[] = {"energy_dram_pj", "energy_sram_pj", "energy_mac_lut_pj", "energy_quant_pj", "energy_high_pj"};
  const double ev[] = {r.e_dram, r.e_sram, r.e_mac, r.e_quant, r.e_high};
  for (int i = 0; i < 5; ++i) {
    fmt::format_to(std::back_inserter(out), ",\"{}\":", en[i]);
    jnum(out, r.has_energy ? ev[i] : kNaN);
  }
  out += ",\"bits_per_element\":";
  jnum(out, q[qBitsPerElement]);
  out += ",\"rel_mse\":";
  jnum(out, q[qRelMse]);
  out += ",\"sqnr_db\":";
  jnum(out, q[qSqnrDb]);
  fmt::format_to(std::back_inserter(out),
                 ",\"fidelity\":{{\"perf\":\"{}\",\"area\":\"{}\",\"energy\":\"{}\",\"quality\":\"{}\"}},"
                 "\"rtl_cycle_diff\":null,\"bit_exact\":null,\"ppl\":null,\"ppl_delta_pct\":null,\"fidelity_ppl\":\"\","
                 "\"error\":",
                 fidelity_perf(r), fidelity_area(s, r), r.has_energy ? "table-low" : "", fidelity_quality(s, r));
  json_str(out, r.error);
  out += "}\n";
}

// ---- Pareto

std::vector<uint64_t> pareto_front(const std::vector<std::vector<double>>& values, const std::vector<bool>& maximize) {
  // Minimisation form; sort by the first objective (ties by the rest), then a point is on the
  // front when no point already on the front dominates it (the front stays small in practice).
  const size_t n = values.size(), k = maximize.size();
  std::vector<std::vector<double>> v(n, std::vector<double>(k));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < k; ++j) v[i][j] = maximize[j] ? -values[i][j] : values[i][j];
  std::vector<uint64_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) {
    if (v[a] != v[b]) return v[a] < v[b];
    return a < b;
  });
  std::vector<uint64_t> front;
  for (uint64_t i : order) {
    bool dominated = false;
    for (uint64_t f : front) {
      bool all_le = true;
      for (size_t j = 0; j < k && all_le; ++j) all_le = v[f][j] <= v[i][j];
      if (all_le) {  // equal vectors count as dominated: one representative (the lowest index)
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end());
  return front;
}

namespace {

struct Objectives {
  std::vector<Objective> used;
  std::vector<std::string> dropped;  // objectives without values in this run
};

// Pareto rows (indices into `lines`/`records`) from parsed JSONL records.
std::vector<size_t> pareto_of(const std::vector<nlohmann::json>& recs, const std::vector<Objective>& objs,
                              Objectives& info) {
  info = {};
  for (const auto& o : objs) {
    bool any = false;
    for (const auto& r : recs)
      if (r.value("status", "") == "ok" && r.contains(o.metric) && r[o.metric].is_number()) {
        any = true;
        break;
      }
    if (any) info.used.push_back(o);
    else info.dropped.push_back((o.maximize ? "max " : "min ") + o.metric);
  }
  std::vector<std::vector<double>> vals;
  std::vector<size_t> which;
  for (size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    if (r.value("status", "") != "ok") continue;
    std::vector<double> v;
    bool ok = true;
    for (const auto& o : info.used) {
      if (!r[o.metric].is_number()) {
        ok = false;
        break;
      }
      v.push_back(r[o.metric].get<double>());
    }
    if (!ok) continue;
    vals.push_back(std::move(v));
    which.push_back(i);
  }
  std::vector<bool> mx;
  for (const auto& o : info.used) mx.push_back(o.maximize);
  std::vector<size_t> out;
  if (info.used.empty()) return out;
  for (uint64_t f : pareto_front(vals, mx)) out.push_back(which[f]);
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> v;
  size_t p = 0;
  while (p < text.size()) {
    size_t e = text.find('\n', p);
    if (e == std::string::npos) e = text.size();
    v.push_back(text.substr(p, e - p));
    p = e + 1;
  }
  return v;
}

// Line starts of a text (every line ends with '\n').
std::vector<size_t> line_starts(const std::string& t) {
  std::vector<size_t> v;
  size_t p = 0;
  while (p < t.size()) {
    v.push_back(p);
    const size_t e = t.find('\n', p);
    p = e == std::string::npos ? t.size() : e + 1;
  }
  v.push_back(t.size());
  return v;
}

// The value of "key": in one JSONL line written by append_jsonl (NaN for null or absent): a string
// scan, so that the Pareto front of 100,000 points does not parse 100 MB of JSON.
double scan_number(std::string_view line, const std::string& quoted_key) {
  const size_t k = line.find(quoted_key);
  if (k == std::string_view::npos) return kNaN;
  const char* b = line.data() + k + quoted_key.size();
  const char* e = line.data() + line.size();
  double v = kNaN;
  const auto r = std::from_chars(b, e, v);
  return r.ec == std::errc() ? v : kNaN;
}

void write_outputs(const std::string& dir, const std::string& csv_body, const std::string& jsonl,
                   const std::vector<Objective>& objectives, const nlohmann::json& summary_in) {
  io::write_text_atomically(dir + "/points.csv", csv_header() + csv_body);
  io::write_text_atomically(dir + "/points.jsonl", jsonl);
  const auto jl = line_starts(jsonl);
  const auto cl = line_starts(csv_body);
  if (jl.size() != cl.size()) throw std::logic_error("points.csv and points.jsonl have different row counts");
  const size_t rows = jl.size() - 1;
  std::vector<std::string> keys;
  for (const auto& o : objectives) keys.push_back("\"" + o.metric + "\":");
  std::vector<std::vector<double>> vals;
  std::vector<size_t> which;
  std::vector<char> any(objectives.size(), 0);
  for (size_t i = 0; i < rows; ++i) {
    const std::string_view line(jsonl.data() + jl[i], jl[i + 1] - jl[i]);
    if (line.find("\"status\":\"ok\"") == std::string_view::npos) continue;
    std::vector<double> v(objectives.size());
    for (size_t k = 0; k < objectives.size(); ++k) {
      v[k] = scan_number(line, keys[k]);
      if (std::isfinite(v[k])) any[k] = 1;
    }
    vals.push_back(std::move(v));
    which.push_back(i);
  }
  // Objectives without any value in this run (an evaluator off) are left out and reported.
  Objectives info;
  std::vector<size_t> used;
  for (size_t k = 0; k < objectives.size(); ++k) {
    if (any[k]) info.used.push_back(objectives[k]), used.push_back(k);
    else info.dropped.push_back((objectives[k].maximize ? "max " : "min ") + objectives[k].metric);
  }
  std::vector<std::vector<double>> uv;
  std::vector<size_t> uw;
  for (size_t r = 0; r < vals.size(); ++r) {
    std::vector<double> v;
    bool ok = true;
    for (size_t k : used) ok = ok && std::isfinite(vals[r][k]), v.push_back(vals[r][k]);
    if (ok) uv.push_back(std::move(v)), uw.push_back(which[r]);
  }
  std::vector<bool> mx;
  for (const auto& o : info.used) mx.push_back(o.maximize);
  std::vector<size_t> front;
  if (!info.used.empty())
    for (uint64_t f : pareto_front(uv, mx)) front.push_back(uw[f]);
  std::string pc = csv_header();
  for (size_t i : front) pc.append(csv_body, cl[i], cl[i + 1] - cl[i]);
  io::write_text_atomically(dir + "/pareto.csv", pc);
  nlohmann::json summary = summary_in;
  summary["pareto"] = {{"points", front.size()}, {"objectives", nlohmann::json::array()}, {"dropped", info.dropped}};
  for (const auto& o : info.used) summary["pareto"]["objectives"].push_back((o.maximize ? "max " : "min ") + o.metric);
  io::write_text_atomically(dir + "/summary.json", summary.dump(2) + "\n");
}

}  // namespace

// ---- MPI (models/dse/mpi_pool.hpp): under `mpirun -n P` (P > 1) rank 0 runs the stages before the
// points and writes every output; the points go through run_pool in chunks, evaluated by ranks
// 1..P-1 and handed back to rank 0 in order, so the outputs are those of a serial run.
namespace {

// The points of this run (a shard's ids when sharded): the same on every rank.
std::vector<uint64_t> run_ids(const Study& study, const RunOptions& opt) {
  std::vector<uint64_t> ids;
  const uint64_t total = study.point_count();
  for (uint64_t id = static_cast<uint64_t>(opt.shard_index); id < total; id += static_cast<uint64_t>(opt.shard_count))
    ids.push_back(id);
  return ids;
}

// Points per pool task: small enough that every worker gets several chunks.
int64_t mpi_chunk(int64_t n) { return std::clamp<int64_t>(n / (8 * std::max(1, mpi_size() - 1)), 1, 2048); }

// One chunk of points as a message: "ok pruned invalid infeasible failed csv_bytes\n" csv jsonl.
std::string mpi_eval_chunk(const Study& study, const std::vector<uint64_t>& ids, int64_t b, int64_t e) {
  std::array<int64_t, 5> cnt{};
  std::string cs, js;
  for (int64_t i = b; i < e; ++i) {
    const Record r = study.evaluate(ids[static_cast<size_t>(i)]);
    if (r.reached < 0) continue;
    ++cnt[static_cast<int>(r.status)];
    append_csv(cs, study, r);
    append_jsonl(js, study, r);
  }
  return fmt::format("{} {} {} {} {} {}\n", cnt[0], cnt[1], cnt[2], cnt[3], cnt[4], cs.size()) + cs + js;
}

std::string mpi_chunk_error(int64_t c, const std::string& what) { return fmt::format("E chunk {}: {}", c, what); }

// Ranks 1..P-1: evaluate chunks until rank 0 says stop; they write nothing.
RunSummary mpi_worker(const Study& study, const RunOptions& opt) {
  std::string areas;
  if (!mpi_share(areas)) return RunSummary{};  // rank 0 failed before the points
  study.import_area(areas);
  const std::vector<uint64_t> ids = run_ids(study, opt);
  const int64_t n = static_cast<int64_t>(ids.size()), chunk = mpi_chunk(n);
  run_pool((n + chunk - 1) / chunk,
           [&](int64_t c) { return mpi_eval_chunk(study, ids, c * chunk, std::min(n, (c + 1) * chunk)); },
           [](int64_t, const std::string&, bool) {}, mpi_chunk_error);
  return RunSummary{};
}

}  // namespace

namespace {
// The first line a tool prints for `cmd` ("" when it cannot run).
std::string first_line_of(const std::string& cmd) {
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return "";
  char buf[512];
  std::string line = std::fgets(buf, sizeof buf, p) ? buf : "";
  ::pclose(p);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}
nlohmann::json tool_versions(const Study& study) {
  nlohmann::json j = {{"nqkv_dse", study.tool_version()}};
  if (study.spec().area) {
    j["area_key_inputs_sha256"] = study.area_key_inputs();
    j["yosys"] = first_line_of("yosys -V");
    j["python3"] = first_line_of("python3 --version");
  }
  return j;
}
}  // namespace

namespace {

// What `plan` prints and `run` records in summary.json (plan_estimate): counts per stage and the
// CPU-time estimate.
struct PlanEstimate {
  int64_t pruned = 0, survivors = 0, sets = 0, cached = 0, illegal = 0, formats = 0;
  int64_t script_cached = 0;  // not in the stage cache but in nqkv_area.py's own (reports/area/cache)
  double mean_area = 0, area_s = 0, quality_s = 0, points_s = 0;
  double cpu_s() const { return area_s + quality_s + points_s; }
};

PlanEstimate estimate_plan(const Study& study) {
  const Spec& spec = study.spec();
  const uint64_t total = study.point_count();
  std::vector<char> need_hw(study.hw_count(), 0);
  PlanEstimate e;
  std::vector<char> need_fmt(spec.axes[kCodebook].size() * spec.axes[kBlock].size() * spec.axes[kElem].size(), 0);
  Record r;
  for (uint64_t id = 0; id < total; ++id) {
    if (!study.axes_pass(id, r)) {
      ++e.pruned;
      continue;
    }
    need_hw[study.hw_index(r.idx)] = 1;
    need_fmt[(r.idx[kCodebook] * spec.axes[kBlock].size() + r.idx[kBlock]) * spec.axes[kElem].size() + r.idx[kElem]] = 1;
  }
  for (size_t h = 0; h < need_hw.size(); ++h) {
    if (!need_hw[h]) continue;
    if (!hw_config(spec, h).validate().empty()) {
      ++e.illegal;  // never synthesized: its points are `invalid`
      continue;
    }
    ++e.sets;
    if (study.area_is_cached(h)) ++e.cached;
    else if (study.area_script_has(h)) ++e.script_cached;
  }
  e.formats = std::count(need_fmt.begin(), need_fmt.end(), 1);
  e.survivors = static_cast<int64_t>(total) - e.pruned;
  e.mean_area = study.mean_cached_area_seconds();
  // A set in the area script's own cache costs its start and a JSON read (~0.2 s of CPU measured).
  e.area_s = spec.area ? static_cast<double>(e.sets - e.cached - e.script_cached) * (e.mean_area > 0 ? e.mean_area : 600.0) +
                             0.2 * static_cast<double>(e.script_cached)
                       : 0;
  // Measured on the shared 2-core development machine: 20 us of CPU per point for the whole run
  // (evaluation, both renderings, the Pareto scan and the writes: grid_100k.yaml, 103,680 points in
  // 2.1 s of CPU), ~10 ms per format for the quality sample of 65536 elements.
  e.quality_s = spec.quality ? e.formats * 0.010 * (static_cast<double>(spec.quality_elements) / 65536.0) : 0;
  e.points_s = static_cast<double>(e.survivors) * 20e-6;
  return e;
}

// CPU seconds (user + system) of this process and of its waited-for children (syntheses, builds).
double process_cpu_seconds() {
  double t = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u{};
    getrusage(who, &u);
    t += static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  }
  return t;
}

}  // namespace

RunSummary run(const Study& study, const RunOptions& opt) {
  if (mpi_size() > 1 && mpi_rank() != 0) return mpi_worker(study, opt);
  const Spec& spec = study.spec();
  const auto t_start = std::chrono::steady_clock::now();
  const double cpu_start = process_cpu_seconds();
  const PlanEstimate estimate = estimate_plan(study);  // what `plan` says now (summary.json: plan_estimate)
  if (fs::exists(opt.out)) throw InputError("-o " + opt.out + ": exists (pick another directory or remove it)");
  const std::string partial = opt.out + ".partial";
  if (fs::exists(partial) && !opt.resume)
    throw InputError("-o " + opt.out + ": " + partial + " was left by an unfinished run; pass --resume (finished stages come from the cache) or remove it");
  io::check_output_dir(opt.out, "-o");
  std::error_code ec;
  fs::remove_all(partial, ec);
  fs::create_directories(partial);

  RunSummary sum;
  const uint64_t total = study.point_count();
  std::vector<uint64_t> ids;
  for (uint64_t id = static_cast<uint64_t>(opt.shard_index); id < total; id += static_cast<uint64_t>(opt.shard_count))
    ids.push_back(id);
  const int64_t n = static_cast<int64_t>(ids.size());

  // Stage 1: axes and constraints on them; the hardware sets and formats the survivors need.
  auto t0 = std::chrono::steady_clock::now();
  std::vector<char> need_hw(study.hw_count(), 0);
  int64_t pruned = 0;
  {
    Record r;
    for (uint64_t id : ids) {
      if (!study.axes_pass(id, r)) {
        ++pruned;
        continue;
      }
      need_hw[study.hw_index(r.idx)] = 1;
    }
  }
  const double t_axes = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Stage 2: area per needed hardware set, in child processes, `jobs` at a time.
  t0 = std::chrono::steady_clock::now();
  std::vector<size_t> hws;
  for (size_t h = 0; h < need_hw.size(); ++h)
    if (need_hw[h]) hws.push_back(h);
  if (spec.area && !hws.empty()) {
    Progress pg(opt.progress, "area", static_cast<int64_t>(hws.size()));
    parallel_for(static_cast<int64_t>(hws.size()), opt.jobs, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        study.area(hws[static_cast<size_t>(i)]);
        pg.add(1);
      }
    });
  }
  const double t_area = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (mpi_size() > 1) {  // the workers take rank 0's area results instead of synthesizing
    std::string areas = spec.area ? study.export_area(hws) : std::string();
    mpi_share(areas);
  }

  // Stage 3: every point (quality per format is computed on first use and shared).
  t0 = std::chrono::steady_clock::now();
  const int64_t chunk = 2048;
  const int64_t nchunks = (n + chunk - 1) / chunk;
  std::vector<std::string> csv(static_cast<size_t>(nchunks)), jsonl(static_cast<size_t>(nchunks));
  std::vector<std::array<int64_t, 5>> counts(static_cast<size_t>(nchunks));
  std::vector<int64_t> mpi_per_rank;  // chunks evaluated per rank (MPI)
  {
    Progress pg(opt.progress, "points", n);
    if (mpi_size() > 1) {  // chunks of points through the MPI pool (chunk sizes do not change the bytes)
      const int64_t mc = mpi_chunk(n), mchunks = (n + mc - 1) / mc;
      csv.assign(static_cast<size_t>(mchunks), std::string());
      jsonl.assign(static_cast<size_t>(mchunks), std::string());
      counts.assign(static_cast<size_t>(mchunks), std::array<int64_t, 5>{});
      mpi_per_rank = run_pool(
          mchunks, [&](int64_t c) { return mpi_eval_chunk(study, ids, c * mc, std::min(n, (c + 1) * mc)); },
          [&](int64_t c, const std::string& msg, bool ok) {
            if (!ok) throw std::runtime_error(msg);
            const size_t nl = msg.find('\n');
            auto& cnt = counts[static_cast<size_t>(c)];
            size_t csv_bytes = 0;
            std::istringstream head(msg.substr(0, nl));
            head >> cnt[0] >> cnt[1] >> cnt[2] >> cnt[3] >> cnt[4] >> csv_bytes;
            csv[static_cast<size_t>(c)] = msg.substr(nl + 1, csv_bytes);
            jsonl[static_cast<size_t>(c)] = msg.substr(nl + 1 + csv_bytes);
            pg.add(std::min(n, (c + 1) * mc) - c * mc);
          },
          mpi_chunk_error).per_rank;
    } else {  // local: --jobs threads
    parallel_for(n, opt.jobs, chunk, [&](int64_t b, int64_t e) {
      const size_t c = static_cast<size_t>(b / chunk);
      auto& cnt = counts[c];
      cnt.fill(0);
      std::string& cs = csv[c];
      std::string& js = jsonl[c];
      cs.reserve(static_cast<size_t>(e - b) * 400);
      js.reserve(static_cast<size_t>(e - b) * 1000);
      for (int64_t i = b; i < e; ++i) {
        const Record r = study.evaluate(ids[static_cast<size_t>(i)]);
        if (r.reached < 0) continue;
        ++cnt[static_cast<int>(r.status)];
        append_csv(cs, study, r);
        append_jsonl(js, study, r);
      }
      pg.add(e - b);
    });
    }
  }
  const double t_points = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& c : counts) {
    sum.ok += c[0];
    sum.pruned += c[1];
    sum.invalid += c[2];
    sum.infeasible += c[3];
    sum.failed += c[4];
  }
  sum.points = n;
  const int64_t pruned_axes = pruned;
  sum.pruned += pruned;

  t0 = std::chrono::steady_clock::now();
  std::string csv_all, jsonl_all;
  size_t cs = 0, js = 0;
  for (size_t c = 0; c < csv.size(); ++c) cs += csv[c].size(), js += jsonl[c].size();
  csv_all.reserve(cs);
  jsonl_all.reserve(js);
  for (size_t c = 0; c < csv.size(); ++c) {
    csv_all += csv[c];
    jsonl_all += jsonl[c];
    std::string().swap(csv[c]);
    std::string().swap(jsonl[c]);
  }
  auto& C = study.counters();
  nlohmann::json summary = {
      {"tool", study.tool_version()},
      {"tool_versions", tool_versions(study)},
      {"spec", {{"file", spec.path}, {"name", spec.name}, {"sha256", spec.sha256}}},
      {"command", opt.command},
      {"strategy", spec.random ? "random:" + std::to_string(spec.random_points) : "grid"},
      {"seed", spec.seed},
      {"shard", {{"index", opt.shard_index}, {"count", opt.shard_count}}},
      {"jobs", opt.jobs},
      {"mpi",
       {{"ranks", mpi_size()},
        {"chunks_per_rank", mpi_per_rank},
        {"note", "rank 0 coordinates and writes; ranks 1..P-1 evaluate the points"}}},
      {"counts",
       {{"points", n},
        {"pruned_by_axes", pruned_axes},
        {"pruned_by_metrics", sum.pruned - pruned_axes},
        {"ok", sum.ok},
        {"invalid", sum.invalid},
        {"infeasible", sum.infeasible},
        {"failed", sum.failed}}},
      {"stages",
       {{"area",
         {{"enabled", spec.area},
          {"hardware_sets", spec.area ? hws.size() : 0},
          {"syntheses", C.area_computed.load()},
          {"cache_hits", C.area_cached.load()},
          {"failed", C.area_failed.load()},
          {"seconds", t_area}}},
        {"quality", {{"enabled", spec.quality}, {"formats_computed", C.quality_computed.load()}}},
        {"analytic", {{"points", n - pruned_axes}}},
        {"energy",
         {{"enabled", spec.energy},
          {"table", "energy_table.json (every constant used, with its source)"},
          {"columns", "energy_pj_per_token and the split at each term's lowest source; energy_high_pj: every term at its highest"},
          {"weights_in_dram", spec.energy_weights}}},
        {"simulations", 0},
        {"seconds", {{"axes", t_axes}, {"area", t_area}, {"points", t_points}}}}},
      {"cache_dir", study.cache_dir()},
      {"evaluators", nlohmann::json::array()},
      {"assumptions",
       {{"area_logic", spec.area_liberty.empty()
                           ? std::string(AreaAssumptions::logic_source())
                           : "logic area: Yosys dfflibmap + abc -liberty + stat -liberty with " + spec.area_liberty +
                                 " (chip area of nq_accel_top with its hierarchy, in the library's unit, taken as um2)"},
        {"area_sram", spec.sram_um2_per_bit > 0
                          ? fmt::format("SRAM {} um2/bit (evaluators.area.sram_um2_per_bit of the spec) x{} array-to-macro "
                                        "overhead (an assumption)", spec.sram_um2_per_bit, AreaAssumptions{}.sram_array_overhead)
                          : std::string(AreaAssumptions::sram_source())},
        {"system", "host " + spec.host + " (" + perf::find_hardware(spec.host).source +
                       ") holds the weights and runs the weight matmuls (models/perf linear_step: roofline at its peak "
                       "bandwidth and FLOP/s); the accelerator holds the quantized KV cache, quantizes each new token's "
                       "K/V and runs decode attention (accel_layer_cycles at the point's LANES and clock, bounded by "
                       "the memory's bandwidth for the quantized KV bytes), one sequence and layer after another"},
        {"overlap", spec.overlap ? "full (assumption): a decode step takes max(host, accelerator), the batch pipelined "
                                   "between the two; an upper bound"
                                 : "none (assumption): a decode step takes host + accelerator (a layer's attention "
                                   "needs its q from the host's matmul, the next matmul needs the attention output)"},
        {"interconnect", "the transfer of q, K/V and the attention output between host and accelerator is not modelled"},
        {"prefill", "the host runs the prompt in fp16 (models/perf prefill); the accelerator quantizes the prompt's K/V "
                    "(accel_quantize_cycles), " + std::string(spec.overlap ? "overlapped" : "after it")},
        {"memory", "the host's paged memory model of models/perf (0.90 utilization, 512 MiB reserve, prefill "
                   "workspace) must hold the weights; the accelerator's memory holds KV pages only (16-token "
                   "pages in 0.90 of its capacity): max_batch, max_context"},
        {"energy_scope", spec.energy_weights
                             ? "the accelerator's energy per token plus the host's weight reads (/ batch) at the "
                               "memory's pJ/bit (evaluators.energy.weights); the host's matmuls are not counted"
                             : "the accelerator's energy per token (KV traffic, buffer, dequant-MAC, quantizer); the "
                               "host's weight reads and matmuls are not counted"},
        {"not_in_rtl", "DMA (tile_cycles per KV tile), softmax and memory traffic are model terms the RTL does not have; "
                       "mac_cycles is the part the RTL implements and validates"},
        {"generation", "decode time over the generation: the accelerator's step summed as an arithmetic series "
                       "(trapezoid of the first and last step; exact where it is affine in the cached tokens)"}}},
  };
  for (const auto& e : evaluators())
    summary["evaluators"].push_back(
        {{"name", e.name}, {"fidelity", e.fidelity}, {"inputs", e.inputs}, {"outputs", e.outputs}, {"cost", e.cost}});
  io::write_text_atomically(partial + "/spec.yaml", spec.text);
  study.write_energy_table(partial);
  write_outputs(partial, csv_all, jsonl_all, spec.objectives, summary);
  {
    const auto j = nlohmann::json::parse(read_file(partial + "/summary.json"));
    sum.pareto = j["pareto"]["points"].get<int64_t>();
  }
  const double t_write = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  {
    auto j = nlohmann::json::parse(read_file(partial + "/summary.json"));
    j["stages"]["seconds"]["write"] = t_write;
    j["seconds"] = sum.seconds;
    // plan's CPU-time estimate (whole spec, before the run) against the CPU this process and its
    // children (syntheses) used; for a shard or an MPI rank 0 the measured part is this process only.
    const double cpu = process_cpu_seconds() - cpu_start;
    j["plan_estimate"] = {{"cpu_s", estimate.cpu_s()},      {"area_s", estimate.area_s},
                          {"quality_s", estimate.quality_s}, {"points_s", estimate.points_s},
                          {"syntheses", estimate.sets - estimate.cached - estimate.script_cached},
                          {"script_cached", estimate.script_cached}, {"measured_cpu_s", cpu},
                          {"ratio", estimate.cpu_s() > 0 ? cpu / estimate.cpu_s() : 0.0},
                          {"whole_spec", opt.shard_count == 1 && mpi_size() == 1}};
    io::write_text_atomically(partial + "/summary.json", j.dump(2) + "\n");
  }
  fs::rename(partial, opt.out);
  return sum;
}

std::string plan(const Study& study) {
  const Spec& spec = study.spec();
  const uint64_t total = study.point_count();
  const PlanEstimate e = estimate_plan(study);
  const int64_t pruned = e.pruned, survivors = e.survivors, sets = e.sets, cached = e.cached, illegal = e.illegal,
                formats = e.formats;
  const double mean_area = e.mean_area, area_s = e.area_s, quality_s = e.quality_s, points_s = e.points_s;
  std::string s;
  s += fmt::format("spec {} ({}), strategy {}, seed {}\n", spec.path, spec.sha256.substr(0, 16),
                   spec.random ? "random:" + std::to_string(spec.random_points) : "grid", spec.seed);
  s += fmt::format("points: {} ({} in the grid); pruned by axis constraints: {}; to evaluate: {}\n", total,
                   spec.grid_size(), pruned, survivors);
  if (spec.area)
    s += fmt::format("area: {} hardware sets, {} cached, {}{} to synthesize (about {:.0f} s each{}){}\n", sets, cached,
                     e.script_cached ? fmt::format("{} in the area script's own cache (reports/area/cache), ", e.script_cached)
                                     : std::string(),
                     sets - cached - e.script_cached, mean_area > 0 ? mean_area : 600.0,
                     mean_area > 0 ? ", the mean of the cache" : ", a guess",
                     illegal ? fmt::format("; {} sets illegal for the RTL (their points are invalid)", illegal) : "");
  else
    s += "area: off\n";
  s += fmt::format("quality: {}\n", spec.quality ? fmt::format("{} formats", formats) : std::string("off"));
  s += fmt::format("analytic: {} points\n", survivors);
  s += fmt::format("CPU time estimate: {:.1f} s (area {:.1f} s, quality {:.2f} s, points {:.2f} s)\n",
                   area_s + quality_s + points_s, area_s, quality_s, points_s);
  return s;
}

namespace {
std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> v;
  for (const auto& l : split_lines(read_file(path))) {
    if (l.empty()) continue;
    try {
      v.push_back(nlohmann::json::parse(l));
    } catch (const std::exception&) {
      throw InputError(path + ": not a points.jsonl written by nqkv dse");
    }
  }
  return v;
}
void check_out_dir(const std::string& d) {
  for (const char* f : {"points.csv", "points.jsonl", "summary.json", "spec.yaml"})
    if (!fs::is_regular_file(d + "/" + f))
      throw InputError(d + ": not a finished nqkv dse output directory (no " + std::string(f) + ")");
}
}  // namespace

void merge(const std::vector<std::string>& inputs, const std::string& out, const std::string&) {
  if (inputs.empty()) throw InputError("merge: give the shard directories");
  if (fs::exists(out)) throw InputError("-o " + out + ": exists (pick another directory or remove it)");
  io::check_output_dir(out, "-o");
  std::string sha;
  std::vector<std::pair<uint64_t, std::pair<std::string, std::string>>> rows;
  nlohmann::json first;
  int64_t count = -1;
  std::vector<char> seen;
  for (const auto& d : inputs) {
    check_out_dir(d);
    const auto s = nlohmann::json::parse(read_file(d + "/summary.json"));
    const std::string h = s["spec"]["sha256"].get<std::string>();
    if (sha.empty()) sha = h, first = s;
    else if (h != sha) throw InputError(d + ": a shard of another spec (spec sha256 differs from " + inputs[0] + ")");
    const int64_t c = s["shard"]["count"].get<int64_t>(), i = s["shard"]["index"].get<int64_t>();
    if (count < 0) count = c, seen.assign(static_cast<size_t>(c), 0);
    if (c != count) throw InputError(d + ": shard count " + std::to_string(c) + " differs from " + std::to_string(count));
    if (seen[static_cast<size_t>(i)]) throw InputError(d + ": shard " + std::to_string(i) + " given twice");
    seen[static_cast<size_t>(i)] = 1;
    const auto cl = split_lines(read_file(d + "/points.csv"));
    const auto jl = split_lines(read_file(d + "/points.jsonl"));
    if (cl.empty() || cl[0] + "\n" != csv_header()) throw InputError(d + "/points.csv: unexpected header");
    if (cl.size() - 1 != jl.size()) throw InputError(d + ": points.csv and points.jsonl disagree");
    for (size_t k = 1; k < cl.size(); ++k)
      rows.push_back({std::stoull(cl[k].substr(0, cl[k].find(','))), {cl[k], jl[k - 1]}});
  }
  for (int64_t i = 0; i < count; ++i)
    if (!seen[static_cast<size_t>(i)]) throw InputError("merge: shard " + std::to_string(i) + " of " + std::to_string(count) + " is missing");
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string csv, jsonl;
  for (const auto& r : rows) csv += r.second.first + "\n", jsonl += r.second.second + "\n";
  const std::string partial = out + ".partial";
  std::error_code ec;
  fs::remove_all(partial, ec);
  fs::create_directories(partial);
  const Spec spec = load_spec(inputs[0] + "/spec.yaml");
  nlohmann::json summary = first;
  summary["merged_from"] = inputs;
  summary["shard"] = {{"index", 0}, {"count", 1}};
  io::write_text_atomically(partial + "/spec.yaml", read_file(inputs[0] + "/spec.yaml"));
  if (fs::is_regular_file(inputs[0] + "/energy_table.json"))
    io::write_text_atomically(partial + "/energy_table.json", read_file(inputs[0] + "/energy_table.json"));
  write_outputs(partial, csv, jsonl, spec.objectives, summary);
  fs::rename(partial, out);
}

namespace {

// A gnuplot scatter PNG (pngcairo), written atomically: series of points, each optionally coloured
// by a third value (palette, with its label on the colour box).
struct Scatter {
  std::string name;
  std::vector<double> x, y, c;
};
void write_scatter_png(const std::string& path, const std::string& title, const std::string& xl, const std::string& yl,
                       bool logx, bool logy, const std::vector<Scatter>& series, const std::string& cbl) {
  std::ostringstream gp;
  const auto q = io::gnuplot_quote;
  gp << "set terminal pngcairo size 1000,640 font 'sans,10'\nset output " << q(io::plot_tmp_path(path)) << "\nset title " << q(title)
     << "\nset xlabel " << q(xl) << "\nset ylabel " << q(yl) << "\nset grid\nset key outside right\n";
  if (logx) gp << "set logscale x\n";
  if (logy) gp << "set logscale y\n";
  if (!cbl.empty()) gp << "set palette rgbformulae 33,13,10\nset logscale cb\nset cblabel " << q(cbl) << "\n";
  gp << "plot ";
  for (size_t i = 0; i < series.size(); ++i) {
    const bool col = !series[i].c.empty();
    gp << (i ? ", " : "") << "'-' using 1:2" << (col ? ":3 with points pt 7 ps 0.6 palette" : " with points pt 7 ps 1.2")
       << " title " << q(series[i].name);
  }
  gp << "\n";
  gp.precision(10);
  for (const auto& se : series) {
    for (size_t k = 0; k < se.x.size(); ++k) {
      gp << se.x[k] << " " << se.y[k];
      if (!se.c.empty()) gp << " " << se.c[k];
      gp << "\n";
    }
    gp << "e\n";
  }
  io::run_gnuplot_script(gp.str(), path);
}

double num_of(const nlohmann::json& r, const char* k) {
  return r.contains(k) && r[k].is_number() ? r[k].get<double>() : kNaN;
}

}  // namespace

std::string pareto_command(const std::string& out, const std::vector<std::string>& objectives, const std::string& plot_dir,
                           const std::string&) {
  check_out_dir(out);
  std::vector<Objective> objs;
  for (const auto& o : objectives) objs.push_back(parse_objective(o, "--objectives: "));
  if (objs.empty()) objs = load_spec(out + "/spec.yaml").objectives;
  const auto recs = read_jsonl(out + "/points.jsonl");
  const auto cl = split_lines(read_file(out + "/points.csv"));
  Objectives info;
  const auto front = pareto_of(recs, objs, info);
  std::string pc = csv_header();
  for (size_t i : front) pc += cl[i + 1] + "\n";
  if (!plot_dir.empty()) {
    fs::create_directories(plot_dir);
    // At most ~20,000 points per plot (a deterministic stride over the ok points), the front whole.
    std::vector<size_t> ok;
    for (size_t i = 0; i < recs.size(); ++i)
      if (recs[i].value("status", "") == "ok") ok.push_back(i);
    const size_t stride = std::max<size_t>(1, ok.size() / 20000);
    Scatter all{"points (colour: energy pJ/token)", {}, {}, {}}, fr{"Pareto front", {}, {}, {}};
    const bool energy = !ok.empty() && std::isfinite(num_of(recs[ok[0]], "energy_pj_per_token"));
    for (size_t k = 0; k < ok.size(); k += stride) {
      const auto& r = recs[ok[k]];
      const double x = num_of(r, "tokens_per_s"), y = num_of(r, "area_mm2");
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      all.x.push_back(x), all.y.push_back(y);
      if (energy) all.c.push_back(num_of(r, "energy_pj_per_token"));
    }
    if (!energy) all.name = "points";
    for (size_t i : front) {
      const double x = num_of(recs[i], "tokens_per_s"), y = num_of(recs[i], "area_mm2");
      if (std::isfinite(x) && std::isfinite(y)) fr.x.push_back(x), fr.y.push_back(y);
    }
    if (!all.x.empty()) {
      write_scatter_png(plot_dir + "/area_vs_tokens.png", "Area vs decode throughput (colour: energy per token)",
                        "tokens/s", "area (mm2)", true, false, {all}, energy ? "pJ/token" : "");
      write_scatter_png(plot_dir + "/pareto_front.png", "Pareto front over " + std::to_string(ok.size()) + " points",
                        "tokens/s", "area (mm2)", true, false, {Scatter{"points", all.x, all.y, {}}, fr}, "");
    }
    std::map<std::string, Scatter> by_cb;
    for (size_t i : ok) {
      const auto& r = recs[i];
      const double x = num_of(r, "bits_per_element"), y = num_of(r, "rel_mse");
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      auto& se = by_cb[r["codebook"].get<std::string>() + " " + r["elem"].get<std::string>()];
      se.name = r["codebook"].get<std::string>() + " " + r["elem"].get<std::string>();
      bool seen = false;
      for (size_t k = 0; k < se.x.size() && !seen; ++k) seen = se.x[k] == x && se.y[k] == y;
      if (!seen) se.x.push_back(x), se.y.push_back(y);
    }
    if (!by_cb.empty()) {
      std::vector<Scatter> v;
      for (auto& [k, se] : by_cb) v.push_back(se);
      write_scatter_png(plot_dir + "/rel_mse_vs_bits.png", "Relative MSE vs bits per element (fp16 scale counted)",
                        "bits per element", "relative MSE", false, true, v, "");
    }
  }
  return pc;
}

namespace {

// The validation runs of OUT (nqkv dse validate: validation-<backend>.json), one row per backend.
std::string validation_section(const std::string& out) {
  std::vector<std::string> vfiles;
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("validation-", 0) == 0 && e.path().extension() == ".json") vfiles.push_back(e.path().string());
  }
  std::sort(vfiles.begin(), vfiles.end());
  if (vfiles.empty()) return "Not run (`nqkv dse validate OUT --backend rtl|systemc`).\n";
  std::string md =
      "Each selected point re-run on the backend with the shape capped (at most 8 query heads with the model's "
      "GQA ratio, its head_dim, context capped), no back-pressure; the dequant-MAC cycles compared with "
      "`accel_mac_cycles` and every output with the golden library. RTL builds: LANES without a built-in "
      "verilated model, built on demand (sim/rtl/build_plugin.sh) and cached.\n\n";
  md += "| backend | points selected | rows | distinct shapes | cycle-exact and bit-exact | cycle differences | data "
        "mismatches | not built | failed | RTL builds |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& vf : vfiles) {
    const auto v = nlohmann::json::parse(read_file(vf));
    std::string builds = "-";
    if (v.contains("rtl_builds") && v["rtl_builds"]["lanes"].get<int64_t>() > 0) {
      const auto& b = v["rtl_builds"];
      builds = fmt::format("{} LANES, {:.0f} s of Verilator build: {} built in this run, {} from the cache, {} failed",
                           b["lanes"].get<int64_t>(), b["seconds"].get<double>(), b["built"].get<int64_t>(),
                           b["cache_hits"].get<int64_t>(), b["failed"].get<int64_t>());
    }
    md += fmt::format("| {} | {} (seed {}, context <= {}) | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                      v["backend"].get<std::string>(), v["points"].get<std::string>(), v["seed"].get<uint64_t>(),
                      v["max_context"].get<int64_t>(), v["rows"].get<int64_t>(), v["shapes"].get<int64_t>(),
                      v["exact"].get<int64_t>(), v["cycle_mismatch"].get<int64_t>(), v["data_mismatch"].get<int64_t>(),
                      v["not_built"].get<int64_t>(), v["failed"].get<int64_t>(), builds);
  }
  return md;
}

}  // namespace

std::string report_markdown(const std::string& out, const std::string& command, const std::string& plots,
                            const std::vector<std::string>& also) {
  check_out_dir(out);
  const auto s = nlohmann::json::parse(read_file(out + "/summary.json"));
  std::string md = "# Design-space exploration: " + s["spec"]["name"].get<std::string>() + "\n\n";
  md += "Generated by `" + command + "` from `" + out + "` (spec `" + s["spec"]["file"].get<std::string>() +
        "`, sha256 " + s["spec"]["sha256"].get<std::string>().substr(0, 16) + ", " + s["tool"].get<std::string>() + ").\n\n";
  const auto& c = s["counts"];
  md += fmt::format("Points: {} evaluated ({} pruned by axis constraints, {} by metric constraints), {} ok, {} invalid "
                    "for the hardware, {} infeasible (memory), {} failed.\n\n",
                    c["points"].get<int64_t>(), c["pruned_by_axes"].get<int64_t>(), c["pruned_by_metrics"].get<int64_t>(),
                    c["ok"].get<int64_t>(), c["invalid"].get<int64_t>(), c["infeasible"].get<int64_t>(),
                    c["failed"].get<int64_t>());
  const auto& a = s["stages"]["area"];
  md += fmt::format("Area: {} hardware sets, {} syntheses, {} cache hits, {} failed.\n\n",
                    a["hardware_sets"].get<int64_t>(), a["syntheses"].get<int64_t>(), a["cache_hits"].get<int64_t>(),
                    a["failed"].get<int64_t>());
  if (s.contains("plan_estimate") && s["plan_estimate"]["whole_spec"].get<bool>()) {
    const auto& pe = s["plan_estimate"];
    md += fmt::format("CPU time: `nqkv dse plan` estimated {:.2f} s ({} syntheses to run), the run used {:.2f} s "
                      "(user + system, syntheses included): measured / estimate = {:.2f}.\n\n",
                      pe["cpu_s"].get<double>(), pe["syntheses"].get<int64_t>(), pe["measured_cpu_s"].get<double>(),
                      pe["ratio"].get<double>());
  }
  md += "## Pareto front (" + s["pareto"]["objectives"].dump() + ")\n\n";
  const auto pl = split_lines(read_file(out + "/pareto.csv"));
  std::vector<nlohmann::json> recs;
  const auto all = read_jsonl(out + "/points.jsonl");
  std::unordered_map<uint64_t, size_t> by_id;
  for (size_t i = 0; i < all.size(); ++i) by_id[all[i]["point_id"].get<uint64_t>()] = i;
  md += "| point | lanes | block_max | bits_max | clock GHz | buffer KiB | memory | codebook | block | model | context | "
        "batch | tokens/s | TPOT ms | host ms | accel ms | area mm2 | energy uJ/token | rel MSE | SQNR dB | PPL +% |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  auto f = [](const nlohmann::json& v, const char* spec) {
    return v.is_number() ? fmt::format(fmt::runtime(spec), v.get<double>()) : std::string("");
  };
  for (size_t i = 1; i < pl.size(); ++i) {
    const uint64_t id = std::stoull(pl[i].substr(0, pl[i].find(',')));
    const auto& r = all[by_id.at(id)];
    auto ms = [&](const char* k) { return r[k].is_number() ? nlohmann::json(r[k].get<double>() * 1e3) : r[k]; };
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", id,
                      r["lanes"].dump(), r["block_max"].dump(), r["bits_max"].dump(), r["clock_ghz"].dump(),
                      r["buffer_kib"].dump(), r["memory"].get<std::string>(), r["codebook"].get<std::string>(),
                      r["block"].dump(), r["model"].get<std::string>(), r["context"].dump(), r["batch"].dump(),
                      f(r["tokens_per_s"], "{:.4g}"), f(ms("tpot_s"), "{:.3f}"), f(ms("host_step_s"), "{:.3f}"),
                      f(ms("accel_step_s"), "{:.3f}"),
                      f(r["area_mm2"], "{:.4f}"),
                      f(r["energy_pj_per_token"].is_number() ? nlohmann::json(r["energy_pj_per_token"].get<double>() * 1e-6)
                                                              : r["energy_pj_per_token"],
                        "{:.4g}"),
                      f(r["rel_mse"], "{:.5f}"), f(r["sqnr_db"], "{:.2f}"),
                      r.contains("ppl_delta_pct") ? f(r["ppl_delta_pct"], "{:.1f}") : std::string());
  }
  md += "\nEnergy is the accelerator's, each term at its lowest source (energy_table.json); `energy_high_pj` in "
        "points.csv has every term at its highest. TPOT and tokens/s: the host's weight step (host ms) and the "
        "accelerator's attention over the quantized cache (accel ms, at the last token) per decode step; see "
        "Assumptions.\n";
  md += "\n## Validation on the cycle models\n\n" + validation_section(out);
  std::vector<std::string> pfiles;  // nqkv dse perplexity, one file per model
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("perplexity-", 0) == 0 && e.path().extension() == ".json") pfiles.push_back(e.path().string());
  }
  std::sort(pfiles.begin(), pfiles.end());
  for (const auto& pf : pfiles) {
    // One row per distinct format of the selected points.
    const auto pj = nlohmann::json::parse(read_file(pf));
    md += fmt::format("\n## Perplexity ({}, points: {})\n\n`nqkv dse perplexity`: `{}` on `{}`, text {}; PPL +% is "
                      "against the f32 KV cache. {} formats, {} failed. (`ppl`, `ppl_delta_pct` and `fidelity_ppl` "
                      "in points.csv, and the Pareto table's PPL +%, hold the model run last.)\n\n",
                      pj["model"].get<std::string>(), pj["points"].get<std::string>(), pj["command"].get<std::string>(),
                      fs::path(pj["checkpoint"].get<std::string>()).filename().string(), pj["text"].get<std::string>(),
                      pj["formats"].get<int64_t>(), pj["failed"].get<int64_t>());
    md += "| codebook | block | elem | PPL | PPL +% | status | error |\n|---|---|---|---|---|---|---|\n";
    for (const auto& l : split_lines(read_file(pf.substr(0, pf.size() - 5) + ".csv"))) {
      if (l.empty() || l.rfind("codebook,", 0) == 0) continue;
      std::vector<std::string> c;
      size_t b = 0;
      for (int k = 0; k < 7; ++k) {
        const size_t e = l.find(',', b);
        c.push_back(l.substr(b, e - b));
        b = e + 1;
      }
      std::string err = l.substr(b);  // one line (one_line: commas became ';'); no '|' in a table cell
      std::replace(err.begin(), err.end(), '|', '/');
      c.push_back(err);
      auto num2 = [](const std::string& v, const char* spec) {
        return v.empty() ? v : fmt::format(fmt::runtime(spec), std::stod(v));
      };
      md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", c[0], c[1] == "0" ? "-" : c[1], c[2], num2(c[3], "{:.4f}"),
                        num2(c[4], "{:+.1f}"), c[5], c[7]);
    }
  }
  if (!plots.empty()) {
    md += "\n## Plots\n\n`nqkv dse pareto " + out + " --plot DIR`:\n\n";
    for (const char* f : {"area_vs_tokens.png", "pareto_front.png", "rel_mse_vs_bits.png"})
      md += std::string("![") + f + "](" + plots + "/" + f + ")\n";
  }
  for (const auto& o : also) {
    // Another OUT (e.g. a LANES validated on an on-demand RTL build): its counts, validation runs
    // and every validation row.
    check_out_dir(o);
    const auto so = nlohmann::json::parse(read_file(o + "/summary.json"));
    const auto& co = so["counts"];
    md += "\n## Also: " + so["spec"]["name"].get<std::string>() + " (spec `" + so["spec"]["file"].get<std::string>() +
          "`)\n\n";
    md += fmt::format("Points: {} evaluated, {} ok.\n\n", co["points"].get<int64_t>(), co["ok"].get<int64_t>());
    if (so["stages"]["area"]["enabled"].get<bool>()) {
      // The logic area of each hardware set (one synthesis each) and how it was obtained.
      md += "Area: " + so["assumptions"]["area_logic"].get<std::string>() + "; buffer: " +
            so["assumptions"]["area_sram"].get<std::string>() + ".\n\n";
      md += "| lanes | block_max | bits_max | div_sps | fidelity | transistors | logic mm2 |\n|---|---|---|---|---|---|---|\n";
      std::set<std::string> seen;
      for (const auto& r : read_jsonl(o + "/points.jsonl")) {
        if (r["status"] != "ok") continue;
        const std::string row = fmt::format("| {} | {} | {} | {} | {} | {} | {:.4f} |\n", r["lanes"].dump(), r["block_max"].dump(),
                                            r["bits_max"].dump(), r["div_sps"].dump(), r["fidelity"]["area"].get<std::string>(),
                                            r["transistors"].dump(), r["area_logic_mm2"].get<double>());
        if (seen.insert(row).second) md += row;
      }
      md += "\n";
    }
    md += validation_section(o);
    for (const auto& e : fs::directory_iterator(o)) {
      const std::string n = e.path().filename().string();
      if (n.rfind("validation-", 0) != 0 || e.path().extension() != ".csv") continue;
      const auto lines = split_lines(read_file(e.path().string()));
      md += "\n`" + n + "`:\n\n";
      for (size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].empty()) continue;
        std::string row = "| " + lines[i] + " |";
        for (size_t k = row.find(','); k != std::string::npos; k = row.find(',', k + 3)) row.replace(k, 1, " | ");
        md += row + "\n";
        if (i == 0)
          for (size_t k = 0, cols = std::count(lines[0].begin(), lines[0].end(), ',') + 1; k <= cols; ++k)
            md += k == 0 ? "|" : k == cols ? "---|\n" : "---|";
      }
    }
  }
  md += "\n## Spec\n\n```yaml\n" + read_file(out + "/spec.yaml") + "```\n";
  md += "\n## Assumptions\n\n";
  for (const auto& [k, v] : s["assumptions"].items()) md += "- " + k + ": " + v.get<std::string>() + "\n";
  md += "\n## Evaluators\n\n| name | fidelity | inputs | outputs | cost |\n|---|---|---|---|---|\n";
  for (const auto& e : s["evaluators"])
    md += "| " + e["name"].get<std::string>() + " | " + e["fidelity"].get<std::string>() + " | " +
          e["inputs"].get<std::string>() + " | " + e["outputs"].get<std::string>() + " | " + e["cost"].get<std::string>() + " |\n";
  return md;
}

}  // namespace nqkv::dse

namespace nqkv::dse {
void Study::write_energy_table(const std::string& dir) const {
  if (energy_) dse::write_energy_table(dir + "/energy_table.json", EnergyTable::builtin(), energy_->ids);
}
}  // namespace nqkv::dse

namespace nqkv::dse {

namespace {

// New values of some columns of some points: CSV (column, value) pairs and the JSONL text that
// replaces the span from `from` up to `to` in the point's line.
struct PointFill {
  std::vector<std::pair<std::string, std::string>> csv;
  std::string json;
};

// Rows of points.jsonl chosen by --points: pareto, all, sample:N (seeded, from the ok points) or
// pareto+sample:N; sorted, unique.
std::vector<size_t> select_points(const std::string& out, const std::vector<nlohmann::json>& recs, const std::string& points,
                                  uint64_t seed) {
  std::vector<size_t> ok;
  for (size_t i = 0; i < recs.size(); ++i)
    if (recs[i].value("status", "") == "ok") ok.push_back(i);
  // Selection: the Pareto set, every ok point, or a seeded sample of the ok points (or both).
  std::vector<size_t> chosen;
  const std::string& what = points;
  auto take_pareto = [&] {
    std::unordered_map<uint64_t, size_t> by_id;
    for (size_t i = 0; i < recs.size(); ++i) by_id[recs[i]["point_id"].get<uint64_t>()] = i;
    const auto pl = split_lines(read_file(out + "/pareto.csv"));
    for (size_t k = 1; k < pl.size(); ++k)
      if (!pl[k].empty()) chosen.push_back(by_id.at(std::stoull(pl[k].substr(0, pl[k].find(',')))));
  };
  auto take_sample = [&](const std::string& n_text) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(n_text.c_str(), &end, 10);
    if (n_text.empty() || *end || n < 1 || n > 1000000)
      throw InputError("--points: sample:N needs N in 1..1000000, got 'sample:" + n_text + "'");
    std::vector<size_t> pool = ok;
    golden::SplitMix64 rng(seed);
    const size_t k = std::min<size_t>(static_cast<size_t>(n), pool.size());
    for (size_t i = 0; i < k; ++i) {
      const size_t j = i + static_cast<size_t>(rng.next() % (pool.size() - i));
      std::swap(pool[i], pool[j]);
      chosen.push_back(pool[i]);
    }
  };
  if (what == "pareto") take_pareto();
  else if (what == "all") chosen = ok;
  else if (what.rfind("sample:", 0) == 0) take_sample(what.substr(7));
  else if (what.rfind("pareto+sample:", 0) == 0) take_pareto(), take_sample(what.substr(14));
  else throw InputError("--points: expected pareto, all, sample:N or pareto+sample:N, got '" + what + "'");
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  return chosen;
}

// Writes the fills into points.csv, points.jsonl and pareto.csv of OUT (rewritten atomically; every
// other byte unchanged).
void fill_points(const std::string& out, const std::unordered_map<uint64_t, PointFill>& res, const std::string& from,
                 const std::string& to) {
  const std::string csv_text = read_file(out + "/points.csv");
  const auto lines = split_lines(csv_text);
  // Field boundaries of a CSV line (quotes respected).
  auto fields = [](const std::string& l) {
    std::vector<std::pair<size_t, size_t>> f;
    size_t b = 0;
    bool q = false;
    for (size_t i = 0; i <= l.size(); ++i) {
      if (i < l.size() && l[i] == '"') q = !q;
      if (i == l.size() || (l[i] == ',' && !q)) f.push_back({b, i}), b = i + 1;
    }
    return f;
  };
  const auto head = fields(lines.at(0));
  std::unordered_map<std::string, size_t> col;
  for (size_t k = 0; k < head.size(); ++k) col[lines[0].substr(head[k].first, head[k].second - head[k].first)] = k;
  std::string out_csv = lines[0] + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty()) continue;
    const auto it = res.find(std::stoull(l.substr(0, l.find(','))));
    if (it == res.end()) {
      out_csv += l + "\n";
      continue;
    }
    const auto f = fields(l);
    std::vector<const std::string*> value(f.size(), nullptr);
    for (const auto& [name, v] : it->second.csv) {
      const auto c = col.find(name);
      if (c == col.end()) throw InputError(out + "/points.csv: no column '" + name + "' (made by an older nqkv dse run?)");
      value[c->second] = &v;
    }
    std::string nl;
    for (size_t k = 0; k < f.size(); ++k) {
      if (k) nl += ',';
      if (value[k]) nl += *value[k];
      else nl.append(l, f[k].first, f[k].second - f[k].first);
    }
    out_csv += nl + "\n";
  }
  std::string out_jsonl;
  for (const auto& l : split_lines(read_file(out + "/points.jsonl"))) {
    if (l.empty()) continue;
    const size_t p0 = l.find(':') + 1;
    const auto it = res.find(std::stoull(l.substr(p0, l.find(',') - p0)));
    std::string nl = l;
    const size_t a = nl.find(from);
    const size_t e = a == std::string::npos ? a : nl.find(to, a);
    if (it != res.end() && a != std::string::npos && e != std::string::npos)
      nl = nl.substr(0, a) + it->second.json + nl.substr(e);
    out_jsonl += nl + "\n";
  }
  // pareto.csv holds the same rows: rebuilt from the new lines.
  std::unordered_map<uint64_t, std::string> by_id;
  for (const auto& l : split_lines(out_csv))
    if (!l.empty() && l[0] != 'p') by_id[std::stoull(l.substr(0, l.find(',')))] = l;
  std::string out_pareto = lines[0] + "\n";
  for (const auto& l : split_lines(read_file(out + "/pareto.csv")))
    if (!l.empty() && l[0] != 'p') out_pareto += by_id.at(std::stoull(l.substr(0, l.find(',')))) + "\n";
  io::write_text_atomically(out + "/points.csv", out_csv);
  io::write_text_atomically(out + "/points.jsonl", out_jsonl);
  io::write_text_atomically(out + "/pareto.csv", out_pareto);
}

struct RtlBuild {
  std::string status, error, key, library;  // status: ok | failed | timeout | not built
  double seconds = 0;
};
struct RtlBuildCounts {
  int64_t built = 0, cached = 0, failed = 0;
  double seconds = 0;
};

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream is(s);
  for (std::string w; is >> w;) v.push_back(w);
  return v;
}

// Builds (or finds in the cache) the verilated model of each LANES in `builds` as a shared library:
// `<builder> --lanes L --out DIR` must leave DIR/libnq_rtl.so. Entry DIR = cache/rtl/<key>, key =
// SHA-256 of the RTL sources (rtl_sources_text), LANES, `verilator --version`, the builder's command
// and files, and the plugin sources; build.json records status, seconds and error. Failures are
// cached like syntheses (a timeout is not).
void build_rtl_models(const ValidateOptions& opt, std::map<int, RtlBuild>& builds, RtlBuildCounts& n) {
  const std::string src = NQKV_SOURCE_DIR;
  const std::vector<std::string> builder =
      split_words(opt.rtl_builder.empty() ? src + "/sim/rtl/build_plugin.sh" : opt.rtl_builder);
  const ChildResult ver = run_child({"verilator", "--version"}, 60, 0);
  if (ver.status != "ok" || builder.empty()) {
    for (auto& [lanes, b] : builds)
      b.status = "not built", b.error = fmt::format("LANES {} has no verilated model and Verilator was not found to build it", lanes);
    return;
  }
  std::string inputs = std::string(kToolVersion) + "\nrtl-build\n" + rtl_sources_text() + "\n" + ver.out + "\n";
  for (const auto& a : builder) inputs += a + "\n" + (fs::is_regular_file(a) ? read_file(a) : std::string()) + "\n";
  for (const char* f : {"/sim/rtl/rtl_plugin.cpp", "/sim/rtl/dut_impl.hpp", "/sim/rtl/vl_ports.hpp", "/sim/common/dut.hpp"})
    if (fs::is_regular_file(src + f)) inputs += read_file(src + f);
  for (auto& [lanes, b] : builds) {
    b.key = io::sha256_hex(inputs + "\nLANES " + std::to_string(lanes)).substr(0, 32);
    const std::string dir = opt.cache_dir + "/rtl/" + b.key;
    b.library = fs::absolute(dir + "/libnq_rtl.so").string();
    nlohmann::json j;
    if (load_cached(dir + "/build.json", j) && j.is_object() && (j.value("status", "") != "ok" || fs::is_regular_file(b.library))) {
      ++n.cached;
    } else {
      const std::string tmp = dir + ".partial-" + std::to_string(getpid());
      fs::remove_all(tmp);
      fs::create_directories(tmp);
      std::vector<std::string> argv = builder;
      argv.insert(argv.end(), {"--lanes", std::to_string(lanes), "--out", tmp});
      if (opt.progress) std::fprintf(stderr, "nqkv dse validate: building the RTL model of LANES %d (Verilator)\n", lanes);
      const ChildResult c = run_child(argv, opt.build_timeout_s, opt.build_memory_mib);
      ++n.built;
      const bool ok = c.status == "ok" && fs::is_regular_file(tmp + "/libnq_rtl.so");
      j = {{"status", ok ? "ok" : c.status == "ok" ? "failed" : c.status},
           {"lanes", lanes},
           {"seconds", c.elapsed_s},
           {"verilator", one_line(ver.out)},
           {"error", ok ? "" : c.status == "ok" ? "the builder left no libnq_rtl.so" : fmt::format("{} (exit {}): {}", c.status, c.exit_code, one_line(c.err_tail))}};
      if (j["status"] != "timeout") {
        io::write_text_atomically(tmp + "/build.json", j.dump(1) + "\n");
        fs::remove_all(dir);
        fs::rename(tmp, dir);
      } else {
        fs::remove_all(tmp);
      }
    }
    b.status = j.value("status", "failed");
    b.error = j.value("error", "");
    b.seconds = j.value("seconds", 0.0);
    n.seconds += b.seconds;  // the build's own time, also when it comes from the cache
    if (b.status != "ok") ++n.failed;
  }
}

}  // namespace

ValidateSummary validate(const ValidateOptions& opt) {
  check_out_dir(opt.out);
  const Spec spec = load_spec(opt.out + "/spec.yaml");
  const auto recs = read_jsonl(opt.out + "/points.jsonl");
  const std::vector<size_t> chosen = select_points(opt.out, recs, opt.points, opt.seed);

  struct Row {
    uint64_t id = 0;
    int lanes = 0, block_max = 0, bits_max = 0, div_sps = 0, q_heads = 0, kv_heads = 0, head_dim = 0, block = 0;
    int64_t context = 0;
    std::string codebook, elem, key, status, error, plugin;  // plugin: "LANES=path" of an on-demand build
    double model = 0, measured = 0;
    int64_t compared = 0, mismatches = 0;
    bool cached = false, needs_build = false;
  };
  std::vector<Row> rows;
  const std::string exe_hash = opt.backend_built ? io::sha256_file(opt.exe) : "";
  for (size_t i : chosen) {
    const auto& r = recs[i];
    Row w;
    w.id = r["point_id"].get<uint64_t>();
    w.lanes = r["lanes"].get<int>(), w.block_max = r["block_max"].get<int>(), w.bits_max = r["bits_max"].get<int>();
    w.div_sps = r["div_sps"].get<int>();
    const auto m = workloads::resolve_model(r["model"].get<std::string>());
    // Capped shape: at most max_q_heads query heads with the model's GQA ratio, the model's head_dim.
    const int ratio = static_cast<int>(std::max<int64_t>(1, m.heads / std::max<int64_t>(1, m.kv_heads)));
    w.q_heads = static_cast<int>(std::min<int64_t>(m.heads, std::max(opt.max_q_heads, ratio)));
    w.kv_heads = std::max(1, w.q_heads / ratio);
    w.head_dim = static_cast<int>(m.head_dim);
    w.context = std::min<int64_t>(r["context"].get<int64_t>(), opt.max_context);
    w.codebook = r["codebook"].get<std::string>(), w.elem = r["elem"].get<std::string>();
    w.block = r["block"].get<int>();
    accel::AccelConfig cfg;
    cfg.lanes = w.lanes, cfg.block_max = w.block_max, cfg.bits_max = w.bits_max, cfg.div_sps = w.div_sps;
    perf::KvFormat f;
    const int bits = golden::codebook_by_name(w.codebook).bits;
    f.kind = bits == 4 ? perf::KvKind::NF4 : bits == 3 ? perf::KvKind::NF3 : perf::KvKind::NF2;
    f.block = w.block;
    w.model = perf::accel_mac_cycles(perf::AcceleratorParams::from_config(cfg), w.q_heads, w.kv_heads, w.head_dim,
                                     w.context, f)
                  .dequant_mac;
    // The simulation builds are AccelConfig::sim(LANES) (BLOCK_MAX 256, BITS_MAX 4, DIV_SPS 4): a
    // point of another BLOCK_MAX/BITS_MAX runs there (its formats are a subset; the dequant-MAC's
    // cycles do not depend on them); another DIV_SPS has no build yet.
    if (!opt.backend_built) w.status = "not built", w.error = opt.not_built_reason;
    else if (w.div_sps != accel::AccelConfig{}.div_sps)
      w.status = "not built", w.error = fmt::format("DIV_SPS {} has no simulation build", w.div_sps);
    else if (std::find(opt.built_lanes.begin(), opt.built_lanes.end(), w.lanes) == opt.built_lanes.end()) {
      if (opt.backend == "rtl" && opt.rtl_builder != "none") w.needs_build = true;  // built on demand below
      else w.status = "not built", w.error = fmt::format("LANES {} is not among the {} builds", w.lanes, opt.backend);
    }
    rows.push_back(w);
  }
  // LANES without a built-in model: one Verilator build each, in a child process, cached by the
  // RTL sources, LANES, the Verilator version and the builder (sim/rtl/build_plugin.sh).
  std::map<int, RtlBuild> builds;
  for (const auto& w : rows)
    if (w.needs_build) builds[w.lanes];
  RtlBuildCounts bc;
  if (!builds.empty()) build_rtl_models(opt, builds, bc);
  for (auto& w : rows) {
    std::string plugin_key;
    if (w.needs_build) {
      const RtlBuild& b = builds.at(w.lanes);
      if (b.status == "not built") w.status = "not built", w.error = b.error;
      else if (b.status != "ok") w.status = "failed", w.error = "rtl build of LANES " + std::to_string(w.lanes) + ": " + b.error;
      else w.plugin = fmt::format("{}={}", w.lanes, b.library), plugin_key = b.key;
    }
    w.key = io::sha256_hex(fmt::format("{}\nvalidate\n{}\n{}\n{} {} {} {} {} {} {} {} {}{}", kToolVersion, exe_hash, opt.backend,
                                       w.lanes, w.q_heads, w.kv_heads, w.head_dim, w.context, w.codebook, w.elem, w.block,
                                       opt.seed, plugin_key.empty() ? "" : "\nrtl-build " + plugin_key))
                .substr(0, 32);
  }
  // One simulation per distinct key (many points share a capped shape), in child processes.
  std::vector<size_t> todo;
  std::unordered_map<std::string, size_t> first;
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i].status.empty() && first.emplace(rows[i].key, i).second) todo.push_back(i);
  ValidateSummary sum;
  std::atomic<int64_t> sims{0}, hits{0};
  {
    Progress pg(opt.progress, "validate", static_cast<int64_t>(todo.size()));
    parallel_for(static_cast<int64_t>(todo.size()), opt.jobs, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        Row& w = rows[todo[static_cast<size_t>(t)]];
        const std::string path = opt.cache_dir + "/validate/" + w.key + ".json";
        nlohmann::json j;
        if (load_cached(path, j)) w.cached = true, ++hits;
        if (!w.cached) {
          std::vector<std::string> argv = {
              opt.exe, "dse", "validate-point", "--backend", opt.backend, "--lanes", std::to_string(w.lanes), "--q-heads",
              std::to_string(w.q_heads), "--kv-heads", std::to_string(w.kv_heads), "--head-dim", std::to_string(w.head_dim),
              "--context", std::to_string(w.context), "--codebook", w.codebook, "--dtype", w.elem, "--block",
              std::to_string(w.block), "--seed", std::to_string(opt.seed)};
          if (!w.plugin.empty()) argv.insert(argv.end(), {"--rtl-plugin", w.plugin});
          const ChildResult c = run_child(argv, opt.timeout_s, opt.memory_mib);
          ++sims;
          if (c.status == "ok") {
            try {
              j = nlohmann::json::parse(c.out);
              j["status"] = "ok";
            } catch (const std::exception& ex) {
              j = {{"status", "failed"}, {"error", std::string("validate-point output is not JSON: ") + ex.what()}};
            }
          } else {
            j = {{"status", c.status}, {"error", fmt::format("{} (exit {}): {}", c.status, c.exit_code, one_line(c.err_tail))}};
          }
          if (j["status"] != "timeout") {
            fs::create_directories(opt.cache_dir + "/validate");
            io::write_text_atomically(path, j.dump(1) + "\n");
          }
        }
        if (j.value("status", "") == "ok") {
          w.measured = j["score_cycles"].get<double>() + j["value_cycles"].get<double>();
          w.compared = j["compared"].get<int64_t>(), w.mismatches = j["mismatches"].get<int64_t>();
          w.status = "ok";
        } else {
          w.status = "failed";
          w.error = j.value("error", std::string("unknown failure"));
        }
        pg.add(1);
      }
    });
  }
  for (auto& w : rows) {
    if (!w.status.empty()) continue;
    const Row& src = rows[first.at(w.key)];
    w.status = src.status, w.error = src.error, w.measured = src.measured, w.compared = src.compared,
    w.mismatches = src.mismatches, w.cached = true;
  }
  std::string csv =
      "point_id,backend,lanes,block_max,bits_max,div_sps,q_heads,kv_heads,head_dim,context,codebook,elem,block,"
      "model_mac_cycles,measured_mac_cycles,cycle_diff,compared,mismatches,bit_exact,status,cached,error\n";
  for (const auto& w : rows) {
    const bool ran = w.status == "ok";
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},", w.id, opt.backend, w.lanes,
                       w.block_max, w.bits_max, w.div_sps, w.q_heads, w.kv_heads, w.head_dim, w.context, w.codebook, w.elem,
                       w.block, w.model, ran ? fmt::format("{}", w.measured) : "",
                       ran ? fmt::format("{}", w.measured - w.model) : "", ran ? std::to_string(w.compared) : "",
                       ran ? std::to_string(w.mismatches) : "", ran ? (w.mismatches == 0 ? "yes" : "no") : "", w.status,
                       w.cached ? "yes" : "no");
    csv_str(csv, w.error);
    csv += '\n';
    ++sum.points;
    if (w.status == "not built") ++sum.not_built;
    else if (w.status != "ok") ++sum.failed;
    else {
      if (w.measured != w.model) ++sum.cycle_mismatch;
      if (w.mismatches != 0) ++sum.data_mismatch;
      if (w.measured == w.model && w.mismatches == 0) ++sum.exact;
    }
  }
  sum.shapes = static_cast<int64_t>(todo.size());
  sum.builds = bc.built, sum.build_cache_hits = bc.cached, sum.build_failed = bc.failed, sum.build_seconds = bc.seconds;
  sum.simulations = sims.load();
  sum.cache_hits = hits.load();
  io::write_text_atomically(opt.out + "/validation.csv", csv);
  io::write_text_atomically(opt.out + "/validation-" + opt.backend + ".csv", csv);
  nlohmann::json vs = {{"backend", opt.backend},         {"points", opt.points},         {"seed", opt.seed},
                       {"max_context", opt.max_context}, {"rows", sum.points},           {"shapes", sum.shapes},
                       {"simulations", sum.simulations}, {"cache_hits", sum.cache_hits}, {"exact", sum.exact},
                       {"cycle_mismatch", sum.cycle_mismatch}, {"data_mismatch", sum.data_mismatch},
                       {"not_built", sum.not_built},     {"failed", sum.failed},
                       {"rtl_builds", {{"lanes", builds.size()}, {"built", sum.builds}, {"cache_hits", sum.build_cache_hits},
                                       {"failed", sum.build_failed}, {"seconds", sum.build_seconds}}}};
  io::write_text_atomically(opt.out + "/validation.json", vs.dump(2) + "\n");
  io::write_text_atomically(opt.out + "/validation-" + opt.backend + ".json", vs.dump(2) + "\n");
  // RTL results also go into points.csv / points.jsonl / pareto.csv (rtl_cycle_diff, bit_exact of
  // each validated point).
  if (opt.backend == "rtl") {
    std::unordered_map<uint64_t, PointFill> res;
    for (const auto& w : rows)
      if (w.status == "ok") {
        const std::string diff = fmt::format("{}", w.measured - w.model), exact = w.mismatches == 0 ? "yes" : "no";
        res[w.id] = {{{"rtl_cycle_diff", diff}, {"bit_exact", exact}},
                     "\"rtl_cycle_diff\":" + diff + ",\"bit_exact\":\"" + exact + "\""};
      }
    fill_points(opt.out, res, "\"rtl_cycle_diff\":", ",\"ppl\":");
  }
  return sum;
}

std::string default_ppl_checkpoint() { return std::string(NQKV_SOURCE_DIR) + "/../shared/data/tinyllamas/stories260K.bin"; }

PerplexitySummary perplexity(const PerplexityOptions& opt) {
  check_out_dir(opt.out);
  const bool gguf = !opt.gguf.empty();
  if (gguf == !opt.checkpoint.empty()) throw InputError("nqkv dse perplexity: give --checkpoint or --gguf (one of them)");
  const std::string model_file = gguf ? opt.gguf : opt.checkpoint;
  if (!fs::is_regular_file(model_file)) throw InputError((gguf ? "--gguf: not found: " : "--checkpoint: not found: ") + model_file);
  if (!opt.text.empty() && !fs::is_regular_file(opt.text)) throw InputError("--text: not found: " + opt.text);
  const auto recs = read_jsonl(opt.out + "/points.jsonl");
  const std::vector<size_t> chosen = select_points(opt.out, recs, opt.points, opt.seed);
  // The key: the nqkv binary, the model file, a llama2.c checkpoint's tokenizer(s), the text, the format.
  std::string inputs = std::string(kToolVersion) + "\nppl\n" + io::sha256_file(opt.exe) + "\n" + (gguf ? "gguf " : "") +
                       io::sha256_file(model_file);
  std::vector<std::string> toks;
  if (!opt.tokenizer.empty()) toks.push_back(opt.tokenizer);
  else if (!gguf)
    for (const auto& e : fs::directory_iterator(fs::absolute(opt.checkpoint).parent_path()))
      if (e.path().filename().string().rfind("tok", 0) == 0 && e.path().extension() == ".bin") toks.push_back(e.path().string());
  std::sort(toks.begin(), toks.end());
  for (const auto& t : toks) inputs += "\n" + io::sha256_file(t);
  if (!opt.text.empty()) inputs += "\ntext " + io::sha256_file(opt.text);
  const std::string model = fs::path(model_file).stem().string();
  struct Fmt {
    std::string codebook, elem, key, status, error;
    int block = 0;
    double ppl = 0;
    bool cached = false;
  };
  // Index 0: the f32 cache (the reference of ppl_delta_pct); then one per distinct format.
  std::vector<Fmt> fmts = {{"f32", "f32", "", "", "", 0, 0, false}};
  std::map<std::tuple<std::string, int, std::string>, size_t> of;
  std::vector<size_t> fmt_of(chosen.size());
  for (size_t i = 0; i < chosen.size(); ++i) {
    const auto& r = recs[chosen[i]];
    const auto k = std::make_tuple(r["codebook"].get<std::string>(), r["block"].get<int>(), r["elem"].get<std::string>());
    auto it = of.find(k);
    if (it == of.end()) {
      it = of.emplace(k, fmts.size()).first;
      fmts.push_back({std::get<0>(k), std::get<2>(k), "", "", "", std::get<1>(k), 0, false});
    }
    fmt_of[i] = it->second;
  }
  PerplexitySummary sum;
  std::atomic<int64_t> runs{0}, hits{0};
  {
    Progress pg(opt.progress, "perplexity", static_cast<int64_t>(fmts.size()));
    parallel_for(static_cast<int64_t>(fmts.size()), opt.jobs, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        Fmt& f = fmts[static_cast<size_t>(t)];
        f.key = io::sha256_hex(inputs + "\n" + f.codebook + " " + std::to_string(f.block) + " " + f.elem).substr(0, 32);
        const std::string path = opt.cache_dir + "/ppl/" + f.key + ".json";
        nlohmann::json j;
        if (load_cached(path, j)) f.cached = true, ++hits;
        if (!f.cached) {
          const std::string csv = opt.cache_dir + "/ppl/" + f.key + ".csv.partial-" + std::to_string(getpid());
          fs::create_directories(opt.cache_dir + "/ppl");
          std::vector<std::string> argv = {opt.exe, "eval", gguf ? "--gguf" : "--checkpoint", model_file, "--kv", f.codebook,
                                           "--no-baselines", "--gen", "1", "--csv", csv};
          if (f.block > 0) argv.insert(argv.end(), {"--block", std::to_string(f.block), "--type", f.elem});
          if (!opt.tokenizer.empty()) argv.insert(argv.end(), {"--tokenizer", opt.tokenizer});
          if (!opt.text.empty()) argv.insert(argv.end(), {"--text", opt.text});
          const ChildResult c = run_child(argv, opt.timeout_s, opt.memory_mib);
          ++runs;
          j = {{"status", c.status}, {"seconds", c.elapsed_s}, {"model", model}};
          if (c.status == "ok") {
            try {
              const auto lines = split_lines(read_file(csv));
              // format,block,path,bits_per_element,ppl,...: the one row after the header.
              const std::string& row = lines.at(1);
              size_t p = 0;
              for (int k = 0; k < 4; ++k) p = row.find(',', p) + 1;
              j["ppl"] = std::stod(row.substr(p, row.find(',', p) - p));
            } catch (const std::exception& ex) {
              j["status"] = "failed";
              j["error"] = std::string("nqkv eval wrote no perplexity row: ") + ex.what();
            }
          } else {
            j["error"] = fmt::format("nqkv eval {} (exit {}): {}", c.status, c.exit_code, one_line(c.err_tail));
          }
          fs::remove(csv);
          if (j["status"] != "timeout") io::write_text_atomically(path, j.dump(1) + "\n");
        }
        f.status = j.value("status", "failed");
        f.error = j.value("error", "");
        if (f.status == "ok") f.ppl = j["ppl"].get<double>();
        pg.add(1);
      }
    });
  }
  sum.formats = static_cast<int64_t>(fmts.size());
  sum.runs = runs.load(), sum.cache_hits = hits.load();
  const bool ref = fmts[0].status == "ok";
  std::string table = "codebook,block,elem,ppl,ppl_delta_pct,status,cached,error\n";
  for (const auto& f : fmts) {
    const bool ok = f.status == "ok";
    table += fmt::format("{},{},{},{},{},{},{},", f.codebook, f.block, f.elem, ok ? fmt::format("{}", f.ppl) : "",
                         ok && ref ? fmt::format("{}", 100.0 * (f.ppl / fmts[0].ppl - 1.0)) : "", f.status,
                         f.cached ? "yes" : "no");
    csv_str(table, f.error);
    table += '\n';
    if (!ok) ++sum.failed;
  }
  std::unordered_map<uint64_t, PointFill> res;
  const std::string fid = model + "-eval";
  for (size_t i = 0; i < chosen.size(); ++i) {
    const Fmt& f = fmts[fmt_of[i]];
    if (f.status != "ok") continue;
    const std::string ppl = fmt::format("{}", f.ppl);
    const std::string delta = ref ? fmt::format("{}", 100.0 * (f.ppl / fmts[0].ppl - 1.0)) : "";
    res[recs[chosen[i]]["point_id"].get<uint64_t>()] = {
        {{"ppl", ppl}, {"ppl_delta_pct", delta}, {"fidelity_ppl", fid}},
        "\"ppl\":" + ppl + ",\"ppl_delta_pct\":" + (delta.empty() ? "null" : delta) + ",\"fidelity_ppl\":\"" + fid + "\""};
    ++sum.points;
  }
  fill_points(opt.out, res, "\"ppl\":", ",\"error\":");
  io::write_text_atomically(opt.out + "/perplexity-" + model + ".csv", table);
  const nlohmann::json pj = {{"model", model},         {"checkpoint", model_file}, {"text", opt.text.empty() ? "built-in" : opt.text},
                             {"points", opt.points},   {"rows", chosen.size()},        {"filled", sum.points},
                             {"formats", sum.formats}, {"runs", sum.runs},             {"cache_hits", sum.cache_hits},
                             {"failed", sum.failed},   {"reference", "f32 KV cache"},
                             {"command", std::string("nqkv eval ") + (gguf ? "--gguf" : "--checkpoint") +
                                             " MODEL --kv CODEBOOK --block B --type ELEM --no-baselines --gen 1"}};
  io::write_text_atomically(opt.out + "/perplexity-" + model + ".json", pj.dump(2) + "\n");
  return sum;
}

}  // namespace nqkv::dse
