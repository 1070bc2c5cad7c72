// AccelConfig: the one description of the NQKV accelerator's build-time parameters (the
// parameters of rtl/nq_accel_top.sv) and everything derived from them: FIFO depths, pipeline
// latencies, the PARAMS register. Used by the RTL backend (which parameter sets are verilated),
// the SystemC model, the performance model's accelerator cycle formulas, the area script (through
// `nqkv backends --json`) and the design-space exploration. Run-time settings (block size, code
// width, element type, codebook) are registers, not parameters: rtl/data/nq_accel_regs.json.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/accel/regmap.hpp"

namespace nqkv::accel {

constexpr int clog2(int64_t v) {
  int r = 0;
  while ((int64_t{1} << r) < v) ++r;
  return r;
}
constexpr int pow2_ceil(int64_t v) { return 1 << clog2(v); }

struct AccelConfig {
  int lanes = 16;       // LANES: elements per cycle (quantizer), MACs per cycle (dequant-MAC); power of two, 4..64
  int block_max = 256;  // BLOCK_MAX: largest block (power of two, 32..256)
  int bits_max = 4;     // BITS_MAX: largest code width (2..4)
  int dmax = 256;       // DMAX: largest head_dim of the MAC (query and accumulator storage)
  int acc_w = 48;       // ACC_W: value-form accumulator width (>= 34)
  int div_sps = 4;      // DIV_SPS: reciprocal division steps per pipeline stage (divides 24)

  // ---- derived, exactly as the RTL's localparams
  constexpr int nthr() const { return (1 << bits_max) - 1; }       // threshold registers
  constexpr int nent() const { return 1 << bits_max; }             // codebook entries
  constexpr int nbmax() const { return dmax / 32; }                // blocks per head vector
  constexpr int lat_recip() const { return 24 / div_sps + 1; }     // nq_recip latency
  // nq_quantizer: element FIFO (a block plus the reciprocal latency) and scale FIFO depths
  constexpr int ef_depth() const { return pow2_ceil(block_max / lanes + lat_recip() + 4); }
  constexpr int sf_depth() const { return pow2_ceil(lat_recip() + 6); }
  // last input beat of a block -> its first output beat
  constexpr int quant_latency() const { return 3 + lat_recip(); }
  // dequant-MAC: last code beat -> score word; value form: last code beat -> first drained word
  static constexpr int score_latency() { return 3; }
  static constexpr int drain_latency() { return 3; }
  constexpr int rows() const { return dmax / lanes; }              // query/accumulator rows per lane
  constexpr int bus_bits() const { return lanes * bits_max; }      // qo_codes / mc_data width
  // The PARAMS register (0x001) as the RTL reads it back.
  constexpr uint32_t params_word() const {
    using namespace reg;
    return ((uint32_t(acc_w) & kParamsAccWMask) << kParamsAccWShift) |
           ((uint32_t(bits_max) & kParamsBitsMaxMask) << kParamsBitsMaxShift) |
           ((uint32_t(div_sps) & kParamsDivSpsMask) << kParamsDivSpsShift) |
           ((uint32_t(lanes) & kParamsLanesMask) << kParamsLanesShift) |
           ((uint32_t(clog2(block_max)) & kParamsLog2BlockMaxMask) << kParamsLog2BlockMaxShift);
  }
  // Empty when the parameters are legal for the RTL, else the first problem in one line.
  std::string validate() const;
  // "LANES 16, BLOCK_MAX 256, BITS_MAX 4, DMAX 256, ACC_W 48, DIV_SPS 4"
  std::string describe() const;
  // Verilator/Yosys parameter overrides: -GLANES=16 ...
  std::vector<std::string> verilog_params() const;

  // The parameter set the simulators build for a given LANES (BLOCK_MAX 256, BITS_MAX 4, DMAX 256).
  static AccelConfig sim(int lanes) {
    AccelConfig c;
    c.lanes = lanes;
    return c;
  }
  bool operator==(const AccelConfig& o) const {
    return lanes == o.lanes && block_max == o.block_max && bits_max == o.bits_max && dmax == o.dmax &&
           acc_w == o.acc_w && div_sps == o.div_sps;
  }
};

// The LANES values of the simulation builds (rtl/CMakeLists.txt NQKV_SIM_LANES, the one place
// the set is written); every cycle model (RTL, SystemC) is built for each.
const std::vector<int>& sim_lanes();

}  // namespace nqkv::accel
