// Energy per generated token of a decode step on the NQKV accelerator, split into four terms:
//   dram    : bits read from and written to off-chip memory (KV cache, the new token's K/V,
//             optionally the weights) x pJ/bit of the memory technology;
//   sram    : bits written into and read out of the on-chip KV tile buffer x pJ/bit of an SRAM of
//             that capacity;
//   mac_lut : the dequant-MAC (per code: one codebook look-up, one 16x8 multiply, one add into the
//             adder tree or accumulator; per block: the scale combine m_b x P_b, shift, 64-bit add);
//   quant   : the quantizer (per element: absmax compare, 24x24 normalising multiply, NTHR
//             threshold compares; per block: the 24-step reciprocal).
// Every constant comes from models/dse/data/energy_table.json (compiled in; a user table can be
// loaded instead), and every entry names its source. Where sources disagree the table keeps all of
// them: each term is computed once per source that provides it, and the result carries the
// lowest and highest value of every term (low.total = sum of the lowest terms, high.total = sum of
// the highest), so a report shows the spread instead of a silently chosen number.
//
// Cost: the constants are resolved per EnergyConfig once (EnergyModel's constructor: JSON and
// look-ups happen there); EnergyModel::evaluate is a few dozen multiply-adds, no allocation.
//
// Typical use (the DSE engine):
//   const dse::EnergyModel em(dse::EnergyTable::builtin(), {"hbm2", 256 * 1024, 4});   // per system point
//   dse::EnergyInputs in = dse::decode_energy_inputs(model, fmt, ctx, batch, true);    // per point
//   dse::EnergyResult r = em.evaluate(in);  // r.low / r.high: {dram, sram, mac_lut, quant, total} pJ/token
//   ... at the end: dse::write_energy_table(out + "/energy_table.json", table, used_ids);
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/perf/kv_format.hpp"
#include "workloads/model_zoo.hpp"

namespace nqkv::dse {

// One constant of the table: a value with its unit, what it measures and where it comes from.
struct EnergyConstant {
  std::string id;        // unique, e.g. "horowitz2014.int_mult_8b"
  std::string quantity;  // int_add | int_mult | sram_read | dram
  double value = 0;      // in `unit`
  std::string unit;      // pJ/op (int_add, int_mult), pJ/access (sram_read), pJ/bit (dram)
  std::string source;    // key into EnergyTable::sources
  int bits = 0;          // int_add / int_mult: operand width (both operands)
  int64_t capacity_bytes = 0;  // sram_read: array capacity
  int access_bits = 0;         // sram_read: bits per access
  std::string technology;      // dram: ddr4, lpddr5, hbm2, ... (lower case)
  int node_nm = 0;             // process node of the figure (0: not stated by the source)
  std::string note;            // where in the source (figure/table) and any derivation or assumption
  std::string checked;         // how the value was checked in this repository (where it was re-read)
};

struct EnergySource {
  std::string id;        // e.g. "horowitz2014"
  std::string citation;  // authors, title, venue, year
  std::string url;       // DOI or stable link ("" when none)
};

class EnergyTable {
 public:
  // The table compiled into nqkv from models/dse/data/energy_table.json.
  static const EnergyTable& builtin();
  // Parses {"version": 1, "sources": [...], "constants": [...]}. Every problem (bad JSON, a missing
  // or mistyped key, an unknown quantity or source, a duplicate id, a non-positive value, a wrong
  // unit) throws InputError "<origin>: <key path>: <problem>", e.g.
  // "t.json: constants[3].value: expected a positive number".
  static EnergyTable parse(const std::string& json_text, const std::string& origin);
  static EnergyTable load(const std::string& path);

  const std::vector<EnergyConstant>& constants() const { return constants_; }
  const std::vector<EnergySource>& sources() const { return sources_; }
  const EnergyConstant& constant(const std::string& id) const;  // throws InputError when unknown
  const EnergySource& source(const std::string& id) const;      // throws InputError when unknown
  // Memory technologies with at least one dram entry, sorted.
  std::vector<std::string> technologies() const;
  // Adds a constant (e.g. a pJ/bit given in a DSE spec, with the spec file as its source);
  // validated like a parsed entry (InputError on a duplicate id, unknown source, bad value).
  void add_source(const EnergySource& s);
  void add_constant(const EnergyConstant& c);

