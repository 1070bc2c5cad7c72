#include "models/accel/accel_config.hpp"

#include <fmt/format.h>

#ifndef NQKV_SIM_LANES_LIST
#error "NQKV_SIM_LANES_LIST comes from rtl/CMakeLists.txt (NQKV_SIM_LANES)"
#endif

namespace nqkv::accel {

namespace {
bool pow2(int v) { return v > 0 && (v & (v - 1)) == 0; }
}  // namespace

std::string AccelConfig::validate() const {
  if (!pow2(lanes) || lanes < 4 || lanes > 64) return fmt::format("LANES {} must be a power of two in 4..64", lanes);
  if (!pow2(block_max) || block_max < 32 || block_max > 256)
    return fmt::format("BLOCK_MAX {} must be a power of two in 32..256", block_max);
  if (block_max < lanes) return fmt::format("BLOCK_MAX {} must be >= LANES {}", block_max, lanes);
  if (bits_max < 2 || bits_max > 4) return fmt::format("BITS_MAX {} must be in 2..4", bits_max);
  if (dmax < 32 || dmax > 256 || dmax % lanes != 0 || !pow2(dmax))
    return fmt::format("DMAX {} must be a power of two in 32..256 and a multiple of LANES", dmax);
  if (acc_w < 34 || acc_w > 64) return fmt::format("ACC_W {} must be in 34..64", acc_w);
  if (div_sps < 1 || 24 % div_sps != 0) return fmt::format("DIV_SPS {} must divide 24", div_sps);
  return "";
}

std::string AccelConfig::describe() const {
  return fmt::format("LANES {}, BLOCK_MAX {}, BITS_MAX {}, DMAX {}, ACC_W {}, DIV_SPS {}", lanes, block_max, bits_max, dmax,
                     acc_w, div_sps);
}

std::vector<std::string> AccelConfig::verilog_params() const {
  return {fmt::format("-GLANES={}", lanes),  fmt::format("-GBLOCK_MAX={}", block_max), fmt::format("-GBITS_MAX={}", bits_max),
          fmt::format("-GDMAX={}", dmax),    fmt::format("-GACC_W={}", acc_w),         fmt::format("-GDIV_SPS={}", div_sps)};
}

const std::vector<int>& sim_lanes() {
  static const std::vector<int> v{NQKV_SIM_LANES_LIST};
  return v;
}

}  // namespace nqkv::accel
