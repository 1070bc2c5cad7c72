// The speed stimulus of the cycle model against the verilated RTL (bench_systemc and
// tests/systemc/speed_main.cpp): three passes per LANES (a quantizer stream of 64-element fp16
// blocks, a score stream and a value stream of head_dim 128 = 2 blocks of 64, nf4), the pins of
// every beat precomputed, and a precomputed random back-pressure pattern (per cycle: whether each
// idle input stream offers its next beat, whether each output is ready), so a driver spends
// nothing on random numbers or packing and every model sees exactly the same pins.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"
#include "golden/rng.hpp"
#include "models/accel/regmap.hpp"
#include "sim/common/dut.hpp"

namespace nqkv::bench {

enum class Pass { kQuantize, kScore, kValue };
inline const char* pass_name(Pass p) { return p == Pass::kQuantize ? "quantize" : p == Pass::kScore ? "score" : "value"; }

struct Stim {
  Pass pass = Pass::kQuantize;
  int lanes = 16, qwords = 2, cwords = 2;  // 32-bit words of qi_data and of the codes bus
  size_t qi_beats = 0;
  std::vector<uint16_t> qi;          // qi_beats x lanes elements
  std::vector<uint32_t> qi_w;        // qi_beats x qwords: the qi_data bus per beat
  std::vector<uint16_t> ms;          // side values
  std::vector<std::vector<uint32_t>> mc;  // code beats (bus words)
  std::vector<uint32_t> mc_w;        // the same, flat: beats x cwords
  std::vector<uint8_t> mc_last;
  size_t expect_qo = 0, expect_mo = 0;
  std::vector<int16_t> q;            // the query (score pass)
};

// Back-pressure pattern: bit 0/1/2 = qi/ms/mc offers its next beat if idle, bit 3/4 = qo/mo ready.
struct Pattern {
  std::vector<uint8_t> bits;  // one per cycle, cycled
  uint8_t at(uint64_t c) const { return bits[c % bits.size()]; }
};

inline Pattern make_pattern(uint64_t seed, double p_valid, double p_ready, size_t n = 1 << 20) {
  golden::SplitMix64 rng(seed);
  Pattern p;
  p.bits.resize(n);
  for (auto& b : p.bits) {
    uint8_t v = 0;
    for (int k = 0; k < 3; ++k) v |= static_cast<uint8_t>((p_valid >= 1.0 || rng.uniform() < p_valid) << k);
    for (int k = 3; k < 5; ++k) v |= static_cast<uint8_t>((p_ready >= 1.0 || rng.uniform() < p_ready) << k);
    b = v;
  }
  return p;
}

// Sized by input beats, the same at every LANES (so a run is long enough at LANES 64 too):
// scale 1 = 16 Ki beats: the quantizer pass streams 16 Ki x LANES elements (blocks of 64), the
// score pass is one pass of 128 x LANES tokens, the value pass as many tokens in passes of 512.
inline Stim make_stim(int lanes, Pass pass, int scale = 1) {
  golden::SplitMix64 rng(99 + static_cast<uint64_t>(pass));
  Stim s;
  s.pass = pass;
  s.lanes = lanes;
  s.qwords = (lanes * 16 + 31) / 32;
  s.cwords = (lanes * 4 + 31) / 32;
  if (pass == Pass::kQuantize) {
    const size_t beats = static_cast<size_t>(scale) * 16 * 1024;
    s.qi.resize(beats * static_cast<size_t>(lanes));
    for (auto& e : s.qi)
      e = static_cast<uint16_t>(golden::f32_to_elem(golden::ElemType::F16, static_cast<float>(rng.normal())));
    s.qi_beats = beats;
    s.expect_qo = beats;
    s.qi_w.assign(beats * static_cast<size_t>(s.qwords), 0);
    for (size_t b = 0; b < beats; ++b)
      for (int i = 0; i < lanes; ++i)
        s.qi_w[b * static_cast<size_t>(s.qwords) + static_cast<size_t>(i / 2)] |=
            static_cast<uint32_t>(s.qi[b * static_cast<size_t>(lanes) + static_cast<size_t>(i)]) << (16 * (i % 2));
    return s;
  }
  // MAC: head_dim 128 = 2 blocks of 64; score: one pass of 512*scale tokens; value: passes of 512
  const int D = 128, nb = 2, T = scale * 128 * lanes;
  const bool value = pass == Pass::kValue;
  for (int t = 0; t < T; ++t) {
    for (int b = 0; b < nb; ++b)
      s.ms.push_back(!value ? static_cast<uint16_t>(0x3c00 + rng.below(0x400)) : static_cast<uint16_t>(rng.below(65536)));
    for (int j = 0; j < D / lanes; ++j) {
      std::vector<uint32_t> w(static_cast<size_t>(s.cwords));
      for (auto& x : w) x = static_cast<uint32_t>(rng.next());
      if (lanes * 4 < 32) w[0] &= (1u << (lanes * 4)) - 1u;
      s.mc_w.insert(s.mc_w.end(), w.begin(), w.end());
      s.mc.push_back(std::move(w));
      const bool pass_end = !value ? (t == T - 1) : ((t % 512) == 511 || t == T - 1);
      s.mc_last.push_back(pass_end && j == D / lanes - 1);
    }
  }
  s.expect_mo = !value ? static_cast<size_t>(T) : static_cast<size_t>((T + 511) / 512) * D;
  s.q.resize(D);
  golden::SplitMix64 rq(5);
  for (auto& v : s.q) v = static_cast<int16_t>(rq.next());
  return s;
}

// ---------------------------------------------------------------- set-up through the Dut pins
inline void tick(sim::Dut& d) {
  d.set_clk(false);
  d.eval();
  d.set_clk(true);
  d.eval();
}
inline void write_reg(sim::Dut& d, uint32_t a, uint32_t v) {
  d.set_reg(true, a, v);
  tick(d);
  d.set_reg(false, 0, 0);
}
// The configuration of every pass: nf4, fp16, 4 bits, block 64, 2 blocks; the score pass's query;
// start. write(addr, value) writes one register (pins: one cycle each; TLM: the register socket).
template <class W>
void program(W&& write, const Stim& s) {
  const auto& cb = golden::codebook_by_name("nf4");
  write(accel::reg::kCbN, 16u);
  for (int k = 0; k < 15; ++k) write(accel::reg::kThr + static_cast<uint32_t>(k), golden::f32_bits(cb.thresholds[static_cast<size_t>(k)]));
  for (int k = 0; k < 16; ++k)
    write(accel::reg::kMac + static_cast<uint32_t>(k), static_cast<uint32_t>(static_cast<uint8_t>(cb.mac[static_cast<size_t>(k)])));
  const uint32_t mode = s.pass == Pass::kValue ? 1u : 0u;
  write(accel::reg::kCfg, (mode << 1) | (4u << 2));
  write(accel::reg::kBlock, 64u);
  write(accel::reg::kNblk, 2u);
  for (size_t i = 0; i < s.q.size(); ++i)
    write(accel::reg::kQ + static_cast<uint32_t>(i), static_cast<uint32_t>(static_cast<uint16_t>(s.q[i])));
  write(accel::reg::kCtrl, 1u);
}

// Reset, then program() through the register pins.
inline void setup(sim::Dut& d, const Stim& s) {
  static const std::vector<uint32_t> none;
  d.set_reg(false, 0, 0);
  d.set_qi(false, nullptr);
  d.set_qo_ready(false);
  d.set_ms(false, 0);
  d.set_mc(false, none, false);
  d.set_mo_ready(false);
  d.set_rst_n(true);
  d.set_clk(false);
  d.eval();
  d.set_rst_n(false);
  d.eval();
  for (int i = 0; i < 4; ++i) tick(d);
  d.set_rst_n(true);
  tick(d);
  program([&d](uint32_t a, uint32_t v) { write_reg(d, a, v); }, s);
}

struct Outcome {
  uint64_t cycles = 0, checksum = 0;
};

inline void mix(uint64_t& h, uint64_t v) { h = (h ^ v) * 1099511628211ull; }

// The light driver through any pin adapter A (the Dut interface or a model's ports directly):
// per cycle set the inputs, evaluate with clk low, sample the handshakes, rising edge. Runs
// until every input is taken and every expected output seen. A provides:
//   set(qv, beat, sv, side, cv, cbeat, clast, qo_ready, mo_ready)  (beat indices into the Stim)
//   low(); high();  qi_ready() ms_ready() mc_ready() qo_valid() mo_valid();
//   qo_hash(h) mo_hash(h)  (fold the output beat into h)
// Driver is the same loop cut at the clock edges, for a driver that cannot block between them (a
// SystemC method): begin() sets the inputs and lowers the clock (a.low()); after the low phase has
// settled, end() samples the handshakes and outputs and raises the clock (a.high()).
class Driver {
 public:
  Driver(const Stim& s, const Pattern& p) : s_(s), p_(p) {}
  bool done() const {
    return !(iq_ < s_.qi_beats || is_ < s_.ms.size() || ic_ < s_.mc_last.size() || oq_ < s_.expect_qo ||
             om_ < s_.expect_mo) ||
           o_.cycles > 50000000ull;
  }
  template <class A>
  void begin(A& a) {
    const uint8_t b = p_.at(o_.cycles);
    pq_ |= iq_ < s_.qi_beats && (b & 1u);
    ps_ |= is_ < s_.ms.size() && (b & 2u);
    pc_ |= ic_ < s_.mc_last.size() && (b & 4u);
    rq_ = b & 8u;
    rm_ = b & 16u;
    a.set(pq_, iq_, ps_, ps_ ? s_.ms[is_] : 0, pc_, ic_, pc_ && s_.mc_last[ic_], rq_, rm_);
    a.low();
  }
  template <class A>
  void end(A& a) {
    const bool fq = pq_ && a.qi_ready(), fs = ps_ && a.ms_ready(), fc = pc_ && a.mc_ready();
    if (rq_ && a.qo_valid()) {
      a.qo_hash(o_.checksum);
      ++oq_;
    }
    if (rm_ && a.mo_valid()) {
      a.mo_hash(o_.checksum);
      ++om_;
    }
    a.high();
    ++o_.cycles;
    if (fq) ++iq_, pq_ = false;
    if (fs) ++is_, ps_ = false;
    if (fc) ++ic_, pc_ = false;
  }
  const Outcome& outcome() const { return o_; }

