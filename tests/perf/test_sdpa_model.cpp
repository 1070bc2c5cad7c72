// The SDPA validation of reports/nqkv-claims.md 6.1: combining several measurement runs (median of
// the run medians), FlashAttention-2's launch geometry, and the kernel-time model with its
// parallelism term. Every expected value is worked out by hand in the comment next to it.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "io/error.hpp"
#include "models/perf/claims_report.hpp"
#include "models/perf/time_model.hpp"

using namespace nqkv::perf;

namespace {

std::filesystem::path temp_dir() {
  auto d = std::filesystem::temp_directory_path() / ("nqkv_sdpa_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

// One run file in scripts/gpu/sdpa_decode_baseline.py's format: copy rate, and cases (B, Hkv, T,
// median ms) with Hq 32, d 128, GQA "none" when Hkv = 32.
std::string write_run(const std::filesystem::path& p, double copy_bw, const std::vector<std::array<double, 4>>& cases,
                      const std::string& device = "Test GPU") {
  nlohmann::json j;
  j["device"] = device;
  j["torch"] = "test";
  j["copy"] = {{"bytes", 1}, {"median_ms", 1}, {"bandwidth_bytes_per_s", copy_bw}};
  j["cases"] = nlohmann::json::array();
  for (const auto& c : cases)
    j["cases"].push_back({{"batch", c[0]}, {"q_heads", 32}, {"kv_heads", c[1]}, {"tokens", c[2]}, {"head_dim", 128},
                          {"dtype", "float16"}, {"gqa_mode", c[1] == 32 ? "none" : "native"}, {"runs", 100},
                          {"median_ms", c[3]}, {"p10_ms", c[3] * 0.9}, {"p90_ms", c[3] * 1.1}});
  std::ofstream(p) << j.dump(2);
  return p.string();
}

}  // namespace

TEST(SdpaRuns, MedianOf) {
  EXPECT_DOUBLE_EQ(median_of({3, 1, 2}), 2);     // odd count: the middle one
  EXPECT_DOUBLE_EQ(median_of({4, 1, 3, 2}), 2.5);  // even count: mean of the middle two (2, 3)
  EXPECT_DOUBLE_EQ(median_of({7}), 7);
  EXPECT_DOUBLE_EQ(median_of({}), 0);
}

TEST(SdpaRuns, MedianOfRunMediansAndSpread) {
  const auto dir = temp_dir();
  // Case A (B 1, Hkv 32, T 8192) in all three runs: run medians 0.10, 0.30, 0.20 ms -> 0.20 ms,
  // spread 0.10-0.30. Case B (B 8, Hkv 32, T 32768) only in runs 1 and 2: 1.0, 2.0 ms -> 1.5 ms.
  // Copy rates 2, 4, 3 TB/s -> median 3 TB/s.
  const auto r1 = write_run(dir / "r1.json", 2e12, {{1, 32, 8192, 0.10}, {8, 32, 32768, 1.0}});
  const auto r2 = write_run(dir / "r2.json", 4e12, {{1, 32, 8192, 0.30}, {8, 32, 32768, 2.0}});
  const auto r3 = write_run(dir / "r3.json", 3e12, {{1, 32, 8192, 0.20}});
  const SdpaValidation v = validate_sdpa({r1, r2, r3});
  ASSERT_TRUE(v.measured);
  ASSERT_EQ(v.runs.size(), 3u);
  EXPECT_DOUBLE_EQ(v.copy_bandwidth, 3e12);
  ASSERT_EQ(v.rows.size(), 2u);
  EXPECT_EQ(v.rows[0].runs, 3);
  EXPECT_NEAR(v.rows[0].measured_s, 0.20e-3, 1e-15);
  EXPECT_NEAR(v.rows[0].run_min_s, 0.10e-3, 1e-15);
  EXPECT_NEAR(v.rows[0].run_max_s, 0.30e-3, 1e-15);
  EXPECT_EQ(v.rows[0].p10_s, 0);  // within-run spreads are not combined across runs
  EXPECT_EQ(v.rows[1].runs, 2);
  EXPECT_NEAR(v.rows[1].measured_s, 1.5e-3, 1e-15);
  EXPECT_TRUE(v.rows[0].fit_set);
  EXPECT_FALSE(v.rows[1].fit_set);  // T 32768 > 16384: held out
  // Roofline bytes at the combined copy rate: K + V = 2 x 1 x 32 x 8192 x 128 x 2 = 134,217,728, q + o =
  // 2 x 32 x 128 x 2 = 16,384 -> 134,234,112 bytes / 3e12 = 44.745 us.
  EXPECT_DOUBLE_EQ(v.rows[0].bytes, 134234112.0);
  EXPECT_NEAR(v.rows[0].projected_s, 134234112.0 / 3e12, 1e-15);
  // One run alone keeps its within-run p10-p90.
  const SdpaValidation one = validate_sdpa({r1});
  EXPECT_EQ(one.rows[0].runs, 1);
  EXPECT_NEAR(one.rows[0].p10_s, 0.09e-3, 1e-15);
  std::filesystem::remove_all(dir);
}

TEST(SdpaRuns, RefusesMixedDevicesAndMissingRun) {
  const auto dir = temp_dir();
  const auto a = write_run(dir / "a.json", 3e12, {{1, 32, 8192, 0.1}});
  const auto b = write_run(dir / "b.json", 3e12, {{1, 32, 8192, 0.1}}, "Other GPU");
  EXPECT_THROW(validate_sdpa({a, b}), nqkv::InputError);
  EXPECT_THROW(validate_sdpa({a, (dir / "missing.json").string()}), nqkv::InputError);
  EXPECT_FALSE(validate_sdpa({(dir / "missing.json").string()}).measured);  // none present: not yet measured
  std::filesystem::remove_all(dir);
}

// bench_cuda writes two timings per launch: median_us (queued GPU time) and sync_us (launch-inclusive,
// the host waiting after each launch). The SDPA runs' medians are launch-inclusive, so the NF kernel
// rows must read sync_us; a file from before sync_us existed (median_us only) is read as it was.
TEST(NfKernelRows, ReadLaunchInclusiveTimeWhenPresent) {
  const auto dir = temp_dir();
  SdpaValidation sdpa;
  sdpa.measured = true;
  sdpa.copy_bandwidth = 3e12;  // fit.ok false: the fitted column falls back to the roofline
  auto bench = [&](const std::string& name, bool with_sync) {
    nlohmann::json b = {{"name", "BM_DecodeAttention/B:1/Hq:32/Hkv:8/D:128/T:8192/blk:64/bits:4/iterations:1/manual_time"},
                        {"run_type", "iteration"},
                        {"median_us", 10.0},
                        {"real_time", 10.0},
                        {"time_unit", "us"}};
    if (with_sync) b["sync_us"] = 20.0;
    nlohmann::json j;
    j["benchmarks"] = nlohmann::json::array({b});
    const auto path = (dir / name).string();
    std::ofstream(path) << j.dump(2);
    return path;
  };
  const auto both = validate_nf_kernel(bench("both.json", true), sdpa);
  ASSERT_EQ(both.size(), 1u);
  EXPECT_DOUBLE_EQ(both[0].measured_s, 20e-6);  // sync_us, not the queued 10 us
  const auto old = validate_nf_kernel(bench("old.json", false), sdpa);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_DOUBLE_EQ(old[0].measured_s, 10e-6);
  // Bytes by hand: K + V codes and scales, NF4 block 64 = 4 + 16/64 = 4.25 bits per element:
  // 2 x 1 x 8 x 8192 x 128 x 4.25 / 8 = 8,912,896; q + o in fp32: 2 x 1 x 32 x 128 x 4 = 32,768.
  EXPECT_DOUBLE_EQ(both[0].bytes, 8912896.0 + 32768.0);
  std::filesystem::remove_all(dir);
}

TEST(FlashLaunch, SplitHeuristic) {
  // 256 blocks >= 0.8 x 264 = 211.2: one split.
  EXPECT_EQ(flash_num_splits(256, 264, 128), 1);
  // 64 blocks on 264 slots: waves 64 s / 264 -> s = 1: 0.24, 2: 0.48, 3: 0.73, 4: 0.97. The best
  // efficiency is at most 1, so 0.85 x best <= 0.85 and s = 4 is the first at or above it.
  EXPECT_EQ(flash_num_splits(64, 264, 64), 4);
  // 8 blocks, 64 KV tiles: s = 33 (1.0) is not eligible (ceil(64/33) = ceil(64/32) = 2); the best
  // eligible is s = 32 or 64 at 256/264 = 0.970, threshold 0.824 -> s >= 27.2; the eligible s between
  // 22 (ceil 3) and 32 (ceil 2) are only 22 and 32, and 22 gives 176/264 = 0.67: s = 32.
  EXPECT_EQ(flash_num_splits(8, 264, 64), 32);
}

TEST(FlashLaunch, Geometry) {
  // B 1, Hq 32, Hkv 8, native GQA: 8 heads of 4 rows; 8 blocks -> 32 splits (above) -> 256 blocks,
  // split-KV tiles of 128 tokens x 128 x 2 bytes = 32 KiB; 256 <= 264 slots: one wave, active 256.
  const FlashDecodeLaunch a = flash_decode_launch(1, 32, 8, 128, 8192, true, 132);
  EXPECT_EQ(a.heads, 8);
  EXPECT_EQ(a.rows, 4);
  EXPECT_EQ(a.splits, 32);
  EXPECT_EQ(a.ctas, 256);
  EXPECT_EQ(a.block_n, 128);
  EXPECT_DOUBLE_EQ(a.tile_bytes, 32768);
  EXPECT_DOUBLE_EQ(a.active, 256);
  // B 32, Hq = Hkv = 32: 1024 blocks, single pass, 64-token tiles (16 KiB); waves ceil(1024 / 264) = 4
  // -> active 1024 / 4 = 256.
  const FlashDecodeLaunch b = flash_decode_launch(32, 32, 32, 128, 8192, false, 132);
  EXPECT_EQ(b.splits, 1);
  EXPECT_EQ(b.ctas, 1024);
  EXPECT_EQ(b.block_n, 64);
  EXPECT_DOUBLE_EQ(b.tile_bytes, 16384);
  EXPECT_DOUBLE_EQ(b.active, 256);
}

TEST(FlashTime, ParallelismTermOnATinyExample) {
  // t0 10 us, eff 1, L 1 us, copy rate 1e12 B/s, 1e6 bytes.
  const FlashDecodeTime m{10e-6, 1.0, 1e-6};
  // 256 blocks x 16 KiB / 1 us = 4.194e12 B/s > 1e12: memory-bound, 10 + 1 = 11 us.
  FlashDecodeLaunch wide;
  wide.active = 256, wide.tile_bytes = 16384;
  EXPECT_FALSE(m.latency_bound(wide, 1e12));
  EXPECT_NEAR(m.time(1e6, wide, 1e12), 11e-6, 1e-15);
  // 10 blocks x 16 KiB / 1 us = 1.6384e11 B/s < 1e12: parallelism-bound, 10 + 1e6 / 1.6384e11 = 16.1035 us.
  FlashDecodeLaunch narrow;
  narrow.active = 10, narrow.tile_bytes = 16384;
  EXPECT_TRUE(m.latency_bound(narrow, 1e12));
  EXPECT_NEAR(m.time(1e6, narrow, 1e12), 10e-6 + 1e6 / 1.6384e11, 1e-15);
}

TEST(FlashTime, FitRecoversTheModel) {
  // Times generated by t0 = 40 us, eff = 0.9, L = 2 us on the report's 12 fit shapes are fitted back to
  // within the search grid's resolution. Both regimes are present: memory rate 0.9 x 3e12 = 2.7e12;
  // single-pass launches 256 x 16 KiB / 2 us = 2.10e12 (parallelism-bound), split-KV ones at least
  // 224 x 32 KiB / 2 us = 3.67e12 (memory-bound).
  const FlashDecodeTime truth{40e-6, 0.9, 2e-6};
  const double bw = 3e12;
  std::vector<double> bytes, meas;
  std::vector<FlashDecodeLaunch> launches;
  for (int64_t b : {1, 8, 32})
    for (int64_t hkv : {8, 32})
      for (int64_t t : {8192, 16384}) {
        const auto l = flash_decode_launch(b, 32, hkv, 128, t, hkv != 32, 132);
        const double by = 2.0 * b * hkv * t * 128 * 2 + 2.0 * b * 32 * 128 * 2;
        bytes.push_back(by), launches.push_back(l), meas.push_back(truth.time(by, l, bw));
      }
  const FlashTimeFit f = fit_flash_decode_time(bytes, launches, meas, bw);
  ASSERT_TRUE(f.ok);
  EXPECT_FALSE(f.at_grid_edge);
  EXPECT_GT(f.latency_bound_fit_cases, 0);
  EXPECT_LT(f.latency_bound_fit_cases, 12);
  EXPECT_NEAR(f.model.mem_eff, 0.9, 1e-3);
  EXPECT_NEAR(f.model.latency_s, 2e-6, 1e-9);
  EXPECT_NEAR(f.model.t0_s, 40e-6, 0.2e-6);
  // With L = 1.5 us every launch is memory-bound (256 x 16 KiB / 1.5 us = 2.80e12 > 2.7e12): nothing
  // determines L, and the fit says so (its optimum runs to the grid's edge, no case parallelism-bound).
  const FlashDecodeTime no_lat{40e-6, 0.9, 1.5e-6};
  std::vector<double> meas2;
  for (size_t i = 0; i < bytes.size(); ++i) meas2.push_back(no_lat.time(bytes[i], launches[i], bw));
  const FlashTimeFit g = fit_flash_decode_time(bytes, launches, meas2, bw);
  ASSERT_TRUE(g.ok);
  EXPECT_EQ(g.latency_bound_fit_cases, 0);
  EXPECT_TRUE(g.at_grid_edge);
  EXPECT_NEAR(g.model.mem_eff, 0.9, 1e-3);
  EXPECT_FALSE(fit_flash_decode_time({1e6, 2e6}, {launches[0], launches[1]}, {1e-5, 2e-5}, bw).ok);  // < 3 cases
}

TEST(FlashTime, CliTakesAnInputsFileWithSeveralRuns) {
  const auto dir = temp_dir();
  std::filesystem::create_directories(dir / "runs");
  write_run(dir / "runs" / "a.json", 3e12, {{1, 32, 8192, 0.10}});
  write_run(dir / "runs" / "b.json", 3e12, {{1, 32, 8192, 0.30}});
  // Paths in the inputs file are relative to its own folder.
  std::filesystem::create_directories(dir / "claims");
  const auto inputs = dir / "claims" / "inputs.json";
  std::ofstream(inputs) << R"({"hardware": "h100-80gb", "sdpa_runs": ["../runs/a.json", "../runs/b.json"]})";
  const auto report = dir / "claims.md";
  const std::string cmd = std::string(NQKV_EXE_PATH) + " project --claims-report " + report.string() + " --inputs " +
                          inputs.string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  char buf[4096];
  std::string out;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << out;
  std::ifstream in(report);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("2 measurement runs"), std::string::npos);
  // Median of 100 and 300 us = 200 us; spread 100-300.
  EXPECT_NE(text.find("| 200.0 | 100.0-300.0 |"), std::string::npos);
  EXPECT_NE(text.find("| `" + (dir / "runs" / "a.json").string() + "` |"), std::string::npos);
  EXPECT_NE(text.find("--inputs " + inputs.string()), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(FlashTime, InputsFileErrorsNameTheField) {
  const auto dir = temp_dir();
  const auto bad = dir / "bad.json";
  std::ofstream(bad) << R"({"sdpa_runs": "a.json"})";
  EXPECT_THROW(read_claims_inputs(bad.string()), nqkv::InputError);
  EXPECT_THROW(read_claims_inputs((dir / "missing.json").string()), nqkv::InputError);
  std::filesystem::remove_all(dir);
}

// The SM count of the launch geometry comes from the hardware table.
TEST(FlashTime, HardwareTableHasTheSmCounts) {
  EXPECT_EQ(find_hardware("h100-80gb").sms, 132);
  EXPECT_EQ(find_hardware("a100-40gb").sms, 108);
  const Hardware* h = find_hardware_by_cuda_name("NVIDIA H100 80GB HBM3");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->name, "h100-80gb");
  EXPECT_EQ(find_hardware_by_cuda_name("Test GPU"), nullptr);
}
