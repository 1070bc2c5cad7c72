#include "models/dse/energy.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "models/perf/time_model.hpp"

namespace nqkv::dse {

// models/dse/data/energy_table.json, embedded at configure time (energy_table_data.cpp).
extern const char* const kEnergyTableJson;

namespace {

using nlohmann::json;

const std::set<std::string> kQuantities = {"int_add", "int_mult", "fp_add", "fp_mult", "sram_read", "dram"};

std::string type_name(const json& j) { return j.type_name(); }

[[noreturn]] void fail(const std::string& origin, const std::string& key, const std::string& what) {
  throw InputError(fmt::format("{}: {}: {}", origin, key, what));
}

void check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& origin,
                const std::string& path) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!allowed.count(it.key())) fail(origin, path == "(document)" ? it.key() : path + "." + it.key(), "unknown key");
}

std::string get_string(const json& obj, const char* key, const std::string& origin, const std::string& path,
                       bool required) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) fail(origin, path + "." + key, "missing");
    return "";
  }
  if (!it->is_string()) fail(origin, path + "." + key, "expected a string, got " + type_name(*it));
  if (required && it->get<std::string>().empty()) fail(origin, path + "." + key, "must not be empty");
  return it->get<std::string>();
}

int64_t get_int(const json& obj, const char* key, const std::string& origin, const std::string& path,
                bool required, int64_t lo, int64_t hi) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) fail(origin, path + "." + key, "missing");
    return 0;
  }
  if (!it->is_number_integer()) fail(origin, path + "." + key, "expected an integer, got " + type_name(*it));
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) fail(origin, path + "." + key, fmt::format("must be in [{}, {}], got {}", lo, hi, v));
  return v;
}

void validate_constant(const EnergyConstant& c, const std::string& origin, const std::string& path,
                       const std::map<std::string, size_t>& sources) {
  if (c.id.empty()) fail(origin, path + ".id", "must not be empty");
  if (!kQuantities.count(c.quantity))
    fail(origin, path + ".quantity",
         "unknown quantity '" + c.quantity + "' (int_add, int_mult, fp_add, fp_mult, sram_read, dram)");
  if (!(std::isfinite(c.value) && c.value > 0)) fail(origin, path + ".value", "expected a positive number");
  if (!sources.count(c.source)) fail(origin, path + ".source", "unknown source '" + c.source + "'");
  if (c.note.empty()) fail(origin, path + ".note", "must say where in the source the value is");
  const bool op = c.quantity == "int_add" || c.quantity == "int_mult" || c.quantity == "fp_add" || c.quantity == "fp_mult";
  if (op) {
    if (c.unit != "pJ/op") fail(origin, path + ".unit", "expected \"pJ/op\" for " + c.quantity + ", got \"" + c.unit + "\"");
    if (c.bits <= 0) fail(origin, path + ".bits", "missing (operand width of " + c.quantity + ")");
  } else if (c.quantity == "sram_read") {
    if (c.unit != "pJ/access") fail(origin, path + ".unit", "expected \"pJ/access\" for sram_read, got \"" + c.unit + "\"");
    if (c.capacity_bytes <= 0) fail(origin, path + ".capacity_bytes", "missing (array capacity)");
    if (c.access_bits <= 0) fail(origin, path + ".access_bits", "missing (bits per access)");
  } else {  // dram
    if (c.technology.empty()) fail(origin, path + ".technology", "missing");
    if (c.unit == "pJ/access") {
      if (c.access_bits <= 0) fail(origin, path + ".access_bits", "missing (bits per access, for unit pJ/access)");
    } else if (c.unit != "pJ/bit") {
      fail(origin, path + ".unit", "expected \"pJ/bit\" or \"pJ/access\" for dram, got \"" + c.unit + "\"");
    }
  }
}

// Energy per bit of a dram or sram entry.
double per_bit(const EnergyConstant& c) { return c.unit == "pJ/bit" ? c.value : c.value / c.access_bits; }

}  // namespace

// ------------------------------------------------------------------------------------------ table

