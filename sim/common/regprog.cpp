#include "sim/common/regprog.hpp"

#include <stdexcept>

#include "models/accel/regmap.hpp"

namespace nqkv::sim {

namespace reg = accel::reg;

void program_codebook(const golden::Codebook& cb, int bits_max, const RegWrite& write) {
  if (cb.affine) throw std::invalid_argument("the RTL runs absmax codebooks only");
  const int n = static_cast<int>(cb.values.size()), nent = 1 << bits_max;
  write(reg::kCbN, static_cast<uint32_t>(n));
  for (int k = 0; k < nent - 1; ++k)
    write(reg::kThr + static_cast<uint32_t>(k), k < n - 1 ? golden::f32_bits(cb.thresholds[k]) : 0x7f800000u);
  for (int k = 0; k < nent; ++k)
    write(reg::kMac + static_cast<uint32_t>(k), k < n ? static_cast<uint32_t>(static_cast<uint8_t>(cb.mac[k])) : 0u);
}

uint32_t cfg_word(golden::ElemType type, int bits, int mode) {
  return ((type == golden::ElemType::BF16 ? 1u : 0u) << reg::kCfgBf16Shift) | ((mode ? 1u : 0u) << reg::kCfgModeShift) |
         (static_cast<uint32_t>(bits) << reg::kCfgBitsShift);
}

void program_config(golden::ElemType type, int bits, int block, int nblk, int mode, const RegWrite& write) {
  write(reg::kCfg, cfg_word(type, bits, mode));
  write(reg::kBlock, static_cast<uint32_t>(block));
  write(reg::kNblk, static_cast<uint32_t>(nblk));
}

}  // namespace nqkv::sim
