// Harness: `nqkv golden check --results FILE`: an external kernel's results file (tensors named
// CASE/OUTPUT, any subset) read and compared with golden::compare_tensors against fixed golden
// cases, the way cmd_golden.cpp's compare_outputs does.
#include "fuzz/common.hpp"
#include "fuzz/safetensors_mutator.hpp"
#include "fuzz/small_cases.hpp"

using namespace nqkv;

namespace {
const std::vector<golden::GoldenCase>& cases() {
  static const std::vector<golden::GoldenCase> c = {
      fuzz::small_quantize_case("q", "nf4", golden::ElemType::F16, 32, 2, 64),
      fuzz::small_quantize_case("i", "int4", golden::ElemType::BF16, 32, 1, 32),
      fuzz::small_attention_case("a", "nf4", golden::ElemType::F16, 2, 1, 32, 32, 3),
  };
  return c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& golden_cases = cases();
  io::SafeTensors got;
  if (!fuzz::accepts([&] { got = io::SafeTensors::parse(fuzz::bytes_of(data, size), "fuzz.safetensors"); })) return 0;
  for (const auto& c : golden_cases) {
    fuzz::accepts([&] {
      for (const auto& name : golden::output_tensor_names(c.data)) {
        const std::string key = c.name + "/" + name;
        if (!got.has(key)) continue;
        const io::Tensor& expected = c.data.get(name);
        const golden::TensorDiff d = golden::compare_tensors(key, expected, got.get(key));
        NQKV_FUZZ_CHECK(d.mismatches <= d.compared);
        NQKV_FUZZ_CHECK(d.compared == static_cast<int64_t>(expected.numel()));
      }
    });
  }
  return 0;
}
