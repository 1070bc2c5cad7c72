// RTL versus golden: constrained-random quantize and attention cases (with the contract's corner
// cases) through the verilated accelerator, random valid/ready back-pressure on every stream,
// +verilator+rand+reset+2. Each run draws a fresh base seed (printed with every result and on
// failure); NQKV_RTL_SEED pins it to reproduce a run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <ostream>
#include <string>

#include "golden/backend.hpp"
#include "models/accel/accel_config.hpp"
#include "sim/common/env.hpp"
#include "sim/rtl/rtl_dut.hpp"

namespace {

// The registered "rtl" backend (the verification environment over the verilated models).
const nqkv::sim::CycleBackend& rtl() {
  return dynamic_cast<const nqkv::sim::CycleBackend&>(nqkv::backend::find("rtl"));
}

uint64_t base_seed() {
  static const uint64_t seed = [] {
    const char* s = std::getenv("NQKV_RTL_SEED");
    return s ? std::strtoull(s, nullptr, 0) : (uint64_t(std::random_device{}()) << 20) ^ std::random_device{}();
  }();
  return seed;
}

struct Param {
  int lanes, block;
  const char* codebook;
  const char* dtype;
  bool attention;
};

void PrintTo(const Param& p, std::ostream* os) {
  *os << "LANES " << p.lanes << " B " << p.block << " " << p.codebook << " " << p.dtype;
}

std::string name_of(const testing::TestParamInfo<Param>& i) {
  return "L" + std::to_string(i.param.lanes) + "_B" + std::to_string(i.param.block) + "_" + i.param.codebook + "_" +
         i.param.dtype + (i.param.attention ? "_attn" : "_quant");
}

class RtlVsGolden : public testing::TestWithParam<Param> {};

TEST_P(RtlVsGolden, BitExact) {
  const Param p = GetParam();
  nqkv::backend::Options cfg;
  cfg.lanes = p.lanes;
  cfg.seed = base_seed() * 7919 + static_cast<uint64_t>(p.lanes * 1000 + p.block) + std::hash<std::string>{}(p.codebook) % 1000;
  cfg.backpressure = true;
  nqkv::sim::RandomSpec spec;
  spec.codebook = p.codebook;
  spec.dtype = p.dtype;
  spec.block = p.block;
  spec.quantize = !p.attention;
  spec.attention = p.attention;
  spec.cases = p.attention ? 4 : 12;
  const auto r = rtl().random_check(spec, cfg);
  ASSERT_FALSE(r.skipped) << r.skip_reason;
  EXPECT_GT(r.compared, 0);
  EXPECT_EQ(r.mismatches, 0) << "seed " << cfg.seed << " (rerun with NQKV_RTL_SEED=" << base_seed() << ")\n"
                             << r.report;
  std::printf("compared %lld values, %llu cycles, %llu stall cycles (seed %llu)\n", static_cast<long long>(r.compared),
              static_cast<unsigned long long>(r.cycles.cycles), static_cast<unsigned long long>(r.cycles.stall_cycles),
              static_cast<unsigned long long>(cfg.seed));
}

// LANES {4, 16} x BLOCK {32, 64, 128} x BITS {2, 3, 4} (nf2, nf3 and the 4-bit tables), both dtypes.
INSTANTIATE_TEST_SUITE_P(
    Quantize, RtlVsGolden,
    testing::Values(Param{4, 32, "nf4", "f16", false}, Param{4, 64, "nf3", "bf16", false},
                    Param{4, 128, "nf2", "f16", false}, Param{16, 32, "nf2", "bf16", false},
                    Param{16, 64, "nf4", "f16", false}, Param{16, 128, "nf3", "f16", false},
                    Param{16, 64, "lloyd4", "bf16", false}, Param{16, 32, "fp4", "f16", false},
                    Param{4, 64, "e2m1", "bf16", false}, Param{16, 128, "int4sym", "bf16", false},
                    Param{16, 256, "nf4", "bf16", false}),
    name_of);
INSTANTIATE_TEST_SUITE_P(
    Attention, RtlVsGolden,
    testing::Values(Param{4, 32, "nf4", "f16", true}, Param{4, 128, "nf3", "bf16", true},
                    Param{16, 32, "nf2", "f16", true}, Param{16, 64, "nf4", "bf16", true},
                    Param{16, 128, "lloyd4", "f16", true}, Param{4, 64, "nf2", "bf16", true},
                    Param{16, 64, "nf3", "f16", true}),
    name_of);

TEST(RtlBackend, SkipsWhatItCannotRun) {
  nqkv::backend::Options cfg;
  cfg.lanes = 16;
  nqkv::sim::RandomSpec spec;
  spec.codebook = "int4";
  EXPECT_TRUE(rtl().random_check(spec, cfg).skipped);
  spec.codebook = "nf4";
  spec.dtype = "f32";
  EXPECT_TRUE(rtl().random_check(spec, cfg).skipped);
  spec.dtype = "f16";
  spec.block = 8;
  EXPECT_TRUE(rtl().random_check(spec, cfg).skipped);
}

}  // namespace

