// One verilated nq_accel_top of any LANES as a shared library, loaded by make_rtl_dut
// (sim/rtl/dut_models.cpp) when NQKV_RTL_PLUGINS names it. Built by sim/rtl/build_plugin.sh:
// Verilator makes the model with prefix Vnq_plugin (-GLANES=NQKV_PLUGIN_LANES, the parameters
// and flags of sim/CMakeLists.txt), this file wraps it in DutImpl. Linked with -Bsymbolic so the
// library's own Verilator runtime and nq_assert_fail serve its model.
#include <cstdint>

#include "Vnq_plugin.h"
#include "sim/rtl/dut_impl.hpp"

#ifndef NQKV_PLUGIN_LANES
#error "build with -DNQKV_PLUGIN_LANES=<LANES> (sim/rtl/build_plugin.sh)"
#endif

extern "C" void nq_assert_fail(const char* msg) { nqkv::sim::rtl_assert_fail(msg); }

extern "C" int nqkv_rtl_plugin_lanes() { return NQKV_PLUGIN_LANES; }

extern "C" nqkv::sim::Dut* nqkv_rtl_make_dut(int lanes, int rand_reset, uint64_t seed) {
  if (lanes != NQKV_PLUGIN_LANES) return nullptr;
  return new nqkv::sim::DutImpl<Vnq_plugin>(lanes, rand_reset, seed);
}
