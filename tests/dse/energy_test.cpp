// The energy model (models/dse/energy.hpp): the built-in table's provenance, a hand-computed
// example (counts and energies derived by hand in the comments), the spread between sources, the
// split summing to the total bit for bit, and the errors (unknown technology, malformed tables).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/error.hpp"
#include "models/dse/energy.hpp"
#include "models/perf/time_model.hpp"

namespace nqkv::dse {
namespace {

uint64_t bits_of(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

// A one-layer model small enough to count by hand: 2 query heads, 1 KV head, head_dim 64.
workloads::ModelConfig tiny_model() {
  workloads::ModelConfig m;
  m.name = "tiny";
  m.layers = 1;
  m.heads = 2;
  m.kv_heads = 1;
  m.head_dim = 64;
  m.hidden = 128;
  m.intermediate = 256;
  m.vocab = 100;
  m.max_positions = 64;
  return m;
}

perf::KvFormat nf4_b64() { return perf::parse_kv_format("nf4", 64, 32, 128); }

std::string expect_input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

TEST(EnergyTable, EveryConstantHasACitedSource) {
  const EnergyTable& t = EnergyTable::builtin();
  ASSERT_FALSE(t.constants().empty());
  for (const auto& c : t.constants()) {
    SCOPED_TRACE(c.id);
    const EnergySource& s = t.source(c.source);  // throws when unknown
    EXPECT_FALSE(s.citation.empty());
    EXPECT_FALSE(c.note.empty());
    EXPECT_GT(c.value, 0);
  }
  // The technologies the DSE spec can name.
  const auto tech = t.technologies();
  for (const char* name : {"ddr3", "gddr6", "gddr6x", "hbm2", "hbm2e"})
    EXPECT_NE(std::find(tech.begin(), tech.end(), name), tech.end()) << name;
}

TEST(EnergyTable, IntegerOperationCostsHitTheSourcePointsExactly) {
  EXPECT_EQ(int_add_pj(0.03, 0.1, 8), 0.03);
  EXPECT_EQ(int_add_pj(0.03, 0.1, 4), 0.03);
  EXPECT_EQ(int_add_pj(0.03, 0.1, 32), 0.1);
  EXPECT_EQ(int_add_pj(0.03, 0.1, 64), 0.2);  // two 32-bit adds
  EXPECT_EQ(int_mult_pj(0.2, 3.1, 8, 8), 0.2);
  EXPECT_EQ(int_mult_pj(0.2, 3.1, 32, 32), 3.1);
  EXPECT_EQ(int_mult_pj(0.2, 3.1, 64, 32), 6.2);  // two 32x32 multiplies
  // Between the points: linear in width (add) and in n*m (multiply), hand-computed.
  EXPECT_NEAR(int_add_pj(0.03, 0.1, 20), 0.03 + 0.07 * 12 / 24, 1e-15);
  EXPECT_NEAR(int_mult_pj(0.2, 3.1, 16, 8), 0.2 + 2.9 * 64 / 960, 1e-15);
}

// Hand derivation (tiny model, NF4 block 64 -> 4 + 16/64 = 4.25 bits per element, context 3,
// so n = 4 attended tokens):
//   DRAM read  = 2 (K,V) x 1 head x 64 x 3 tokens x 4.25 = 1632 bits; write = 2 x 64 x 4.25 = 544
//   SRAM write = 1632 + 544 = 2176; read = 2 x 2 query heads x 4 tokens x 64 x 4.25 = 4352
//   score MACs = value MACs = 2 x 4 x 64 = 512; block combines = 2 x 4 x 1 = 8
//   quantized elements = 128 in 2 blocks
TEST(EnergyModel, HandComputedExample) {
  const EnergyInputs in = decode_energy_inputs(tiny_model(), nf4_b64(), 3, 1, false);
  EXPECT_EQ(in.dram_read_bits, 1632);
  EXPECT_EQ(in.dram_write_bits, 544);
  EXPECT_EQ(in.sram_write_bits, 2176);
  EXPECT_EQ(in.sram_read_bits, 4352);
  EXPECT_EQ(in.score_macs, 512);
  EXPECT_EQ(in.value_macs, 512);
  EXPECT_EQ(in.mac_blocks, 8);
  EXPECT_EQ(in.quant_elements, 128);
  EXPECT_EQ(in.quant_blocks, 2);

  // hbm2 (one entry, 3.9 pJ/bit), a 32 KB buffer (Horowitz lists 32 KB: 20 pJ per 64 bits),
  // Horowitz logic, BITS_MAX 4 (15 threshold compares).
  const EnergyModel em(EnergyTable::builtin(), {"hbm2", 32768, 4});
  const EnergyResult r = em.evaluate(in);
  // dram = (1632 + 544) x 3.9 = 8486.4; sram = (2176 + 4352) x 20/64 = 2040
  EXPECT_NEAR(r.low.dram, 8486.4, 1e-9);
  EXPECT_NEAR(r.low.sram, 2040.0, 1e-9);
  // Per operation (pJ): look-up 0.03 (8-bit add); 16x8 multiply 0.2 + 2.9 x 64/960 = 0.39333;
  // 32-bit add 0.1; 48-bit add 0.2; 11x30 multiply 0.2 + 2.9 x 266/960 = 1.0035417; 64-bit add 0.2
  //   score MAC 0.52333, value MAC 0.62333, block 1.2035417
  //   mac_lut = 512 x 0.52333 + 512 x 0.62333 + 8 x 1.2035417 = 358033/600 = 596.72167
  // Quantizer: 16-bit compare 0.03 + 0.07 x 8/24; 24x24 multiply 0.2 + 2.9 x 512/960; 15 x 0.1
  //   -> 3.3 per element; reciprocal 24 x (0.03 + 0.07 x 17/24) = 1.91 per block
  //   quant = 128 x 3.3 + 2 x 1.91 = 426.22
  EXPECT_NEAR(r.low.mac_lut, 358033.0 / 600.0, 1e-9);
  EXPECT_NEAR(r.low.quant, 426.22, 1e-9);
  EXPECT_NEAR(r.low.total, 8486.4 + 2040.0 + 358033.0 / 600.0 + 426.22, 1e-8);
  // One alternative per term here, so low == high bit for bit.
  EXPECT_EQ(bits_of(r.low.total), bits_of(r.high.total));
  EXPECT_EQ(em.term_sources(EnergyTerm::Dram), std::vector<std::string>{"oconnor2017.hbm2"});
  EXPECT_EQ(em.term_sources(EnergyTerm::Sram), std::vector<std::string>{"horowitz2014.sram_32KB_64b"});
  EXPECT_EQ(em.term_sources(EnergyTerm::MacLut), std::vector<std::string>{"horowitz2014"});
}

// Independent route: the cycle model (models/perf accel_mac_cycles, which equals the RTL's
// dequant-MAC cycles) streams `lanes` codes per MAC beat, so MAC beats x lanes must equal the
// energy model's product count whenever d/lanes code beats cover a token (d/lanes >= blocks).
TEST(EnergyModel, MacCountsEqualTheCycleModelsBeatsTimesLanes) {
  int checked = 0;
  for (const char* name : {"llama-3-8b", "opt-6.7b", "llama-2-70b"})
    for (int lanes : {4, 16, 64})
      for (int block : {32, 64, 128})
        for (int64_t ctx : {1, 511, 512, 4097}) {
          SCOPED_TRACE(fmt::format("{} lanes {} block {} context {}", name, lanes, block, ctx));
          const auto& m = workloads::zoo_model(name);
          const auto f = perf::parse_kv_format("nf4", block, 32, 128);
          const EnergyInputs in = decode_energy_inputs(m, f, ctx, 1, false);
          perf::AcceleratorParams a;
          a.lanes = lanes;
          const perf::AccelCycles c = perf::accel_mac_cycles(a, m.heads, m.kv_heads, m.head_dim, ctx + 1, f);
          // With more blocks than code beats the side stream sets the pace (idle MAC beats, no
          // products): the cycle model counts beats there, the energy model products.
          if (m.head_dim / lanes < (m.head_dim + block - 1) / block) continue;
          ++checked;
          EXPECT_EQ((in.score_macs + in.value_macs) / static_cast<double>(m.layers), c.mac * lanes);
          // and the DRAM read of the cache is the accelerator's memory term (bytes x 8) per layer
          const double kv_bytes = 2.0 * m.kv_heads * m.head_dim * ctx * perf::kv_bits_per_element(f, m.head_dim) / 8.0;
          EXPECT_EQ(in.dram_read_bits / static_cast<double>(m.layers), kv_bytes * 8.0);
        }
  EXPECT_GE(checked, 80);
}

TEST(EnergyModel, WeightsAreSharedByTheBatch) {
  const workloads::ModelConfig m = tiny_model();
  const EnergyInputs a = decode_energy_inputs(m, nf4_b64(), 3, 4, true);
  EXPECT_EQ(a.dram_read_bits, 1632 + perf::streamed_weight_bytes(m) * 8.0 / 4.0);
}

TEST(EnergyModel, SpreadKeepsEverySource) {
  const EnergyInputs in = decode_energy_inputs(tiny_model(), nf4_b64(), 3, 1, false);
  // ddr3: Horowitz's 1.3-2.6 nJ per 64 bits is two entries; a 256 KB buffer lies between the
  // 32 KB and 1 MB entries, so both are kept.
  const EnergyModel em(EnergyTable::builtin(), {"ddr3", 256 * 1024, 4});
  const EnergyResult r = em.evaluate(in);
  ASSERT_EQ(em.term_sources(EnergyTerm::Dram).size(), 2u);
  ASSERT_EQ(em.term_sources(EnergyTerm::Sram).size(), 2u);
  EXPECT_NEAR(r.low.dram, 2176 * 1300.0 / 64, 1e-9);
  EXPECT_NEAR(r.high.dram, 2176 * 2600.0 / 64, 1e-9);
  EXPECT_NEAR(r.low.sram, 6528 * 20.0 / 64, 1e-9);
  EXPECT_NEAR(r.high.sram, 6528 * 100.0 / 64, 1e-9);
  EXPECT_EQ(r.by_source[0][0], r.low.dram);
  EXPECT_EQ(r.by_source[0][1], r.high.dram);
  EXPECT_LT(r.low.total, r.high.total);
  // Every id the model names is in the table and in the used list.
  for (const auto& id : em.constant_ids()) EXPECT_NO_THROW(EnergyTable::builtin().constant(id));
}

TEST(EnergyModel, SplitSumsToTotalBitForBit) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1e9);
  const EnergyModel em(EnergyTable::builtin(), {"ddr3", 100000, 3});
  for (int k = 0; k < 1000; ++k) {
    EnergyInputs in;
    in.dram_read_bits = u(rng);
    in.dram_write_bits = u(rng);
    in.sram_read_bits = u(rng);
    in.sram_write_bits = u(rng);
    in.score_macs = u(rng);
    in.value_macs = u(rng);
    in.mac_blocks = u(rng);
    in.quant_elements = k % 7 ? u(rng) : 0;  // corner: nothing quantized
    in.quant_blocks = in.quant_elements / 64;
    const EnergyResult r = em.evaluate(in);
    for (const EnergySplit& s : {r.low, r.high}) {
      const double sum = ((s.dram + s.sram) + s.mac_lut) + s.quant;
      ASSERT_EQ(bits_of(sum), bits_of(s.total)) << "k " << k;
      ASSERT_TRUE(s.dram > 0 && s.sram > 0 && s.mac_lut > 0 && s.quant >= 0);
    }
    ASSERT_LE(r.low.total, r.high.total);
  }
  // Corner: nothing to do costs exactly 0.
  const EnergyResult z = em.evaluate(EnergyInputs{});
  EXPECT_EQ(bits_of(z.high.total), bits_of(0.0));
}

TEST(EnergyModel, UnknownTechnologyAndOversizedBufferAreInputErrors) {
  const std::string e = expect_input_error([] { EnergyModel(EnergyTable::builtin(), {"hbm9", 32768, 4}); });
  EXPECT_NE(e.find("'hbm9'"), std::string::npos) << e;
  EXPECT_NE(e.find("hbm2"), std::string::npos) << e;  // lists the known ones
  const std::string b = expect_input_error([] { EnergyModel(EnergyTable::builtin(), {"hbm2", 4.0 * 1048576, 4}); });
  EXPECT_NE(b.find("larger than every SRAM"), std::string::npos) << b;
}

TEST(EnergyTable, MalformedTablesNameTheKey) {
  const std::string good = R"({"version": 1, "sources": [{"id": "s", "citation": "c"}],
    "constants": [{"id": "a", "quantity": "dram", "technology": "x", "value": 1.5, "unit": "pJ/bit",
                   "source": "s", "note": "n"}]})";
  EXPECT_NO_THROW(EnergyTable::parse(good, "t.json"));
  struct Case {
    std::string from, to, key;
  };
  const std::vector<Case> cases = {
      {R"("value": 1.5)", R"("value": -1)", "t.json: constants[0].value:"},
      {R"("value": 1.5)", R"("value": "1.5")", "t.json: constants[0].value:"},
      {R"("value": 1.5, )", "", "t.json: constants[0].value: missing"},
      {R"("source": "s")", R"("source": "nobody")", "t.json: constants[0].source: unknown source"},
      {R"("unit": "pJ/bit")", R"("unit": "nJ")", "t.json: constants[0].unit:"},
      {R"("quantity": "dram")", R"("quantity": "dram2")", "t.json: constants[0].quantity: unknown quantity"},
      {R"("note": "n")", R"("note": "n", "colour": 1)", "t.json: constants[0].colour: unknown key"},
      {R"("technology": "x", )", "", "t.json: constants[0].technology: missing"},
      {R"("citation": "c")", R"("citation": 3)", "t.json: sources[0].citation: expected a string"},
      {R"("version": 1)", R"("version": 2)", "t.json: version:"},
      {R"("constants": [)", R"("constantz": [)", "t.json: constantz: unknown key"},
      {R"(1.5, "unit")", R"(1.5,, "unit")", "t.json: (document): not valid JSON"},
  };
  for (const auto& c : cases) {
    std::string text = good;
    const auto pos = text.find(c.from);
    ASSERT_NE(pos, std::string::npos) << c.from;
    text.replace(pos, c.from.size(), c.to);
    const std::string e = expect_input_error([&] { EnergyTable::parse(text, "t.json"); });
    EXPECT_EQ(e.rfind(c.key, 0), 0u) << "case " << c.to << ": " << e;
  }
  // A duplicate id.
  std::string dup = good;
  dup.replace(dup.find("]}"), 2,
              R"(, {"id": "a", "quantity": "dram", "technology": "y", "value": 2, "unit": "pJ/bit", "source": "s", "note": "n"}]})");
  EXPECT_EQ(expect_input_error([&] { EnergyTable::parse(dup, "t.json"); }).rfind("t.json: constants[1].id: duplicate", 0), 0u);
}

