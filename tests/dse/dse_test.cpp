// nqkv dse: spec parsing (good and bad), enumeration, constraints, the analytic evaluator against
// models/perf called directly, Pareto fronts by hand, and the CLI end to end (jobs 1 vs 2, shard +
// merge, a failing point, cache re-use, SIGKILL + --resume). Syntheses go through
// tests/dse/fake_area.py (same interface as tools/area/nqkv_area.py, a known transistor count, no
// Yosys), which logs every call so the tests count them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "golden/codebook.hpp"
#include "io/error.hpp"
#include "io/sanitizers.hpp"
#include "models/dse/engine.hpp"
#include "models/perf/hardware.hpp"
#include "models/perf/memory_model.hpp"
#include "models/perf/time_model.hpp"

namespace fs = std::filesystem;
using namespace nqkv::dse;

namespace {

std::string tmpdir(const std::string& tag) {
  static int n = 0;
  const fs::path p = fs::temp_directory_path() / ("nqkv-dse-test-" + std::to_string(getpid()) + "-" + tag + "-" + std::to_string(n++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}
std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
std::vector<std::string> slurp_lines(const std::string& path) {
  std::vector<std::string> v;
  std::istringstream is(slurp(path));
  for (std::string l; std::getline(is, l);)
    if (!l.empty()) v.push_back(l);
  return v;
}
int count_lines(const std::string& path) {
  if (!fs::exists(path)) return 0;
  const std::string s = slurp(path);
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

struct Cmd {
  int status = -1;
  std::string err, out;
};
Cmd run(const std::string& args, const std::string& env = "") {
  const std::string e = tmpdir("err");
  const std::string cmd = env + " " + NQKV_EXE_PATH + " " + args + " >" + e + "/out 2>" + e + "/err";
  const int st = std::system(cmd.c_str());
  Cmd c;
  c.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  c.err = slurp(e + "/err");
  c.out = slurp(e + "/out");
  fs::remove_all(e);
  return c;
}

// A small spec with the fake area script: 2 LANES x 2 BITS_MAX = 4 hardware sets.
std::string small_spec(const std::string& extra_hw = "lanes: [4, 16]") {
  return std::string("version: 1\nname: t\nhardware:\n  ") + extra_hw +
         "\n  bits_max: [3, 4]\nsystem:\n  clock_ghz: [0.5, 1.0]\n  memory: {name: hbm3, bandwidth_gbs: 819, "
         "capacity_gib: 24, pj_per_bit: 3.9, technology: hbm2e}\nformat:\n  codebook: [nf4, nf3]\n  block: [32, 64]\nworkload:\n  model: "
         "llama-3-8b\n  context: [1024, 4096]\n  batch: [1, max]\n  gen: 64\nconstraints: ['bits <= bits_max']\n"
         "objectives: [max tokens_per_s, min area_mm2, min rel_mse]\nevaluators:\n  quality: {elements: 4096}\n  area: "
         "{script: " FAKE_AREA_PATH ", timeout_s: 60}\n";
}

}  // namespace

TEST(DseSpec, ParsesAxesRangesAndDefaults) {
  const Spec s = parse_spec(
      "version: 1\nhardware: {lanes: {from: 4, to: 64, scale: log, step: 2}}\nsystem: {clock_ghz: {from: 0.5, to: 2, count: 4}}\n"
      "workload: {batch: [1, 8, max]}\nstrategy: random:10\nseed: 7\n",
      "t.yaml");
  EXPECT_EQ(s.axes[kLanes].num, (std::vector<double>{4, 8, 16, 32, 64}));
  EXPECT_EQ(s.axes[kClockGhz].num, (std::vector<double>{0.5, 1.0, 1.5, 2.0}));
  EXPECT_EQ(s.axes[kBatch].num, (std::vector<double>{1, 8, -1}));
  EXPECT_EQ(s.axes[kBlockMax].num, (std::vector<double>{256}));  // default
  EXPECT_EQ(s.grid_size(), 5u * 4u * 3u);
  EXPECT_TRUE(s.random);
  EXPECT_EQ(s.point_count(), 10u);
  EXPECT_EQ(s.seed, 7u);
  // JSON is accepted (YAML's flow style is a superset).
  const Spec j = parse_spec(R"({"version": 1, "format": {"codebook": ["nf4", "nf2"], "block": 32}})", "t.json");
  EXPECT_EQ(j.axes[kCodebook].str, (std::vector<std::string>{"nf4", "nf2"}));
  EXPECT_EQ(j.grid_size(), 2u);
}

TEST(DseSpec, EditDistanceAndSuggestion) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(did_you_mean("lanse", {"lanes", "block_max"}), "lanes");
  EXPECT_EQ(did_you_mean("zzzzzzzz", {"lanes", "block_max"}), "");
}

TEST(DseSpec, BadSpecsNameFileKeyAndProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"version: 1\nhardwre: {lanes: 4}\n", "b.yaml: hardwre: unknown key; did you mean 'hardware'?"},
      {"version: 1\nhardware: {lanse: 4}\n", "b.yaml: hardware.lanse: unknown key; did you mean 'lanes'?"},
      {"version: 1\nhardware: {lanes: four}\n", "b.yaml: hardware.lanes: expected an integer, got 'four'"},
      {"version: 1\nhardware: {lanes: 4.5}\n", "b.yaml: hardware.lanes: expected an integer, got '4.5'"},
      {"version: 1\nhardware: {lanes: []}\n", "b.yaml: hardware.lanes: empty axis (give at least one value)"},
      {"version: 1\nhardware: {lanes: {from: 64, to: 4, step: 2}}\n", "b.yaml: hardware.lanes: empty axis ('to' is below 'from')"},
      {"version: 1\nconstraints: ['blok <= block_max']\n",
       "b.yaml: constraints[0]: unknown quantity 'blok' in 'blok <= block_max'; did you mean 'block'?"},
      {"version: 1\nconstraints: ['block <<= 3']\n", "b.yaml: constraints[0]: expected a quantity name or a number"},
      {"version: 1\nobjectives: [max speed]\n", "b.yaml: objectives[0]: unknown metric 'speed'"},
      {"version: 2\n", "b.yaml: version: unsupported version '2'"},
      {"hardware: {lanes: 4}\n", "b.yaml: version: missing"},
      {"version: 1\nformat: {codebook: nf5}\n", "b.yaml: format.codebook: unknown value 'nf5'; did you mean 'nf4'?"},
      {"version: 1\nstrategy: random:0\n", "b.yaml: strategy: random:N needs N in 1..1000000000"},
      {"version: 1\nsystem: {memory: [{name: x, bandwidth_gbs: 1, capacity_gib: 1}]}\n",
       "b.yaml: system.memory[0]: missing 'pj_per_bit'"},
      {"version: 1\n  bad: [\n", "b.yaml: line "},
  };
  for (const auto& [text, expect] : cases) {
    try {
      parse_spec(text, "b.yaml");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const nqkv::InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(expect, 0), 0u) << "got: " << e.what() << "\nexpected prefix: " << expect;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  // An unknown model is found when the study resolves the models.
  try {
    Study st(parse_spec("version: 1\nworkload: {model: [llama-3-8b, lama-9]}\nevaluators: {area: {enabled: 0}}\n", "m.yaml"), "");
    ADD_FAILURE() << "unknown model accepted";
  } catch (const nqkv::InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("m.yaml: workload.model[1]: ", 0), 0u) << e.what();
  }
}

