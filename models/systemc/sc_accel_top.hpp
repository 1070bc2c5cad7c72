// ScAccelTop: the pin-level SystemC model of rtl/nq_accel_top.sv, a drop-in replacement for the
// module Verilator 5.006 generates with `verilator --sc` (same port names, same C++ port types for
// the same LANES and BITS_MAX, same delta-cycle behaviour), built on the cycle-exact core
// AccelModel (accel_model.hpp): no logic of the accelerator is written here.
//
// Port types: Verilator's rule for a port of W bits without --pins-* options: bool for W = 1,
// uint32_t for 2..32, uint64_t for 33..64, sc_bv<W> above (vl_sc_t<W>). So qi_data (LANES*16 bits)
// is uint64_t at LANES 4 and sc_bv<256> / sc_bv<1024> at 16 / 64; qo_codes and mc_data
// (LANES*BITS_MAX bits) are uint32_t / uint64_t / sc_bv<256> at LANES 4 / 16 / 64; mo_data is
// uint64_t; mo_x (signed [9:0] in the RTL) is uint32_t holding the 10-bit pattern, not
// sign-extended (sign-extend it when reading, as for the verilated module).
//
// Processes: one SC_METHOD (eval), as Verilator's, sensitive to clk's rising edge, rst_n's falling
// edge (the asynchronous reset) and the inputs that the combinational outputs depend on (reg_we,
// reg_addr, reg_wdata: reg_rdata and CTRL.start in the readies; mo_ready: mc_ready). On a rising
// edge it copies the inputs into the core and calls AccelModel::clock(); on rst_n falling it calls
// reset(); every activation then writes the outputs. A single process writes every output (an
// sc_signal accepts one writer), and it writes them in the delta after the input change, as the
// verilated module's eval does, so a testbench sees the same values in the same delta
// (tests/systemc/test_sc_lockstep.cpp compares them in every delta).
//
// Waveforms: trace(tf) adds every port and the key state of the core (FIFO counts, pipeline
// valids, side banks, drain state, configuration) to an sc_trace_file (VCD).
#pragma once
#include <systemc>

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "models/accel/accel_config.hpp"
#include "models/systemc/accel_model.hpp"

namespace nqkv::sysc {

// Verilator 5.006's C++ type for a SystemC port of W bits (no --pins-* options).
template <int W>
using vl_sc_t = std::conditional_t<W == 1, bool,
                                   std::conditional_t<(W <= 32), uint32_t,
                                                      std::conditional_t<(W <= 64), uint64_t, sc_dt::sc_bv<W>>>>;

// A bus value of any of those types <-> 32-bit words (word k bit j = bus bit 32k + j).
inline void bus_to_words(uint32_t v, uint32_t* w, int) { w[0] = v; }
inline void bus_to_words(uint64_t v, uint32_t* w, int n) {
  w[0] = static_cast<uint32_t>(v);
  if (n > 1) w[1] = static_cast<uint32_t>(v >> 32);
}
template <int W>
void bus_to_words(const sc_dt::sc_bv<W>& v, uint32_t* w, int n) {
  for (int i = 0; i < n && i < (W + 31) / 32; ++i) w[i] = static_cast<uint32_t>(v.get_word(i));
}
inline void words_to_bus(const uint32_t* w, int, uint32_t& v) { v = w[0]; }
inline void words_to_bus(const uint32_t* w, int n, uint64_t& v) {
  v = w[0];
  if (n > 1) v |= static_cast<uint64_t>(w[1]) << 32;
}
template <int W>
void words_to_bus(const uint32_t* w, int n, sc_dt::sc_bv<W>& v) {
  for (int i = 0; i < (W + 31) / 32; ++i) v.set_word(i, i < n ? w[i] : 0u);
}

// What every LANES has in common: the core, its configuration and tracing.
class ScAccelTopBase : public sc_core::sc_module {
 public:
  AccelModel& model() { return m_; }
  const AccelModel& model() const { return m_; }
  int lanes() const { return m_.config().lanes; }
  // Adds every port and the key internal state to tf (call before sc_start).
  virtual void trace(sc_core::sc_trace_file* tf) const = 0;

