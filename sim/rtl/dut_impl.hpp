// DutImpl<V>: the Dut interface over one verilated nq_accel_top class V (its own VerilatedContext,
// +verilator+rand+reset and seed, FST tracing, RTL assertions collected per model). Used by the
// models built into nqkv (dut_models.cpp) and by the on-demand builds of other LANES
// (rtl_plugin.cpp, loaded with dlopen; see make_rtl_dut).
// RTL assertions (rtl/nq_assert.svh, verilated with --assert): a failed `NQ_ASSERT calls the DPI
// function nq_assert_fail, which each binary defines as a call of rtl_assert_fail below: the
// message is appended to the errors of the model whose eval() is running on this thread;
// Dut::take_errors() hands them to the harness. Nothing is printed and the simulation goes on
// (the context is also made non-fatal, so a stray $stop or $error is reported the same way
// instead of aborting the process).
#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sim/common/dut.hpp"
#include "verilated.h"
// after verilated.h (it uses Verilator's word types)
#include "sim/rtl/vl_ports.hpp"
#include "verilated_fst_c.h"

namespace nqkv::sim {

// The error list of the model evaluating on this thread (set around each eval()).
inline thread_local std::string* t_rtl_errors = nullptr;

inline void rtl_assert_fail(const char* msg) {
  if (t_rtl_errors) {
    *t_rtl_errors += "RTL assertion failed: ";
    *t_rtl_errors += msg ? msg : "?";
    *t_rtl_errors += '\n';
  } else {
    std::fprintf(stderr, "nqkv: RTL assertion failed outside eval(): %s\n", msg ? msg : "?");
  }
}

template <class V>
class DutImpl final : public Dut {
 public:
  DutImpl(int lanes, int rand_reset, uint64_t seed) {
    ctx_ = std::make_unique<VerilatedContext>();
    const std::string rr = "+verilator+rand+reset+" + std::to_string(rand_reset);
    const std::string sd = "+verilator+seed+" + std::to_string(1 + seed % 2147483000ull);
    const char* argv[] = {"nqkv-sim", rr.c_str(), sd.c_str()};
    ctx_->commandArgs(3, argv);
    ctx_->traceEverOn(true);
    ctx_->fatalOnError(false);  // a failed assertion is an error to report, not an abort
    top_ = std::make_unique<V>(ctx_.get(), "top");
    p_.lanes = lanes;
  }
  ~DutImpl() override {
    trace_close();
    top_->final();
  }
  const DutParams& params() const override { return p_; }
  void eval() override {
    std::string* const outer = std::exchange(t_rtl_errors, &errors_);
    top_->eval();
    t_rtl_errors = outer;
    if (ctx_->gotError()) {  // $stop/$error outside nq_assert_fail (Verilator printed it)
      errors_ += "RTL: $stop or $error in the model (message on stdout)\n";
      ctx_->gotError(false);
      ctx_->gotFinish(false);
    }
  }
  std::string take_errors() override { return std::exchange(errors_, std::string()); }
  void set_clk(bool v) override { top_->clk = v; }
  void set_rst_n(bool v) override { top_->rst_n = v; }
  void set_reg(bool we, uint32_t addr, uint32_t wdata) override {
    top_->reg_we = we;
    top_->reg_addr = addr;
    top_->reg_wdata = wdata;
  }
  uint32_t reg_rdata() const override { return top_->reg_rdata; }
  void set_qi(bool valid, const uint16_t* e) override {
    top_->qi_valid = valid;
    std::vector<uint32_t> w((p_.lanes * 16 + 31) / 32, 0);
    if (e)
      for (int i = 0; i < p_.lanes; ++i) w[i / 2] |= static_cast<uint32_t>(e[i]) << (16 * (i % 2));
    put_words(top_->qi_data, w.data(), p_.lanes * 16);
  }
  bool qi_ready() const override { return top_->qi_ready; }
  void set_qo_ready(bool r) override { top_->qo_ready = r; }
  bool qo_valid() const override { return top_->qo_valid; }
  void qo(std::vector<uint32_t>& codes, uint16_t& scale, int& status, bool& last) const override {
    codes.assign((p_.lanes * p_.bits_max + 31) / 32, 0);
    get_words(top_->qo_codes, codes.data(), p_.lanes * p_.bits_max);
    scale = top_->qo_scale;
    status = top_->qo_status;
    last = top_->qo_last;
  }
  void set_ms(bool valid, uint16_t data) override {
    top_->ms_valid = valid;
    top_->ms_data = data;
  }
  bool ms_ready() const override { return top_->ms_ready; }
  void set_mc(bool valid, const std::vector<uint32_t>& codes, bool last) override {
    top_->mc_valid = valid;
    top_->mc_last = last;
    std::vector<uint32_t> w((p_.lanes * p_.bits_max + 31) / 32, 0);
    for (size_t i = 0; i < w.size() && i < codes.size(); ++i) w[i] = codes[i];
    put_words(top_->mc_data, w.data(), p_.lanes * p_.bits_max);
  }
  bool mc_ready() const override { return top_->mc_ready; }
  void set_mo_ready(bool r) override { top_->mo_ready = r; }
  bool mo_valid() const override { return top_->mo_valid; }
  void mo(uint64_t& data, int& x, bool& last) const override {
    data = top_->mo_data;
    const int raw = top_->mo_x & 0x3ff;
    x = raw >= 512 ? raw - 1024 : raw;
    last = top_->mo_last;
  }
  void trace_open(const std::string& path) override {
    tfp_ = std::make_unique<VerilatedFstC>();
    top_->trace(tfp_.get(), 99);
    tfp_->open(path.c_str());
  }
  void trace_dump(uint64_t t) override {
    if (tfp_) tfp_->dump(t);
  }
  void trace_close() override {
    if (tfp_) tfp_->close();
    tfp_.reset();
  }

 private:
  DutParams p_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> top_;
  std::unique_ptr<VerilatedFstC> tfp_;
  std::string errors_;  // since the last take_errors(), one per line
};

}  // namespace nqkv::sim
