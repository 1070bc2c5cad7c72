// Harness: an `nqkv dse` spec (models/dse/spec: parse_spec, YAML or JSON through yaml-cpp, and the
// constraint expressions). An accepted spec has a non-empty value list on every axis and at least
// one point; its constraints name known quantities.
#include "fuzz/common.hpp"
#include "models/dse/spec.hpp"

using namespace nqkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dse::Spec s;
  if (!fuzz::accepts([&] { s = dse::parse_spec(fuzz::bytes_of(data, size), "fuzz.yaml"); })) return 0;
  for (int a = 0; a < dse::kAxisCount; ++a) NQKV_FUZZ_CHECK(s.axes[a].size() > 0);
  NQKV_FUZZ_CHECK(s.grid_size() >= 1 && s.point_count() >= 1);
  for (const auto& c : s.constraints) {
    NQKV_FUZZ_CHECK(!c.clauses.empty());
    for (const auto& cl : c.clauses) {
      if (!cl.lhs.empty()) NQKV_FUZZ_CHECK(dse::quantity_stage(cl.lhs) >= 0);
      if (!cl.rhs.empty()) NQKV_FUZZ_CHECK(dse::quantity_stage(cl.rhs) >= 0);
    }
  }
  NQKV_FUZZ_CHECK(!s.objectives.empty());
  return 0;
}