TEST(EnergyTable, WrittenTableHoldsExactlyTheUsedConstantsAndParsesBack) {
  const EnergyModel em(EnergyTable::builtin(), {"hbm2", 256 * 1024, 4});
  const std::string text = energy_table_json(EnergyTable::builtin(), em.constant_ids());
  const auto j = nlohmann::json::parse(text);
  std::vector<std::string> ids;
  for (const auto& c : j["constants"]) {
    ids.push_back(c["id"]);
    EXPECT_TRUE(c.contains("source") && c.contains("value") && c.contains("unit") && c.contains("note")) << c.dump();
  }
  EXPECT_EQ(ids, em.constant_ids());
  for (const auto& s : j["sources"]) EXPECT_FALSE(s["citation"].get<std::string>().empty());
  // It is itself a valid table (pj_per_bit checked against value / access_bits), with the same values.
  const EnergyTable back = EnergyTable::parse(text, "energy_table.json");
  const EnergyModel em2(back, {"hbm2", 256 * 1024, 4});
  const EnergyInputs in = decode_energy_inputs(tiny_model(), nf4_b64(), 100, 2, true);
  EXPECT_EQ(bits_of(em.evaluate(in).high.total), bits_of(em2.evaluate(in).high.total));
  // An unknown id is refused.
  EXPECT_THROW(energy_table_json(EnergyTable::builtin(), {"no.such.id"}), InputError);
}

TEST(EnergyTable, SpecConstantsCanBeAdded) {
  EnergyTable t = EnergyTable::builtin();
  t.add_source({"spec", "examples/dse.yaml: system.memory[0].pj_per_bit", ""});
  EnergyConstant c;
  c.id = "spec.lpddr5";
  c.quantity = "dram";
  c.technology = "lpddr5";
  c.value = 4.5;
  c.unit = "pJ/bit";
  c.source = "spec";
  c.note = "given in the spec";
  t.add_constant(c);
  const EnergyModel em(t, {"lpddr5", 32768, 4});
  EXPECT_EQ(em.term_sources(EnergyTerm::Dram), std::vector<std::string>{"spec.lpddr5"});
  EXPECT_THROW(t.add_constant(c), InputError);  // duplicate id
  c.id = "spec.other";
  c.source = "nobody";
  EXPECT_THROW(t.add_constant(c), InputError);
}

}  // namespace
}  // namespace nqkv::dse
