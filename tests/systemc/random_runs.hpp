// Seeded random runs of the verification environment on any Dut (shared by the model-only and
// the lock-step tests): per seed a random codebook, element type, block size (including blocks of
// one or two beats), stall probabilities, and a few quantize and attention cases, every output
// compared with the golden library by the scoreboard.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "golden/attention.hpp"
#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"
#include "golden/rng.hpp"
#include "golden/tensor_io.hpp"
#include "models/accel/accel_config.hpp"
#include "sim/common/cases.hpp"
#include "sim/common/harness.hpp"
#include "sim/common/scoreboard.hpp"
#include "sim/common/stimulus.hpp"

namespace nqkv::test {

struct RandomRun {
  std::string what;  // the choices, for the failure message
  int64_t compared = 0, mismatches = 0;
  uint64_t cycles = 0;
  std::string report;
};

// inspect (optional) sees the Dut after the runs, before it is destroyed.
// sim::random_attn_case with a head_dim that any legal block divides in at most NBMAX blocks
// (that one needs block >= 32): D from {64, 128, 256} with D % B == 0 and D / B <= 8.
inline sim::AttnCase attn_case(golden::SplitMix64& rng, const golden::Codebook& cb, golden::ElemType t, int B,
                               bool long_ctx) {
  if (B >= 32) return sim::random_attn_case(rng, cb, t, B, long_ctx);
  int D = 64 << rng.below(3);
  while (D / B > 8) D /= 2;
  const int hkv = 1 + static_cast<int>(rng.below(2)), group = 1 + static_cast<int>(rng.below(2));
  const int64_t T = long_ctx ? 513 + static_cast<int64_t>(rng.below(40)) : 1 + static_cast<int64_t>(rng.below(24));
  golden::QuantKVCache cache(cb, t, hkv, D, B);
  const bool bf = t == golden::ElemType::BF16;
  std::vector<float> k(static_cast<size_t>(hkv * D)), v(k.size());
  for (int64_t tok = 0; tok < T; ++tok) {
    for (int is_v = 0; is_v < 2; ++is_v) {
      auto& dst = is_v ? v : k;
      for (int blk = 0; blk < hkv * D / B; ++blk) {
        const int kind = static_cast<int>(rng.below(12));
        const int e = bf ? static_cast<int>(rng.below(40)) - 20 : static_cast<int>(rng.below(20)) - 12;
        for (int i = 0; i < B; ++i) {
          double val = rng.normal() * std::ldexp(1.0, e);
          if (kind == 0) val = 0.0;
          if (kind == 1) val = rng.normal() * std::ldexp(1.0, bf ? -130 : -20);
          if (kind == 2 && !bf) val = (rng.below(2) ? 1 : -1) * 65504.0 * rng.uniform();
          dst[static_cast<size_t>(blk * B + i)] = golden::elem_to_f32(t, golden::f32_to_elem(t, static_cast<float>(val)));
        }
      }
    }
    cache.append(k.data(), v.data());
  }
  std::vector<float> q(static_cast<size_t>(hkv * group * D));
  const int qe = static_cast<int>(rng.below(10)) - 5;
  for (auto& x : q) x = static_cast<float>(rng.normal() * std::ldexp(1.0, qe));
  if (rng.below(4) == 0) std::fill(q.begin(), q.begin() + D, 0.0f);
  return sim::attention_case_from_cache(cache, q, hkv * group);
}

inline RandomRun random_run(std::unique_ptr<sim::Dut> dut, uint64_t seed, int cases = 2, bool allow_long = false,
                            const std::function<void(sim::Dut&)>& inspect = {}) {
  const int L = dut->params().lanes;
  const accel::AccelConfig cfg = accel::AccelConfig::sim(L);
  golden::SplitMix64 rng(golden::SplitMix64(seed * 1000003ull + static_cast<uint64_t>(L)).next());
  static const char* kBooks[] = {"nf4", "nf3", "nf2", "fp4", "e2m1", "int4sym", "lloyd4"};
  const golden::Codebook& cb = golden::codebook_by_name(kBooks[rng.below(7)]);
  const golden::ElemType type = rng.below(2) ? golden::ElemType::BF16 : golden::ElemType::F16;
  // block: one or two beats a third of the time, else any legal size
  int block = 0;
  for (int tries = 0; tries < 100 && block == 0; ++tries) {
    const int choice = static_cast<int>(rng.below(6));
    int b = choice == 0 ? L : choice == 1 ? 2 * L : 8 << rng.below(6);
    if (b % 8 != 0 || b % L != 0 || b > cfg.block_max) continue;
    block = b;
  }
  sim::HarnessOptions ho;
  ho.seed = seed;
  const double pv[] = {1.0, 0.9, 0.75, 0.5, 0.25}, pr[] = {1.0, 0.9, 0.7, 0.5, 0.2};
  ho.p_valid = pv[rng.below(5)];
  ho.p_ready = pr[rng.below(5)];
  ho.backpressure = rng.below(8) != 0;
  RandomRun r;
  r.what = "lanes " + std::to_string(L) + ", seed " + std::to_string(seed) + ", " + cb.name + ", " +
           (type == golden::ElemType::BF16 ? "bf16" : "f16") + ", block " + std::to_string(block) + ", p_valid " +
           std::to_string(ho.p_valid) + ", p_ready " + std::to_string(ho.p_ready) +
           (ho.backpressure ? "" : ", no back-pressure");
  sim::Harness h(std::move(dut), ho);
  backend::Mismatches sb;
  sim::RunStats st;
  for (int i = 0; i < cases; ++i) {
    if (sim::cannot_run(cfg, cb, type, block, block).empty())
      sim::run_quant(h, sim::random_quant_case(rng, cb, type, block), sb, &st);
    const bool long_ctx = allow_long && i == 0 && rng.below(4) == 0;
    sim::AttnCase ac = attn_case(rng, cb, type, block, long_ctx);
    if (sim::cannot_run_attention(cfg, cb, type, block, ac.head_dim).empty()) sim::run_attn(h, ac, sb, &st, &st);
  }
  if (!h.errors().empty()) sb.error("harness: " + h.errors());
  r.compared = sb.compared();
  r.mismatches = sb.mismatches();
  r.report = sb.report();
  r.cycles = st.cycles;
  if (inspect) inspect(h.dut());
  return r;
}

}  // namespace nqkv::test
