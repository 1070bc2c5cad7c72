#include "models/systemc/sc_accel_top.hpp"

#include "io/error.hpp"

namespace nqkv::sysc {

template class ScAccelTop<4>;
template class ScAccelTop<8>;
template class ScAccelTop<16>;
template class ScAccelTop<32>;
template class ScAccelTop<64>;

void ScAccelTopBase::trace_state(sc_core::sc_trace_file* tf) const {
  using sc_core::sc_trace;
  const std::string p = std::string(name()) + ".";
  const AccelModel::Top& t = m_.top();
  sc_trace(tf, t.cfg_bf16, p + "cfg_bf16");
  sc_trace(tf, t.cfg_mode, p + "cfg_mode");
  sc_trace(tf, t.cfg_bits, p + "cfg_bits", 3);
  sc_trace(tf, t.cfg_block, p + "cfg_block", 9);
  sc_trace(tf, t.cfg_nblk, p + "cfg_nblk", 4);
  sc_trace(tf, t.cfg_cbn, p + "cfg_cbn", 5);
  sc_trace(tf, t.cnt_blocks, p + "cnt_blocks", 32);
  sc_trace(tf, t.err_nonfinite, p + "err_nonfinite");
  const std::string q = p + "u_quant.";
  const AccelModel::Quantizer& u = m_.quantizer();
  sc_trace(tf, u.bcnt, q + "bcnt", 8);
  sc_trace(tf, u.be_valid, q + "be_valid");
  sc_trace(tf, u.u_efifo.count, q + "u_efifo.count", 8);
  sc_trace(tf, u.u_sfifo.count, q + "u_sfifo.count", 8);
  sc_trace(tf, u.pending, q + "pending", 8);
  sc_trace(tf, u.rc_valid, q + "u_recip.out_valid");
  sc_trace(tf, u.p1_valid, q + "p1_valid");
  sc_trace(tf, u.out_valid, q + "out_valid");
  const std::string c = p + "u_mac.";
  const AccelModel::DequantMac& mc = m_.mac();
  sc_trace(tf, mc.sb_full, c + "sb_full", 2);
  sc_trace(tf, mc.sb_wbank, c + "sb_wbank", 1);
  sc_trace(tf, mc.sb_rbank, c + "sb_rbank", 1);
  sc_trace(tf, mc.sb_widx, c + "sb_widx", 4);
  sc_trace(tf, mc.bib, c + "bib", 8);
  sc_trace(tf, mc.blk, c + "blk", 4);
  sc_trace(tf, mc.row, c + "row", 8);
  sc_trace(tf, mc.first_tok, c + "first_tok");
  sc_trace(tf, mc.hold, c + "hold");
  sc_trace(tf, mc.s1_valid, c + "s1_valid");
  sc_trace(tf, mc.s2_valid, c + "s2_valid");
  sc_trace(tf, mc.od_valid, c + "od_valid");
  sc_trace(tf, mc.drain_go, c + "drain_go");
  sc_trace(tf, mc.draining, c + "draining");
  sc_trace(tf, mc.drain_idx, c + "drain_idx", 8);
}

const std::vector<int>& sc_accel_top_lanes() {
  static const std::vector<int> kLanes = {4, 8, 16, 32, 64};
  return kLanes;
}

std::unique_ptr<ScAccelTopBase> make_sc_accel_top(const char* name, int lanes, int rand_reset, uint64_t seed) {
  switch (lanes) {
    case 4: return std::make_unique<ScAccelTop<4>>(name, ScAccelTop<4>::sim_config(), rand_reset, seed);
    case 8: return std::make_unique<ScAccelTop<8>>(name, ScAccelTop<8>::sim_config(), rand_reset, seed);
    case 16: return std::make_unique<ScAccelTop<16>>(name, ScAccelTop<16>::sim_config(), rand_reset, seed);
    case 32: return std::make_unique<ScAccelTop<32>>(name, ScAccelTop<32>::sim_config(), rand_reset, seed);
    case 64: return std::make_unique<ScAccelTop<64>>(name, ScAccelTop<64>::sim_config(), rand_reset, seed);
    default: break;
  }
  std::string built;
  for (int l : sc_accel_top_lanes()) built += (built.empty() ? "" : " ") + std::to_string(l);
  throw InputError("pin-level SystemC model: LANES " + std::to_string(lanes) + " is not built (built: " + built + ")");
}

}  // namespace nqkv::sysc
