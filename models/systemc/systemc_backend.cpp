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

namespace {

class SystemcBackend final : public nqkv::sim::CycleBackend {
 public:
  SystemcBackend()
      : CycleBackend("systemc", "cycle-exact C++/SystemC model of nq_accel_top (models/systemc)", nqkv::sysc::make_model_dut) {}
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
