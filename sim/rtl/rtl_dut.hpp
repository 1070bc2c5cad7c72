// The verilated nq_accel_top behind the Dut interface, one model per LANES of accel::sim_lanes()
// (BLOCK_MAX 256, BITS_MAX 4, DMAX 256, verilated with --assert and FST tracing).
#pragma once
#include <memory>

#include "sim/common/dut.hpp"

namespace nqkv::sim {

// A sim::DutFactory; InputError naming the built set for a LANES that was not verilated.
std::unique_ptr<Dut> make_rtl_dut(int lanes, int rand_reset, uint64_t rand_seed);

}  // namespace nqkv::sim