 private:
  const Stim& s_;
  const Pattern& p_;
  size_t iq_ = 0, is_ = 0, ic_ = 0, oq_ = 0, om_ = 0;
  bool pq_ = false, ps_ = false, pc_ = false, rq_ = false, rm_ = false;
  Outcome o_;
};

template <class A>
Outcome drive(A& a, const Stim& s, const Pattern& p) {
  Driver d(s, p);
  while (!d.done()) {
    d.begin(a);
    d.end(a);
  }
  return d.outcome();
}

// A pin adapter over sim::Dut (what the harness and the lock-step use).
class DutPins {
 public:
  DutPins(sim::Dut& d, const Stim& s) : d_(d), s_(s) {}
  void set(bool qv, size_t qb, bool sv, uint16_t side, bool cv, size_t cb, bool clast, bool rq, bool rm) {
    d_.set_qi(qv, qv ? &s_.qi[qb * static_cast<size_t>(s_.lanes)] : nullptr);
    d_.set_ms(sv, side);
    d_.set_mc(cv, cv ? s_.mc[cb] : none_, clast);
    d_.set_qo_ready(rq);
    d_.set_mo_ready(rm);
  }
  void low() {
    d_.set_clk(false);
    d_.eval();
  }
  void high() {
    d_.set_clk(true);
    d_.eval();
  }
  bool qi_ready() const { return d_.qi_ready(); }
  bool ms_ready() const { return d_.ms_ready(); }
  bool mc_ready() const { return d_.mc_ready(); }
  bool qo_valid() const { return d_.qo_valid(); }
  bool mo_valid() const { return d_.mo_valid(); }
  void qo_hash(uint64_t& h) {
    uint16_t sc;
    int st;
    bool last;
    d_.qo(codes_, sc, st, last);
    for (uint32_t w : codes_) mix(h, w);
    mix(h, sc | (static_cast<uint64_t>(st) << 16) | (static_cast<uint64_t>(last) << 20));
  }
  void mo_hash(uint64_t& h) {
    uint64_t data;
    int x;
    bool last;
    d_.mo(data, x, last);
    mix(h, data);
    mix(h, static_cast<uint64_t>(static_cast<uint32_t>(x)) | (static_cast<uint64_t>(last) << 32));
  }

 private:
  sim::Dut& d_;
  const Stim& s_;
  std::vector<uint32_t> codes_;
  const std::vector<uint32_t> none_;
};

}  // namespace nqkv::bench