EnergyTable EnergyTable::parse(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(origin, "(document)", std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(origin, "(document)", "expected an object, got " + type_name(j));
  check_keys(j, {"version", "about", "sources", "constants"}, origin, "(document)");
  if (get_int(j, "version", origin, "(document)", true, 1, 1000) != 1)
    fail(origin, "version", "unsupported version (expected 1)");
  EnergyTable t;
  const auto srcs = j.find("sources");
  if (srcs == j.end()) fail(origin, "sources", "missing");
  if (!srcs->is_array() || srcs->empty()) fail(origin, "sources", "expected a non-empty array");
  for (size_t i = 0; i < srcs->size(); ++i) {
    const json& s = (*srcs)[i];
    const std::string path = fmt::format("sources[{}]", i);
    if (!s.is_object()) fail(origin, path, "expected an object, got " + type_name(s));
    check_keys(s, {"id", "citation", "url"}, origin, path);
    EnergySource src;
    src.id = get_string(s, "id", origin, path, true);
    src.citation = get_string(s, "citation", origin, path, true);
    src.url = get_string(s, "url", origin, path, false);
    try {
      t.add_source(src);
    } catch (const InputError&) {
      fail(origin, path + ".id", "duplicate source id '" + src.id + "'");
    }
  }
  const auto cons = j.find("constants");
  if (cons == j.end()) fail(origin, "constants", "missing");
  if (!cons->is_array() || cons->empty()) fail(origin, "constants", "expected a non-empty array");
  std::map<std::string, size_t> src_index;
  for (size_t i = 0; i < t.sources_.size(); ++i) src_index[t.sources_[i].id] = i;
  std::set<std::string> ids;
  for (size_t i = 0; i < cons->size(); ++i) {
    const json& o = (*cons)[i];
    const std::string path = fmt::format("constants[{}]", i);
    if (!o.is_object()) fail(origin, path, "expected an object, got " + type_name(o));
    check_keys(o, {"id", "quantity", "value", "unit", "source", "bits", "capacity_bytes", "access_bits", "technology",
                   "node_nm", "note", "checked", "pj_per_bit"},
               origin, path);
    EnergyConstant c;
    c.id = get_string(o, "id", origin, path, true);
    c.quantity = get_string(o, "quantity", origin, path, true);
    const auto v = o.find("value");
    if (v == o.end()) fail(origin, path + ".value", "missing");
    if (!v->is_number()) fail(origin, path + ".value", "expected a positive number, got " + type_name(*v));
    c.value = v->get<double>();
    c.unit = get_string(o, "unit", origin, path, true);
    c.source = get_string(o, "source", origin, path, true);
    c.bits = static_cast<int>(get_int(o, "bits", origin, path, false, 1, 128));
    c.capacity_bytes = get_int(o, "capacity_bytes", origin, path, false, 1, int64_t{1} << 40);
    c.access_bits = static_cast<int>(get_int(o, "access_bits", origin, path, false, 1, 1 << 16));
    c.technology = get_string(o, "technology", origin, path, false);
    c.node_nm = static_cast<int>(get_int(o, "node_nm", origin, path, false, 1, 1000));
    c.note = get_string(o, "note", origin, path, false);
    c.checked = get_string(o, "checked", origin, path, false);
    validate_constant(c, origin, path, src_index);
    if (const auto pb = o.find("pj_per_bit"); pb != o.end()) {  // written by energy_table_json: must agree
      if (c.quantity != "dram" && c.quantity != "sram_read") fail(origin, path + ".pj_per_bit", "only for dram and sram_read");
      if (!pb->is_number() || pb->get<double>() != per_bit(c))
        fail(origin, path + ".pj_per_bit", fmt::format("does not equal value / access_bits ({})", per_bit(c)));
    }
    if (!ids.insert(c.id).second) fail(origin, path + ".id", "duplicate constant id '" + c.id + "'");
    t.constants_.push_back(c);
  }
  return t;
}

EnergyTable EnergyTable::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read energy table " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

const EnergyTable& EnergyTable::builtin() {
  static const EnergyTable t = parse(kEnergyTableJson, "models/dse/data/energy_table.json");
  return t;
}

const EnergyConstant& EnergyTable::constant(const std::string& id) const {
  for (const auto& c : constants_)
    if (c.id == id) return c;
  throw InputError("energy table: unknown constant '" + id + "'");
}

const EnergySource& EnergyTable::source(const std::string& id) const {
  for (const auto& s : sources_)
    if (s.id == id) return s;
  throw InputError("energy table: unknown source '" + id + "'");
}

std::vector<std::string> EnergyTable::technologies() const {
  std::set<std::string> t;
  for (const auto& c : constants_)
    if (c.quantity == "dram") t.insert(c.technology);
  return {t.begin(), t.end()};
}

void EnergyTable::add_source(const EnergySource& s) {
  if (s.id.empty() || s.citation.empty()) throw InputError("energy table: a source needs an id and a citation");
  for (const auto& o : sources_)
    if (o.id == s.id) throw InputError("energy table: duplicate source id '" + s.id + "'");
  sources_.push_back(s);
}

void EnergyTable::add_constant(const EnergyConstant& c) {
  std::map<std::string, size_t> src_index;
  for (size_t i = 0; i < sources_.size(); ++i) src_index[sources_[i].id] = i;
  validate_constant(c, "energy table", "constant '" + c.id + "'", src_index);
  for (const auto& o : constants_)
    if (o.id == c.id) throw InputError("energy table: duplicate constant id '" + c.id + "'");
  constants_.push_back(c);
}

// ------------------------------------------------------------------------------------- operations

// Add of w bits: the source's 8-bit figure up to 8 bits; between 8 and 32 bits linear in w between
// its 8- and 32-bit figures (a ripple/prefix adder's energy grows about linearly with its width;
// Horowitz's own points, 0.03 pJ at 8 and 0.1 pJ at 32 bits, are 3.3x apart for 4x the width);
// above 32 bits, ceil(w / 32) 32-bit adds (the wider add built from 32-bit adders).
double int_add_pj(double add8, double add32, int w) {
  if (w <= 8) return add8;
  if (w == 32) return add32;
  if (w < 32) return add8 + (add32 - add8) * (w - 8) / 24.0;
  return add32 * ((w + 31) / 32);
}

// Multiply n x m bits: linear in the partial-product count n*m between the source's 8x8 and 32x32
// figures (an array multiplier has n*m partial-product cells; Horowitz's points, 0.2 and 3.1 pJ,
// are 15.5x apart for 16x the cells); at most 8x8: the 8-bit figure; beyond 32 bits an operand
// is split into 32-bit pieces, ceil(n/32) * ceil(m/32) 32x32 multiplies.
double int_mult_pj(double mul8, double mul32, int n, int m) {
  const double p = static_cast<double>(n) * m;
  if (p <= 64) return mul8;
  if (n == 32 && m == 32) return mul32;
  if (n <= 32 && m <= 32) return mul8 + (mul32 - mul8) * (p - 64) / 960.0;
  return mul32 * ((n + 31) / 32) * ((m + 31) / 32);
}

// ------------------------------------------------------------------------------------------ model

EnergyModel::EnergyModel(const EnergyTable& table, const EnergyConfig& cfg) {
  std::set<std::string> used;
  auto& dram_src = sources_[static_cast<int>(EnergyTerm::Dram)];
  auto& sram_src = sources_[static_cast<int>(EnergyTerm::Sram)];
  auto& mac_src = sources_[static_cast<int>(EnergyTerm::MacLut)];
  auto& quant_src = sources_[static_cast<int>(EnergyTerm::Quant)];

  // DRAM: every entry of the technology is an alternative (a source's stated range gives two).
  for (const auto& c : table.constants())
    if (c.quantity == "dram" && c.technology == cfg.memory_technology) {
      dram_pj_bit_.push_back(per_bit(c));
      dram_src.push_back(c.id);
      used.insert(c.id);
    }
  if (dram_pj_bit_.empty()) {
    std::string known;
    for (const auto& t : table.technologies()) known += (known.empty() ? "" : ", ") + t;
    throw InputError("memory technology '" + cfg.memory_technology + "' has no entry in the energy table (known: " +
                     known + ")");
  }

  // SRAM, per source: the entry of the buffer's capacity when listed; otherwise the two listed
  // capacities around it (both kept: the source does not say which an in-between array is
  // closer to); below the smallest listed capacity that entry (an upper bound). Above the
  // largest listed capacity of a source: that source does not take part (no extrapolation).
  if (!(cfg.sram_bytes > 0)) throw InputError(fmt::format("on-chip buffer size must be positive, got {}", cfg.sram_bytes));
  std::map<std::string, std::vector<const EnergyConstant*>> sram_by_src;
  for (const auto& c : table.constants())
    if (c.quantity == "sram_read") sram_by_src[c.source].push_back(&c);
  double largest = 0;
  for (auto& [src, list] : sram_by_src) {
    std::sort(list.begin(), list.end(),
              [](const EnergyConstant* a, const EnergyConstant* b) { return a->capacity_bytes < b->capacity_bytes; });
    largest = std::max(largest, static_cast<double>(list.back()->capacity_bytes));
    const EnergyConstant *below = nullptr, *above = nullptr;
    for (const auto* c : list) {
      if (c->capacity_bytes <= cfg.sram_bytes) below = c;
      if (c->capacity_bytes >= cfg.sram_bytes && !above) above = c;
    }
    if (!above) continue;
    std::vector<const EnergyConstant*> pick;
    if (!below || below == above) pick = {above};
    else pick = {below, above};
    for (const auto* c : pick) {
      sram_pj_bit_.push_back(per_bit(*c));
      sram_src.push_back(c->id);
      used.insert(c->id);
    }
  }
  if (sram_pj_bit_.empty())
    throw InputError(fmt::format("on-chip buffer of {} bytes is larger than every SRAM in the energy table (largest "
                                 "{} bytes); no source covers it",
                                 cfg.sram_bytes, largest));

  // Logic, per source having int_add and int_mult at 8 and 32 bits.
  if (cfg.bits_max < 1 || cfg.bits_max > 8) throw InputError(fmt::format("bits_max must be in [1, 8], got {}", cfg.bits_max));
  const int nthr = (1 << cfg.bits_max) - 1;
  std::map<std::string, std::map<std::string, const EnergyConstant*>> logic_by_src;
  for (const auto& c : table.constants())
    if ((c.quantity == "int_add" || c.quantity == "int_mult") && (c.bits == 8 || c.bits == 32))
      logic_by_src[c.source][fmt::format("{}{}", c.quantity, c.bits)] = &c;
  for (const auto& [src, m] : logic_by_src) {
    if (m.size() != 4) continue;
    const EnergyConstant* a8 = m.at("int_add8");
    const EnergyConstant* a32 = m.at("int_add32");
    const EnergyConstant* m8 = m.at("int_mult8");
    const EnergyConstant* m32 = m.at("int_mult32");
    auto add = [&](int w) { return int_add_pj(a8->value, a32->value, w); };
    auto mul = [&](int n, int k) { return int_mult_pj(m8->value, m32->value, n, k); };
    LogicCosts l;
    // The codebook look-up (a 16-entry x 8-bit register table, a multiplexer) has no entry in any
    // source; it is costed as one 8-bit add (assumption, stated in energy_table.json's notes).
    const double lut = add(8);
    l.score_mac = lut + mul(16, 8) + add(32);      // Q (int16) x C (int8), adder tree into P_b (int32)
    l.value_mac = lut + mul(16, 8) + add(48);      // W (uint16) x C (int8) into the ACC_W = 48-bit accumulator
    l.mac_block = mul(11, 30) + add(64);           // m_b (11 bits) x P_b (30 bits), shifted, into the int64 S_t
    l.quant_elem = add(16) + mul(24, 24) + nthr * add(32);  // |x| vs running max, x * inv (24x24), NTHR key compares
    l.quant_block = 24 * add(25);                  // nq_recip: 24 subtract-and-shift steps on a 25-bit remainder
    logic_.push_back(l);
    mac_src.push_back(src);
    quant_src.push_back(src);
    for (const auto* c : {a8, a32, m8, m32}) used.insert(c->id);
  }
  if (logic_.empty()) throw InputError("the energy table has no source with int_add and int_mult at 8 and 32 bits");

  for (int t = 0; t < kEnergyTerms; ++t)
    if (sources_[t].size() > static_cast<size_t>(kMaxSourcesPerTerm))
      throw InputError(fmt::format("the energy table gives {} alternatives for one term; at most {} are supported",
                                   sources_[t].size(), kMaxSourcesPerTerm));
  ids_.assign(used.begin(), used.end());
}

EnergyResult EnergyModel::evaluate(const EnergyInputs& in) const {
  EnergyResult r;
  const double inf = std::numeric_limits<double>::infinity();
  double lo[kEnergyTerms] = {inf, inf, inf, inf}, hi[kEnergyTerms] = {-inf, -inf, -inf, -inf};
  auto put = [&](int t, size_t i, double v) {
    r.by_source[t][i] = v;
    lo[t] = std::min(lo[t], v);
    hi[t] = std::max(hi[t], v);
  };
  const double dram_bits = in.dram_read_bits + in.dram_write_bits;
  for (size_t i = 0; i < dram_pj_bit_.size(); ++i) put(0, i, dram_bits * dram_pj_bit_[i]);
  const double sram_bits = in.sram_read_bits + in.sram_write_bits;
  for (size_t i = 0; i < sram_pj_bit_.size(); ++i) put(1, i, sram_bits * sram_pj_bit_[i]);
  for (size_t i = 0; i < logic_.size(); ++i) {
    const LogicCosts& l = logic_[i];
    put(2, i, in.score_macs * l.score_mac + in.value_macs * l.value_mac + in.mac_blocks * l.mac_block);
    put(3, i, in.quant_elements * l.quant_elem + in.quant_blocks * l.quant_block);
  }
  auto split = [](const double* t) {
    EnergySplit s;
    s.dram = t[0];
    s.sram = t[1];
    s.mac_lut = t[2];
    s.quant = t[3];
    s.total = ((s.dram + s.sram) + s.mac_lut) + s.quant;  // the definition of the total
    return s;
  };
  r.low = split(lo);
  r.high = split(hi);
  return r;
}

// ------------------------------------------------------------------------------------------ counts

EnergyInputs decode_energy_inputs(const workloads::ModelConfig& m, const perf::KvFormat& f, int64_t context, int64_t batch,
                                  bool include_weights) {
  if (context < 0) throw InputError(fmt::format("context must be >= 0, got {}", context));
  if (batch < 1) throw InputError(fmt::format("batch must be >= 1, got {}", batch));
  const double L = m.layers, Hq = m.heads, Hkv = m.kv_heads, d = m.head_dim;
  const double T = static_cast<double>(context), n = T + 1;  // cached tokens; attended = cache + the new token
  const double b = perf::kv_bits_per_element(f, m.head_dim);  // codes + scale bits per element
  const bool blocked = f.kind == perf::KvKind::NF4 || f.kind == perf::KvKind::NF3 || f.kind == perf::KvKind::NF2;
  const bool quantized = f.kind != perf::KvKind::FP16 && f.kind != perf::KvKind::BF16;
  const double nblk = blocked ? std::ceil(d / f.block) : 1.0;
  EnergyInputs in;
  // DRAM (as accel_layer_cycles' memory term): the cached K and V of T tokens are read once per
  // layer; the new token's K and V are written once.
  const double cache_bits = L * 2.0 * Hkv * d * T * b;
  const double new_bits = L * 2.0 * Hkv * d * b;
  in.dram_read_bits = cache_bits;
  if (include_weights) in.dram_read_bits += perf::streamed_weight_bytes(m) * 8.0 / static_cast<double>(batch);
  in.dram_write_bits = new_bits;
  // SRAM: every cached bit is written into the tile buffer once, and the new token's once; the
  // lanes read a KV head's codes and scales once per query head (one score pass per query head,
  // value passes per query head and partition: accel_mac_cycles), over all n tokens.
  in.sram_write_bits = cache_bits + new_bits;
  in.sram_read_bits = L * 2.0 * Hq * n * d * b;
  // Dequant-MAC: per query head, token and element one product in score form and one in value
  // form; one block combine per (query head, token, block) in score form.
  in.score_macs = L * Hq * n * d;
  in.value_macs = L * Hq * n * d;
  in.mac_blocks = L * Hq * n * nblk;
  // Quantizer: the new token's K and V (2 x Hkv x d elements per layer) in blocks of B (or of a
  // head vector for unblocked formats, as accel_layer_cycles).
  if (quantized) {
    in.quant_elements = L * 2.0 * Hkv * d;
    in.quant_blocks = in.quant_elements / (blocked ? f.block : d);
  }
  return in;
}

// ------------------------------------------------------------------------------------------ output

std::string energy_table_json(const EnergyTable& table, const std::vector<std::string>& ids) {
  std::vector<std::string> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  json cons = json::array();
  std::set<std::string> srcs;
  for (const auto& id : sorted) {
    const EnergyConstant& c = table.constant(id);
    json o = {{"id", c.id}, {"quantity", c.quantity}, {"value", c.value}, {"unit", c.unit}, {"source", c.source}};
    if (c.bits) o["bits"] = c.bits;
    if (c.capacity_bytes) o["capacity_bytes"] = c.capacity_bytes;
    if (c.access_bits) o["access_bits"] = c.access_bits;
    if (!c.technology.empty()) o["technology"] = c.technology;
    if (c.quantity == "dram" || c.quantity == "sram_read") o["pj_per_bit"] = per_bit(c);
    if (c.node_nm) o["node_nm"] = c.node_nm;
    o["note"] = c.note;
    if (!c.checked.empty()) o["checked"] = c.checked;
    cons.push_back(o);
    srcs.insert(c.source);
  }
  json src = json::array();
  for (const auto& s : table.sources())
    if (srcs.count(s.id)) src.push_back({{"id", s.id}, {"citation", s.citation}, {"url", s.url}});
  json out = {{"version", 1},
              {"about",
               "The energy constants this run used (models/dse/energy.hpp). Derived per-operation costs: add of w bits "
               "linear between the source's 8- and 32-bit figures (ceil(w/32) 32-bit adds above); n x m multiply linear "
               "in n*m between its 8x8 and 32x32 figures; the codebook look-up, which no source lists, is costed as one "
               "8-bit add (assumption); SRAM writes cost what reads cost."},
              {"sources", src},
              {"constants", cons}};
  return out.dump(2) + "\n";
}

void write_energy_table(const std::string& path, const EnergyTable& table, const std::vector<std::string>& ids) {
  io::write_text_atomically(path, energy_table_json(table, ids));
}

}  // namespace nqkv::dse