 protected:
  ScAccelTopBase(const sc_core::sc_module_name& name, const accel::AccelConfig& cfg) : sc_core::sc_module(name), m_(cfg) {}
  void trace_state(sc_core::sc_trace_file* tf) const;  // the core's state (names as in the RTL)
  AccelModel m_;
};

template <int LANES, int BITS_MAX = 4>
class ScAccelTop final : public ScAccelTopBase {
 public:
  static constexpr int kQiBits = LANES * 16, kCodeBits = LANES * BITS_MAX;
  static constexpr int kQiWords = (kQiBits + 31) / 32, kCodeWords = (kCodeBits + 31) / 32;
  using qi_t = vl_sc_t<kQiBits>;
  using codes_t = vl_sc_t<kCodeBits>;

  // Ports, in the verilated module's order.
  sc_core::sc_in<bool> clk;
  sc_core::sc_in<bool> rst_n;
  sc_core::sc_in<bool> reg_we;
  sc_core::sc_in<bool> qi_valid;
  sc_core::sc_out<bool> qi_ready;
  sc_core::sc_out<bool> qo_valid;
  sc_core::sc_in<bool> qo_ready;
  sc_core::sc_out<uint32_t> qo_status;
  sc_core::sc_out<bool> qo_last;
  sc_core::sc_in<bool> ms_valid;
  sc_core::sc_out<bool> ms_ready;
  sc_core::sc_in<bool> mc_valid;
  sc_core::sc_out<bool> mc_ready;
  sc_core::sc_in<bool> mc_last;
  sc_core::sc_out<bool> mo_valid;
  sc_core::sc_in<bool> mo_ready;
  sc_core::sc_out<bool> mo_last;
  sc_core::sc_in<uint32_t> reg_addr;
  sc_core::sc_out<codes_t> qo_codes;
  sc_core::sc_out<uint32_t> qo_scale;
  sc_core::sc_in<uint32_t> ms_data;
  sc_core::sc_in<codes_t> mc_data;
  sc_core::sc_out<uint32_t> mo_x;
  sc_core::sc_in<uint32_t> reg_wdata;
  sc_core::sc_out<uint32_t> reg_rdata;
  sc_core::sc_in<qi_t> qi_data;
  sc_core::sc_out<uint64_t> mo_data;

  SC_HAS_PROCESS(ScAccelTop);
  // cfg: the other parameters (BLOCK_MAX, DMAX, ACC_W, DIV_SPS); its lanes and bits_max must be
  // LANES and BITS_MAX. rand_reset 2: the registers the RTL does not reset start random (seed).
  explicit ScAccelTop(const sc_core::sc_module_name& name, const accel::AccelConfig& cfg = sim_config(), int rand_reset = 0,
                      uint64_t seed = 0);
  void trace(sc_core::sc_trace_file* tf) const override;

  static accel::AccelConfig sim_config() {
    accel::AccelConfig c = accel::AccelConfig::sim(LANES);
    c.bits_max = BITS_MAX;
    return c;
  }

 private:
  void eval();
  void write_registered();

