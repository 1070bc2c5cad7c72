// LockstepDut: two cycle models of nq_accel_top driven with the same pins and compared on every
// evaluation (the reference is normally the verilated RTL, the candidate the SystemC/C++ cycle
// model). Every set_* goes to both; after every eval() (clk low: the combinational outputs for
// the current inputs; clk high: the state after the rising edge) it compares every handshake
// signal (qi_ready, qo_valid, ms_ready, mc_ready, mo_valid) and reg_rdata always (except a read of
// a codebook register, THR/MAC at 0x010..0x02f, not written since construction: those have no
// reset and the RTL's start random), and the data of
// a stream (qo codes/scale/status/last, mo data/x/last) whenever its valid is high (an RTL output
// register may hold anything while its valid is low). Comparison starts at the first eval() with
// rst_n low (before the first reset the RTL's registers are random). Getters return the
// reference's values, so a harness driving a LockstepDut sees the reference. Divergences are
// reported through take_errors() (the harness turns them into errors): the first few with the
// cycle (rising edges since construction), the signal and both values.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/common/dut.hpp"

namespace nqkv::sim {

class LockstepDut final : public Dut {
 public:
  struct Divergence {
    uint64_t cycle = 0;   // rising edges before this eval
    bool clk = false;     // eval after the rising edge (true) or with clk low (false)
    std::string signal;   // e.g. "qo_codes"
    std::string ref, cand;  // values in hex
  };

  LockstepDut(std::unique_ptr<Dut> ref, std::unique_ptr<Dut> cand, std::string ref_name = "rtl",
              std::string cand_name = "model", int max_reported = 10);

  const DutParams& params() const override { return ref_->params(); }
  void eval() override;
  void set_clk(bool v) override;
  void set_rst_n(bool v) override;
  void set_reg(bool we, uint32_t addr, uint32_t wdata) override;
  uint32_t reg_rdata() const override { return ref_->reg_rdata(); }
  void set_qi(bool valid, const uint16_t* elems) override;
  bool qi_ready() const override { return ref_->qi_ready(); }
  void set_qo_ready(bool r) override;
  bool qo_valid() const override { return ref_->qo_valid(); }
  void qo(std::vector<uint32_t>& codes, uint16_t& scale, int& status, bool& last) const override {
    ref_->qo(codes, scale, status, last);
  }
  void set_ms(bool valid, uint16_t data) override;
  bool ms_ready() const override { return ref_->ms_ready(); }
  void set_mc(bool valid, const std::vector<uint32_t>& codes, bool last) override;
  bool mc_ready() const override { return ref_->mc_ready(); }
  void set_mo_ready(bool r) override;
  bool mo_valid() const override { return ref_->mo_valid(); }
  void mo(uint64_t& data, int& x, bool& last) const override { ref_->mo(data, x, last); }
  void trace_open(const std::string& path) override { ref_->trace_open(path); }
  void trace_dump(uint64_t time) override { ref_->trace_dump(time); }
  void trace_close() override { ref_->trace_close(); }
  std::string take_errors() override;
  // The candidate's counters (the RTL has none), else the reference's.
  std::map<std::string, uint64_t> stall_counters() const override;

  uint64_t cycles() const { return edges_; }                   // rising edges
  uint64_t compared_cycles() const { return compared_cycles_; }  // rising edges compared (after reset)
  uint64_t compared_evals() const { return compared_evals_; }
  uint64_t mismatch_cycles() const { return mismatch_cycles_; }  // cycles with at least one difference
  uint64_t mismatches() const { return mismatches_; }            // signal differences in all
  const std::vector<Divergence>& divergences() const { return first_; }  // the first max_reported
  Dut& reference() { return *ref_; }
  Dut& candidate() { return *cand_; }

 private:
  void compare();
  void diverge(const char* signal, const std::string& r, const std::string& c);

  std::unique_ptr<Dut> ref_, cand_;
  std::string ref_name_, cand_name_;
  int max_reported_;
  bool clk_ = false, clk_seen_ = false, rst_n_ = true, armed_ = false;
  uint64_t edges_ = 0, compared_cycles_ = 0, compared_evals_ = 0, mismatch_cycles_ = 0, mismatches_ = 0;
  uint64_t last_bad_cycle_ = ~0ull;
  bool reg_we_ = false;
  uint32_t reg_addr_ = 0;
  uint64_t cb_written_ = 0;  // bit a - 0x010 for the codebook registers written
  std::vector<Divergence> first_;
  std::string errors_;
  std::vector<uint32_t> rc_, cc_;  // scratch for the codes buses
};

}  // namespace nqkv::sim
