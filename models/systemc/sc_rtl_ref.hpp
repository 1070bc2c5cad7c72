// The verilated RTL as SystemC modules (`verilator --sc`, library nqkv_rtl_sc, built by
// models/systemc/CMakeLists.txt for each LANES of NQKV_SC_RTL_LANES): the reference the pin-level
// model ScAccelTop is compared with in one SystemC simulation (tests/systemc/test_sc_lockstep.cpp).
// The modules are Vnq_sc_l<LANES> (include "sc_rtl_models.hpp", generated, which includes them
// and defines NQKV_SC_RTL_MODELS(X) as X(4) X(16) ...). Include <systemc.h> before it.
//
// The library carries its own Verilator runtime compiled for SystemC (VM_SC=1): never link it into
// an executable with another verilated build (nqkv_rtl_backend), whose runtime has other flags.
// RTL assertions (verilated with --assert) call the DPI function nq_assert_fail, defined in this
// library: the messages queue up for take_rtl_sc_errors() and the simulation goes on.
#pragma once
#include <string>

namespace nqkv::sysc {

// The RTL assertion messages since the last call, one per line; empty when none.
std::string take_rtl_sc_errors();

}  // namespace nqkv::sysc