TEST(DseSpec, ConstraintsParseAndPrune) {
  const Constraint c = parse_constraint("block <= block_max and 3 < bits", "");
  ASSERT_EQ(c.clauses.size(), 2u);
  EXPECT_EQ(c.clauses[0].lhs, "block");
  EXPECT_EQ(c.clauses[0].rhs, "block_max");
  EXPECT_EQ(c.clauses[1].lhs, "");
  EXPECT_EQ(c.clauses[1].lhs_num, 3);
  EXPECT_EQ(c.stage, kStageAxes);
  EXPECT_EQ(parse_constraint("area_mm2 <= 3", "").stage, kStageArea);
  EXPECT_EQ(parse_constraint("tokens_per_s > 10", "").stage, kStageAnalytic);
  // block in {32, 64, 128, 256} x block_max in {64, 256}: block <= block_max keeps 2 + 4 = 6 of 8.
  const Study st(parse_spec("version: 1\nhardware: {block_max: [64, 256]}\nformat: {block: [32, 64, 128, 256]}\n"
                            "constraints: ['block <= block_max']\nevaluators: {area: {enabled: 0}, quality: {enabled: 0}}\n",
                            "c.yaml"),
                 "");
  int pass = 0;
  Record r;
  for (uint64_t i = 0; i < st.point_count(); ++i) pass += st.axes_pass(i, r);
  EXPECT_EQ(pass, 6);
}

TEST(DseSpec, RandomStrategyIsSeededAndInRange) {
  const std::string base = "version: 1\nhardware: {lanes: [4, 8, 16, 32, 64]}\nformat: {block: [32, 64, 128]}\nstrategy: random:50\n";
  const Study a(parse_spec(base + "seed: 3\nevaluators: {area: {enabled: 0}}\n", "r.yaml"), "");
  const Study b(parse_spec(base + "seed: 3\nevaluators: {area: {enabled: 0}}\n", "r.yaml"), "");
  const Study c(parse_spec(base + "seed: 4\nevaluators: {area: {enabled: 0}}\n", "r.yaml"), "");
  EXPECT_EQ(a.point_count(), 50u);
  int same_c = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    EXPECT_EQ(a.grid_index(i), b.grid_index(i));
    EXPECT_LT(a.grid_index(i), 15u);
    same_c += a.grid_index(i) == c.grid_index(i);
  }
  EXPECT_LT(same_c, 20);  // another seed draws other points (expected ~50/15 matches)
}

