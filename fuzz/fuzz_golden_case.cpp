// Harness: golden case files. The cpu backend's check (golden::recompute_case on the parsed file,
// then every output compared with golden::compare_tensors: `nqkv golden check --backend cpu`), and
// the verification environment's reader (sim/common/cases: read_case_header, load_case_tensors,
// cannot_run) that the cycle-model backends use.
#include "fuzz/common.hpp"
#include "fuzz/safetensors_mutator.hpp"
#include "golden/backend.hpp"
#include "golden/vectors.hpp"
#include "sim/common/cases.hpp"

using namespace nqkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  io::SafeTensors c;
  if (!fuzz::accepts([&] { c = io::SafeTensors::parse(fuzz::bytes_of(data, size), "fuzz.safetensors"); })) return 0;
  fuzz::accepts([&] {
    const backend::Result r = backend::find("cpu").check_case(c, backend::Options{});
    NQKV_FUZZ_CHECK(r.mismatches <= r.compared);
  });
  fuzz::accepts([&] {
    sim::FileCase fc = sim::read_case_header(c);
    if (fc.kind != "quantize" && fc.kind != "attention") return;
    const accel::AccelConfig cfg;
    if (fc.kind == "quantize") {
      sim::cannot_run(cfg, *fc.quant.cb, fc.quant.type, fc.quant.block, fc.quant.cols);
    } else {
      sim::cannot_run_attention(cfg, *fc.attn.cb, fc.attn.type, fc.attn.block, fc.attn.head_dim);
    }
    sim::load_case_tensors(c, fc);
  });
  return 0;
}
