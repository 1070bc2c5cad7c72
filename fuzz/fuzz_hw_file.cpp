// Harness: `--hw-file` (models/perf/hardware: parse_hardware_json). Accepted entries must carry
// positive, finite figures.
#include <cmath>

#include "fuzz/common.hpp"
#include "models/perf/hardware.hpp"

using namespace nqkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<perf::Hardware> hw;
  if (!fuzz::accepts([&] { hw = perf::parse_hardware_json(fuzz::bytes_of(data, size), "fuzz.json"); })) return 0;
  for (const auto& h : hw) {
    NQKV_FUZZ_CHECK(!h.name.empty());
    for (double x : {h.mem_bytes, h.mem_bw, h.fp16_flops, h.int8_ops, h.fp32_flops})
      NQKV_FUZZ_CHECK(std::isfinite(x) && x > 0);
    if (h.accelerator) NQKV_FUZZ_CHECK(h.accel.lanes > 0);
  }
  return 0;
}