// The analytic evaluator against models/perf called directly (the same formulas the RTL matches,
// tests/systemc/test_perf_formulas.cpp): the host's weight step (perf::linear_step on the H100
// entry) plus the accelerator's attention (perf::accel_layer_cycles), the KV pages in the
// accelerator's memory, and the generation summed step by step against the engine's trapezoid.
TEST(DseAnalytic, MatchesThePerfModel) {
  using namespace nqkv::perf;
  const auto m = nqkv::workloads::resolve_model("llama-3-8b");
  for (const bool full : {false, true}) {
    const Study st(parse_spec(std::string("version: 1\nhardware: {lanes: [4, 16, 32]}\nsystem: {clock_ghz: 0.8, buffer_kib: 128, ") +
                                  (full ? "overlap: full, " : "") +
                                  "memory: {name: m, bandwidth_gbs: 400, capacity_gib: 40, pj_per_bit: 4, technology: hbm2}}\n"
                                  "format: {codebook: [nf4, nf3], block: [32, 64]}\n"
                                  "workload: {model: llama-3-8b, context: [512, 3000], batch: [1, 4], gen: 100}\n"
                                  "evaluators: {area: {enabled: 0}}\n",
                              "a.yaml"),
                   "");
    const Hardware& host = find_hardware("h100-80gb");  // the default system.host
    for (uint64_t i = 0; i < st.point_count(); ++i) {
      const Record r = st.evaluate(i);
      ASSERT_EQ(r.status, Status::Ok) << i << " " << r.error;
      nqkv::accel::AccelConfig cfg;
      cfg.lanes = static_cast<int>(r.q[qLanes]);
      AcceleratorParams p = AcceleratorParams::from_config(cfg);
      p.clock_hz = 0.8e9, p.mem_bw = 400e9, p.buffer_bytes = 128 * 1024.0, p.mem_bytes = 40 * 1073741824.0;
      KvFormat f;
      f.kind = r.q[qBits] == 4 ? KvKind::NF4 : KvKind::NF3;
      f.block = static_cast<int>(r.q[qBlock]);
      const auto ctx = static_cast<int64_t>(r.q[qContext]);
      const auto b = static_cast<int64_t>(r.q[qBatch]);
      EXPECT_EQ(r.q[qMacCycles], accel_mac_cycles(p, m.heads, m.kv_heads, m.head_dim, ctx, f).dequant_mac);
      EXPECT_EQ(r.q[qCyclesPerLayer], accel_layer_cycles(p, m.heads, m.kv_heads, m.head_dim, ctx - 1, f).total);
      // KV pages of 16 tokens in 90% of the accelerator's 40 GiB, nothing else there.
      const double page = 16.0 * 2 * m.layers * m.kv_heads * m.head_dim * kv_bits_per_element(f, m.head_dim) / 8;
      const double pages = std::floor(0.9 * 40 * 1073741824.0 / page);
      EXPECT_EQ(r.q[qMaxBatch], std::floor(pages / std::ceil(ctx / 16.0))) << i;
      EXPECT_EQ(r.q[qMaxContext], std::floor(pages / static_cast<double>(b)) * 16) << i;
      // Step by step: host weights then accelerator attention (or the max of the two with full overlap).
      auto combine = [&](double h, double a) { return full ? std::max(h, a) : h + a; };
      const double host_step = linear_step(m, host, b, TimeParams{}).time;
      KvFormat fp16;
      fp16.kind = KvKind::FP16;
      const int64_t prompt = ctx - 100;
      double t = combine(prefill(m, host, fp16, b, prompt, TimeParams{}).time,
                         b * m.layers * accel_quantize_cycles(p, 2.0 * m.kv_heads * m.head_dim * prompt, 1, f.block) / 0.8e9);
      double decode = 0;
      for (int64_t k = 1; k < 100; ++k)
        decode += combine(host_step, b * m.layers * accel_layer_cycles(p, m.heads, m.kv_heads, m.head_dim, prompt + k - 1, f).total / 0.8e9);
      t += decode;
      EXPECT_NEAR(r.q[qTokensPerS] / (b * 100.0 / t), 1.0, 1e-3) << i;
      EXPECT_NEAR(r.q[qTpotS] / (decode / 99), 1.0, 1e-3) << i;
      EXPECT_EQ(r.q[qHostStepS], host_step);
      EXPECT_EQ(r.q[qAccelStepS], b * m.layers * r.q[qCyclesPerLayer] / 0.8e9);
      // The weight matmuls of Llama-3-8B on an H100 take milliseconds, not seconds (the whole model
      // on the lanes took ~2 s per token at LANES 4).
      EXPECT_GT(host_step, 4e-3);
      EXPECT_LT(host_step, 10e-3);
      // bits per element with the fp16 scale: k + 16/B
      EXPECT_EQ(r.q[qBitsPerElement], r.q[qBits] + 16.0 / r.q[qBlock]);
      // The energy split sums to the total bit for bit; the spread is ordered.
      ASSERT_TRUE(r.has_energy);
      EXPECT_EQ(((r.e_dram + r.e_sram) + r.e_mac) + r.e_quant, r.q[qEnergy]) << i;
      EXPECT_GT(r.e_dram, 0);
      EXPECT_GT(r.e_mac, 0);
      EXPECT_LE(r.q[qEnergy], r.e_high);
    }
  }
}

TEST(DseAnalytic, HostAndOverlapAreCheckedAndUsed) {
  const std::string base = "version: 1\nevaluators: {area: {enabled: 0}}\nsystem: {";
  try {
    Study(parse_spec(base + "host: h10-80gb}\n", "h.yaml"), "");
    FAIL() << "an unknown host was accepted";
  } catch (const nqkv::InputError& e) {
    EXPECT_STREQ(e.what(), "h.yaml: system.host: unknown host 'h10-80gb'; did you mean 'h100-80gb'?");
  }
  EXPECT_THROW(Study(parse_spec(base + "host: nqkv-accel}\n", "h.yaml"), ""), nqkv::InputError);  // not a host
  EXPECT_THROW(parse_spec(base + "overlap: some}\n", "h.yaml"), nqkv::InputError);
  // A slower host: slower steps; the accelerator's part is the same.
  const Record h100 = Study(parse_spec(base + "host: h100-80gb}\n", "h.yaml"), "").evaluate(0);
  const Record l4 = Study(parse_spec(base + "host: l4}\n", "h.yaml"), "").evaluate(0);
  const Record full = Study(parse_spec(base + "host: l4, overlap: full}\n", "h.yaml"), "").evaluate(0);
  ASSERT_EQ(l4.status, Status::Ok) << l4.error;
  EXPECT_GT(l4.q[qHostStepS], 3 * h100.q[qHostStepS]);  // 300 vs 3350 GB/s for the weights
  EXPECT_EQ(l4.q[qAccelStepS], h100.q[qAccelStepS]);
  EXPECT_GT(l4.q[qTpotS], h100.q[qTpotS]);
  EXPECT_LT(full.q[qTpotS], l4.q[qTpotS]);
  EXPECT_NEAR(full.q[qTpotS], std::max(full.q[qHostStepS], full.q[qAccelStepS]), 0.01 * full.q[qTpotS]);
}

