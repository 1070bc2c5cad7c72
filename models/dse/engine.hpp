// The design-space exploration engine behind `nqkv dse` (docs/dse.md).
//
// A Study is a parsed spec with its models resolved. Point `id` (0..point_count-1) maps to a grid
// index (itself for `grid`, a seeded draw for `random:N`), the grid index to one value per axis,
// and evaluate(id) to one Record: a pure function of (spec, id) given the content-addressed stage
// cache, so any process (a --jobs thread, a shard, an MPI rank) computes the same bytes.
//
// Stages and evaluators (each: name, fidelity, inputs, outputs, cost; see evaluators()):
//   axes      constraints over axis quantities prune points before anything runs;
//   area      tools/area/nqkv_area.py (Yosys) per distinct hardware set, in a child process with
//             a timeout and a memory budget, cached by a hash of the script, the RTL and the set;
//   quality   relative MSE / SQNR from the golden library on a seeded synthetic KV sample, per format;
//   analytic  the accelerator cycle formulas and the serving projection of models/perf;
//   energy    models/dse/energy (when built).
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "models/dse/spec.hpp"
#include "workloads/model_zoo.hpp"

namespace nqkv::dse {

// Quantities, in the order of quantity_names().
enum Q : int {
  qLanes, qBlockMax, qBitsMax, qDivSps, qClockGhz, qBufferKib, qBandwidthGbs, qCapacityGib, qPjPerBit, qBits,
  qBlock, qElemBits, qContext, qGen, qLayers, qHeads, qKvHeads, qHeadDim,
  qTransistors, qAreaMm2,
  qRelMse, qSqnrDb, qBitsPerElement,
  qBatch, qCyclesPerLayer, qMacCycles, qTokensPerS, qTpotS, qMaxBatch, qMaxContext, qHostStepS, qAccelStepS,
  qEnergy,
  kQuantities
};

enum class Status : uint8_t { Ok, Pruned, Invalid, Infeasible, Failed };
const char* status_name(Status s);

struct Record {
  uint64_t id = 0, grid = 0;
  std::array<uint32_t, kAxisCount> idx{};
  std::array<double, kQuantities> q{};
  int reached = -1;          // the last stage whose quantities are in q
  Status status = Status::Ok;
  std::string error;         // why, when not ok (one line)
  double area_logic_mm2 = 0, area_sram_mm2 = 0;
  bool has_energy = false;
  double e_dram = 0, e_sram = 0, e_mac = 0, e_quant = 0, e_high = 0;
};

// One evaluator as the engine sees it.
struct EvaluatorInfo {
  std::string name, fidelity, inputs, outputs, cost;
};
const std::vector<EvaluatorInfo>& evaluators();

// Area result of one hardware set (cached on disk as JSON).
struct AreaResult {
  std::string status;   // ok | failed | timeout | invalid
  double transistors = 0;
  double area_um2 = 0;  // logic area from `stat -liberty` (evaluators.area.liberty; 0 without)
  double elapsed_s = 0;
  std::string error;
  bool cached = false;
};

// Sources of the area conversion (documented in docs/dse.md; written into summary.json).
struct AreaAssumptions {
  double logic_mtr_per_mm2 = 91.2;       // TSMC N7 logic density
  double sram_um2_per_bit = 0.027;       // TSMC N7 high-density 6T SRAM bit cell
  double sram_array_overhead = 2.0;      // bit cells to macro area (periphery, sense amps)
  static const char* logic_source();
  static const char* sram_source();
};

struct Counters {
  std::atomic<int64_t> area_computed{0}, area_cached{0}, area_failed{0};
  std::atomic<int64_t> quality_computed{0};
};

struct HostState;  // engine.cpp: the resolved system.host

class Study {
 public:
  // Resolves the models (an unknown model: "<file>: workload.model[i]: ..."), checks the area
  // script exists when area is on. cache_dir holds the stage cache (created when needed).
  Study(Spec spec, std::string cache_dir);
  Study(const Study&) = delete;
  Study& operator=(const Study&) = delete;

