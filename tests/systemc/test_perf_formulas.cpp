// The performance model's accelerator cycle formulas (models/perf/time_model.cpp,
// accel_mac_cycles and accel_quantize_cycles with the protocol terms of AcceleratorParams built
// from the same AccelConfig) against the cycle model's counts on decode workloads without
// back-pressure: equal to the cycle, at every built LANES. The shapes are those of
// scripts/perf/rtl_cycles.py (the claims report's RTL table), cut where a LANES build cannot run
// them; the cycle model is itself proven equal to the RTL by the lock-step tests.
#include <gtest/gtest.h>

#include "golden/backend.hpp"
#include "models/accel/accel_config.hpp"
#include "models/perf/kv_format.hpp"
#include "models/perf/time_model.hpp"
#include "sim/common/cases.hpp"

namespace {

struct Shape {
  int q_heads, kv_heads, head_dim, context, block;
  const char* codebook;
};
constexpr Shape kShapes[] = {
    {4, 2, 64, 100, 32, "nf4"},     {4, 2, 64, 700, 64, "nf4"},    {32, 8, 128, 1024, 64, "nf4"},
    {32, 8, 128, 513, 128, "nf4"},  {32, 8, 128, 600, 64, "nf3"},  {8, 1, 256, 1500, 32, "nf4"},
    {4, 4, 256, 40, 256, "nf2"},    {2, 1, 64, 3, 64, "nf4"},
};

TEST(PerfFormulas, EqualTheCycleModelWithoutBackpressure) {
  const auto& be = nqkv::backend::find("systemc");
  int checked = 0;
  for (int lanes : nqkv::accel::sim_lanes()) {
    const auto cfg = nqkv::accel::AccelConfig::sim(lanes);
    const auto a = nqkv::perf::AcceleratorParams::from_config(cfg);
    for (const Shape& s : kShapes) {
      const auto& cb = nqkv::golden::codebook_by_name(s.codebook);
      if (!nqkv::sim::cannot_run_attention(cfg, cb, nqkv::golden::ElemType::F16, s.block, s.head_dim).empty()) continue;
      nqkv::backend::Workload w;
      w.q_heads = s.q_heads;
      w.kv_heads = s.kv_heads;
      w.head_dim = s.head_dim;
      w.context = s.context;
      w.block = s.block;
      w.codebook = s.codebook;
      nqkv::backend::Options opt;
      opt.lanes = lanes;
      opt.backpressure = false;
      const auto r = be.run_workload(w, opt);
      ASSERT_EQ(r.check.mismatches, 0) << r.check.report;
      const auto f = nqkv::perf::parse_kv_format(s.codebook, s.block, 32, 128);
      const double mac = nqkv::perf::accel_mac_cycles(a, s.q_heads, s.kv_heads, s.head_dim, s.context, f).dequant_mac;
      const double quant = nqkv::perf::accel_quantize_cycles(a, static_cast<double>(r.quant_elements) / 2, 2, s.block);
      const std::string what = "LANES " + std::to_string(lanes) + " Hq " + std::to_string(s.q_heads) + " Hkv " +
                               std::to_string(s.kv_heads) + " d " + std::to_string(s.head_dim) + " n " +
                               std::to_string(s.context) + " B " + std::to_string(s.block) + " " + s.codebook;
      EXPECT_EQ(static_cast<uint64_t>(mac), r.score_cycles + r.value_cycles) << what;
      EXPECT_EQ(static_cast<uint64_t>(quant), r.quant_cycles) << what;
      if (checked == 0) {  // the comparison can fail: one cycle more of latency is seen
        auto off = a;
        ++off.quant_latency_cycles;
        ++off.drain_latency_cycles;
        EXPECT_NE(static_cast<uint64_t>(nqkv::perf::accel_quantize_cycles(off, static_cast<double>(r.quant_elements) / 2, 2, s.block)),
                  r.quant_cycles);
        EXPECT_NE(static_cast<uint64_t>(
                      nqkv::perf::accel_mac_cycles(off, s.q_heads, s.kv_heads, s.head_dim, s.context, f).dequant_mac),
                  r.score_cycles + r.value_cycles);
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 16);
}

}  // namespace
