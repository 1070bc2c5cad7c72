// Speed of the SmolLM2-135M-Instruct forward pass (float32 weights, Eigen): the batched window
// (teacher forcing: perplexity, kvstats) at T tokens, the token-at-a-time step (greedy decoding)
// at a given context, and loading the GGUF (parse + dequantize + tokenizer). items/s = tokens/s.
//   bench_llama_forward [--benchmark_filter=...]   (NQKV_SMOLLM2_GGUF / NQKV_DATA_DIR locate the model)
#include <benchmark/benchmark.h>

#include <memory>

#include "workloads/gguf/gguf_model.hpp"
#include "workloads/llama/kv_store.hpp"
#include "workloads/llama/model.hpp"

namespace {

using namespace nqkv;

llama::Model* model() {
  static std::unique_ptr<llama::Model> m = [] {
    const std::string p = gguf::default_smollm2_path();
    return p.empty() ? nullptr : std::make_unique<llama::Model>(gguf::load_gguf_model(p).checkpoint);
  }();
  return m.get();
}

std::vector<int> tokens(int n) {
  std::vector<int> t(n);
  for (int i = 0; i < n; ++i) t[i] = 100 + (i * 7919) % 40000;
  return t;
}

void BM_ForwardWindow(benchmark::State& state) {
  llama::Model* m = model();
  if (!m) return state.SkipWithError("SmolLM2 GGUF not found (scripts/setup.sh)");
  const int T = static_cast<int>(state.range(0));
  const std::vector<int> t = tokens(T);
  llama::FloatKVStore kv(m->config());
  for (auto _ : state) {
    kv.reset();
    benchmark::DoNotOptimize(m->forward_window(t.data(), T, 0, kv).data());
  }
  state.SetItemsProcessed(state.iterations() * T);
}
BENCHMARK(BM_ForwardWindow)->Arg(64)->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// One token at position `ctx` (the store holds ctx tokens; the appended row is dropped by
// refilling the prefix outside the timing every 16 steps).
void BM_ForwardToken(benchmark::State& state) {
  llama::Model* m = model();
  if (!m) return state.SkipWithError("SmolLM2 GGUF not found (scripts/setup.sh)");
  const int ctx = static_cast<int>(state.range(0));
  const std::vector<int> t = tokens(ctx + 16);
  llama::FloatKVStore kv(m->config());
  int pos = ctx + 16;
  for (auto _ : state) {
    if (pos == ctx + 16) {
      state.PauseTiming();
      kv.reset();
      if (ctx > 0) m->forward_window(t.data(), ctx, 0, kv, nullptr, false);
      pos = ctx;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(m->forward(t[pos], pos, kv).data());
    ++pos;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ForwardToken)->Arg(0)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_LoadGguf(benchmark::State& state) {
  const std::string p = gguf::default_smollm2_path();
  if (p.empty()) return state.SkipWithError("SmolLM2 GGUF not found (scripts/setup.sh)");
  for (auto _ : state) benchmark::DoNotOptimize(gguf::load_gguf_model(p).checkpoint.weights.wq.data());
}
BENCHMARK(BM_LoadGguf)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
