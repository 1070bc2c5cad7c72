// Backends "systemc" (the cycle-exact model of nq_accel_top behind sim::Dut) and, where the RTL is
// verilated too, "lockstep" (the RTL and the model driven together and compared on every cycle,
// while the scoreboard checks the outputs against the golden case): both get the whole
// verification environment of sim/common through CycleBackend.
#include "models/systemc/model_dut.hpp"
#include "sim/common/env.hpp"
#include "sim/common/lockstep_dut.hpp"
#ifdef NQKV_HAVE_RTL
#include "sim/rtl/rtl_dut.hpp"
#endif
#ifdef NQKV_HAVE_SC_KERNEL
#include "io/error.hpp"
#include "models/systemc/tlm_workload.hpp"
#endif

namespace {

class SystemcBackend final : public nqkv::sim::CycleBackend {
 public:
  SystemcBackend()
      : CycleBackend("systemc", "cycle-exact C++/SystemC model of nq_accel_top (models/systemc)", nqkv::sysc::make_model_dut) {}
#ifdef NQKV_HAVE_SC_KERNEL
  // cycle: the clocked model behind sim::Dut (back-pressure, stall causes); tlm: job-level
  // TLM-2.0 transactions with data; tlm-timing: the TLM passes' cycles alone (no data path).
  std::vector<std::string> levels() const override { return {"cycle", "tlm", "tlm-timing"}; }
  nqkv::backend::WorkloadResult run_workload(const nqkv::backend::Workload& w,
                                             const nqkv::backend::Options& opt) const override {
    const std::string level = nqkv::backend::resolve_level(*this, opt.level);
    if (level == "cycle") return CycleBackend::run_workload(w, opt);
    if (!opt.trace.empty()) throw nqkv::InputError("--trace-fst: the TLM levels have no clock to trace");
    return nqkv::sysc::run_tlm_workload(w, nqkv::backend::resolve_lanes(*this, opt.lanes), opt.seed, level == "tlm-timing");
  }
#endif
};

#ifdef NQKV_HAVE_RTL
std::unique_ptr<nqkv::sim::Dut> make_lockstep_dut(int lanes, int rand_reset, uint64_t seed) {
  return std::make_unique<nqkv::sim::LockstepDut>(nqkv::sim::make_rtl_dut(lanes, rand_reset, seed),
                                                  nqkv::sysc::make_model_dut(lanes, rand_reset, seed));
}

class LockstepBackend final : public nqkv::sim::CycleBackend {
 public:
  LockstepBackend()
      : CycleBackend("lockstep", "rtl and systemc driven together, every output compared on every cycle",
                     make_lockstep_dut) {}
};
#endif

}  // namespace

NQKV_REGISTER_BACKEND("systemc", SystemcBackend);
#ifdef NQKV_HAVE_RTL
NQKV_REGISTER_BACKEND("lockstep", LockstepBackend);
#endif