  const Spec& spec() const { return spec_; }
  uint64_t point_count() const { return spec_.point_count(); }
  uint64_t grid_index(uint64_t id) const;
  void decode(uint64_t grid, std::array<uint32_t, kAxisCount>& idx) const;
  // Axis quantities and axis constraints only: false when the point is pruned.
  bool axes_pass(uint64_t id, Record& r) const;
  // The whole point (axes, area, quality, analytic, energy); never throws for a point's own
  // problem (it becomes the record's status).
  Record evaluate(uint64_t id) const;

  // Distinct hardware sets (lanes, block_max, bits_max, div_sps) as indices into the four axes.
  size_t hw_index(const std::array<uint32_t, kAxisCount>& idx) const;
  size_t hw_count() const;
  std::string hw_label(size_t hw) const;
  std::string area_key(size_t hw) const;      // cache key ("" when area is off)
  bool area_is_cached(size_t hw) const;
  // Not in the stage cache, but tools/area/nqkv_area.py (the default script) has it in its own
  // cache (reports/area/cache, same key as the script's): filling the stage cache is then a read.
  bool area_script_has(size_t hw) const;
  // Computes (or loads) the area of a set; thread-safe, once per set per process.
  const AreaResult& area(size_t hw) const;
  // MPI (`mpirun nqkv dse run`): rank 0's area results of the given sets as text, and their import
  // on a worker before it evaluates points, so workers never synthesize (rank 0 is the only
  // writer of the cache) and see exactly rank 0's results (timeouts, which are not cached, too).
  std::string export_area(const std::vector<size_t>& hws) const;
  void import_area(const std::string& text) const;
  // Mean synthesis time of the cached entries (plan's estimate; 0 when none).
  double mean_cached_area_seconds() const;

  Counters& counters() const { return counters_; }
  // OUT/energy_table.json: every constant the energy models of this study use (nothing when off).
  void write_energy_table(const std::string& dir) const;
  std::string cache_dir() const { return cache_dir_; }
  std::string tool_version() const;
  // SHA-256 of the area script, the RTL file list and every RTL source and include ("" when area is off).
  std::string area_key_inputs() const;

 private:
  struct QualityResult {
    double rel_mse = 0, sqnr_db = 0;
  };
  const QualityResult& quality(size_t fmt) const;
  void analytic(Record& r) const;
  bool check(const Record& r, int stage, std::string& failed) const;