TEST(DseAnalytic, InvalidAndInfeasiblePointsSayWhy) {
  const Study st(parse_spec("version: 1\nhardware: {lanes: [4, 128], bits_max: 3}\nformat: {codebook: [nf3, nf4], block: [32]}\n"
                            "system: {memory: {name: gddr6, bandwidth_gbs: 100, capacity_gib: 0.05, pj_per_bit: 4}}\n"
                            "evaluators: {area: {enabled: 0}}\n",
                            "i.yaml"),
                 "");
  std::map<std::string, int> seen;
  for (uint64_t i = 0; i < st.point_count(); ++i) {
    const Record r = st.evaluate(i);
    seen[status_name(r.status)]++;
    EXPECT_NE(r.status, Status::Ok);
    EXPECT_FALSE(r.error.empty());
  }
  // LANES 128 is not a legal build (2 points); nf4 on BITS_MAX 3 (1 point); nf3 at LANES 4: one
  // sequence of 2048 tokens of Llama-3-8B's KV (NF3 B32: 58.7 MB) does not fit in 0.05 GiB (1 point).
  EXPECT_EQ(seen["invalid"], 3);
  EXPECT_EQ(seen["infeasible"], 1);
}

TEST(DsePareto, HandExamples) {
  // max x, min y: (1,1) (2,2) (2,1) (3,5) (0,0) -> (2,1) dominates (1,1) and (2,2); (3,5) and
  // (0,0) are on the front; (2,1) is.
  const std::vector<std::vector<double>> v = {{1, 1}, {2, 2}, {2, 1}, {3, 5}, {0, 0}};
  EXPECT_EQ(pareto_front(v, {true, false}), (std::vector<uint64_t>{2, 3, 4}));
  // Duplicates: one representative (the lowest index).
  EXPECT_EQ(pareto_front({{1, 1}, {1, 1}}, {false, false}), (std::vector<uint64_t>{0}));
  // Three objectives, all minimised: nothing dominates anything on a simplex.
  EXPECT_EQ(pareto_front({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}}, {false, false, false}),
            (std::vector<uint64_t>{0, 1, 2}));
}

// ---- CLI end to end

TEST(DseCli, BadSpecExits2WithOneLineAndNoOutput) {
  const std::string d = tmpdir("bad");
  write(d + "/bad.yaml", "version: 1\nhardware: {lanse: 4}\n");
  const Cmd c = run("dse run " + d + "/bad.yaml -o " + d + "/out --cache " + d + "/cache");
  EXPECT_EQ(c.status, 2);
  EXPECT_EQ(c.err, "nqkv: error: " + d + "/bad.yaml: hardware.lanse: unknown key; did you mean 'lanes'?\n");
  EXPECT_FALSE(fs::exists(d + "/out"));
  EXPECT_FALSE(fs::exists(d + "/out.partial"));
  write(d + "/m.yaml", "version: 1\nworkload: {model: nosuch-model}\n");
  const Cmd m = run("dse plan " + d + "/m.yaml --cache " + d + "/cache");
  EXPECT_EQ(m.status, 2);
  EXPECT_EQ(m.err.rfind("nqkv: error: " + d + "/m.yaml: workload.model: ", 0), 0u) << m.err;
  EXPECT_EQ(std::count(m.err.begin(), m.err.end(), '\n'), 1);
  fs::remove_all(d);
}

