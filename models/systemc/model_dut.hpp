// ModelDut: the cycle model (accel_model.hpp) behind the pin-level sim::Dut interface, so the
// verification environment (harness, scoreboard, stimulus, golden cases) and the lock-step
// comparison with the verilated RTL run it unchanged. eval() follows Verilator's semantics for
// the two processes that matter: a rising edge of clk (clk set to 1 after an eval() that saw 0)
// clocks every register; rst_n low resets the reset registers asynchronously. Combinational
// outputs (the readies, reg_rdata) are computed from the state and the current inputs on read.
#pragma once
#include <cstdint>
#include <memory>

#include "models/accel/accel_config.hpp"
#include "models/systemc/accel_model.hpp"
#include "sim/common/dut.hpp"

NQKV_SYSC_BEGIN

class ModelDut final : public sim::Dut {
 public:
  // rand_reset 2: the registers the RTL does not reset start random (seeded by rand_seed).
  ModelDut(const accel::AccelConfig& cfg, int rand_reset, uint64_t rand_seed);
  const sim::DutParams& params() const override { return p_; }
  void eval() override;
  void set_clk(bool v) override { clk_ = v; }
  void set_rst_n(bool v) override { m_.in.rst_n = v; }
  void set_reg(bool we, uint32_t addr, uint32_t wdata) override {
    m_.in.reg_we = we;
    m_.in.reg_addr = addr & 0xfffu;
    m_.in.reg_wdata = wdata;
  }
  uint32_t reg_rdata() const override { return m_.reg_rdata(); }
  void set_qi(bool valid, const uint16_t* elems) override;
  bool qi_ready() const override { return m_.qi_ready(); }
  void set_qo_ready(bool r) override { m_.in.qo_ready = r; }
  bool qo_valid() const override { return m_.qo_valid(); }
  void qo(std::vector<uint32_t>& codes, uint16_t& scale, int& status, bool& last) const override;
  void set_ms(bool valid, uint16_t data) override {
    m_.in.ms_valid = valid;
    m_.in.ms_data = data;
  }
  bool ms_ready() const override { return m_.ms_ready(); }
  void set_mc(bool valid, const std::vector<uint32_t>& codes, bool last) override;
  bool mc_ready() const override { return m_.mc_ready(); }
  void set_mo_ready(bool r) override { m_.in.mo_ready = r; }
  bool mo_valid() const override { return m_.mo_valid(); }
  void mo(uint64_t& data, int& x, bool& last) const override {
    data = m_.mo_data();
    x = m_.mo_x();
    last = m_.mo_last();
  }
  // Waveforms come with the SC_MODULE wrapper (sc_trace); the plain model has none.
  void trace_open(const std::string&) override {}
  void trace_dump(uint64_t) override {}
  void trace_close() override {}
  std::map<std::string, uint64_t> stall_counters() const override { return m_.stall_counters(); }

  AccelModel& model() { return m_; }
  const AccelModel& model() const { return m_; }

 private:
  AccelModel m_;
  sim::DutParams p_;
  int words_;  // 32-bit words of the codes bus
  bool clk_ = false, clk_seen_ = false;
};

// A sim::DutFactory: the model with the simulation parameter set of LANES (AccelConfig::sim).
std::unique_ptr<sim::Dut> make_model_dut(int lanes, int rand_reset, uint64_t seed);

NQKV_SYSC_END
