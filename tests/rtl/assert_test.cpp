// The RTL checks itself: a driver that breaks the valid/ready rule of rtl/doc/protocol.md is
// caught by an RTL assertion (rtl/nq_stream_check.sv, verilated with --assert) and reported
// through Dut::take_errors(), without the harness and without aborting the process; a legal
// driver with random gaps and back-pressure reports nothing.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/accel/accel_config.hpp"
#include "models/accel/regmap.hpp"
#include "sim/rtl/rtl_dut.hpp"

namespace {

namespace reg = nqkv::accel::reg;
using nqkv::sim::Dut;

class Bench {
 public:
  explicit Bench(uint64_t seed) : dut_(nqkv::sim::make_rtl_dut(nqkv::accel::sim_lanes().front(), 2, seed)) {
    lanes_ = dut_->params().lanes;
    idle();
    dut_->set_rst_n(false);
    tick();
    tick();
    dut_->set_rst_n(true);
    tick();
  }
  Dut& dut() { return *dut_; }
  int lanes() const { return lanes_; }
  int code_words() const { return (lanes_ * dut_->params().bits_max + 31) / 32; }
  void idle() {
    dut_->set_reg(false, 0, 0);
    dut_->set_qi(false, nullptr);
    dut_->set_qo_ready(false);
    dut_->set_ms(false, 0);
    dut_->set_mc(false, std::vector<uint32_t>(code_words(), 0), false);
    dut_->set_mo_ready(true);
  }
  // One clock period with the inputs as set; returns the readies seen before the edge.
  void tick() {
    dut_->set_clk(false);
    dut_->eval();
    qi_ready_ = dut_->qi_ready();
    ms_ready_ = dut_->ms_ready();
    mc_ready_ = dut_->mc_ready();
    qo_valid_ = dut_->qo_valid();
    mo_valid_ = dut_->mo_valid();
    dut_->set_clk(true);
    dut_->eval();
    dut_->set_reg(false, 0, 0);
    ++cycles_;
  }
  void write_reg(uint32_t addr, uint32_t data) {
    dut_->set_reg(true, addr, data);
    tick();
  }
  bool qi_ready() const { return qi_ready_; }
  bool ms_ready() const { return ms_ready_; }
  bool mc_ready() const { return mc_ready_; }
  bool qo_valid() const { return qo_valid_; }
  bool mo_valid() const { return mo_valid_; }
  uint64_t cycles() const { return cycles_; }

