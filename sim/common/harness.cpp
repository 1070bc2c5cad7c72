#include "sim/common/harness.hpp"

#include <stdexcept>

#include "sim/common/regprog.hpp"

namespace nqkv::sim {

Harness::Harness(std::unique_ptr<Dut> dut, const HarnessOptions& opt)
    : opt_(opt), dut_(std::move(dut)), rng_(opt.seed ^ 0x5eed5eed5eedull) {
  if (!opt_.trace_fst.empty()) dut_->trace_open(opt_.trace_fst);
  reset();
}

Harness::~Harness() { dut_->trace_close(); }

void Harness::posedge() {
  dut_->set_clk(true);
  dut_->eval();
  dut_->trace_dump(time_++);
  std::string e = dut_->take_errors();
  if (!e.empty()) errors_ += e;
}

void Harness::tick() {
  dut_->set_clk(false);
  dut_->eval();
  dut_->trace_dump(time_++);
  posedge();
}

void Harness::reset() {
  dut_->set_reg(false, 0, 0);
  dut_->set_qi(false, nullptr);
  dut_->set_qo_ready(false);
  dut_->set_ms(false, 0);
  dut_->set_mc(false, {}, false);
  dut_->set_mo_ready(false);
  dut_->set_rst_n(true);
  dut_->set_clk(false);
  dut_->eval();
  dut_->set_rst_n(false);
  dut_->eval();
  for (int i = 0; i < 4; ++i) tick();
  dut_->set_rst_n(true);
  tick();
}

void Harness::write_reg(uint32_t addr, uint32_t data) {
  dut_->set_reg(true, addr, data);
  tick();
  dut_->set_reg(false, 0, 0);
}

uint32_t Harness::read_reg(uint32_t addr) {
  dut_->set_reg(false, addr, 0);
  dut_->set_clk(false);
  dut_->eval();
  return dut_->reg_rdata();
}

void Harness::load_codebook(const golden::Codebook& cb) {
  program_codebook(cb, params().bits_max, [this](uint32_t a, uint32_t d) { write_reg(a, d); });
}

void Harness::configure(golden::ElemType type, int bits, int block, int nblk, int mode) {
  bits_ = bits;
  block_ = block;
  nblk_ = nblk;
  program_config(type, bits, block, nblk, mode, [this](uint32_t a, uint32_t d) { write_reg(a, d); });
  const uint32_t status = read_reg(reg::kStatus);
  if ((status >> reg::kStatusErrCfgShift) & reg::kStatusErrCfgMask)
    throw std::invalid_argument("RTL rejects the configuration (STATUS.err_cfg): bits " + std::to_string(bits) +
                                ", block " + std::to_string(block) + ", blocks " + std::to_string(nblk));
}

void Harness::start_mac() { write_reg(reg::kCtrl, 1u << reg::kCtrlStartShift); }

// Stream bits [beat*L*b, (beat+1)*L*b) of a packed row, left-aligned on the codes bus.
std::vector<uint32_t> Harness::code_beat(const uint8_t* row, int64_t beat) const {
  const int L = lanes(), W = L * params().bits_max;
  std::vector<uint32_t> w(static_cast<size_t>((W + 31) / 32), 0);
  const int64_t base = beat * L * bits_;
  for (int k = 0; k < L * bits_; ++k) {
    const int64_t p = base + k;
    if ((row[p / 8] >> (7 - p % 8)) & 1) {
      const int bb = W - 1 - k;
      w[static_cast<size_t>(bb / 32)] |= 1u << (bb % 32);
    }
  }
  return w;
}

void Harness::run(const Streams& s, std::vector<QoBeat>& qo, std::vector<MoBeat>& mo, RunStats* st) {
  RunStats rs;
  size_t iq = 0, is = 0, ic = 0;
  bool pq = false, ps = false, pc = false;  // driver presenting its current beat
  bool qo_hold = false, mo_hold = false;    // output was valid and not taken last cycle
  QoBeat qo_prev{};
  MoBeat mo_prev{};
  const double pv = opt_.backpressure ? opt_.p_valid : 1.0, pr = opt_.backpressure ? opt_.p_ready : 1.0;
  const uint64_t limit = 1000 + 40 * (s.qi.size() + s.ms.size() + s.mc.size() + s.expect_qo + s.expect_mo);
  int64_t first_data = -1, last_data = -1;
  uint64_t drain = 0;
  const bool quant = !s.qi.empty();
  for (uint64_t cyc = 0;; ++cyc) {
    const bool inputs_done = iq == s.qi.size() && is == s.ms.size() && ic == s.mc.size();
    const bool outputs_done = qo.size() >= s.expect_qo && mo.size() >= s.expect_mo;
    if (inputs_done && outputs_done) {
      if (++drain > 64) break;  // keep clocking with ready high: any extra output is an error
    }
    if (cyc > limit) {
      errors_ += "time-out after " + std::to_string(cyc) + " cycles: inputs qi " + std::to_string(iq) + "/" +
                 std::to_string(s.qi.size()) + " ms " + std::to_string(is) + "/" + std::to_string(s.ms.size()) +
                 " mc " + std::to_string(ic) + "/" + std::to_string(s.mc.size()) + ", outputs qo " +
                 std::to_string(qo.size()) + "/" + std::to_string(s.expect_qo) + " mo " + std::to_string(mo.size()) +
                 "/" + std::to_string(s.expect_mo) + "\n";
      break;
    }
    if (!pq && iq < s.qi.size() && chance(pv)) pq = true;
    if (!ps && is < s.ms.size() && chance(pv)) ps = true;
    if (!pc && ic < s.mc.size() && chance(pv)) pc = true;
    dut_->set_qi(pq, pq ? s.qi[iq].elems.data() : nullptr);
    dut_->set_ms(ps, ps ? s.ms[is].side : 0);
    static const std::vector<uint32_t> kNone;
    dut_->set_mc(pc, pc ? s.mc[ic].codes : kNone, pc && s.mc[ic].last);
    const bool rq = drain ? true : chance(pr), rm = drain ? true : chance(pr);
    dut_->set_qo_ready(rq);
    dut_->set_mo_ready(rm);
    dut_->set_clk(false);
    dut_->eval();
    // sample the handshakes
    const bool fq = pq && dut_->qi_ready(), fs = ps && dut_->ms_ready(), fc = pc && dut_->mc_ready();
    // DUT-caused stalls of the data stream (the side stream running ahead and waiting for a bank
    // is by design and not counted).
    if ((quant && pq && !fq) || (!quant && pc && !fc)) ++rs.stall_cycles;
    if (dut_->qo_valid()) {
      QoBeat b;
      dut_->qo(b.codes, b.scale, b.status, b.last);
      if (qo_hold && (b.codes != qo_prev.codes || b.scale != qo_prev.scale || b.status != qo_prev.status ||
                      b.last != qo_prev.last))
        errors_ += "protocol: qo data changed while valid and not ready at cycle " + std::to_string(cyc) + "\n";
      if (rq) {
        if (qo.size() >= s.expect_qo) errors_ += "extra quantizer output beat at cycle " + std::to_string(cyc) + "\n";
        qo.push_back(b);
      }
      qo_hold = !rq;
      qo_prev = b;
    } else {
      if (qo_hold) errors_ += "protocol: qo valid dropped before ready at cycle " + std::to_string(cyc) + "\n";
      qo_hold = false;
    }
    if (dut_->mo_valid()) {
      MoBeat b;
      dut_->mo(b.data, b.x, b.last);
      if (mo_hold && (b.data != mo_prev.data || b.x != mo_prev.x || b.last != mo_prev.last))
        errors_ += "protocol: mo data changed while valid and not ready at cycle " + std::to_string(cyc) + "\n";
      if (rm) {
        if (mo.size() >= s.expect_mo) errors_ += "extra MAC output beat at cycle " + std::to_string(cyc) + "\n";
        mo.push_back(b);
      }
      mo_hold = !rm;
      mo_prev = b;
    } else {
      if (mo_hold) errors_ += "protocol: mo valid dropped before ready at cycle " + std::to_string(cyc) + "\n";
      mo_hold = false;
    }
    dut_->trace_dump(time_++);
    posedge();
    if (!drain) ++rs.cycles;
    if ((quant && fq) || (!quant && fc)) {
      if (first_data < 0) first_data = static_cast<int64_t>(cyc);
      last_data = static_cast<int64_t>(cyc);
      ++rs.data_beats;
    }
    if (fq) ++iq, pq = false;
    if (fs) ++is, ps = false;
    if (fc) ++ic, pc = false;
  }
  dut_->set_qi(false, nullptr);
  dut_->set_ms(false, 0);
  dut_->set_mc(false, {}, false);
  if (first_data >= 0) rs.span_cycles = static_cast<uint64_t>(last_data - first_data + 1);
  if (st) st->add(rs);
}

QuantOut Harness::quantize(const std::vector<uint16_t>& x, int64_t rows, int64_t cols, RunStats* st) {
  const int L = lanes();
  if (cols % block_ != 0 || block_ % L != 0) throw std::invalid_argument("quantize: cols/block/lanes do not divide");
  Streams s;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols / L; ++j) {
      Beat b;
      b.elems.assign(x.begin() + r * cols + j * L, x.begin() + r * cols + (j + 1) * L);
      s.qi.push_back(std::move(b));
    }
  s.expect_qo = s.qi.size();
  std::vector<QoBeat> qo;
  std::vector<MoBeat> mo;
  RunStats rs;
  run(s, qo, mo, &rs);
  rs.work = static_cast<uint64_t>(rows * cols);
  if (st) st->add(rs);
  QuantOut out;
  const int64_t row_bytes = cols * bits_ / 8;
  out.codes.assign(static_cast<size_t>(rows * row_bytes), 0);
  const int W = L * params().bits_max;
  for (size_t i = 0; i < qo.size(); ++i) {
    const int64_t r = static_cast<int64_t>(i) / (cols / L), j = static_cast<int64_t>(i) % (cols / L);
    uint8_t* row = out.codes.data() + r * row_bytes;
    for (int k = 0; k < L * bits_; ++k) {
      const int bb = W - 1 - k;
      if ((qo[i].codes[static_cast<size_t>(bb / 32)] >> (bb % 32)) & 1u) {
        const int64_t p = j * L * bits_ + k;
        row[p / 8] |= static_cast<uint8_t>(1u << (7 - p % 8));
      }
    }
    if (qo[i].last) {
      out.scales.push_back(qo[i].scale);
      out.status.push_back(static_cast<uint8_t>(qo[i].status));
    }
  }
  return out;
}

