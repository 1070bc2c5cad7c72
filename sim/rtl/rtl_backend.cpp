// Backend "rtl": the verilated nq_accel_top (one model per LANES of accel::sim_lanes()) driven
// by the verification environment of sim/common.
#include "sim/common/env.hpp"
#include "sim/rtl/rtl_dut.hpp"

namespace {
class RtlBackend final : public nqkv::sim::CycleBackend {
 public:
  RtlBackend() : CycleBackend("rtl", "rtl/nq_accel_top.sv verilated (Verilator, --assert)", nqkv::sim::make_rtl_dut) {}
  std::vector<int> lanes() const override { return nqkv::sim::rtl_lanes(); }  // + on-demand builds
};
}  // namespace

NQKV_REGISTER_BACKEND("rtl", RtlBackend);
