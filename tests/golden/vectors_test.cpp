// Golden vector files: reproducible, self-consistent, and a corrupted value is caught and named.
#include <gtest/gtest.h>

#include <cmath>

#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"
#include "golden/vectors.hpp"

using namespace nqkv::golden;

TEST(GoldenVectors, SameSeedSameBytesAndEveryCaseRecomputes) {
  const auto a = generate_golden_cases(11), b = generate_golden_cases(11);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 100u);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].name, b[i].name);
    for (const auto& [n, t] : a[i].data.tensors) ASSERT_EQ(t.data, b[i].data.tensors.at(n).data) << a[i].name << "/" << n;
    const auto re = recompute_case(a[i].data);
    for (const auto& n : output_tensor_names(a[i].data))
      EXPECT_EQ(compare_tensors(n, a[i].data.get(n), re.get(n)).mismatches, 0) << a[i].name << "/" << n;
  }
}

TEST(GoldenVectors, CornerSuitesReallyHitThresholdsAndSpecialValues) {
  // The on-threshold blocks must contain elements whose xn lands exactly on a threshold (otherwise
  // the suite would not test the strict comparison).
  const auto cases = generate_golden_cases(3);
  int on_threshold_f16 = 0, on_threshold_f32 = 0, nonfinite_blocks = 0;
  auto count_hits = [](const nqkv::io::Tensor& x, bool f16) {
    const auto& cb = codebook(CodebookId::NF4);
    int hits = 0;
    for (size_t r = 0; r < x.numel() / 32; ++r) {
      auto val = [&](size_t i) {
        return f16 ? f16_to_f32(x.values<uint16_t>()[i]) : x.values<float>()[i];
      };
      float a = 0;
      for (int i = 0; i < 32; ++i) a = std::max(a, std::fabs(val(r * 32 + i)));
      if (a == 0) continue;
      const float inv = 1.0f / a;
      for (int i = 0; i < 32; ++i)
        for (float m : cb.thresholds) hits += (val(r * 32 + i) * inv == m);
    }
    return hits;
  };
  for (const auto& c : cases) {
    if (c.name == "corner_nf4_f16") on_threshold_f16 = count_hits(c.data.get("x"), true);
    if (c.name == "thresholds_nf4_f32") on_threshold_f32 = count_hits(c.data.get("x"), false);
    if (c.name.rfind("nonfinite_", 0) == 0)
      for (uint8_t s : c.data.get("status").values<uint8_t>()) nonfinite_blocks += (s == 3);
  }
  EXPECT_GE(on_threshold_f16, 1);   // fp16 reaches only some NF4 thresholds exactly
  EXPECT_EQ(on_threshold_f32, 15);  // fp32 reaches all of them
  EXPECT_GE(nonfinite_blocks, 3 * 16);
}

TEST(GoldenVectors, CompareReportsIndexHexAndUlp) {
  auto cases = generate_golden_cases(5);
  auto& c = cases.back();  // an attention case
  ASSERT_EQ(c.data.metadata.at("kind"), "attention");
  nqkv::io::Tensor bad = c.data.get("out");
  bad.data[4 * 3] ^= 0x01;  // element 3, lowest mantissa bit
  const auto d = compare_tensors("out", c.data.get("out"), bad);
  EXPECT_EQ(d.mismatches, 1);
  EXPECT_NE(d.report.find("out[3]"), std::string::npos) << d.report;
  EXPECT_NE(d.report.find("1 ulp"), std::string::npos) << d.report;
  EXPECT_NE(d.report.find("0x"), std::string::npos);
}