std::vector<Harness::MoBeat> Harness::mac_pass(const std::vector<uint16_t>& side, const std::vector<uint8_t>& packed,
                                               int64_t T, const std::vector<int64_t>& pass_ends, size_t expect_mo,
                                               RunStats* st) {
  const int L = lanes(), D = nblk_ * block_;
  Streams s;
  const int64_t row_bytes = D * bits_ / 8;
  size_t next_end = 0;
  for (int64_t t = 0; t < T; ++t) {
    const bool pass_last = pass_ends.empty() ? t == T - 1 : t + 1 == pass_ends[next_end];
    if (pass_last && !pass_ends.empty()) ++next_end;
    for (int b = 0; b < nblk_; ++b) {
      Beat sb;
      sb.side = side[static_cast<size_t>(t * nblk_ + b)];
      s.ms.push_back(sb);
    }
    for (int j = 0; j < D / L; ++j) {
      Beat cb;
      cb.codes = code_beat(packed.data() + t * row_bytes, j);
      cb.last = pass_last && (j == D / L - 1);
      s.mc.push_back(std::move(cb));
    }
  }
  s.expect_mo = expect_mo;
  std::vector<QoBeat> qo;
  std::vector<MoBeat> mo;
  RunStats rs;
  run(s, qo, mo, &rs);
  rs.work = static_cast<uint64_t>(T * D);
  if (st) st->add(rs);
  return mo;
}

