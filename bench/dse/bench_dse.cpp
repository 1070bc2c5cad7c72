// Speed of the DSE engine's per-point work (models/dse/engine.hpp): Study::evaluate (axes,
// constraints, quality and area looked up, the analytic cycle/projection formulas, energy) and the
// CSV + JSONL renderings. The issue's budget: >= 100,000 points per second per core for the
// analytic evaluator. items_per_second = points per second on one thread.
//   build-dse/bench/dse/bench_dse --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include "models/dse/engine.hpp"

namespace {

using namespace nqkv::dse;

// A 100,800-point grid without the area stage (area is looked up per hardware set and cached; the
// end-to-end run with synthesis cached is timed by `nqkv dse run`, see docs/dse.md).
const char* kSpec = R"(version: 1
hardware: {lanes: [4, 8, 16, 32], bits_max: [3, 4], block_max: 256}
system:
  clock_ghz: {from: 0.5, to: 2.0, count: 4}
  buffer_kib: [128, 512]
  memory:
    - {name: hbm2e, bandwidth_gbs: 461, capacity_gib: 24, pj_per_bit: 6.0, technology: hbm2e}
    - {name: gddr6, bandwidth_gbs: 512, capacity_gib: 32, pj_per_bit: 7.5, technology: gddr6}
format: {codebook: [nf4, nf3, nf2], block: [32, 64, 128]}
workload: {model: [llama-3-8b, mistral-7b], context: {from: 512, to: 16384, count: 7}, batch: [1, 4, 16, max], gen: [64, 256]}
evaluators: {area: {enabled: 0}, quality: {elements: 16384}}
)";

const Study& study() {
  static const Study s(parse_spec(kSpec, "bench.yaml"), "");
  return s;
}

void BM_EvaluatePoint(benchmark::State& state) {
  const Study& s = study();
  const uint64_t n = s.point_count();
  uint64_t id = 0;
  for (uint64_t i = 0; i < std::min<uint64_t>(n, 2000); ++i) s.evaluate(i);  // quality per format, once
  for (auto _ : state) {
    Record r = s.evaluate(id);
    benchmark::DoNotOptimize(r);
    id = (id + 7919) % n;  // stride across the grid: every axis changes
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["grid_points"] = static_cast<double>(n);
}
BENCHMARK(BM_EvaluatePoint);

void BM_EvaluateAndRender(benchmark::State& state) {
  const Study& s = study();
  const uint64_t n = s.point_count();
  uint64_t id = 0;
  std::string csv, jsonl;
  for (auto _ : state) {
    const Record r = s.evaluate(id);
    csv.clear(), jsonl.clear();
    if (r.reached >= 0) append_csv(csv, s, r), append_jsonl(jsonl, s, r);
    benchmark::DoNotOptimize(csv.data());
    benchmark::DoNotOptimize(jsonl.data());
    id = (id + 7919) % n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EvaluateAndRender);

}  // namespace

BENCHMARK_MAIN();
