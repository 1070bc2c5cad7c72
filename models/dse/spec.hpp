// The design-space exploration spec (docs/dse.md): a YAML (or JSON) file, `version: 1`, with
// axes (hardware, system, format, workload), constraints, objectives, a search strategy and the
// evaluators' settings. Every error names the file, the key and the problem in one line
// (nqkv::InputError).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nqkv::dse {

// One off-chip memory technology of the `system.memory` axis.
struct Memory {
  std::string name;
  double bandwidth_gbs = 0, capacity_gib = 0, pj_per_bit = 0;
  std::string technology;  // the energy table's DRAM technology (hbm2, hbm2e, gddr6, ...); "" = name
};

// The axes, in enumeration order (the first varies slowest in a grid).
enum AxisId : int {
  kLanes, kBlockMax, kBitsMax, kDivSps,           // hardware: one RTL build and one synthesis each
  kClockGhz, kBufferKib, kMemory,                 // system
  kCodebook, kBlock, kElem,                       // format
  kModel, kContext, kBatch, kGen,                 // workload
  kAxisCount
};
// Spec key of an axis: "hardware.lanes", ...
const char* axis_key(int axis);
// Quantity name of an axis in constraints and outputs: "lanes", ...
const char* axis_name(int axis);

struct Axis {
  std::vector<double> num;        // numeric axes (batch: -1 = "max")
  std::vector<std::string> str;   // codebook, elem, model
  std::vector<Memory> mem;        // memory
  size_t size() const { return !num.empty() ? num.size() : !str.empty() ? str.size() : mem.size(); }
};

// A constraint: clauses `lhs op rhs` joined by `and`; an operand is a quantity name or a number.
struct Clause {
  std::string lhs, rhs;     // names (empty when the side is a number)
  double lhs_num = 0, rhs_num = 0;
  enum Op { LE, LT, GE, GT, EQ, NE } op = LE;
};
struct Constraint {
  std::string text;
  std::vector<Clause> clauses;
  int stage = 0;  // the latest stage whose quantities it names (Stage below)
};

// Evaluation stages, in order; a constraint is checked as soon as its quantities exist.
enum Stage : int { kStageAxes = 0, kStageArea = 1, kStageQuality = 2, kStageAnalytic = 3, kStageEnergy = 4 };
// The stage that produces a quantity, or -1 when the name is unknown.
int quantity_stage(const std::string& name);
// Every quantity name (for did-you-mean and docs).
const std::vector<std::string>& quantity_names();

struct Objective {
  std::string metric;  // tokens_per_s, energy_pj_per_token, area_mm2, rel_mse, ...
  bool maximize = false;
};
// "max tokens_per_s" / "min area_mm2"; throws InputError naming `where` for anything else.
Objective parse_objective(const std::string& text, const std::string& where);

struct Spec {
  std::string path;         // the file it came from ("" for text)
  std::string sha256;       // of the file's bytes
  std::string text;         // the file's bytes (copied into OUT/spec.yaml)
  std::string name = "dse";
  std::array<Axis, kAxisCount> axes;
  std::vector<Constraint> constraints;
  std::vector<Objective> objectives;
  bool random = false;      // strategy random:N (else grid)
  uint64_t random_points = 0;
  uint64_t seed = 1;
  // The host beside the accelerator (system.host: a models/perf GPU entry): it holds the weights and
  // runs the weight matmuls; the accelerator keeps the quantized KV cache and runs decode attention.
  std::string host = "h100-80gb";
  bool overlap = false;     // system.overlap: none (host then accelerator, per step) | full (max of the two)
  // evaluators
  bool quality = true;
  int64_t quality_elements = 65536;  // synthetic KV elements per format
  bool energy = true;
  bool energy_weights = false;  // DRAM energy also counts the host's weight reads (/ batch) at the memory's pJ/bit
  bool area = true;
  std::string area_script = "tools/area/nqkv_area.py";  // relative to the repository root
  // A Liberty file: logic area in um^2 from Yosys `stat -liberty` (tools/area/nqkv_area_liberty.py,
  // the default script then) instead of transistors x a density; "" = none.
  std::string area_liberty;
  double sram_um2_per_bit = 0;  // > 0: the buffer's bit-cell area (the spec is its source) instead of the N7 figure
  double area_timeout_s = 3600;
  double area_memory_mib = 8192;

  uint64_t grid_size() const;   // product of the axis sizes
  uint64_t point_count() const { return random ? random_points : grid_size(); }
};

Spec load_spec(const std::string& path);
Spec parse_spec(const std::string& text, const std::string& origin);

// Levenshtein distance and the closest candidate (empty when none is within 3 edits).
size_t edit_distance(const std::string& a, const std::string& b);
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// Constraint expression: `name op number|name [and ...]`; throws InputError naming `where`.
Constraint parse_constraint(const std::string& text, const std::string& where);

}  // namespace nqkv::dse