// The scoreboard must see a wrong result: corrupt one threshold register after loading NF4 and
// check that the quantizer's codes no longer match the golden encoder.
#include "golden/quantize.hpp"
#include "sim/common/harness.hpp"
namespace {
TEST(RtlBackend, ScoreboardCatchesCorruption) {
  nqkv::sim::HarnessOptions o;
  o.seed = 3;
  nqkv::sim::Harness h(nqkv::sim::make_rtl_dut(16, o.rand_reset, o.seed), o);
  const auto& cb = nqkv::golden::codebook(nqkv::golden::CodebookId::NF4);
  h.load_codebook(cb);
  h.configure(nqkv::golden::ElemType::F16, 4, 64, 1, 0);
  h.write_reg(nqkv::sim::reg::kThr + 9, nqkv::golden::f32_bits(0.25f));  // m_9 is 0.2035...
  nqkv::golden::SplitMix64 rng(5);
  std::vector<uint16_t> x(8 * 64);
  for (auto& e : x) e = nqkv::golden::f32_to_f16(static_cast<float>(rng.normal()));
  const auto got = h.quantize(x, 8, 64, nullptr);
  const auto want = nqkv::golden::quantize_tensor(cb, nqkv::golden::ElemType::F16, 64, 8, 64,
                                                   std::vector<uint32_t>(x.begin(), x.end()));
  EXPECT_NE(got.codes, want.codes);
  h.load_codebook(cb);  // restored: bit-exact again
  const auto again = h.quantize(x, 8, 64, nullptr);
  EXPECT_EQ(again.codes, want.codes);
  EXPECT_TRUE(h.errors().empty()) << h.errors();
}
}  // namespace

// Every file written by `nqkv golden gen` (directory in NQKV_GOLDEN_DIR; CTest sets it up with
// the rtl_golden_gen fixture) through every verilated model, with back-pressure.
#include <filesystem>
#include "io/safetensors.hpp"
namespace {
TEST(RtlBackend, GoldenFiles) {
  const char* dir = std::getenv("NQKV_GOLDEN_DIR");
  if (!dir) GTEST_SKIP() << "NQKV_GOLDEN_DIR not set";
  int64_t checked = 0, skipped = 0, compared = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".safetensors") continue;
    const auto f = nqkv::io::SafeTensors::load(e.path().string());
    for (int lanes : nqkv::accel::sim_lanes()) {
      nqkv::backend::Options cfg;
      cfg.lanes = lanes;
      cfg.seed = base_seed() + static_cast<uint64_t>(checked);
      const auto r = rtl().check_case(f, cfg);
      if (r.skipped) {
        ++skipped;
        continue;
      }
      ++checked;
      compared += r.compared;
      EXPECT_EQ(r.mismatches, 0) << e.path() << " LANES " << lanes << "\n" << r.report;
    }
  }
  std::printf("golden files: %lld runs checked, %lld skipped, %lld values compared\n", static_cast<long long>(checked),
              static_cast<long long>(skipped), static_cast<long long>(compared));
  EXPECT_GT(checked, 0);
}
}  // namespace
