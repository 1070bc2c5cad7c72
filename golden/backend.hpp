// The backend interface: every implementation of docs/numerics.md (the golden CPU library, the
// verilated RTL, the SystemC model, the CUDA kernels) is a Backend registered by name. Commands
// (`nqkv golden check`, `nqkv run`, `nqkv sim`, `nqkv backends`) iterate the registry instead of
// dispatching on strings; a backend that is part of the project but not compiled into this build
// is listed with the reason. Adding a backend: docs/architecture.md, "Add a backend".
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.hpp"

namespace nqkv::backend {

// Collects mismatches: counts every comparison, keeps the first `max_shown` (name[index],
// expected and got in hex) for the report. The one mismatch collector of every backend.
class Mismatches {
 public:
  explicit Mismatches(int max_shown = 8) : max_shown_(max_shown) {}
  // Compares one value; hex_digits is the printed width (2 for bytes, 4 for fp16 bits ...).
  bool cmp(const std::string& name, int64_t index, uint64_t expected, uint64_t got, int hex_digits = 16);
  void error(const std::string& what);  // a failure that is not a value (protocol, missing output)
  void add_compared(int64_t n) { compared_ += n; }
  int64_t compared() const { return compared_; }
  int64_t mismatches() const { return mismatches_; }
  const std::string& report() const { return report_; }

 private:
  int max_shown_;
  int shown_ = 0;
  int64_t compared_ = 0, mismatches_ = 0;
  std::string report_;
};

// Cycle statistics of a backend that has cycles (rtl, systemc). Stall causes are named by the
// backend (e.g. "input starved", "output back-pressured"); `stall_cycles` is the harness's count
// of cycles in which the data stream offered a beat and the accelerator was not ready.
struct CycleStats {
  uint64_t cycles = 0, stall_cycles = 0;
  std::map<std::string, uint64_t> stalls;
  void add(const CycleStats& o);
};

// The result of checking one golden case (or a random self-check) on a backend.
struct Result {
  int64_t compared = 0, mismatches = 0;
  std::string report;        // the first mismatches, then "(seed N)" for seeded backends
  bool skipped = false;
  std::string skip_reason;
  bool has_cycles = false;   // cycles below are meaningful
  CycleStats cycles;
  void take(const Mismatches& m) {
    compared += m.compared();
    mismatches += m.mismatches();
    report += m.report();
  }
};

// Options of a run; backends ignore what does not apply to them.
struct Options {
  int lanes = 0;               // cycle models: the parameter set (0: the backend's default)
  uint64_t seed = 1;           // stall pattern and random reset
  bool backpressure = true;    // random valid gaps and ready on the streams
  std::string trace;           // waveform file (FST of the RTL: rtl and lockstep; systemc refuses it)
  std::string level;           // abstraction level of run_workload (empty: the backend's first)
};

// `nqkv sim`: a decode workload on a cycle model. For each sequence, the K/V of `context` tokens
// go through the quantizer, then one decode step runs the score and value passes.
struct Workload {
  int q_heads = 8, kv_heads = 2, head_dim = 128;
  int64_t context = 512;
  int batch = 1;
  std::string codebook = "nf4";
  std::string dtype = "f16";
  int block = 64;
};
struct WorkloadResult {
  Result check;  // every accelerator output against the golden library
  uint64_t quant_cycles = 0, quant_elements = 0, quant_stall_cycles = 0;
  uint64_t score_cycles = 0, value_cycles = 0, macs = 0, mac_stall_cycles = 0;
  double quant_steady = 0, mac_steady = 0;  // data beats per cycle between first and last beat
  double seconds = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  // False with the reason when the backend is built but cannot run here (no GPU).
  virtual bool available(std::string* why) const = 0;
  // Parameter sets a cycle model was built for (LANES); empty for backends without lanes.
  virtual std::vector<int> lanes() const { return {}; }
  virtual int default_lanes() const { return 0; }
  // True when the backend has a clock: `nqkv sim` runs only these.
  virtual bool has_cycles() const { return false; }
  // Abstraction levels run_workload offers (e.g. "cycle", "tlm"), the default first; empty: one.
  virtual std::vector<std::string> levels() const { return {}; }
  // Checks one golden case (`nqkv golden gen`): every output bit for bit.
  virtual Result check_case(const io::SafeTensors& golden_case, const Options& opt) const = 0;
  // `nqkv sim`; backends without cycles throw InputError.
  virtual WorkloadResult run_workload(const Workload& w, const Options& opt) const;
};

using Factory = std::function<std::unique_ptr<Backend>()>;

// Registration (one static object per backend; see NQKV_REGISTER_BACKEND).
struct Registrar {
  Registrar(const std::string& name, Factory f);
};

// What the registry knows of one name: the backend when it is built, else why it is not.
struct Entry {
  std::string name;
  const Backend* backend = nullptr;  // null: not built into this binary
  std::string not_built;             // the reason when backend is null
};
// Every backend of the project in a fixed order (cpu, rtl, systemc, cuda, then any other),
// built or not.
std::vector<Entry> entries();
// The backend named `name`; InputError (one line, naming the valid ones) when it is unknown,
// not built, or unavailable (when require_available).
const Backend& find(const std::string& name, bool require_available = true);
// Names of the backends built into this binary.
std::vector<std::string> built_names();
// Resolves opt.lanes against the backend's built set: 0 -> its default; InputError naming the
// built set when the backend does not have it.
int resolve_lanes(const Backend& b, int lanes);
// Resolves opt.level: "" -> the default level; InputError naming the valid ones otherwise.
std::string resolve_level(const Backend& b, const std::string& level);

}  // namespace nqkv::backend

#define NQKV_BACKEND_CAT2(a, b) a##b
#define NQKV_BACKEND_CAT(a, b) NQKV_BACKEND_CAT2(a, b)
// Registers a backend class (default-constructible) under its name. The translation unit holding
// this line must be linked whole (CMake: nqkv_link_backends), or the registration is dropped.
#define NQKV_REGISTER_BACKEND(name, Class)                                                   \
  static const ::nqkv::backend::Registrar NQKV_BACKEND_CAT(nqkv_backend_registrar_, __LINE__)( \
      name, [] { return std::unique_ptr<::nqkv::backend::Backend>(new Class()); })