 private:
  std::unique_ptr<Dut> dut_;
  int lanes_ = 0;
  bool qi_ready_ = false, ms_ready_ = false, mc_ready_ = false, qo_valid_ = false, mo_valid_ = false;
  uint64_t cycles_ = 0;
};

std::vector<uint16_t> beat(int lanes, uint16_t v) { return std::vector<uint16_t>(static_cast<size_t>(lanes), v); }

TEST(RtlAssertions, ValidDroppedBeforeReadyIsCaught) {
  Bench b(1);
  ASSERT_EQ(b.dut().take_errors(), "");
  // qo_ready low: the element FIFO fills and qi_ready falls; a legal driver holds valid.
  const auto x = beat(b.lanes(), 0x3c00);  // 1.0 in fp16
  b.dut().set_qi(true, x.data());
  int n = 0;
  do {
    b.tick();
  } while (b.qi_ready() && ++n < 10000);
  ASSERT_FALSE(b.qi_ready()) << "qi_ready never fell with qo_ready low";
  ASSERT_EQ(b.dut().take_errors(), "") << "nothing illegal happened yet";
  // The planted violation: valid dropped while the beat has not transferred.
  b.dut().set_qi(false, x.data());
  b.tick();
  const std::string err = b.dut().take_errors();
  std::printf("caught: %s", err.c_str());
  EXPECT_NE(err.find("RTL assertion failed"), std::string::npos) << err;
  EXPECT_NE(err.find("u_chk_qi"), std::string::npos) << err;
  EXPECT_NE(err.find("valid dropped before ready"), std::string::npos) << err;
  // Reported once, the model keeps running, and take_errors() empties the list.
  b.tick();
  EXPECT_EQ(b.dut().take_errors(), "");
}

TEST(RtlAssertions, DataChangedWhileWaitingIsCaught) {
  Bench b(2);
  // After reset the MAC has no side values, so mc_ready stays low.
  b.write_reg(reg::kCtrl, 1u << reg::kCtrlStartShift);
  std::vector<uint32_t> codes(static_cast<size_t>(b.code_words()), 0x12345678u);
  b.dut().set_mc(true, codes, false);
  b.tick();
  ASSERT_FALSE(b.mc_ready());
  b.tick();
  ASSERT_EQ(b.dut().take_errors(), "") << "valid held with stable data is legal";
  codes[0] ^= 1;  // the planted violation: data changes while valid && !ready
  b.dut().set_mc(true, codes, false);
  b.tick();
  const std::string err = b.dut().take_errors();
  std::printf("caught: %s", err.c_str());
  EXPECT_NE(err.find("u_chk_mc"), std::string::npos) << err;
  EXPECT_NE(err.find("data changed while valid && !ready"), std::string::npos) << err;
  EXPECT_EQ(err.find("valid dropped"), std::string::npos) << err;
}

TEST(RtlAssertions, LegalDriversReportNothing) {
  Bench b(3);
  std::mt19937_64 rng(42);
  auto coin = [&](int pct) { return static_cast<int>(rng() % 100) < pct; };
  const int L = b.lanes();
  // Quantizer: 12 blocks of 64 (reset configuration) with random gaps and random qo_ready.
  const int beats = 12 * 64 / L;
  int sent = 0;
  bool valid = false;
  std::vector<uint16_t> x(static_cast<size_t>(L));
  for (int c = 0; c < 20000 && sent < beats; ++c) {
    if (!valid && sent < beats && coin(70)) {
      for (auto& e : x) e = static_cast<uint16_t>(rng() & 0x7bff);  // finite fp16
      valid = true;
    }
    b.dut().set_qi(valid, x.data());
    b.dut().set_qo_ready(coin(60));
    b.tick();
    if (valid && b.qi_ready()) {
      valid = false;
      ++sent;
    }
  }
  b.dut().set_qi(false, nullptr);
  b.dut().set_qo_ready(true);
  for (int c = 0; c < 200; ++c) b.tick();
  EXPECT_EQ(sent, beats);
  EXPECT_EQ(b.dut().take_errors(), "");

  // MAC score form: NBLK 2 x BLOCK 64 per token, 3 tokens, random gaps on ms/mc, random mo_ready.
  b.write_reg(reg::kCtrl, 1u << reg::kCtrlStartShift);
  const int tokens = 3, nblk = 2, rows = nblk * 64 / L;
  int ms_sent = 0, mc_sent = 0;
  bool ms_v = false, mc_v = false;
  uint16_t ms_d = 0;
  std::vector<uint32_t> mc_d(static_cast<size_t>(b.code_words()), 0);
  for (int c = 0; c < 20000 && mc_sent < tokens * rows; ++c) {
    if (!ms_v && ms_sent < tokens * nblk && coin(50)) {
      ms_d = static_cast<uint16_t>(0x3c00 + (rng() & 0x3ff));
      ms_v = true;
    }
    if (!mc_v && mc_sent < tokens * rows && coin(70)) {
      for (auto& w : mc_d) w = static_cast<uint32_t>(rng());
      mc_v = true;
    }
    b.dut().set_ms(ms_v, ms_d);
    b.dut().set_mc(mc_v, mc_d, mc_sent == tokens * rows - 1);
    b.dut().set_mo_ready(coin(50));
    b.tick();
    if (ms_v && b.ms_ready()) {
      ms_v = false;
      ++ms_sent;
    }
    if (mc_v && b.mc_ready()) {
      mc_v = false;
      ++mc_sent;
    }
  }
  b.dut().set_ms(false, 0);
  b.dut().set_mc(false, mc_d, false);
  b.dut().set_mo_ready(true);
  for (int c = 0; c < 50; ++c) b.tick();
  EXPECT_EQ(mc_sent, tokens * rows);
  EXPECT_EQ(b.dut().take_errors(), "");
}

}  // namespace
