// Harness: Hugging Face config.json (workloads/model_zoo: parse_hf_config) and the parameter
// counts the performance model derives from it (int64 arithmetic on the parsed sizes).
#include "fuzz/common.hpp"
#include "workloads/model_zoo.hpp"

using namespace nqkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  workloads::ModelConfig m;
  if (!fuzz::accepts([&] { m = workloads::parse_hf_config(fuzz::bytes_of(data, size), "fuzz.json"); })) return 0;
  NQKV_FUZZ_CHECK(m.layers > 0 && m.heads > 0 && m.kv_heads > 0 && m.head_dim > 0 && m.hidden > 0 && m.vocab > 0);
  NQKV_FUZZ_CHECK(m.heads % m.kv_heads == 0);
  const workloads::ParamCounts p = workloads::parameter_counts(m);
  NQKV_FUZZ_CHECK(p.total() > 0);
  return 0;
}