TEST(DseCli, JobsShardMergeCacheAndFailingPoint) {
  const std::string d = tmpdir("e2e");
  // LANES 8 fails in the fake synthesis: its points are recorded as failed, the sweep completes.
  write(d + "/s.yaml", small_spec("lanes: [4, 8, 16]"));
  const std::string env = "NQKV_FAKE_AREA_LOG=" + d + "/log";
  const std::string cache = " --cache " + d + "/cache --quiet";
  // plan: counts per stage and cache hits, no work (nothing synthesized, nothing written).
  const Cmd p0 = run("dse plan " + d + "/s.yaml --cache " + d + "/cache", env);
  ASSERT_EQ(p0.status, 0) << p0.err;
  EXPECT_NE(p0.out.find("points: 192 (192 in the grid); pruned by axis constraints: 48; to evaluate: 144"), std::string::npos)
      << p0.out;  // 3 LANES x 2 BITS_MAX x 2 clocks x 2 codebooks x 2 blocks x 2 contexts x 2 batches = 192;
                  // bits <= bits_max prunes nf4 on BITS_MAX 3: a quarter of the (BITS_MAX, codebook) pairs
  EXPECT_NE(p0.out.find("area: 6 hardware sets, 0 cached, 6 to synthesize"), std::string::npos) << p0.out;
  EXPECT_EQ(count_lines(d + "/log"), 0);
  EXPECT_FALSE(fs::exists(d + "/cache/area"));
  const Cmd r1 = run("dse run " + d + "/s.yaml -o " + d + "/j1 --jobs 1" + cache, env);
  ASSERT_EQ(r1.status, 0) << r1.err;
  EXPECT_EQ(count_lines(d + "/log"), 6);  // 3 LANES x 2 BITS_MAX, each synthesized once
  const auto s1 = nlohmann::json::parse(slurp(d + "/j1/summary.json"));
  EXPECT_EQ(s1["stages"]["area"]["syntheses"], 6);
  EXPECT_EQ(s1["stages"]["area"]["failed"], 2);
  EXPECT_GT(s1["counts"]["failed"].get<int>(), 0);
  EXPECT_GT(s1["counts"]["ok"].get<int>(), 0);
  const std::string csv = slurp(d + "/j1/points.csv");
  // Every energy figure's constants are listed with their sources.
  const auto et = nlohmann::json::parse(slurp(d + "/j1/energy_table.json"));
  EXPECT_GT(et["constants"].size(), 3u);
  for (const auto& c : et["constants"]) EXPECT_FALSE(c["source"].get<std::string>().empty());
  EXPECT_NE(csv.find(",failed,"), std::string::npos);
  EXPECT_NE(csv.find("fake synthesis: LANES 8 fails on purpose"), std::string::npos);
  // Area of a known set: 1000 x LANES x BITS_MAX + BLOCK_MAX + DIV_SPS transistors.
  EXPECT_NE(csv.find(",64260,"), std::string::npos) << "(LANES 16 BITS_MAX 4 -> 64000+256+4 = 64260)";

  const Cmd p1 = run("dse plan " + d + "/s.yaml --cache " + d + "/cache", env);
  EXPECT_NE(p1.out.find("area: 6 hardware sets, 6 cached, 0 to synthesize"), std::string::npos) << p1.out;
  // Re-run of the unchanged spec: 0 syntheses, every set from the cache; jobs 2 gives the same bytes.
  const Cmd r2 = run("dse run " + d + "/s.yaml -o " + d + "/j2 --jobs 2" + cache, env);
  ASSERT_EQ(r2.status, 0) << r2.err;
  EXPECT_EQ(count_lines(d + "/log"), 6);
  const auto s2 = nlohmann::json::parse(slurp(d + "/j2/summary.json"));
  EXPECT_EQ(s2["stages"]["area"]["syntheses"], 0);
  EXPECT_EQ(s2["stages"]["area"]["cache_hits"], 6);
  EXPECT_EQ(s2["stages"]["simulations"], 0);
  EXPECT_EQ(slurp(d + "/j2/points.csv"), csv);
  EXPECT_EQ(slurp(d + "/j2/points.jsonl"), slurp(d + "/j1/points.jsonl"));
  EXPECT_EQ(slurp(d + "/j2/pareto.csv"), slurp(d + "/j1/pareto.csv"));

  // Three shards merged: the same points.csv, jsonl and Pareto front.
  for (int i = 0; i < 3; ++i) {
    const Cmd s = run("dse shard " + d + "/s.yaml --index " + std::to_string(i) + " --count 3 -o " + d + "/sh" +
                          std::to_string(i) + cache,
                      env);
    ASSERT_EQ(s.status, 0) << s.err;
  }
  const Cmd m = run("dse merge " + d + "/sh2 " + d + "/sh0 " + d + "/sh1 -o " + d + "/merged");
  ASSERT_EQ(m.status, 0) << m.err;
  EXPECT_EQ(slurp(d + "/merged/points.csv"), csv);
  EXPECT_EQ(slurp(d + "/merged/points.jsonl"), slurp(d + "/j1/points.jsonl"));
  EXPECT_EQ(slurp(d + "/merged/pareto.csv"), slurp(d + "/j1/pareto.csv"));
  EXPECT_EQ(slurp(d + "/merged/energy_table.json"), slurp(d + "/j1/energy_table.json"));
  // A missing shard is refused.
  const Cmd bad = run("dse merge " + d + "/sh0 " + d + "/sh1 -o " + d + "/merged2");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("shard 2 of 3 is missing"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(d + "/merged2"));
  // An existing OUT is refused.
  const Cmd again = run("dse run " + d + "/s.yaml -o " + d + "/j1" + cache, env);
  EXPECT_EQ(again.status, 2);
  fs::remove_all(d);
}

TEST(DseCli, ResumeAfterSigkillRecomputesNothingFinished) {
  const std::string d = tmpdir("kill");
  write(d + "/s.yaml", small_spec("lanes: [4, 16, 32]"));  // 6 hardware sets, 0.4 s each
  const std::string cache = d + "/cache";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("NQKV_FAKE_AREA_SLEEP", "0.4", 1);
    setenv("NQKV_FAKE_AREA_LOG", (d + "/log").c_str(), 1);
    const int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1), dup2(fd, 2);
    execl(NQKV_EXE_PATH, NQKV_EXE_PATH, "dse", "run", (d + "/s.yaml").c_str(), "-o", (d + "/out").c_str(), "--cache",
          cache.c_str(), "--jobs", "1", "--quiet", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto cached = [&] {
    int n = 0;
    if (fs::exists(cache + "/area"))
      for (const auto& e : fs::directory_iterator(cache + "/area")) n += e.path().extension() == ".json";
    return n;
  };
  const auto t0 = std::chrono::steady_clock::now();
  while (cached() < 2 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFSIGNALED(st));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // an orphaned synthesis finishes
  const int done = cached();
  ASSERT_GE(done, 2);
  ASSERT_LT(done, 6) << "the run finished before it was killed";
  EXPECT_FALSE(fs::exists(d + "/out"));
  EXPECT_TRUE(fs::exists(d + "/out.partial"));
  // Without --resume the leftover is refused; with it, only the unfinished sets are synthesized.
  const Cmd no = run("dse run " + d + "/s.yaml -o " + d + "/out --cache " + cache + " --quiet");
  EXPECT_EQ(no.status, 2);
  EXPECT_NE(no.err.find("--resume"), std::string::npos);
  const Cmd r = run("dse run " + d + "/s.yaml -o " + d + "/out --resume --cache " + cache + " --quiet",
                    "NQKV_FAKE_AREA_LOG=" + d + "/log2");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto s = nlohmann::json::parse(slurp(d + "/out/summary.json"));
  EXPECT_EQ(s["stages"]["area"]["cache_hits"].get<int>(), done);
  EXPECT_EQ(s["stages"]["area"]["syntheses"].get<int>(), 6 - done);
  EXPECT_EQ(count_lines(d + "/log2"), 6 - done);
  EXPECT_FALSE(fs::exists(d + "/out.partial"));
  fs::remove_all(d);
}

