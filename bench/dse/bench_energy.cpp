// Speed of the DSE energy model (models/dse/energy.hpp): the per-point work the engine does, one
// EnergyModel per system configuration built outside the loop. The budget for the whole
// analytic evaluator is 100,000 points per second per core; items_per_second here is the energy
// part alone.
#include <benchmark/benchmark.h>

#include "models/dse/energy.hpp"

namespace {

using namespace nqkv;

// evaluate() alone, on counts that change every iteration (no constant folding).
void BM_EnergyEvaluate(benchmark::State& state) {
  const dse::EnergyModel em(dse::EnergyTable::builtin(), {"ddr3", 256 * 1024, 4});
  const auto& m = workloads::zoo_model("llama-3-8b");
  const auto f = perf::parse_kv_format("nf4", 64, 32, 128);
  dse::EnergyInputs in = dse::decode_energy_inputs(m, f, 4096, 8, true);
  double acc = 0;
  for (auto _ : state) {
    in.dram_read_bits += 1;
    const dse::EnergyResult r = em.evaluate(in);
    acc += r.high.total;
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnergyEvaluate);

// decode_energy_inputs + evaluate: what one DSE point costs (context varies per iteration).
void BM_EnergyPoint(benchmark::State& state) {
  const dse::EnergyModel em(dse::EnergyTable::builtin(), {"hbm2", 256 * 1024, 4});
  const auto& m = workloads::zoo_model("llama-3-8b");
  const auto f = perf::parse_kv_format("nf4", 64, 32, 128);
  int64_t ctx = 1;
  double acc = 0;
  for (auto _ : state) {
    ctx = ctx % 8192 + 1;
    const dse::EnergyResult r = em.evaluate(dse::decode_energy_inputs(m, f, ctx, 8, true));
    acc += r.low.total;
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnergyPoint);

// Building the model (per system configuration, outside the per-point loop).
void BM_EnergyModelBuild(benchmark::State& state) {
  for (auto _ : state) {
    dse::EnergyModel em(dse::EnergyTable::builtin(), {"ddr3", 256 * 1024, 4});
    benchmark::DoNotOptimize(em.constant_ids().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnergyModelBuild);

}  // namespace

BENCHMARK_MAIN();