  Spec spec_;
  std::string cache_dir_, area_script_, area_liberty_, rtl_hash_;
  std::vector<workloads::ModelConfig> models_;
  std::shared_ptr<const HostState> host_;  // system.host resolved (models/perf Hardware)
  std::vector<std::string> memory_tech_;
  AreaAssumptions area_assumptions_;
  mutable std::vector<AreaResult> area_;
  mutable std::unique_ptr<std::once_flag[]> area_once_;
  mutable std::vector<QualityResult> quality_;
  mutable std::unique_ptr<std::once_flag[]> quality_once_;
  mutable Counters counters_;
  std::array<size_t, kAxisCount> stride_{};
  struct EnergyState;
  std::shared_ptr<EnergyState> energy_;
 public:
  struct Compiled;  // constraints compiled to quantity indices
 private:
  std::shared_ptr<const Compiled> compiled_;
};

// Output columns and renderers (deterministic: shortest round-trip numbers via fmt).
std::string csv_header();
void append_csv(std::string& out, const Study& s, const Record& r);
void append_jsonl(std::string& out, const Study& s, const Record& r);

struct RunOptions {
  std::string out;          // output directory (written as OUT.partial, renamed at the end)
  int jobs = 1;
  bool resume = false;      // a killed run left OUT.partial: reuse the cache, start over the outputs
  int64_t shard_index = 0, shard_count = 1;  // points with id % count == index
  bool progress = true;
  std::string command;      // the command line, for summary.json
};

struct RunSummary {
  int64_t points = 0, pruned = 0, ok = 0, invalid = 0, infeasible = 0, failed = 0, pareto = 0;
  double seconds = 0;
};

RunSummary run(const Study& study, const RunOptions& opt);

// Plan: points per stage after constraints, cache hits, CPU-time estimate. No work is done.
std::string plan(const Study& study);

// Pareto front of OUT/points.jsonl under `objectives` (the spec's when empty): rows of points.csv.
std::vector<uint64_t> pareto_front(const std::vector<std::vector<double>>& values, const std::vector<bool>& maximize);

// merge OUT1 OUT2 ... -> OUT (shards of one spec: same spec hash, disjoint, complete).
void merge(const std::vector<std::string>& inputs, const std::string& out, const std::string& cache_dir);

// nqkv dse pareto OUT: writes pareto.csv again (objectives given or from the spec) and, with
// plot_dir, the PNG plots; returns the front as CSV text.
std::string pareto_command(const std::string& out, const std::vector<std::string>& objectives,
                           const std::string& plot_dir, const std::string& cache_dir);

// nqkv dse validate OUT: re-runs selected points on a cycle-model backend (rtl, systemc) with the
// shape capped, each in a child process (`exe dse validate-point ...`, timeout and memory budget),
// and writes OUT/validation.csv: model-vs-backend dequant-MAC cycle difference (must be 0) and the
// bit-exact verdict. Results are cached by (nqkv binary hash, backend, shape), so a re-run
// simulates nothing.
struct ValidateOptions {
  std::string out, backend, exe, cache_dir;
  std::string points = "pareto";     // pareto | all | sample:N | pareto+sample:N
  bool backend_built = true;
  std::string not_built_reason;
  std::vector<int> built_lanes;      // LANES of the backend's builds
  int64_t max_context = 256;         // cap of the simulated context
  int max_q_heads = 8;               // cap of the simulated query heads (kv heads scaled with it)
  uint64_t seed = 1;
  int jobs = 1;
  double timeout_s = 600, memory_mib = 4096;
  bool progress = true;
  // rtl: a LANES without a built-in model is built on demand, `<rtl_builder> --lanes L --out DIR`
  // leaving DIR/libnq_rtl.so ("" = sim/rtl/build_plugin.sh of the source tree; "none" = off), in a
  // child process with this timeout and budget, cached under cache_dir/rtl/ by the RTL sources,
  // LANES, the Verilator version and the builder.
  std::string rtl_builder;
  double build_timeout_s = 3600, build_memory_mib = 8192;
};
struct ValidateSummary {
  int64_t points = 0, shapes = 0, simulations = 0, cache_hits = 0, exact = 0, cycle_mismatch = 0, data_mismatch = 0,
          not_built = 0, failed = 0;
  int64_t builds = 0, build_cache_hits = 0, build_failed = 0;  // on-demand RTL builds
  double build_seconds = 0;  // time of the builds used (from build.json when cached)
};
ValidateSummary validate(const ValidateOptions& opt);

// nqkv dse perplexity OUT: perplexity of the selected points' KV formats on a llama2.c checkpoint
// (stories260K) or a GGUF model (SmolLM2) through `nqkv eval` (golden decode attention, the
// accelerator's integer dequant-MAC), one child run per distinct (codebook, block, elem) plus the
// f32 cache as the reference, cached under cache_dir/ppl/ by the nqkv binary, the model file, a
// checkpoint's tokenizer, the text and the format. Fills ppl, ppl_delta_pct, fidelity_ppl
// (<model>-eval) of the selected points in points.csv/points.jsonl/pareto.csv (the last model run);
// writes OUT/perplexity-<model>.csv and .json. A format the model cannot take (a block not
// dividing its kv_dim) is a failed row with nqkv eval's reason.
struct PerplexityOptions {
  std::string out, exe, cache_dir, checkpoint, gguf, tokenizer, text;  // checkpoint or gguf
  std::string points = "pareto";
  uint64_t seed = 1;
  int jobs = 1;
  double timeout_s = 600, memory_mib = 4096;
  bool progress = true;
};
struct PerplexitySummary {
  int64_t formats = 0, runs = 0, cache_hits = 0, failed = 0, points = 0;
};
PerplexitySummary perplexity(const PerplexityOptions& opt);
// ../shared/data/tinyllamas/stories260K.bin beside the source tree (may be absent).
std::string default_ppl_checkpoint();

// nqkv dse report OUT -o FILE.md
// plots: path of the PNGs of `nqkv dse pareto --plot` relative to the report ("": no plot section);
// also: other finished OUTs whose counts, validation runs and validation rows are appended.
std::string report_markdown(const std::string& out, const std::string& command, const std::string& plots = "",
                            const std::vector<std::string>& also = {});

}  // namespace nqkv::dse
