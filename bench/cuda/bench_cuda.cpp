// Effective bandwidth of the nqkv CUDA kernels (Google Benchmark, manual timing with CUDA events).
// Each benchmark warms up, then times every launch on its own and reports the median; inputs rotate
// over several copies whose total exceeds the L2 cache, so the cache does not flatter the numbers.
// Two timings of the same launches:
//  - median_us (queued): the host queues all timed launches behind a GPU spin kernel, so each event
//    pair brackets only the GPU's work (how a serving loop or CUDA graph issues them; nvbench does the
//    same with its blocking kernel). `starved` = 1 if the GPU caught up with the host anyway.
//  - sync_us (launch-inclusive): the host waits after each launch, so each timing also holds the host's
//    launch latency (the method of rounds 1-12 in reports/gpu.md).
// Counters: GBps (bytes actually read + written / median), cacheGBps (the quantized cache bytes the
// kernel must read / median), frac_copy (cacheGBps over the measured device-to-device copy bandwidth,
// read + write, timed the same way); the *_sync counters are the launch-inclusive equivalents.
//
// --graph=N (CUDA-graph mode, the way the fp16 baselines of scripts/gpu/decode_baselines.py are timed):
// each benchmark captures a graph of n calls, n = N rounded up to a multiple of the rotation count so
// every input copy is read equally often (call i reads copy i mod rotations, >= 256 MiB in all, over 5x
// the H100's L2), replays it --graph_replays=R times (default 30) after two warm replays, and reports per
// call: median_us = the median over replays of replay time / n, p10_us and p90_us the same percentiles,
// graph_calls = n. sync_us then equals median_us (launch costs are inside the graph as they are in a
// serving loop's graph), and starved = 0.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "bench/cuda/gpu_spin.hpp"
#include "bench/cuda/stream_reference.hpp"
#include "golden/rng.hpp"
#include "kernels/cuda/nqkv_cuda.hpp"

namespace nc = nqkv::cuda;
namespace ng = nqkv::golden;

