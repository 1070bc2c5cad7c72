#include "sim/common/lockstep_dut.hpp"

#include <cstdio>

namespace nqkv::sim {
namespace {

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}
std::string hex_words(const std::vector<uint32_t>& w) {
  std::string s = "0x";
  char b[16];
  for (size_t i = w.size(); i-- > 0;) {
    std::snprintf(b, sizeof b, "%08x", w[i]);
    s += b;
  }
  return s;
}

}  // namespace

LockstepDut::LockstepDut(std::unique_ptr<Dut> ref, std::unique_ptr<Dut> cand, std::string ref_name, std::string cand_name,
                         int max_reported)
    : ref_(std::move(ref)), cand_(std::move(cand)), ref_name_(std::move(ref_name)), cand_name_(std::move(cand_name)),
      max_reported_(max_reported) {
  const DutParams &a = ref_->params(), &b = cand_->params();
  if (a.lanes != b.lanes || a.bits_max != b.bits_max || a.block_max != b.block_max || a.dmax != b.dmax ||
      a.acc_w != b.acc_w)
    errors_ += "lock-step: the two models have different parameters\n";
}

void LockstepDut::set_clk(bool v) {
  clk_ = v;
  ref_->set_clk(v);
  cand_->set_clk(v);
}
void LockstepDut::set_rst_n(bool v) {
  rst_n_ = v;
  ref_->set_rst_n(v);
  cand_->set_rst_n(v);
}
void LockstepDut::set_reg(bool we, uint32_t addr, uint32_t wdata) {
  reg_we_ = we;
  reg_addr_ = addr & 0xfffu;
  ref_->set_reg(we, addr, wdata);
  cand_->set_reg(we, addr, wdata);
}
void LockstepDut::set_qi(bool valid, const uint16_t* elems) {
  ref_->set_qi(valid, elems);
  cand_->set_qi(valid, elems);
}
void LockstepDut::set_qo_ready(bool r) {
  ref_->set_qo_ready(r);
  cand_->set_qo_ready(r);
}
void LockstepDut::set_ms(bool valid, uint16_t data) {
  ref_->set_ms(valid, data);
  cand_->set_ms(valid, data);
}
void LockstepDut::set_mc(bool valid, const std::vector<uint32_t>& codes, bool last) {
  ref_->set_mc(valid, codes, last);
  cand_->set_mc(valid, codes, last);
}
void LockstepDut::set_mo_ready(bool r) {
  ref_->set_mo_ready(r);
  cand_->set_mo_ready(r);
}

void LockstepDut::eval() {
  const bool rising = clk_ && !clk_seen_;
  ref_->eval();
  cand_->eval();
  clk_seen_ = clk_;
  if (!rst_n_) armed_ = true;
  if (armed_) {
    ++compared_evals_;
    if (rising) ++compared_cycles_;
    compare();
  }
  if (rising) {
    ++edges_;
    if (reg_we_ && reg_addr_ >= 0x010 && reg_addr_ < 0x030) cb_written_ |= 1ull << (reg_addr_ - 0x010);
  }
}

void LockstepDut::diverge(const char* signal, const std::string& r, const std::string& c) {
  ++mismatches_;
  if (last_bad_cycle_ != edges_) {
    last_bad_cycle_ = edges_;
    ++mismatch_cycles_;
  }
  if (static_cast<int>(first_.size()) >= max_reported_) return;
  Divergence d;
  d.cycle = edges_;
  d.clk = clk_;
  d.signal = signal;
  d.ref = r;
  d.cand = c;
  errors_ += "lock-step: cycle " + std::to_string(d.cycle) + (clk_ ? " (after the edge)" : " (clk low)") + ": " + signal +
             " " + ref_name_ + " " + r + ", " + cand_name_ + " " + c + "\n";
  first_.push_back(std::move(d));
}

void LockstepDut::compare() {
  const Dut &r = *ref_, &c = *cand_;
  auto flag = [&](const char* name, bool a, bool b) {
    if (a != b) diverge(name, a ? "1" : "0", b ? "1" : "0");
  };
  flag("qi_ready", r.qi_ready(), c.qi_ready());
  flag("ms_ready", r.ms_ready(), c.ms_ready());
  flag("mc_ready", r.mc_ready(), c.mc_ready());
  const bool qv = r.qo_valid(), mv = r.mo_valid();
  flag("qo_valid", qv, c.qo_valid());
  flag("mo_valid", mv, c.mo_valid());
  if (!(reg_addr_ >= 0x010 && reg_addr_ < 0x030 && !((cb_written_ >> (reg_addr_ - 0x010)) & 1u))) {
    const uint32_t a = r.reg_rdata(), b = c.reg_rdata();
    if (a != b) diverge("reg_rdata", hex(a), hex(b));
  }
  if (qv) {
    uint16_t sa = 0, sb = 0;
    int ta = 0, tb = 0;
    bool la = false, lb = false;
    r.qo(rc_, sa, ta, la);
    c.qo(cc_, sb, tb, lb);
    if (rc_ != cc_) diverge("qo_codes", hex_words(rc_), hex_words(cc_));
    if (sa != sb) diverge("qo_scale", hex(sa), hex(sb));
    if (ta != tb) diverge("qo_status", hex(static_cast<uint64_t>(ta)), hex(static_cast<uint64_t>(tb)));
    if (la != lb) diverge("qo_last", la ? "1" : "0", lb ? "1" : "0");
  }
  if (mv) {
    uint64_t da = 0, db = 0;
    int xa = 0, xb = 0;
    bool la = false, lb = false;
    r.mo(da, xa, la);
    c.mo(db, xb, lb);
    if (da != db) diverge("mo_data", hex(da), hex(db));
    if (xa != xb) diverge("mo_x", std::to_string(xa), std::to_string(xb));
    if (la != lb) diverge("mo_last", la ? "1" : "0", lb ? "1" : "0");
  }
}

std::string LockstepDut::take_errors() {
  std::string e = ref_->take_errors();  // called every cycle by the harness: no work when all are empty
  std::string ce = cand_->take_errors();
  if (!ce.empty()) e += ce;
  if (!errors_.empty()) {
    e += errors_;
    errors_.clear();
  }
  return e;
}

std::map<std::string, uint64_t> LockstepDut::stall_counters() const {
  auto m = cand_->stall_counters();
  return m.empty() ? ref_->stall_counters() : m;
}

}  // namespace nqkv::sim
