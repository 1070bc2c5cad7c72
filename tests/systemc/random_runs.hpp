// Seeded random runs of the verification environment on any Dut (shared by the model-only and
// the lock-step tests): per seed a random codebook, element type, block size (including blocks of
// one or two beats), stall probabilities, and a few quantize and attention cases, every output
// compared with the golden library by the scoreboard.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "golden/attention.hpp"
#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"
#include "golden/rng.hpp"
#include "golden/tensor_io.hpp"
#include "models/accel/accel_config.hpp"
#include "sim/common/cases.hpp"
#include "sim/common/harness.hpp"
#include "sim/common/scoreboard.hpp"
#include "sim/common/stimulus.hpp"

namespace nqkv::test {

struct RandomRun {
  std::string what;  // the choices, for the failure message
  int64_t compared = 0, mismatches = 0;
  uint64_t cycles = 0;
  std::string report;
};

// inspect (optional) sees the Dut after the runs, before it is destroyed.
// Attention cases for every legal block, blocks of one or two beats included (sim::random_attn_case
// picks a head_dim with at most NBMAX blocks).
inline sim::AttnCase attn_case(golden::SplitMix64& rng, const golden::Codebook& cb, golden::ElemType t, int B,
                               bool long_ctx) {
  return sim::random_attn_case(rng, cb, t, B, long_ctx);
}

inline RandomRun random_run(std::unique_ptr<sim::Dut> dut, uint64_t seed, int cases = 2, bool allow_long = false,
                            const std::function<void(sim::Dut&)>& inspect = {}) {
  const int L = dut->params().lanes;
  const accel::AccelConfig cfg = accel::AccelConfig::sim(L);
  golden::SplitMix64 rng(golden::SplitMix64(seed * 1000003ull + static_cast<uint64_t>(L)).next());
  static const char* kBooks[] = {"nf4", "nf3", "nf2", "fp4", "e2m1", "int4sym", "lloyd4"};
  const golden::Codebook& cb = golden::codebook_by_name(kBooks[rng.below(7)]);
  const golden::ElemType type = rng.below(2) ? golden::ElemType::BF16 : golden::ElemType::F16;
  // block: one or two beats a third of the time, else any legal size
  int block = 0;
  for (int tries = 0; tries < 100 && block == 0; ++tries) {
    const int choice = static_cast<int>(rng.below(6));
    int b = choice == 0 ? L : choice == 1 ? 2 * L : 8 << rng.below(6);
    if (b % 8 != 0 || b % L != 0 || b > cfg.block_max) continue;
    block = b;
  }
  sim::HarnessOptions ho;
  ho.seed = seed;
  const double pv[] = {1.0, 0.9, 0.75, 0.5, 0.25}, pr[] = {1.0, 0.9, 0.7, 0.5, 0.2};
  ho.p_valid = pv[rng.below(5)];
  ho.p_ready = pr[rng.below(5)];
  ho.backpressure = rng.below(8) != 0;
  RandomRun r;
  r.what = "lanes " + std::to_string(L) + ", seed " + std::to_string(seed) + ", " + cb.name + ", " +
           (type == golden::ElemType::BF16 ? "bf16" : "f16") + ", block " + std::to_string(block) + ", p_valid " +
           std::to_string(ho.p_valid) + ", p_ready " + std::to_string(ho.p_ready) +
           (ho.backpressure ? "" : ", no back-pressure");
  sim::Harness h(std::move(dut), ho);
  backend::Mismatches sb;
  sim::RunStats st;
  for (int i = 0; i < cases; ++i) {
    if (sim::cannot_run(cfg, cb, type, block, block).empty())
      sim::run_quant(h, sim::random_quant_case(rng, cb, type, block), sb, &st);
    const bool long_ctx = allow_long && i == 0 && rng.below(4) == 0;
    sim::AttnCase ac = attn_case(rng, cb, type, block, long_ctx);
    if (sim::cannot_run_attention(cfg, cb, type, block, ac.head_dim).empty()) sim::run_attn(h, ac, sb, &st, &st);
  }
  if (!h.errors().empty()) sb.error("harness: " + h.errors());
  r.compared = sb.compared();
  r.mismatches = sb.mismatches();
  r.report = sb.report();
  r.cycles = st.cycles;
  if (inspect) inspect(h.dut());
  return r;
}

// A pin-level stream scenario on any Dut, without the harness and without golden results (the
// lock-step is the check): a random legal configuration and codebook, then the quantizer stream
// (blocks of random, zero, tiny and non-finite data) running concurrently with a score stream and
// then a value stream, each made of back-to-back passes of 1..6 tokens (the next pass's side
// values and codes arrive while the previous one drains: hold, first_tok, overlapping passes).
// Random valid gaps and output ready; every cycle reads a random status/counter register through
// reg_rdata, and now and then clears the counters. stop() is asked after every cycle (e.g. "the
// lock-step has seen a mismatch"). Returns the cycles run.
inline uint64_t stream_run(sim::Dut& d, uint64_t seed, const std::function<bool()>& stop = {}) {
  const int L = d.params().lanes, W = (L * d.params().bits_max + 31) / 32;
  golden::SplitMix64 rng(golden::SplitMix64(seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(L) * 7919).next());
  static const std::vector<uint32_t> kNone;
  static const double kP[] = {1.0, 0.8, 0.5, 0.2};
  uint64_t cycles = 0;
  bool stopped = false;
  // the streams: qi runs from the first MAC phase to the end, across register writes
  std::vector<uint16_t> qi;
  size_t qbeats = 0, iq = 0, oq = 0;
  bool qon = false, vq = false;
  double pq = 1, pqr = 1, pm = 1, pmr = 1;
  std::vector<uint16_t> side;
  std::vector<std::vector<uint32_t>> code;
  std::vector<uint8_t> last;
  size_t is = 0, ic = 0, om = 0;
  bool vs = false, vc = false;
  // One clock period: offer the stream beats (valid held until taken), random ready, sample the
  // handshakes with clk low, rising edge.
  auto step = [&] {
    if (qon && !vq && iq < qbeats && rng.uniform() < pq) vq = true;
    if (!vs && is < side.size() && rng.uniform() < pm) vs = true;
    if (!vc && ic < code.size() && rng.uniform() < pm) vc = true;
    d.set_qi(vq, vq ? &qi[iq * static_cast<size_t>(L)] : nullptr);
    d.set_ms(vs, vs ? side[is] : 0);
    d.set_mc(vc, vc ? code[ic] : kNone, vc && last[ic]);
    const bool rq = rng.uniform() < pqr, rm = rng.uniform() < pmr;
    d.set_qo_ready(rq);
    d.set_mo_ready(rm);
    d.set_clk(false);
    d.eval();
    const bool fq = vq && d.qi_ready(), fs = vs && d.ms_ready(), fc = vc && d.mc_ready();
    if (d.qo_valid() && rq) ++oq;
    if (d.mo_valid() && rm) ++om;
    d.set_clk(true);
    d.eval();
    ++cycles;
    if (stop && stop()) stopped = true;
    if (fq) ++iq, vq = false;
    if (fs) ++is, vs = false;
    if (fc) ++ic, vc = false;
  };
  auto read_any = [&] { d.set_reg(false, static_cast<uint32_t>(rng.below(13)), 0); };  // status and counters
  auto write = [&](uint32_t a, uint32_t v) {
    d.set_reg(true, a, v);
    step();
    read_any();
  };
  // reset
  d.set_reg(false, 0, 0);
  d.set_qi(false, nullptr);
  d.set_qo_ready(false);
  d.set_ms(false, 0);
  d.set_mc(false, kNone, false);
  d.set_mo_ready(false);
  d.set_rst_n(true);  // a falling edge of rst_n (the RTL's asynchronous reset needs one)
  d.set_clk(false);
  d.eval();
  d.set_rst_n(false);
  d.eval();
  for (int i = 0; i < 3; ++i) step();
  d.set_rst_n(true);
  step();
  // configuration
  const bool bf16 = rng.below(2);
  const golden::ElemType type = bf16 ? golden::ElemType::BF16 : golden::ElemType::F16;
  const int bits = 2 + static_cast<int>(rng.below(3));
  const int cbn = 2 + static_cast<int>(rng.below(static_cast<uint64_t>((1 << bits) - 1)));
  int block = 0;
  while (block == 0) {
    const int c = static_cast<int>(rng.below(4));
    const int b = c == 0 ? L : c == 1 ? 2 * L : 8 << rng.below(6);
    if (b % 8 == 0 && b % L == 0 && b <= 256) block = b;
  }
  int nblk = 1 + static_cast<int>(rng.below(8));
  while (nblk * block > 256) --nblk;
  const int D = nblk * block, beats_per_tok = D / L;
  std::vector<float> thr(static_cast<size_t>(cbn - 1));
  for (auto& t : thr) t = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  std::sort(thr.begin(), thr.end());
  for (int k = 0; k < 15; ++k)
    write(sim::reg::kThr + static_cast<uint32_t>(k),
          k < cbn - 1 ? golden::f32_bits(thr[static_cast<size_t>(k)]) : static_cast<uint32_t>(rng.next()));
  for (int k = 0; k < 16; ++k) write(sim::reg::kMac + static_cast<uint32_t>(k), static_cast<uint32_t>(rng.next()));
  write(sim::reg::kCbN, static_cast<uint32_t>(cbn));
  write(sim::reg::kBlock, static_cast<uint32_t>(block));
  write(sim::reg::kNblk, static_cast<uint32_t>(nblk));
  const uint32_t cfg_base = (bf16 ? 1u : 0u) | (static_cast<uint32_t>(bits) << 2);
  // quantizer stream: whole blocks of normal, zero, subnormal and (rarely) non-finite elements
  const int qblocks = 24 + static_cast<int>(rng.below(40));
  qi.resize(static_cast<size_t>(qblocks) * static_cast<size_t>(block));
  for (int b = 0; b < qblocks; ++b) {
    const int kind = static_cast<int>(rng.below(10));
    const int e = static_cast<int>(rng.below(bf16 ? 60 : 24)) - (bf16 ? 30 : 14);
    for (int i = 0; i < block; ++i) {
      uint16_t& x = qi[static_cast<size_t>(b) * static_cast<size_t>(block) + static_cast<size_t>(i)];
      if (kind == 0) x = 0;
      else if (kind == 1) x = static_cast<uint16_t>(rng.next() & (bf16 ? 0x807fu : 0x83ffu));  // subnormal or zero
      else if (kind == 2 && rng.below(static_cast<uint64_t>(block)) == 0) x = static_cast<uint16_t>(rng.next());
      else x = static_cast<uint16_t>(golden::f32_to_elem(type, static_cast<float>(rng.normal() * std::ldexp(1.0, e))));
    }
  }
  qbeats = qi.size() / static_cast<size_t>(L);
  pq = kP[rng.below(4)];
  pqr = kP[rng.below(4)];
  const uint64_t limit = 200000;
  for (int mode = 0; mode < 2 && !stopped; ++mode) {
    write(sim::reg::kCfg, cfg_base | (mode ? 2u : 0u));
    if (mode == 0)
      for (int i = 0; i < D; ++i) write(sim::reg::kQ + static_cast<uint32_t>(i), static_cast<uint32_t>(rng.next() & 0xffff));
    write(sim::reg::kCtrl, 1);  // start
    qon = true;
    // tokens in back-to-back passes of 1..6
    const int tokens = 6 + static_cast<int>(rng.below(24));
    side.clear();
    code.clear();
    last.clear();
    is = ic = om = 0;
    size_t expect_mo = 0;
    for (int t = 0, left = 0; t < tokens; ++t) {
      if (left == 0) left = 1 + static_cast<int>(rng.below(6));
      --left;
      const bool pass_end = left == 0 || t == tokens - 1;
      for (int b = 0; b < nblk; ++b) {
        uint16_t v = static_cast<uint16_t>(rng.next());
        if (mode == 0 && rng.below(8) != 0) v &= 0x7fff;  // mostly non-negative scales
        if (rng.below(16) == 0) v = 0;
        side.push_back(v);
      }
      for (int j = 0; j < beats_per_tok; ++j) {
        std::vector<uint32_t> w(static_cast<size_t>(W));
        for (auto& x : w) x = static_cast<uint32_t>(rng.next());
        code.push_back(std::move(w));
        last.push_back(pass_end && j == beats_per_tok - 1);
      }
      if (mode == 0) ++expect_mo;
      else if (pass_end) expect_mo += static_cast<size_t>(D);
      if (pass_end) left = 0;
    }
    pm = kP[rng.below(4)];
    pmr = kP[rng.below(4)];
    for (uint64_t c = 0; c < limit && !stopped; ++c) {
      const bool mac_done = is == side.size() && ic == code.size() && om >= expect_mo;
      if (mac_done && (mode == 0 || (iq == qbeats && oq >= qbeats))) break;
      const bool clear = rng.below(300) == 0;  // clear the counters now and then, mid-stream
      if (clear) d.set_reg(true, sim::reg::kCtrl, 2u);
      step();
      read_any();
    }
  }
  // idle: read every register below the query window, clear the counters, read them again
  for (int k = 0; k < 8 && !stopped; ++k) step();
  for (uint32_t a = 0; a < 0x30 && !stopped; ++a) {
    d.set_reg(false, a, 0);
    step();
  }
  write(sim::reg::kCtrl, 2);
  for (uint32_t a = 8; a < 13 && !stopped; ++a) {
    d.set_reg(false, a, 0);
    step();
  }
  return cycles;
}

}  // namespace nqkv::test
