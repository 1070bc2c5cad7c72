// `nqkv sim --backend systemc --level tlm|tlm-timing`: the decode workload of `nqkv sim` (the same
// data as every other level, sim/common/stimulus workload_data) run as job-level transactions on
// the TLM-2.0 target (tlm_accel.hpp): registers through the register path, one job per quantize,
// score and value pass. "tlm" runs the data path and compares every output with the golden
// library; "tlm-timing" computes only the cycles (closed forms). Cycles equal those of the
// clocked model without back-pressure (`--level cycle --no-backpressure`).
#pragma once
#include "golden/backend.hpp"

namespace nqkv::sysc {

backend::WorkloadResult run_tlm_workload(const backend::Workload& w, int lanes, uint64_t seed, bool timing_only);

}  // namespace nqkv::sysc