namespace {
// pass_ends must be ascending and end at T; empty means one pass.
void check_pass_ends(const std::vector<int64_t>& pass_ends, int64_t T) {
  if (pass_ends.empty()) return;
  int64_t prev = 0;
  for (int64_t e : pass_ends) {
    if (e <= prev) throw std::invalid_argument("pass_ends must be ascending and positive");
    prev = e;
  }
  if (prev != T) throw std::invalid_argument("the last pass must end at T");
}
}  // namespace

std::vector<std::pair<int64_t, int>> Harness::score(const std::vector<int16_t>& q, const std::vector<uint16_t>& scales,
                                                    const std::vector<uint8_t>& packed, int64_t T, RunStats* st,
                                                    const std::vector<int64_t>& pass_ends) {
  check_pass_ends(pass_ends, T);
  const int D = nblk_ * block_;
  for (int i = 0; i < D; ++i) write_reg(reg::kQ + i, static_cast<uint16_t>(q[i]));
  start_mac();
  const auto mo = mac_pass(scales, packed, T, pass_ends, static_cast<size_t>(T), st);
  std::vector<std::pair<int64_t, int>> out;
  size_t next_end = 0;
  for (size_t i = 0; i < mo.size(); ++i) {
    out.emplace_back(static_cast<int64_t>(mo[i].data), mo[i].x);
    const int64_t t = static_cast<int64_t>(i);
    const bool pass_last = pass_ends.empty() ? t == T - 1 : next_end < pass_ends.size() && t + 1 == pass_ends[next_end];
    if (pass_last && !pass_ends.empty()) ++next_end;
    if (mo[i].last != pass_last) errors_ += "score output: mo_last on the wrong token (" + std::to_string(t) + ")\n";
  }
  return out;
}

std::vector<int64_t> Harness::value(const std::vector<uint16_t>& weights, const std::vector<uint8_t>& packed, int64_t T,
                                    RunStats* st, const std::vector<int64_t>& pass_ends) {
  check_pass_ends(pass_ends, T);
  const int D = nblk_ * block_;
  const size_t passes = pass_ends.empty() ? 1 : pass_ends.size();
  const auto mo = mac_pass(weights, packed, T, pass_ends, static_cast<size_t>(D) * passes, st);
  std::vector<int64_t> out;
  for (size_t i = 0; i < mo.size(); ++i) {
    out.push_back(static_cast<int64_t>(mo[i].data));
    if (mo[i].last != (static_cast<int>(i % static_cast<size_t>(D)) == D - 1))
      errors_ += "value output: mo_last on the wrong word (" + std::to_string(i) + ")\n";
  }
  return out;
}

}  // namespace nqkv::sim
