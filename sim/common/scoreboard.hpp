// The scoreboard: runs a case through the harness (any Dut) and compares everything the
// accelerator produces with the case's golden values, bit for bit: packed codes, block scales,
// block status and the status counters (quantizer); S_t and x_t (score form); the partition
// accumulators O_p (value form). The value-form block weights W_{t,b} are computed on the host
// from E_t (exp2 step of 8.4) and the V scales with golden::value_weight, as the protocol says.
#pragma once
#include <cstdint>

#include "golden/backend.hpp"
#include "sim/common/cases.hpp"
#include "sim/common/harness.hpp"

namespace nqkv::sim {

// The comparisons, for any way of running a case (harness, TLM jobs): every value is compared
// (missing outputs count as mismatches); sb keeps the first few.
void compare_quant(backend::Mismatches& sb, const QuantCase& c, const std::vector<uint8_t>& codes,
                   const std::vector<uint16_t>& scales, const std::vector<uint8_t>& status);
void compare_scores(backend::Mismatches& sb, const AttnCase& c, int q_head, const std::vector<int64_t>& S,
                    const std::vector<int32_t>& x);
// O of np partitions of one query head, starting at partition p0, D values each.
void compare_partitions(backend::Mismatches& sb, const AttnCase& c, int q_head, int64_t p0, int64_t np,
                        const std::vector<int64_t>& O);

void run_quant(Harness& h, const QuantCase& c, backend::Mismatches& sb, RunStats* st);
// How an attention case's MAC passes are streamed. Default: one score pass per query head and one
// value pass per 512-token partition, each started after the previous one drained (the flow of
// rtl/doc/protocol.md). back_to_back: a head's tokens are cut at random points into several score
// passes and all its partitions' value passes are streamed as one stream, so a pass's first
// side values and codes queue behind the previous pass's last beats and drain (overlapping passes).
struct PassPlan {
  bool back_to_back = false;
  uint64_t seed = 0;  // the cut points
};
void run_attn(Harness& h, const AttnCase& c, backend::Mismatches& sb, RunStats* score_st, RunStats* value_st,
              const PassPlan& plan = {});

}  // namespace nqkv::sim
