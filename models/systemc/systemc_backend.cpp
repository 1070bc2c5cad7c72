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
#include "io/error.hpp"
#ifdef NQKV_HAVE_SC_KERNEL
#include "models/systemc/tlm_workload.hpp"
#endif

namespace {

// The C++ cycle model writes no waveform (the pin-level ScAccelTop does, through sc_trace, in a
// SystemC simulation; tests/systemc): a trace request is refused before any work.
void check_no_trace(const nqkv::backend::Options& opt) {
  if (!opt.trace.empty())
    throw nqkv::InputError("--trace-fst: the systemc backend writes no waveform here (its pin-level module traces VCD "
                           "in a SystemC simulation); use --backend rtl or lockstep for an FST of the RTL");
}

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
    check_no_trace(opt);
    if (level == "cycle") return CycleBackend::run_workload(w, opt);
    return nqkv::sysc::run_tlm_workload(w, nqkv::backend::resolve_lanes(*this, opt.lanes), opt.seed, level == "tlm-timing");
  }
#else
  nqkv::backend::WorkloadResult run_workload(const nqkv::backend::Workload& w,
                                             const nqkv::backend::Options& opt) const override {
    check_no_trace(opt);
    return CycleBackend::run_workload(w, opt);
  }
#endif
  nqkv::backend::Result check_case(const nqkv::io::SafeTensors& c, const nqkv::backend::Options& opt) const override {
    check_no_trace(opt);
    return CycleBackend::check_case(c, opt);
  }
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