// Validation on the SystemC cycle model (built without Verilator too): Pareto set + a seeded sample,
// 0 cycle difference from the analytic formulas and bit-exact; a re-run simulates nothing; a planted
// one-cycle error is caught (exit 1, the row says cycle_diff 1).
TEST(DseCli, ValidateOnSystemcIsCycleAndBitExact) {
  const Cmd b = run("backends");
  if (b.out.find("systemc  available") == std::string::npos) GTEST_SKIP() << "the systemc backend is not built";
  const std::string d = tmpdir("val");
  write(d + "/s.yaml", small_spec());
  const std::string cache = " --cache " + d + "/cache --quiet";
  ASSERT_EQ(run("dse run " + d + "/s.yaml -o " + d + "/out" + cache).status, 0);
  const Cmd v = run("dse validate " + d + "/out --backend systemc --points pareto+sample:16 --max-context 96 --jobs 2" + cache);
  ASSERT_EQ(v.status, 0) << v.err << v.out;
  const std::string csv = slurp(d + "/out/validation.csv");
  const int rows = count_lines(d + "/out/validation.csv") - 1;
  EXPECT_GE(rows, 16);
  const auto j = nlohmann::json::parse(slurp(d + "/out/validation.json"));
  EXPECT_EQ(j["exact"].get<int>(), rows);
  EXPECT_EQ(j["cycle_mismatch"].get<int>(), 0);
  EXPECT_GT(j["simulations"].get<int>(), 0);
  EXPECT_EQ(csv.find(",no,ok,"), std::string::npos);  // no row with bit_exact = no
  const Cmd again = run("dse validate " + d + "/out --backend systemc --points pareto+sample:16 --max-context 96" + cache);
  ASSERT_EQ(again.status, 0) << again.err;
  const auto j2 = nlohmann::json::parse(slurp(d + "/out/validation.json"));
  EXPECT_EQ(j2["simulations"].get<int>(), 0);
  EXPECT_EQ(count_lines(d + "/out/validation.csv"), rows + 1);
  EXPECT_EQ(j2["exact"].get<int>(), rows);
  // Only the rtl backend fills points.csv's rtl_cycle_diff / bit_exact: systemc leaves them empty.
  EXPECT_EQ(slurp(d + "/out/points.jsonl").find("\"bit_exact\":\"yes\""), std::string::npos);
  const Cmd planted = run("dse validate " + d + "/out --backend systemc --points pareto --max-context 96 --cache " + d +
                              "/cache2 --quiet",
                          "NQKV_DSE_PLANT_CYCLE_ERROR=1");
  EXPECT_EQ(planted.status, 1) << planted.out;
  EXPECT_NE(slurp(d + "/out/validation.csv").find(",1,"), std::string::npos);
  EXPECT_GT(nlohmann::json::parse(slurp(d + "/out/validation.json"))["cycle_mismatch"].get<int>(), 0);
  fs::remove_all(d);
}

// A synthesis over its timeout or its memory budget is recorded as the points' failure (with the
// reason) and the sweep completes; a timeout is not cached (it is retried), a budget failure is.
TEST(DseCli, TimeoutAndMemoryBudgetAreRecorded) {
  const std::string d = tmpdir("budget");
  std::string spec = small_spec();
  spec.replace(spec.find("timeout_s: 60"), 13, "timeout_s: 0.5");
  write(d + "/t.yaml", spec);
  const Cmd t = run("dse run " + d + "/t.yaml -o " + d + "/t --cache " + d + "/c1 --quiet", "NQKV_FAKE_AREA_SLEEP=5");
  ASSERT_EQ(t.status, 0) << t.err;
  const auto st = nlohmann::json::parse(slurp(d + "/t/summary.json"));
  EXPECT_EQ(st["stages"]["area"]["failed"], 4);
  EXPECT_EQ(st["counts"]["ok"], 0);
  EXPECT_NE(slurp(d + "/t/points.csv").find("area: area script timeout"), std::string::npos);
  EXPECT_FALSE(fs::exists(d + "/c1/area") && !fs::is_empty(d + "/c1/area"));  // timeouts are not cached
  std::string mspec = small_spec();
  mspec.replace(mspec.find("timeout_s: 60"), 13, "timeout_s: 60, memory_mib: 200");
  write(d + "/m.yaml", mspec);
  const Cmd m = run("dse run " + d + "/m.yaml -o " + d + "/m --cache " + d + "/c2 --quiet", "NQKV_FAKE_AREA_ALLOC_MIB=400");
  ASSERT_EQ(m.status, 0) << m.err;
  const auto sm = nlohmann::json::parse(slurp(d + "/m/summary.json"));
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "no address-space budget under AddressSanitizer";
#endif
  EXPECT_EQ(sm["stages"]["area"]["failed"], 4);
  EXPECT_NE(slurp(d + "/m/points.csv").find("MemoryError"), std::string::npos);
  // The same spec within the budget succeeds.
  const Cmd ok = run("dse run " + d + "/m.yaml -o " + d + "/m2 --cache " + d + "/c3 --quiet", "NQKV_FAKE_AREA_ALLOC_MIB=10");
  ASSERT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(d + "/m2/summary.json"))["stages"]["area"]["failed"], 0);
  fs::remove_all(d);
}

