// Backend "cpu": the golden library itself. A golden case is recomputed from its inputs and
// compared with the file, so the check proves the file and the library agree. Always built, so
// the registry holds it directly (no static registration object to keep alive).
#include "golden/backend.hpp"
#include "golden/vectors.hpp"
#include "io/error.hpp"

namespace nqkv::backend {
namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override { return "the golden CPU library (docs/numerics.md)"; }
  bool available(std::string*) const override { return true; }
  Result check_case(const io::SafeTensors& c, const Options&) const override {
    Result r;
    const io::SafeTensors got = golden::recompute_case(c);
    for (const auto& name : golden::output_tensor_names(c)) {
      if (!got.has(name)) throw InputError(c.source + ": the golden library produced no '" + name + "'");
      const auto d = golden::compare_tensors(name, c.get(name), got.get(name));
      r.compared += d.compared;
      r.mismatches += d.mismatches;
      r.report += d.report;
    }
    return r;
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace nqkv::backend
