#include "models/systemc/model_dut.hpp"

#include <algorithm>
#include <cstring>

#include "io/error.hpp"

NQKV_SYSC_BEGIN

ModelDut::ModelDut(const accel::AccelConfig& cfg, int rand_reset, uint64_t rand_seed) : m_(cfg) {
  p_.lanes = cfg.lanes;
  p_.bits_max = cfg.bits_max;
  p_.block_max = cfg.block_max;
  p_.dmax = cfg.dmax;
  p_.acc_w = cfg.acc_w;
  words_ = (cfg.lanes * cfg.bits_max + 31) / 32;
  if (rand_reset == 2) m_.randomize_unreset(rand_seed);
}

void ModelDut::eval() {
  if (clk_ && !clk_seen_) m_.clock();  // rising edge (applies the reset too while rst_n is low)
  else if (!m_.in.rst_n) m_.reset();   // asynchronous reset
  clk_seen_ = clk_;
}

void ModelDut::set_qi(bool valid, const uint16_t* elems) {
  m_.in.qi_valid = valid;
  // LANES is a multiple of 4: 8-byte moves
  uint16_t* d = m_.in.qi_data.data();
  if (elems)
    for (int i = 0; i < p_.lanes; i += 4) std::memcpy(d + i, elems + i, 8);
  else
    for (int i = 0; i < p_.lanes; i += 4) std::memset(d + i, 0, 8);
}

void ModelDut::qo(std::vector<uint32_t>& codes, uint16_t& scale, int& status, bool& last) const {
  codes.resize(static_cast<size_t>(words_));
  const auto& oc = m_.qo_codes();
  for (int w = 0; w < words_; ++w) codes[static_cast<size_t>(w)] = static_cast<uint32_t>(oc[static_cast<size_t>(w / 2)] >> (32 * (w % 2)));
  scale = m_.qo_scale();
  status = m_.qo_status();
  last = m_.qo_last();
}

void ModelDut::set_mc(bool valid, const std::vector<uint32_t>& codes, bool last) {
  m_.in.mc_valid = valid;
  m_.in.mc_last = last;
  const size_t n = std::min(codes.size(), static_cast<size_t>(words_));
  std::copy_n(codes.begin(), n, m_.in.mc_data.begin());
  std::fill(m_.in.mc_data.begin() + static_cast<long>(n), m_.in.mc_data.begin() + words_, 0u);
}

std::unique_ptr<sim::Dut> make_model_dut(int lanes, int rand_reset, uint64_t seed) {
  const std::string bad = accel::AccelConfig::sim(lanes).validate();
  if (!bad.empty()) throw InputError("systemc model: " + bad);
  return std::make_unique<ModelDut>(accel::AccelConfig::sim(lanes), rand_reset, seed);
}

NQKV_SYSC_END