// evaluators.area.liberty: the logic area comes from the script's area_um2 (Yosys stat -liberty;
// here the fake: transistors / 4 + the library's size) instead of transistors x density; the
// library's bytes are in the cache key (an edited library is synthesized again, the same one is
// not); a missing library is one line, exit 2; sram_um2_per_bit replaces the N7 bit cell.
TEST(DseCli, LibertyAreaInUm2) {
  const std::string d = tmpdir("lib");
  write(d + "/a.lib", "library(a) { }\n");  // 15 bytes
  std::string spec = small_spec("lanes: [4]");
  spec.replace(spec.find("timeout_s: 60"), 13, "timeout_s: 60, liberty: " + d + "/a.lib, sram_um2_per_bit: 0.5");
  write(d + "/s.yaml", spec);
  const std::string env = "NQKV_FAKE_AREA_LOG=" + d + "/log";
  ASSERT_EQ(run("dse run " + d + "/s.yaml -o " + d + "/o1 --cache " + d + "/c --quiet", env).status, 0);
  EXPECT_EQ(count_lines(d + "/log"), 2);  // LANES 4 x BITS_MAX 3, 4
  for (const auto& l : slurp_lines(d + "/o1/points.jsonl")) {
    const auto j = nlohmann::json::parse(l);
    if (j["status"] != "ok") continue;
    const double t = j["transistors"].get<double>();
    EXPECT_EQ(j["area_logic_mm2"].get<double>(), (0.25 * t + 15) * 1e-6);
    EXPECT_EQ(j["area_sram_mm2"].get<double>(), 256 * 8192.0 * 0.5 * 2.0 / 1e6);  // default buffer 256 KiB, x2 macro
    EXPECT_EQ(j["fidelity"]["area"], "yosys-liberty");
  }
  const auto sj = nlohmann::json::parse(slurp(d + "/o1/summary.json"));
  EXPECT_NE(sj["assumptions"]["area_logic"].get<std::string>().find("stat -liberty"), std::string::npos);
  ASSERT_EQ(run("dse run " + d + "/s.yaml -o " + d + "/o2 --cache " + d + "/c --quiet", env).status, 0);
  EXPECT_EQ(count_lines(d + "/log"), 2);  // same library: cached
  write(d + "/a.lib", "library(a) { /* edited */ }\n");
  ASSERT_EQ(run("dse run " + d + "/s.yaml -o " + d + "/o3 --cache " + d + "/c --quiet", env).status, 0);
  EXPECT_EQ(count_lines(d + "/log"), 4);  // an edited library: synthesized again
  fs::remove(d + "/a.lib");
  const Cmd m = run("dse run " + d + "/s.yaml -o " + d + "/o4 --cache " + d + "/c --quiet", env);
  EXPECT_EQ(m.status, 2);
  EXPECT_EQ(m.err, "nqkv: error: " + d + "/s.yaml: evaluators.area.liberty: not found: " + d + "/a.lib\n");
  EXPECT_FALSE(fs::exists(d + "/o4"));
  fs::remove_all(d);
}

// nqkv dse perplexity (where stories260K is present): one nqkv eval run per distinct format of the
// Pareto set plus the f32 reference, the ppl columns filled for the points whose format the model
// takes (block 32: its kv_dim is 32), a failed row with eval's reason for the others, and a re-run
// evaluates nothing.
TEST(DseCli, PerplexityOfTheParetoFormatsIsCached) {
  if (!fs::exists(default_ppl_checkpoint())) GTEST_SKIP() << default_ppl_checkpoint() << " not found";
  if (nqkv::io::kAddressSanitizer) GTEST_SKIP() << "nqkv eval runs are slow under AddressSanitizer (CI time)";
  const std::string d = tmpdir("ppl");
  write(d + "/s.yaml", small_spec("lanes: [4]"));
  const std::string cache = " --cache " + d + "/cache --quiet";
  ASSERT_EQ(run("dse run " + d + "/s.yaml -o " + d + "/out" + cache).status, 0);
  const Cmd p1 = run("dse perplexity " + d + "/out --jobs 2" + cache);
  ASSERT_EQ(p1.status, 0) << p1.err;
  const auto j1 = nlohmann::json::parse(slurp(d + "/out/perplexity-stories260K.json"));
  EXPECT_EQ(j1["runs"], j1["formats"]);
  EXPECT_EQ(j1["cache_hits"], 0);
  const std::string table = slurp(d + "/out/perplexity-stories260K.csv");
  EXPECT_NE(table.find("f32,0,f32,"), std::string::npos);
  EXPECT_NE(table.find("does not divide the K/V row of kv_dim = 32"), std::string::npos);
  double ref = 0;
  for (const auto& l : slurp_lines(d + "/out/perplexity-stories260K.csv"))
    if (l.rfind("f32,0,f32,", 0) == 0) ref = std::stod(l.substr(10));
  ASSERT_GT(ref, 1.0);
  int filled = 0;
  for (const auto& l : slurp_lines(d + "/out/points.jsonl")) {
    const auto j = nlohmann::json::parse(l);
    if (!j["ppl"].is_number()) continue;
    ++filled;
    EXPECT_EQ(j["block"], 32);
    EXPECT_EQ(j["fidelity_ppl"], "stories260K-eval");
    EXPECT_GT(j["ppl"].get<double>(), ref);  // a 3- or 4-bit cache loses to the f32 cache
    EXPECT_NEAR(j["ppl_delta_pct"].get<double>(), 100.0 * (j["ppl"].get<double>() / ref - 1.0), 1e-9);
  }
  EXPECT_EQ(filled, j1["filled"].get<int>());
  EXPECT_GT(filled, 0);
  EXPECT_NE(slurp(d + "/out/pareto.csv").find(",stories260K-eval,"), std::string::npos);
  const Cmd p2 = run("dse perplexity " + d + "/out" + cache);
  ASSERT_EQ(p2.status, 0) << p2.err;
  const auto j2 = nlohmann::json::parse(slurp(d + "/out/perplexity-stories260K.json"));
  EXPECT_EQ(j2["runs"], 0);
  EXPECT_EQ(j2["cache_hits"], j1["formats"]);
  // Bad input: one line, exit 2, the outputs untouched.
  const std::string before = slurp(d + "/out/points.csv");
  const Cmd both = run("dse perplexity " + d + "/out --checkpoint " + default_ppl_checkpoint() + " --gguf x.gguf" + cache);
  EXPECT_EQ(both.status, 2);
  EXPECT_EQ(both.err, "nqkv: error: nqkv dse perplexity: give --checkpoint or --gguf (one of them)\n");
  const Cmd missing = run("dse perplexity " + d + "/out --gguf " + d + "/none.gguf" + cache);
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.err, "nqkv: error: --gguf: not found: " + d + "/none.gguf\n");
  EXPECT_EQ(slurp(d + "/out/points.csv"), before);
  fs::remove_all(d);
}

