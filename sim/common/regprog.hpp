// Register programming sequences of nq_accel_top (rtl/doc/protocol.md), written once for every way
// of driving the accelerator: the pin-level harness and the TLM register socket both pass their
// own register write.
#pragma once
#include <cstdint>
#include <functional>

#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"

namespace nqkv::sim {

using RegWrite = std::function<void(uint32_t addr, uint32_t data)>;

// CB_N, the thresholds (unused ones +Inf) and the int8 MAC entries of an absmax codebook, for a
// build of BITS_MAX bits; std::invalid_argument for affine codebooks (not in the RTL).
void program_codebook(const golden::Codebook& cb, int bits_max, const RegWrite& write);
// The CFG word: element type, MAC mode (0 score, 1 value), code bits.
uint32_t cfg_word(golden::ElemType type, int bits, int mode);
// CFG, BLOCK and NBLK (the caller checks STATUS.err_cfg afterwards).
void program_config(golden::ElemType type, int bits, int block, int nblk, int mode, const RegWrite& write);

}  // namespace nqkv::sim