  // Writes an output only when its value differs from the one last written (or on the first
  // activation): an sc_signal ignores a write of its current value anyway, so this changes no event,
  // it only saves the kernel call. This process is each output's only writer and writes it at most
  // once per activation, so the shadow equals the signal's current value when an activation starts.
  template <class P, class T>
  void put(P& port, T& shadow, const T& v) {
    if (!init_ || !(shadow == v)) {
      shadow = v;
      port.write(v);
    }
  }
  std::array<uint64_t, 4> codes_cache_{};  // qo_codes as last written (sc_bv ports only)
  codes_t codes_val_{};
  bool init_ = false;
  bool qi_ready_s_ = false, ms_ready_s_ = false, mc_ready_s_ = false, qo_valid_s_ = false, qo_last_s_ = false,
       mo_valid_s_ = false, mo_last_s_ = false;
  uint32_t reg_rdata_s_ = 0, qo_scale_s_ = 0, qo_status_s_ = 0, mo_x_s_ = 0, codes32_s_ = 0;
  uint64_t mo_data_s_ = 0, codes64_s_ = 0;
};

// ------------------------------------------------------------------------------ implementation
template <int LANES, int BITS_MAX>
ScAccelTop<LANES, BITS_MAX>::ScAccelTop(const sc_core::sc_module_name& name, const accel::AccelConfig& cfg,
                                        int rand_reset, uint64_t seed)
    : ScAccelTopBase(name, cfg),
      clk("clk"),
      rst_n("rst_n"),
      reg_we("reg_we"),
      qi_valid("qi_valid"),
      qi_ready("qi_ready"),
      qo_valid("qo_valid"),
      qo_ready("qo_ready"),
      qo_status("qo_status"),
      qo_last("qo_last"),
      ms_valid("ms_valid"),
      ms_ready("ms_ready"),
      mc_valid("mc_valid"),
      mc_ready("mc_ready"),
      mc_last("mc_last"),
      mo_valid("mo_valid"),
      mo_ready("mo_ready"),
      mo_last("mo_last"),
      reg_addr("reg_addr"),
      qo_codes("qo_codes"),
      qo_scale("qo_scale"),
      ms_data("ms_data"),
      mc_data("mc_data"),
      mo_x("mo_x"),
      reg_wdata("reg_wdata"),
      reg_rdata("reg_rdata"),
      qi_data("qi_data"),
      mo_data("mo_data") {
  static_assert(LANES >= 4 && LANES <= 64 && (LANES & (LANES - 1)) == 0, "LANES: a power of two, 4..64");
  static_assert(BITS_MAX >= 2 && BITS_MAX <= 4, "BITS_MAX: 2..4");
  if (cfg.lanes != LANES || cfg.bits_max != BITS_MAX)
    throw std::invalid_argument("ScAccelTop<" + std::to_string(LANES) + ", " + std::to_string(BITS_MAX) +
                                ">: the configuration has LANES " + std::to_string(cfg.lanes) + ", BITS_MAX " +
                                std::to_string(cfg.bits_max));
  if (rand_reset == 2) m_.randomize_unreset(seed);
  SC_METHOD(eval);
  sensitive << clk.pos() << rst_n.neg() << reg_we << reg_addr << reg_wdata << mo_ready;
}

template <int LANES, int BITS_MAX>
void ScAccelTop<LANES, BITS_MAX>::eval() {
  AccelModel::Inputs& in = m_.in;
  in.reg_we = reg_we.read();
  in.reg_addr = reg_addr.read() & 0xfffu;
  in.reg_wdata = reg_wdata.read();
  in.mo_ready = mo_ready.read();
  const bool edge = clk.posedge();
  bool regs = edge;
  if (edge) {
    in.rst_n = rst_n.read();
    in.qo_ready = qo_ready.read();
    // Data inputs matter only on a transfer (the core reads them only then).
    in.qi_valid = qi_valid.read();
    if (in.qi_valid) {
      uint32_t w[kQiWords];
      bus_to_words(qi_data.read(), w, kQiWords);
      for (int i = 0; i < LANES; ++i) in.qi_data[static_cast<size_t>(i)] = static_cast<uint16_t>(w[i / 2] >> (16 * (i % 2)));
    }
    in.ms_valid = ms_valid.read();
    if (in.ms_valid) in.ms_data = static_cast<uint16_t>(ms_data.read());
    in.mc_valid = mc_valid.read();
    if (in.mc_valid) {
      in.mc_last = mc_last.read();
      bus_to_words(mc_data.read(), in.mc_data.data(), kCodeWords);
    }
    m_.clock();
  } else if (rst_n.negedge()) {
    in.rst_n = false;
    m_.reset();
    regs = true;
  } else {
    in.rst_n = rst_n.read();
  }
  if (regs || !init_) write_registered();  // first activation: the initial values
  put(qi_ready, qi_ready_s_, m_.qi_ready());
  put(ms_ready, ms_ready_s_, m_.ms_ready());
  put(mc_ready, mc_ready_s_, m_.mc_ready());
  put(reg_rdata, reg_rdata_s_, m_.reg_rdata());
  init_ = true;
}

template <int LANES, int BITS_MAX>
void ScAccelTop<LANES, BITS_MAX>::write_registered() {
  put(qo_valid, qo_valid_s_, m_.qo_valid());
  const auto& oc = m_.qo_codes();
  if constexpr (std::is_same_v<codes_t, uint32_t>) {
    put(qo_codes, codes32_s_, static_cast<uint32_t>(oc[0]));
  } else if constexpr (std::is_same_v<codes_t, uint64_t>) {
    put(qo_codes, codes64_s_, oc[0]);
  } else {
    if (oc != codes_cache_ || !init_) {  // build the sc_bv only when it changed
      codes_cache_ = oc;
      for (int i = 0; i < kCodeWords; ++i) codes_val_.set_word(i, static_cast<uint32_t>(oc[static_cast<size_t>(i / 2)] >> (32 * (i % 2))));
      qo_codes.write(codes_val_);
    }
  }
  put(qo_scale, qo_scale_s_, static_cast<uint32_t>(m_.qo_scale()));
  put(qo_status, qo_status_s_, static_cast<uint32_t>(m_.qo_status()));
  put(qo_last, qo_last_s_, static_cast<bool>(m_.qo_last()));
  put(mo_valid, mo_valid_s_, static_cast<bool>(m_.mo_valid()));
  put(mo_data, mo_data_s_, static_cast<uint64_t>(m_.mo_data()));
  put(mo_x, mo_x_s_, static_cast<uint32_t>(m_.mo_x()) & 0x3ffu);
  put(mo_last, mo_last_s_, static_cast<bool>(m_.mo_last()));
}

template <int LANES, int BITS_MAX>
void ScAccelTop<LANES, BITS_MAX>::trace(sc_core::sc_trace_file* tf) const {
  const std::string p = std::string(name()) + ".";
  sc_core::sc_trace(tf, clk, p + "clk");
  sc_core::sc_trace(tf, rst_n, p + "rst_n");
  sc_core::sc_trace(tf, reg_we, p + "reg_we");
  sc_core::sc_trace(tf, reg_addr, p + "reg_addr");
  sc_core::sc_trace(tf, reg_wdata, p + "reg_wdata");
  sc_core::sc_trace(tf, reg_rdata, p + "reg_rdata");
  sc_core::sc_trace(tf, qi_valid, p + "qi_valid");
  sc_core::sc_trace(tf, qi_ready, p + "qi_ready");
  sc_core::sc_trace(tf, qi_data, p + "qi_data");
  sc_core::sc_trace(tf, qo_valid, p + "qo_valid");
  sc_core::sc_trace(tf, qo_ready, p + "qo_ready");
  sc_core::sc_trace(tf, qo_codes, p + "qo_codes");
  sc_core::sc_trace(tf, qo_scale, p + "qo_scale");
  sc_core::sc_trace(tf, qo_status, p + "qo_status");
  sc_core::sc_trace(tf, qo_last, p + "qo_last");
  sc_core::sc_trace(tf, ms_valid, p + "ms_valid");
  sc_core::sc_trace(tf, ms_ready, p + "ms_ready");
  sc_core::sc_trace(tf, ms_data, p + "ms_data");
  sc_core::sc_trace(tf, mc_valid, p + "mc_valid");
  sc_core::sc_trace(tf, mc_ready, p + "mc_ready");
  sc_core::sc_trace(tf, mc_data, p + "mc_data");
  sc_core::sc_trace(tf, mc_last, p + "mc_last");
  sc_core::sc_trace(tf, mo_valid, p + "mo_valid");
  sc_core::sc_trace(tf, mo_ready, p + "mo_ready");
  sc_core::sc_trace(tf, mo_data, p + "mo_data");
  sc_core::sc_trace(tf, mo_x, p + "mo_x");
  sc_core::sc_trace(tf, mo_last, p + "mo_last");
  trace_state(tf);
}

// The LANES the library instantiates ScAccelTop<LANES, 4> for (every legal LANES).
const std::vector<int>& sc_accel_top_lanes();
// ScAccelTop<lanes, 4> with the simulation parameter set (AccelConfig::sim); nqkv::InputError (one
// line) for a LANES that is not built.
std::unique_ptr<ScAccelTopBase> make_sc_accel_top(const char* name, int lanes, int rand_reset = 0, uint64_t seed = 0);

extern template class ScAccelTop<4>;
extern template class ScAccelTop<8>;
extern template class ScAccelTop<16>;
extern template class ScAccelTop<32>;
extern template class ScAccelTop<64>;

}  // namespace nqkv::sysc