namespace {

constexpr int kWarmup = 5, kTimed = 50;
int g_graph_calls = 0, g_graph_replays = 30;  // --graph=N (0: off), --graph_replays=R
constexpr size_t kRotateBytes = size_t(256) << 20;  // at least 256 MiB of distinct inputs (L2 is 50 MB)

double g_copy_GBps = 0.0, g_copy_sync_GBps = 0.0;

#define BCK(expr)                                                       \
  do {                                                                  \
    const nc::Result r_ = (expr);                                       \
    if (!r_.ok()) {                                                     \
      state.SkipWithError((std::string(#expr) + ": " + r_.message).c_str()); \
      return;                                                           \
    }                                                                   \
  } while (0)

// Input copies to rotate over for a kernel touching `bytes` per launch: more than kRotateBytes in all,
// at least 2.
int rotations_for(size_t bytes) { return int(std::max<size_t>(2, kRotateBytes / bytes + 1)); }

struct Timing {
  double us = 0;       // queued: median GPU time per launch
  double sync_us = 0;  // launch-inclusive: median with the host waiting after each launch
  bool starved = false;
  double p10_us = 0, p90_us = 0;  // graph mode: percentiles per call
  int graph_calls = 0;            // graph mode: calls per graph (0: not graph mode)
  std::string error;              // graph mode: capture or replay failure
};

double median_of(std::vector<float>& ms) {
  std::sort(ms.begin(), ms.end());
  return 1000.0 * ms[ms.size() / 2];
}

double percentile_of(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[size_t(q * (v.size() - 1) + 0.5)];
}

// Graph mode (--graph=N): launch(r, stream) captured n times into one graph, replayed g_graph_replays times.
template <class F>
Timing time_graph(F&& launch, int rotations) {
  Timing t;
  const int n = ((std::max(g_graph_calls, 1) + rotations - 1) / rotations) * rotations;
  cudaStream_t st = nullptr;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  auto fail = [&](const char* what, cudaError_t e) {
    if (t.error.empty()) t.error = std::string(what) + ": " + cudaGetErrorString(e);
  };
  cudaError_t e = cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
  if (e) {
    fail("cudaStreamCreate", e);
    return t;
  }
  for (int i = 0; i < std::max(kWarmup, rotations); ++i) launch(i % rotations, st);  // caches, attributes
  e = cudaStreamSynchronize(st);
  if (e) fail("warm-up", e);
  if (!e) e = cudaStreamBeginCapture(st, cudaStreamCaptureModeRelaxed);
  if (!e) {
    for (int i = 0; i < n; ++i) launch(i % rotations, st);
    e = cudaStreamEndCapture(st, &graph);
    if (e) fail("capture", e);
  } else {
    fail("cudaStreamBeginCapture", e);
  }
  if (!e) e = cudaGraphInstantiate(&exec, graph, 0);
  if (e) fail("cudaGraphInstantiate", e);
  std::vector<double> per_call;
  if (!e) {
    cudaGraphUpload(exec, st);
    for (int w = 0; w < 2 && !e; ++w) e = cudaGraphLaunch(exec, st);
    if (!e) e = cudaStreamSynchronize(st);
    std::vector<cudaEvent_t> a(g_graph_replays), b(g_graph_replays);
    for (int i = 0; i < g_graph_replays; ++i) {
      cudaEventCreate(&a[i]);
      cudaEventCreate(&b[i]);
    }
    for (int i = 0; i < g_graph_replays && !e; ++i) {
      cudaEventRecord(a[i], st);
      e = cudaGraphLaunch(exec, st);
      cudaEventRecord(b[i], st);
    }
    if (!e) e = cudaStreamSynchronize(st);
    if (e) fail("replay", e);
    for (int i = 0; i < g_graph_replays && !e; ++i) {
      float ms = 0;
      cudaEventElapsedTime(&ms, a[i], b[i]);
      per_call.push_back(1000.0 * ms / n);
    }
    for (int i = 0; i < g_graph_replays; ++i) {
      cudaEventDestroy(a[i]);
      cudaEventDestroy(b[i]);
    }
  }
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
  cudaStreamDestroy(st);
  if (!per_call.empty()) {
    t.us = t.sync_us = percentile_of(per_call, 0.5);
    t.p10_us = percentile_of(per_call, 0.1);
    t.p90_us = percentile_of(per_call, 0.9);
    t.graph_calls = n;
  }
  return t;
}

template <class F>
Timing time_launches(F&& launch, int rotations) {
  if (g_graph_calls > 0) return time_graph(launch, rotations);
  std::vector<cudaEvent_t> a(kTimed), b(kTimed);
  for (int i = 0; i < kTimed; ++i) {
    cudaEventCreate(&a[i]);
    cudaEventCreate(&b[i]);
  }
  cudaEvent_t spun;
  cudaEventCreate(&spun);
  for (int i = 0; i < kWarmup; ++i) launch(i % rotations, nullptr);
  cudaDeviceSynchronize();
  std::vector<float> ms(kTimed);
  Timing t;
  for (int i = 0; i < kTimed; ++i) {
    cudaEventRecord(a[i]);
    launch(i % rotations, nullptr);
    cudaEventRecord(b[i]);
    cudaEventSynchronize(b[i]);
    cudaEventElapsedTime(&ms[i], a[i], b[i]);
  }
  t.sync_us = median_of(ms);
  // Queued: the spin (longer than the host needs to queue kTimed launches) holds the GPU back until
  // every launch is in the stream; if it has already finished when the host is done, say so.
  gpu_spin(std::max(5000.0, 40.0 * kTimed));
  cudaEventRecord(spun);
  for (int i = 0; i < kTimed; ++i) {
    cudaEventRecord(a[i]);
    launch(i % rotations, nullptr);
    cudaEventRecord(b[i]);
  }
  t.starved = cudaEventQuery(spun) == cudaSuccess;
  cudaEventSynchronize(b[kTimed - 1]);
  for (int i = 0; i < kTimed; ++i) cudaEventElapsedTime(&ms[i], a[i], b[i]);
  t.us = median_of(ms);
  for (int i = 0; i < kTimed; ++i) {
    cudaEventDestroy(a[i]);
    cudaEventDestroy(b[i]);
  }
  cudaEventDestroy(spun);
  return t;
}

void report(benchmark::State& state, const Timing& t, double bytes, double cache_bytes) {
  if (!t.error.empty()) {
    state.SkipWithError(("graph mode: " + t.error).c_str());
    return;
  }
  for (auto _ : state) state.SetIterationTime(t.us * 1e-6);
  if (t.graph_calls > 0) {
    state.counters["p10_us"] = t.p10_us;
    state.counters["p90_us"] = t.p90_us;
    state.counters["graph_calls"] = t.graph_calls;
  }
  state.counters["median_us"] = t.us;
  state.counters["sync_us"] = t.sync_us;
  state.counters["starved"] = t.starved ? 1 : 0;
  state.counters["GBps"] = bytes / (t.us * 1e-6) / 1e9;
  state.counters["cacheGBps"] = cache_bytes / (t.us * 1e-6) / 1e9;
  state.counters["cacheGBps_sync"] = cache_bytes / (t.sync_us * 1e-6) / 1e9;
  if (g_copy_GBps > 0) state.counters["frac_copy"] = cache_bytes / (t.us * 1e-6) / 1e9 / g_copy_GBps;
  if (g_copy_sync_GBps > 0)
    state.counters["frac_copy_sync"] = cache_bytes / (t.sync_us * 1e-6) / 1e9 / g_copy_sync_GBps;
  state.counters["copyGBps"] = g_copy_GBps;
  state.counters["copyGBps_sync"] = g_copy_sync_GBps;
}

bool have_gpu(benchmark::State& state) {
  std::string why;
  if (nc::device_available(&why)) return true;
  state.SkipWithError(why.c_str());
  return false;
}

// Device-to-device copy: the bandwidth limit (bytes read + bytes written).
void BM_CopyD2D(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const size_t n = size_t(1) << 30;
  void *src = nullptr, *dst = nullptr;
  cudaMalloc(&src, n);
  cudaMalloc(&dst, n);
  cudaMemset(src, 1, n);
  const Timing t = time_launches([&](int, cudaStream_t st) { cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, st); }, 1);
  cudaFree(src);
  cudaFree(dst);
  g_copy_GBps = 2.0 * n / (t.us * 1e-6) / 1e9;
  g_copy_sync_GBps = 2.0 * n / (t.sync_us * 1e-6) / 1e9;
  report(state, t, 2.0 * n, 2.0 * n);
}


// A paged cache with `rot` disjoint page ranges (one per rotation), each filled with random tokens.
struct RotCache {
  nc::DeviceCache cache;
  std::vector<int32_t*> tables;  // one page table per rotation
  int rot = 1;
  ~RotCache() {
    for (auto* t : tables) cudaFree(t);
  }
};

nc::Result make_cache(RotCache& rc, ng::CodebookId cb, int B, int Hkv, int D, int block, int T, int page_size,
                      size_t bytes_per_copy) {
  rc.rot = int(std::max<size_t>(1, (kRotateBytes + bytes_per_copy - 1) / bytes_per_copy));
  rc.rot = std::min(rc.rot, 64);
  const int maxp = (T + page_size - 1) / page_size;
  nc::PagedCache s;
  s.codebook = cb;
  s.type = ng::ElemType::F16;
  s.kv_heads = Hkv;
  s.head_dim = D;
  s.block = block;
  s.page_size = page_size;
  s.num_pages = B * maxp * rc.rot;
  s.batch = B;
  s.max_pages_per_seq = maxp;
  std::vector<int32_t> table(size_t(B) * maxp);
  std::iota(table.begin(), table.end(), 0);
  nc::Result r = rc.cache.allocate(s, table, std::vector<int32_t>(B, 0));
  if (!r.ok()) return r;
  // Fill: append T random tokens for each rotation (page ranges shifted by r * B * maxp), in chunks
  // of up to 1024 random tokens reused along the context.
  const int Tc = std::min(T, 1024);
  const size_t n = size_t(B) * Tc * Hkv * D;
  std::vector<uint16_t> h(n);
  ng::SplitMix64 rng(42);
  for (auto& x : h) x = ng::f32_to_elem(ng::ElemType::F16, float(rng.normal()));
  uint16_t *dk = nullptr, *dv = nullptr;
  cudaMalloc(&dk, n * 2);
  cudaMalloc(&dv, n * 2);
  cudaMemcpy(dk, h.data(), n * 2, cudaMemcpyHostToDevice);
  for (size_t i = 0; i < n; ++i) h[i] = uint16_t(h[(i * 7919) % n] ^ 0x8000);  // a different V
  cudaMemcpy(dv, h.data(), n * 2, cudaMemcpyHostToDevice);
  for (int q = 0; q < rc.rot && r.ok(); ++q) {
    std::vector<int32_t> t(table.size());
    for (size_t i = 0; i < t.size(); ++i) t[i] = int32_t(q * table.size() + table[i]);
    int32_t* dt = nullptr;
    cudaMalloc(&dt, t.size() * 4);
    cudaMemcpy(dt, t.data(), t.size() * 4, cudaMemcpyHostToDevice);
    rc.tables.push_back(dt);
    nc::PagedCache c = rc.cache.desc();
    c.page_table = dt;
    rc.cache.set_seq_lens(std::vector<int32_t>(B, 0));
    for (int t0 = 0; t0 < T && r.ok(); t0 += Tc)
      r = nc::quantize_append(c, dk, dv, std::min(Tc, T - t0), true, rc.cache.error_word(), nullptr);
  }
  cudaFree(dk);
  cudaFree(dv);
  if (!r.ok()) return r;
  r = rc.cache.set_seq_lens(std::vector<int32_t>(B, T));
  if (!r.ok()) return r;
  return nc::read_device_errors(rc.cache.error_word());
}

// Fused decode attention. Args: batch, q_heads, kv_heads, head_dim, context, block, codebook bits.
void BM_DecodeAttention(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int B = int(state.range(0)), Hq = int(state.range(1)), Hkv = int(state.range(2)), D = int(state.range(3));
  const int T = int(state.range(4)), block = int(state.range(5)), bits = int(state.range(6));
  const ng::CodebookId cb = bits == 4 ? ng::CodebookId::NF4 : bits == 3 ? ng::CodebookId::NF3 : ng::CodebookId::NF2;
  const int ps = 16;
  const int rb = D * bits / 8, nb = D / block;
  const double cache_bytes = double(B) * T * Hkv * 2.0 * (rb + 2.0 * nb);
  RotCache rc;
  BCK(make_cache(rc, cb, B, Hkv, D, block, T, ps, size_t(cache_bytes)));
  const size_t nq = size_t(B) * Hq * D;
  std::vector<float> hq(nq);
  ng::SplitMix64 rng(3);
  for (auto& x : hq) x = float(rng.normal());
  float *q = nullptr, *out = nullptr;
  cudaMalloc(&q, nq * 4);
  cudaMalloc(&out, nq * 4);
  cudaMemcpy(q, hq.data(), nq * 4, cudaMemcpyHostToDevice);
  nc::DecodeWorkspace ws;
  BCK(ws.allocate(B, Hq, Hkv, D, T));
  nc::Result lr;
  const Timing t = time_launches(
      [&](int r, cudaStream_t st) {
        nc::PagedCache c = rc.cache.desc();
        c.page_table = rc.tables[r];
        nc::Result x = nc::decode_attention(c, q, Hq, 0.0f, T, out, ws, rc.cache.error_word(), nullptr, st);
        if (!x.ok()) lr = x;
      },
      rc.rot);
  BCK(lr);
  BCK(nc::read_device_errors(rc.cache.error_word()));
  const int P = (T + 511) / 512;
  // Partition partials, written, then read by the combine: O_p in 5 bytes per value (DecodeWorkspace),
  // M_p and L_p in 8, e_p in 4.
  const double part_bytes = 2.0 * double(B) * Hq * P * (5.0 * D + 8 + 8 + 4);
  const double bytes = cache_bytes + double(nq) * 8 + part_bytes + double(B) * ((T + ps - 1) / ps) * 4;
  cudaFree(q);
  cudaFree(out);
  state.counters["rotations"] = rc.rot;
  report(state, t, bytes, cache_bytes);
}

// Quantize-append of n_new tokens per sequence (prefill-style chunks; decode appends 1).
// Args: batch, kv_heads, head_dim, n_new, block, bits.
void BM_QuantizeAppend(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int B = int(state.range(0)), Hkv = int(state.range(1)), D = int(state.range(2)), n_new = int(state.range(3));
  const int block = int(state.range(4)), bits = int(state.range(5));
  const ng::CodebookId cb = bits == 4 ? ng::CodebookId::NF4 : bits == 3 ? ng::CodebookId::NF3 : ng::CodebookId::NF2;
  const int ps = 16, rb = D * bits / 8, nb = D / block;
  const size_t n = size_t(B) * n_new * Hkv * D;
  const double in_bytes = 2.0 * n * 2, out_bytes = double(B) * n_new * Hkv * 2.0 * (rb + 2.0 * nb);
  const int rot = rotations_for(size_t(in_bytes + out_bytes));
  const int maxp = (n_new + ps - 1) / ps;
  nc::PagedCache s;
  s.codebook = cb;
  s.type = ng::ElemType::F16;
  s.kv_heads = Hkv;
  s.head_dim = D;
  s.block = block;
  s.page_size = ps;
  s.num_pages = B * maxp * rot;
  s.batch = B;
  s.max_pages_per_seq = maxp;
  std::vector<int32_t> table(size_t(B) * maxp);
  std::iota(table.begin(), table.end(), 0);
  nc::DeviceCache cache;
  BCK(cache.allocate(s, table, std::vector<int32_t>(B, 0)));
  std::vector<int32_t*> tables;
  for (int q = 0; q < rot; ++q) {
    std::vector<int32_t> t(table.size());
    for (size_t i = 0; i < t.size(); ++i) t[i] = int32_t(q * table.size() + table[i]);
    int32_t* dt = nullptr;
    cudaMalloc(&dt, t.size() * 4);
    cudaMemcpy(dt, t.data(), t.size() * 4, cudaMemcpyHostToDevice);
    tables.push_back(dt);
  }
  std::vector<uint16_t> h(n);
  ng::SplitMix64 rng(5);
  for (auto& x : h) x = ng::f32_to_elem(ng::ElemType::F16, float(rng.normal()));
  std::vector<uint16_t*> ins(2 * rot);
  for (auto& p : ins) {
    cudaMalloc(&p, n * 2);
    cudaMemcpy(p, h.data(), n * 2, cudaMemcpyHostToDevice);
  }
  nc::Result lr;
  const Timing t = time_launches(
      [&](int r, cudaStream_t st) {
        nc::PagedCache c = cache.desc();
        c.page_table = tables[r];
        nc::Result x = nc::quantize_append(c, ins[2 * r], ins[2 * r + 1], n_new, false, cache.error_word(), nullptr, st);
        if (!x.ok()) lr = x;
      },
      rot);
  for (auto* p : ins) cudaFree(p);
  for (auto* t : tables) cudaFree(t);
  BCK(lr);
  BCK(nc::read_device_errors(cache.error_word()));
  state.counters["rotations"] = rot;
  report(state, t, in_bytes + out_bytes, in_bytes + out_bytes);
}

// The streaming reference of quantize-append (stream_reference.cu): the same bytes read (the new K and V
// tokens) and a quarter of them written, with nothing else to do. Args: batch, kv_heads, head_dim, n_new.
void BM_AppendStreamReference(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const size_t n = size_t(state.range(0)) * state.range(3) * state.range(1) * state.range(2);
  const size_t in_bytes = 2 * n * 2, out_bytes = in_bytes / 4;
  const int rot = rotations_for(in_bytes + out_bytes);
  std::vector<void*> ins(rot), outs(rot);
  for (int r = 0; r < rot; ++r) {
    cudaMalloc(&ins[r], in_bytes);
    cudaMalloc(&outs[r], out_bytes);
    cudaMemset(ins[r], r + 1, in_bytes);
  }
  const Timing t = time_launches([&](int r, cudaStream_t st) { stream_fold4(ins[r], outs[r], in_bytes, st); }, rot);
  for (int r = 0; r < rot; ++r) {
    cudaFree(ins[r]);
    cudaFree(outs[r]);
  }
  state.counters["rotations"] = rot;
  report(state, t, double(in_bytes + out_bytes), double(in_bytes + out_bytes));
}

// Dequantize the whole cache to fp32. Args: batch, kv_heads, head_dim, tokens, block.
void BM_DequantizeCache(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int B = int(state.range(0)), Hkv = int(state.range(1)), D = int(state.range(2)), T = int(state.range(3));
  const int block = int(state.range(4));
  const double qbytes = double(B) * T * Hkv * 2.0 * (D / 2 + 2.0 * D / block);
  RotCache rc;
  BCK(make_cache(rc, ng::CodebookId::NF4, B, Hkv, D, block, T, 16, size_t(qbytes)));
  const size_t n = size_t(B) * T * Hkv * D;
  float *ok = nullptr, *ov = nullptr;
  cudaMalloc(&ok, n * 4);
  cudaMalloc(&ov, n * 4);
  nc::Result lr;
  const Timing t = time_launches(
      [&](int r, cudaStream_t st) {
        nc::PagedCache c = rc.cache.desc();
        c.page_table = rc.tables[r];
        nc::Result x = nc::dequantize_cache(c, T, ok, ov, rc.cache.error_word(), st);
        if (!x.ok()) lr = x;
      },
      rc.rot);
  cudaFree(ok);
  cudaFree(ov);
  BCK(lr);
  report(state, t, qbytes + 2.0 * n * 4, qbytes + 2.0 * n * 4);
}

}  // namespace

BENCHMARK(BM_CopyD2D)->Iterations(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeAttention)
    ->ArgNames({"B", "Hq", "Hkv", "D", "T", "blk", "bits"})
    ->ArgsProduct({{1, 8, 32}, {32}, {8, 32}, {128}, {8192, 32768}, {64}, {4}})
    ->Args({8, 32, 8, 128, 8192, 32, 4})
    ->Args({8, 32, 8, 64, 8192, 64, 4})
    ->Args({8, 32, 4, 256, 8192, 64, 4})
    ->Args({8, 32, 8, 128, 8192, 64, 3})
    ->Args({8, 32, 8, 128, 8192, 64, 2})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QuantizeAppend)
    ->ArgNames({"B", "Hkv", "D", "n_new", "blk", "bits"})
    ->Args({32, 8, 128, 512, 64, 4})
    ->Args({8, 32, 128, 512, 64, 4})
    ->Args({32, 8, 128, 1, 64, 4})
    ->Args({32, 8, 128, 512, 64, 3})
    ->Args({32, 8, 128, 512, 64, 2})
    ->Args({32, 8, 128, 2048, 64, 4})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AppendStreamReference)
    ->ArgNames({"B", "Hkv", "D", "n_new"})
    ->Args({32, 8, 128, 512})
    ->Args({32, 8, 128, 2048})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DequantizeCache)
    ->ArgNames({"B", "Hkv", "D", "T", "blk"})
    ->Args({8, 8, 128, 8192, 64})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// Google Benchmark's main plus --graph=N and --graph_replays=R (removed from argv before Initialize).
int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag, int lo, int hi, int& out) {
      const std::string f = std::string(flag) + "=";
      if (a.rfind(f, 0) != 0) return false;
      char* end = nullptr;
      const long v = std::strtol(a.c_str() + f.size(), &end, 10);
      if (end == a.c_str() + f.size() || *end || v < lo || v > hi) {
        std::fprintf(stderr, "bench_cuda: %s must be an integer in [%d, %d]\n", flag, lo, hi);
        std::exit(2);
      }
      out = int(v);
      return true;
    };
    if (i > 0 && (value("--graph", 1, 4096, g_graph_calls) || value("--graph_replays", 3, 10000, g_graph_replays)))
      continue;
    rest.push_back(argv[i]);
  }
  int n = int(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
