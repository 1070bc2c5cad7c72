// The verilated nq_accel_top behind the Dut interface, one model per LANES of accel::sim_lanes()
// (BLOCK_MAX 256, BITS_MAX 4, DMAX 256, verilated with --assert and FST tracing).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sim/common/dut.hpp"

namespace nqkv::sim {

// A sim::DutFactory; InputError naming the built set for a LANES that was not verilated.
std::unique_ptr<Dut> make_rtl_dut(int lanes, int rand_reset, uint64_t rand_seed);

// Models of other LANES built on demand (sim/rtl/build_plugin.sh, `nqkv dse validate`): the
// environment variable NQKV_RTL_PLUGINS="LANES=path[:LANES=path...]" names their shared
// libraries (InputError when malformed); make_rtl_dut loads them with dlopen.
std::vector<std::pair<int, std::string>> rtl_plugins();
// The built-in LANES (accel::sim_lanes()) followed by those of NQKV_RTL_PLUGINS.
std::vector<int> rtl_lanes();

}  // namespace nqkv::sim
