// The scoreboard: runs a case through the harness (any Dut) and compares everything the
// accelerator produces with the case's golden values, bit for bit: packed codes, block scales,
// block status and the status counters (quantizer); S_t and x_t (score form); the partition
// accumulators O_p (value form). The value-form block weights W_{t,b} are computed on the host
// from E_t (exp2 step of 8.4) and the V scales with golden::value_weight, as the protocol says.
#pragma once
#include "golden/backend.hpp"
#include "sim/common/cases.hpp"
#include "sim/common/harness.hpp"

namespace nqkv::sim {

void run_quant(Harness& h, const QuantCase& c, backend::Mismatches& sb, RunStats* st);
void run_attn(Harness& h, const AttnCase& c, backend::Mismatches& sb, RunStats* score_st, RunStats* value_st);

}  // namespace nqkv::sim