// A LANES without a built-in RTL model is built on demand, once: the builder (here
// tests/dse/fake_rtl_builder.py, no Verilator) runs in a child process and its result is cached
// under the cache root, so a re-run performs 0 builds; a failing build is recorded on its points
// (and cached), the validation completes; builds off gives "not built".
TEST(DseCli, ValidateBuildsMissingRtlLanesOnceAndCachesThem) {
  const Cmd b = run("backends");
  if (b.out.find("rtl      available") == std::string::npos) GTEST_SKIP() << "the rtl backend is not built";
  const std::string d = tmpdir("rtlbuild");
  write(d + "/s.yaml", small_spec("lanes: [32]"));  // LANES 32: not among NQKV_SIM_LANES (4, 16, 64)
  const std::string cache = " --cache " + d + "/cache --quiet";
  ASSERT_EQ(run("dse run " + d + "/s.yaml -o " + d + "/out" + cache).status, 0);
  const std::string builder = std::string(" --rtl-builder 'python3 ") + FAKE_RTL_BUILDER_PATH + "'";
  const std::string env = "NQKV_FAKE_RTL_LOG=" + d + "/log";
  const Cmd v1 = run("dse validate " + d + "/out --backend rtl --points pareto --max-context 64" + builder + cache, env);
  ASSERT_EQ(v1.status, 0) << v1.err << v1.out;
  EXPECT_EQ(count_lines(d + "/log"), 1);  // one build for LANES 32, however many points
  const auto j1 = nlohmann::json::parse(slurp(d + "/out/validation.json"));
  EXPECT_EQ(j1["rtl_builds"]["built"], 1);
  EXPECT_EQ(j1["rtl_builds"]["cache_hits"], 0);
  EXPECT_GT(j1["rows"].get<int>(), 0);
  EXPECT_EQ(j1["failed"], j1["rows"]);  // the fake library does not load: every row says why
  EXPECT_NE(slurp(d + "/out/validation.csv").find("cannot load the RTL model of LANES 32"), std::string::npos);
  const Cmd v2 = run("dse validate " + d + "/out --backend rtl --points pareto --max-context 64" + builder + cache, env);
  ASSERT_EQ(v2.status, 0) << v2.err;
  EXPECT_EQ(count_lines(d + "/log"), 1);  // the re-run builds nothing
  const auto j2 = nlohmann::json::parse(slurp(d + "/out/validation.json"));
  EXPECT_EQ(j2["rtl_builds"]["built"], 0);
  EXPECT_EQ(j2["rtl_builds"]["cache_hits"], 1);
  // A failing build (another cache): the rows are failed with the builder's error, cached too.
  const Cmd f1 = run("dse validate " + d + "/out --backend rtl --points pareto --max-context 64" + builder + " --cache " + d +
                         "/cache2 --quiet",
                     env + " NQKV_FAKE_RTL_FAIL=1");
  ASSERT_EQ(f1.status, 0) << f1.err;
  EXPECT_EQ(count_lines(d + "/log"), 2);
  EXPECT_NE(slurp(d + "/out/validation.csv").find("rtl build of LANES 32: failed (exit 4): fake rtl build: LANES 32 fails on purpose"),
            std::string::npos);
  ASSERT_EQ(run("dse validate " + d + "/out --backend rtl --points pareto --max-context 64" + builder + " --cache " + d +
                    "/cache2 --quiet",
                env + " NQKV_FAKE_RTL_FAIL=1")
                .status,
            0);
  EXPECT_EQ(count_lines(d + "/log"), 2);
  // Builds off: not built.
  ASSERT_EQ(run("dse validate " + d + "/out --backend rtl --points pareto --max-context 64 --rtl-builder none" + cache).status, 0);
  const auto j3 = nlohmann::json::parse(slurp(d + "/out/validation.json"));
  EXPECT_EQ(j3["not_built"], j3["rows"]);
  fs::remove_all(d);
}

// On the verilated RTL (where built): the Pareto set, 0 cycle difference, bit-exact, and the verdicts
// land in points.csv / points.jsonl / pareto.csv (rtl_cycle_diff 0, bit_exact yes), nothing else changes.
TEST(DseCli, ValidateOnRtlFillsPointsColumns) {
  const Cmd b = run("backends");
  if (b.out.find("rtl      available") == std::string::npos) GTEST_SKIP() << "the rtl backend is not built";
  const std::string d = tmpdir("rtl");
  write(d + "/s.yaml", small_spec());
  const std::string cache = " --cache " + d + "/cache --quiet";
  ASSERT_EQ(run("dse run " + d + "/s.yaml -o " + d + "/out" + cache).status, 0);
  const std::string before = slurp(d + "/out/points.csv");
  const Cmd v = run("dse validate " + d + "/out --backend rtl --points pareto --max-context 64 --jobs 2" + cache);
  ASSERT_EQ(v.status, 0) << v.err << v.out;
  const auto j = nlohmann::json::parse(slurp(d + "/out/validation.json"));
  const int rows = j["rows"].get<int>();
  EXPECT_GT(rows, 0);
  EXPECT_EQ(j["exact"].get<int>(), rows);
  const std::string after = slurp(d + "/out/points.csv");
  int filled = 0;
  for (size_t p = after.find(",0,yes,"); p != std::string::npos; p = after.find(",0,yes,", p + 1)) ++filled;
  EXPECT_EQ(filled, rows);
  EXPECT_EQ(after.size(), before.size() + 4 * static_cast<size_t>(rows));  // "0" and "yes" in two empty fields
  const std::string pareto = slurp(d + "/out/pareto.csv");
  EXPECT_EQ(static_cast<int>(std::count(pareto.begin(), pareto.end(), '\n')) - 1, rows);
  EXPECT_NE(pareto.find(",0,yes,"), std::string::npos);
  fs::remove_all(d);
}