 private:
  std::vector<EnergyConstant> constants_;
  std::vector<EnergySource> sources_;
};

// The system-level choices that select constants (one EnergyModel per distinct EnergyConfig).
struct EnergyConfig {
  std::string memory_technology = "hbm2";  // must have a dram entry (else InputError listing them)
  double sram_bytes = 256.0 * 1024;        // on-chip KV buffer capacity: selects the SRAM entries
  int bits_max = 4;                        // BITS_MAX: the quantizer compares 2^bits_max - 1 thresholds
};

// Counts per generated token (one sequence, one decode step, all layers). Fill with
// decode_energy_inputs or by hand; all counts are >= 0.
struct EnergyInputs {
  double dram_read_bits = 0;   // KV cache read (codes + scales) + weights / batch when counted
  double dram_write_bits = 0;  // the new token's quantized K and V
  double sram_write_bits = 0;  // KV bits written into the on-chip tile buffer (= KV bits read from DRAM)
  double sram_read_bits = 0;   // bits the lanes read from the buffer (codes once per query head, + scales)
  double score_macs = 0;       // score form products Q_i x C[code]: look-up + 16x8 multiply + 32-bit adder-tree add
  double value_macs = 0;       // value form products W x C[code]: look-up + 16x8 multiply + 48-bit accumulate
  double mac_blocks = 0;       // score form: per (query head, token, block) the m_b x P_b combine
  double quant_elements = 0;   // elements quantized (the new token's K and V)
  double quant_blocks = 0;     // blocks quantized (one reciprocal each)
};

// The counts of one decode step of `model` with `context` cached tokens in format f (NF2/3/4 or
// other KvFormat kinds: bits per element from perf::kv_bits_per_element), per generated token.
// Weights are read once per step and shared by the batch: weight_bits / batch go to dram_read_bits
// when include_weights (the accelerator itself runs attention only; the DSE reports both).
// The derivation of every count is in energy.cpp next to the formula.
EnergyInputs decode_energy_inputs(const workloads::ModelConfig& model, const perf::KvFormat& f, int64_t context, int64_t batch,
                                  bool include_weights);

// pJ per generated token; total is defined as ((dram + sram) + mac_lut) + quant in double, so the
// split sums to the total bit for bit.
struct EnergySplit {
  double dram = 0, sram = 0, mac_lut = 0, quant = 0, total = 0;
};

// One term's value under each source that provides it.
enum class EnergyTerm { Dram = 0, Sram = 1, MacLut = 2, Quant = 3 };
constexpr int kEnergyTerms = 4;
constexpr int kMaxSourcesPerTerm = 8;

struct EnergyResult {
  EnergySplit low;   // every term at its lowest source
  EnergySplit high;  // every term at its highest source
  // per term, per source (same order as EnergyModel::term_sources(term)): pJ/token
  std::array<std::array<double, kMaxSourcesPerTerm>, kEnergyTerms> by_source{};
};

class EnergyModel {
 public:
  // Resolves the constants for `cfg` into per-term alternatives:
  //  - dram: every entry of cfg.memory_technology (a source's stated range is two entries);
  //    InputError naming the known technologies when there is none;
  //  - sram: per source, the entry of that capacity when listed, else both listed capacities
  //    around sram_bytes (the source does not say where in between the array lies), or the
  //    smallest listed one below it; a source whose largest entry is smaller takes no part
  //    (no extrapolation); InputError when no source covers sram_bytes;
  //  - mac_lut and quant: per source with int_add and int_mult at 8 and 32 bits (the widths in
  //    between are interpolated: int_add_pj, int_mult_pj).
  EnergyModel(const EnergyTable& table, const EnergyConfig& cfg);

  EnergyResult evaluate(const EnergyInputs& in) const;  // no allocation, no exceptions

  // Sources taking part in a term (index i of EnergyResult::by_source[term][i]).
  const std::vector<std::string>& term_sources(EnergyTerm t) const { return sources_[static_cast<int>(t)]; }
  // Ids of every constant this model uses (sorted, unique): pass to write_energy_table.
  const std::vector<std::string>& constant_ids() const { return ids_; }
  // Per-operation energies of each logic source (pJ), for reports and tests.
  struct LogicCosts {
    double score_mac = 0;    // look-up + int16 x int8 multiply + 32-bit add
    double value_mac = 0;    // look-up + uint16 x int8 multiply + 48-bit add (two 32-bit adds)
    double mac_block = 0;    // 11 x 30-bit multiply + 64-bit shift-add (two 32-bit adds)
    double quant_elem = 0;   // 16-bit compare + 24 x 24 multiply + nthr 32-bit compares
    double quant_block = 0;  // 24 steps of a 25-bit subtract (32-bit add each)
  };
  const std::vector<LogicCosts>& logic_costs() const { return logic_; }

 private:
  std::array<std::vector<std::string>, kEnergyTerms> sources_;
  std::vector<double> dram_pj_bit_, sram_pj_bit_;
  std::vector<LogicCosts> logic_;
  std::vector<std::string> ids_;
};

// Energy of an integer operation from one source's table (documented in energy.cpp):
// add of w bits: 8-bit figure for w <= 8, linear in w between the 8- and 32-bit figures, and
// ceil(w / 32) 32-bit adds above 32; multiply n x m: linear in the partial-product count n*m
// between the 8x8 and 32x32 figures (8x8 figure below 64). Interpolation between a source's own
// points, no outside scaling factor.
double int_add_pj(double add8, double add32, int w);
double int_mult_pj(double mul8, double mul32, int n, int m);

// {"version": 1, "sources": [...used...], "constants": [...the ids given...]} with value, unit,
// source and citation of each; ids must exist in the table (else InputError).
std::string energy_table_json(const EnergyTable& table, const std::vector<std::string>& ids);
// Written atomically (io/atomic_file.hpp).
void write_energy_table(const std::string& path, const EnergyTable& table, const std::vector<std::string>& ids);

}  // namespace nqkv::dse
