// bench_systemc: simulated clock cycles per second of wall time of the cycle model of
// nq_accel_top (models/systemc) and of the Verilated C++ model of the RTL, on the same stimulus
// with the same random back-pressure, in the same process, at LANES 4, 16 and 64, for three passes
// (quantize, score, value; bench/systemc/speed_stim.hpp). Rows, named <driver>/<pass>/L<lanes>/<dut>:
//   pins    the light driver (precomputed beats and back-pressure pattern) through sim::Dut, the
//           interface the harness and the lock-step use: model = ModelDut, rtl = the RTL's Dut
//           adapter (sim/rtl/dut_models.cpp)
//   raw     the same driver on the models' ports directly (AccelModel::in / the Verilated
//           top's ports, beats as precomputed bus words): the simulation engines alone
//   harness the verification harness (sim::Harness::quantize / score / value, its own seeded
//           random gaps and ready, bit-by-bit beat packing, protocol monitors); replay = a Dut
//           that replays the model's recorded outputs, i.e. the harness's own time
// Counters: cycles_per_s (rate over wall time), cycles (per run); the model rows add x_rtl, the
// speed-up over the rtl row of the same driver, pass and LANES measured just before in this
// process (absent when the RTL row did not run). Every run's output checksum must equal the
// first one of its pass and LANES (the two models are cycle-exact), else the row errors out.
// An RTL LANES that was not verilated (NQKV_SIM_LANES) is reported as skipped.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "bench/systemc/measure.hpp"
#include "bench/systemc/speed_stim.hpp"
#include "golden/codebook.hpp"
#include "models/systemc/model_dut.hpp"
#include "sim/common/harness.hpp"
#ifdef NQKV_HAVE_RTL
#include "bench_rtl_models.hpp"  // generated: includes Vnq_l<N>.h, NQKV_BENCH_RTL(X) lists the LANES
#include "sim/rtl/rtl_dut.hpp"
#include "verilated.h"
#include "sim/rtl/vl_ports.hpp"
#endif
// after verilated.h: with <systemc> included first, Verilator's headers assume a SystemC build
#ifdef NQKV_HAVE_SC_KERNEL
#include "models/systemc/tlm_accel.hpp"
#endif

namespace nqkv::bench {
namespace {

constexpr uint64_t kPatternSeed = 1234;
constexpr double kPValid = 0.75, kPReady = 0.7;

const Pattern& pattern() {
  static const Pattern p = make_pattern(kPatternSeed, kPValid, kPReady);
  return p;
}
const Stim& stim(int lanes, Pass pass) {
  static std::map<std::pair<int, int>, Stim> cache;
  auto it = cache.find({lanes, static_cast<int>(pass)});
  if (it == cache.end()) it = cache.emplace(std::make_pair(lanes, static_cast<int>(pass)), make_stim(lanes, pass)).first;
  return it->second;
}

bool rtl_built(int lanes) {
#ifdef NQKV_HAVE_RTL
  for (int l : accel::sim_lanes())
    if (l == lanes) return true;
#endif
  (void)lanes;
  return false;
}

// ------------------------------------------------------------------ raw pin adapters
class ModelRaw {
 public:
  ModelRaw(sysc::AccelModel& m, const Stim& s) : m_(m), s_(s) {}
  void set(bool qv, size_t qb, bool sv, uint16_t side, bool cv, size_t cb, bool clast, bool rq, bool rm) {
    auto& in = m_.in;
    in.qi_valid = qv;
    if (qv) std::memcpy(in.qi_data.data(), &s_.qi[qb * static_cast<size_t>(s_.lanes)], 2 * static_cast<size_t>(s_.lanes));
    in.ms_valid = sv;
    in.ms_data = side;
    in.mc_valid = cv;
    if (cv) std::memcpy(in.mc_data.data(), &s_.mc_w[cb * static_cast<size_t>(s_.cwords)], 4 * static_cast<size_t>(s_.cwords));
    in.mc_last = clast;
    in.qo_ready = rq;
    in.mo_ready = rm;
  }
  void low() {}
  void high() { m_.clock(); }
  bool qi_ready() const { return m_.qi_ready(); }
  bool ms_ready() const { return m_.ms_ready(); }
  bool mc_ready() const { return m_.mc_ready(); }
  bool qo_valid() const { return m_.qo_valid(); }
  bool mo_valid() const { return m_.mo_valid(); }
  void qo_hash(uint64_t& h) {
    const auto& oc = m_.qo_codes();
    for (int w = 0; w < s_.cwords; ++w) mix(h, static_cast<uint32_t>(oc[static_cast<size_t>(w / 2)] >> (32 * (w % 2))));
    mix(h, m_.qo_scale() | (static_cast<uint64_t>(m_.qo_status()) << 16) | (static_cast<uint64_t>(m_.qo_last()) << 20));
  }
  void mo_hash(uint64_t& h) {
    mix(h, m_.mo_data());
    mix(h, static_cast<uint64_t>(static_cast<uint32_t>(m_.mo_x())) | (static_cast<uint64_t>(m_.mo_last()) << 32));
  }

 private:
  sysc::AccelModel& m_;
  const Stim& s_;
};

#ifdef NQKV_HAVE_RTL
template <class P>
void hash_port(uint64_t& h, const P& port, int words) {
  uint32_t w[32];
  sim::get_words(port, w, 32 * words);
  for (int i = 0; i < words; ++i) mix(h, w[i]);
}

// The Verilated top driven on its ports (no Dut adapter); it also implements sim::Dut for the
// set-up (register writes), which is not timed.
template <class V>
class RtlRaw final : public sim::Dut {
 public:
  RtlRaw(int lanes, const Stim& s) : s_(s) {
    ctx_ = std::make_unique<VerilatedContext>();
    const char* argv[] = {"bench", "+verilator+rand+reset+0"};
    ctx_->commandArgs(2, argv);
    top_ = std::make_unique<V>(ctx_.get(), "top");
    p_.lanes = lanes;
  }
  ~RtlRaw() override { top_->final(); }
  // pin adapter
  void set(bool qv, size_t qb, bool sv, uint16_t side, bool cv, size_t cb, bool clast, bool rq, bool rm) {
    top_->qi_valid = qv;
    if (qv) sim::put_words(top_->qi_data, &s_.qi_w[qb * static_cast<size_t>(s_.qwords)], 32 * s_.qwords);
    top_->ms_valid = sv;
    top_->ms_data = side;
    top_->mc_valid = cv;
    if (cv) sim::put_words(top_->mc_data, &s_.mc_w[cb * static_cast<size_t>(s_.cwords)], 32 * s_.cwords);
    top_->mc_last = clast;
    top_->qo_ready = rq;
    top_->mo_ready = rm;
  }
  void low() {
    top_->clk = 0;
    top_->eval();
  }
  void high() {
    top_->clk = 1;
    top_->eval();
  }
  void qo_hash(uint64_t& h) {
    hash_port(h, top_->qo_codes, s_.cwords);
    mix(h, top_->qo_scale | (static_cast<uint64_t>(top_->qo_status) << 16) | (static_cast<uint64_t>(top_->qo_last) << 20));
  }
  void mo_hash(uint64_t& h) {
    mix(h, top_->mo_data);
    const int raw = top_->mo_x & 0x3ff;
    const int x = raw >= 512 ? raw - 1024 : raw;
    mix(h, static_cast<uint64_t>(static_cast<uint32_t>(x)) | (static_cast<uint64_t>(top_->mo_last) << 32));
  }
  // sim::Dut (set-up only)
  const sim::DutParams& params() const override { return p_; }
  void eval() override { top_->eval(); }
  void set_clk(bool v) override { top_->clk = v; }
  void set_rst_n(bool v) override { top_->rst_n = v; }
  void set_reg(bool we, uint32_t addr, uint32_t wdata) override {
    top_->reg_we = we;
    top_->reg_addr = addr;
    top_->reg_wdata = wdata;
  }
  uint32_t reg_rdata() const override { return top_->reg_rdata; }
  void set_qi(bool valid, const uint16_t*) override { top_->qi_valid = valid; }
  bool qi_ready() const override { return top_->qi_ready; }
  void set_qo_ready(bool r) override { top_->qo_ready = r; }
  bool qo_valid() const override { return top_->qo_valid; }
  void qo(std::vector<uint32_t>&, uint16_t&, int&, bool&) const override {}
  void set_ms(bool valid, uint16_t) override { top_->ms_valid = valid; }
  bool ms_ready() const override { return top_->ms_ready; }
  void set_mc(bool valid, const std::vector<uint32_t>&, bool) override { top_->mc_valid = valid; }
  bool mc_ready() const override { return top_->mc_ready; }
  void set_mo_ready(bool r) override { top_->mo_ready = r; }
  bool mo_valid() const override { return top_->mo_valid; }
  void mo(uint64_t&, int&, bool&) const override {}
  void trace_open(const std::string&) override {}
  void trace_dump(uint64_t) override {}
  void trace_close() override {}

 private:
  const Stim& s_;
  sim::DutParams p_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> top_;
};
#endif

// ------------------------------------------------------------------ replay Dut (harness alone)
// Records every evaluation's outputs of a real Dut, then replays them: a harness driving the
// replay takes exactly the same path (same handshakes, same outputs) with no model behind it.
struct Snap {
  bool qi_r, ms_r, mc_r, qo_v, mo_v, qo_last, mo_last;
  uint32_t rdata;
  uint16_t qo_scale;
  int qo_status, mo_x;
  uint64_t mo_data;
  std::array<uint32_t, 8> codes;
};
class RecordingDut final : public sim::Dut {
 public:
  RecordingDut(std::unique_ptr<sim::Dut> d, std::vector<Snap>& out) : d_(std::move(d)), out_(out) {}
  const sim::DutParams& params() const override { return d_->params(); }
  void eval() override {
    d_->eval();
    Snap s{};
    s.qi_r = d_->qi_ready();
    s.ms_r = d_->ms_ready();
    s.mc_r = d_->mc_ready();
    s.qo_v = d_->qo_valid();
    s.mo_v = d_->mo_valid();
    s.rdata = d_->reg_rdata();
    d_->qo(codes_, s.qo_scale, s.qo_status, s.qo_last);
    std::copy(codes_.begin(), codes_.end(), s.codes.begin());
    d_->mo(s.mo_data, s.mo_x, s.mo_last);
    out_.push_back(s);
  }
  void set_clk(bool v) override { d_->set_clk(v); }
  void set_rst_n(bool v) override { d_->set_rst_n(v); }
  void set_reg(bool we, uint32_t a, uint32_t w) override { d_->set_reg(we, a, w); }
  uint32_t reg_rdata() const override { return d_->reg_rdata(); }
  void set_qi(bool v, const uint16_t* e) override { d_->set_qi(v, e); }
  bool qi_ready() const override { return d_->qi_ready(); }
  void set_qo_ready(bool r) override { d_->set_qo_ready(r); }
  bool qo_valid() const override { return d_->qo_valid(); }
  void qo(std::vector<uint32_t>& c, uint16_t& s, int& st, bool& l) const override { d_->qo(c, s, st, l); }
  void set_ms(bool v, uint16_t d) override { d_->set_ms(v, d); }
  bool ms_ready() const override { return d_->ms_ready(); }
  void set_mc(bool v, const std::vector<uint32_t>& c, bool l) override { d_->set_mc(v, c, l); }
  bool mc_ready() const override { return d_->mc_ready(); }
  void set_mo_ready(bool r) override { d_->set_mo_ready(r); }
  bool mo_valid() const override { return d_->mo_valid(); }
  void mo(uint64_t& d, int& x, bool& l) const override { d_->mo(d, x, l); }
  void trace_open(const std::string&) override {}
  void trace_dump(uint64_t) override {}
  void trace_close() override {}

 private:
  std::unique_ptr<sim::Dut> d_;
  std::vector<Snap>& out_;
  std::vector<uint32_t> codes_;
};
class ReplayDut final : public sim::Dut {
 public:
  ReplayDut(const sim::DutParams& p, const std::vector<Snap>& in) : p_(p), in_(in), words_((p.lanes * p.bits_max + 31) / 32) {}
  const sim::DutParams& params() const override { return p_; }
  void eval() override { cur_ = &in_[std::min(i_++, in_.size() - 1)]; }
  void set_clk(bool) override {}
  void set_rst_n(bool) override {}
  void set_reg(bool, uint32_t, uint32_t) override {}
  uint32_t reg_rdata() const override { return cur_->rdata; }
  void set_qi(bool, const uint16_t*) override {}
  bool qi_ready() const override { return cur_->qi_r; }
  void set_qo_ready(bool) override {}
  bool qo_valid() const override { return cur_->qo_v; }
  void qo(std::vector<uint32_t>& c, uint16_t& s, int& st, bool& l) const override {
    c.assign(cur_->codes.begin(), cur_->codes.begin() + words_);
    s = cur_->qo_scale;
    st = cur_->qo_status;
    l = cur_->qo_last;
  }
  void set_ms(bool, uint16_t) override {}
  bool ms_ready() const override { return cur_->ms_r; }
  void set_mc(bool, const std::vector<uint32_t>&, bool) override {}
  bool mc_ready() const override { return cur_->mc_r; }
  void set_mo_ready(bool) override {}
  bool mo_valid() const override { return cur_->mo_v; }
  void mo(uint64_t& d, int& x, bool& l) const override {
    d = cur_->mo_data;
    x = cur_->mo_x;
    l = cur_->mo_last;
  }
  void trace_open(const std::string&) override {}
  void trace_dump(uint64_t) override {}
  void trace_close() override {}

 private:
  sim::DutParams p_;
  const std::vector<Snap>& in_;
  int words_;
  size_t i_ = 0;
  const Snap* cur_ = nullptr;
};

// One drive of the Verilated C++ top of `lanes` on its ports (set-up untimed): {outcome, seconds}.
std::pair<Outcome, double> drive_rtl_raw(benchmark::State& st, int lanes, const Stim& s, const Pattern& p) {
  Outcome o;
  double t = 0;
#ifdef NQKV_HAVE_RTL
#define NQKV_BENCH_RAW(L)         \
  if (lanes == L) {               \
    st.PauseTiming();             \
    RtlRaw<Vnq_l##L> d(L, s);     \
    setup(d, s);                  \
    st.ResumeTiming();            \
    const auto t0 = Clock::now(); \
    o = drive(d, s, p);           \
    t = since(t0);                \
  }
  NQKV_BENCH_RTL(NQKV_BENCH_RAW)
#undef NQKV_BENCH_RAW
#else
  (void)st, (void)lanes, (void)s, (void)p;
#endif
  return {o, t};
}

// ------------------------------------------------------------------ the rows
std::unique_ptr<sim::Dut> make_dut(bool rtl, int lanes) {
#ifdef NQKV_HAVE_RTL
  if (rtl) return sim::make_rtl_dut(lanes, 0, 1);
#endif
  (void)rtl;
  return sysc::make_model_dut(lanes, 0, 1);
}

void BM_Pins(benchmark::State& state, int lanes, Pass pass, bool rtl) {
  if (rtl && !rtl_built(lanes)) return state.SkipWithError("no verilated model with this LANES (NQKV_SIM_LANES)");
  const Stim& s = stim(lanes, pass);
  measure(state, std::string("pins/") + pass_name(pass) + "/" + std::to_string(lanes),
          std::string("light/") + pass_name(pass) + "/" + std::to_string(lanes), rtl ? 1 : 0, [&](benchmark::State& st) {
    st.PauseTiming();
    auto d = make_dut(rtl, lanes);
    setup(*d, s);
    DutPins a(*d, s);
    st.ResumeTiming();
    const auto t0 = Clock::now();
    const Outcome o = drive(a, s, pattern());
    return std::make_tuple(o.cycles, o.checksum, since(t0));
  });
}

void BM_Raw(benchmark::State& state, int lanes, Pass pass, bool rtl) {
  if (rtl && !rtl_built(lanes)) return state.SkipWithError("no verilated model with this LANES (NQKV_SIM_LANES)");
  const Stim& s = stim(lanes, pass);
  measure(state, std::string("raw/") + pass_name(pass) + "/" + std::to_string(lanes),
          std::string("light/") + pass_name(pass) + "/" + std::to_string(lanes), rtl ? 1 : 0, [&](benchmark::State& st) {
    Outcome o;
    double t = 0;
    if (!rtl) {
      st.PauseTiming();
      sysc::ModelDut d(accel::AccelConfig::sim(lanes), 0, 1);
      setup(d, s);
      ModelRaw a(d.model(), s);
      st.ResumeTiming();
      const auto t0 = Clock::now();
      o = drive(a, s, pattern());
      t = since(t0);
    }
    if (rtl) std::tie(o, t) = drive_rtl_raw(st, lanes, s, pattern());
    return std::make_tuple(o.cycles, o.checksum, t);
  });
}

// The harness's pass on a fresh harness (set-up untimed). kind: 0 model, 1 rtl, 2 replay.
struct HarnessRun {
  uint64_t cycles = 0, checksum = 0;
  double seconds = 0;  // the pass alone
};
HarnessRun harness_pass(sim::Harness& h, const Stim& s, benchmark::State* st) {
  sim::RunStats rs;
  HarnessRun r;
  if (st) st->PauseTiming();
  h.load_codebook(golden::codebook_by_name("nf4"));
  h.configure(golden::ElemType::F16, 4, 64, 2, s.pass == Pass::kValue ? 1 : 0);
  if (s.pass == Pass::kQuantize) {
    const int64_t cols = 1024, rows = static_cast<int64_t>(s.qi.size()) / cols;
    if (st) st->ResumeTiming();
    const auto t0 = Clock::now();
    const auto out = h.quantize(s.qi, rows, cols, &rs);
    r.seconds = since(t0);
    for (uint8_t b : out.codes) mix(r.checksum, b);
    for (uint16_t v : out.scales) mix(r.checksum, v);
  } else {
    const int64_t T = static_cast<int64_t>(s.ms.size()) / 2;
    std::vector<uint8_t> packed(static_cast<size_t>(T) * 64);
    golden::SplitMix64 rng(7);
    for (auto& b : packed) b = static_cast<uint8_t>(rng.next());
    if (s.pass == Pass::kScore) {
      for (size_t i = 0; i < s.q.size(); ++i) h.write_reg(accel::reg::kQ + static_cast<uint32_t>(i), static_cast<uint16_t>(s.q[i]));
      if (st) st->ResumeTiming();
      const auto t0 = Clock::now();
      const auto out = h.score(s.q, s.ms, packed, T, &rs);
      r.seconds = since(t0);
      for (const auto& v : out) mix(r.checksum, static_cast<uint64_t>(v.first) ^ (static_cast<uint64_t>(v.second) << 48));
    } else {
      if (st) st->ResumeTiming();
      const auto t0 = Clock::now();
      const auto out = h.value(s.ms, packed, T, &rs);
      r.seconds = since(t0);
      for (int64_t v : out) mix(r.checksum, static_cast<uint64_t>(v));
    }
  }
  r.cycles = rs.cycles;
  return r;
}

void BM_Harness(benchmark::State& state, int lanes, Pass pass, int kind) {
  if (kind == 1 && !rtl_built(lanes)) return state.SkipWithError("no verilated model with this LANES (NQKV_SIM_LANES)");
  const Stim& s = stim(lanes, pass);
  sim::HarnessOptions ho;
  ho.seed = kPatternSeed;
  ho.p_valid = kPValid;
  ho.p_ready = kPReady;
  ho.rand_reset = 0;
  // replay: record the model's evaluations once (same harness seed, so the same path)
  std::vector<Snap> rec;
  if (kind == 2) {
    sim::Harness h(std::make_unique<RecordingDut>(make_dut(false, lanes), rec), ho);
    harness_pass(h, s, nullptr);
  }
  const std::string key = std::string("harness/") + pass_name(pass) + "/" + std::to_string(lanes);
  measure(state, key, key, kind == 1 ? 1 : kind == 0 ? 0 : 2,
          [&](benchmark::State& st) {
            st.PauseTiming();
            std::unique_ptr<sim::Dut> d;
            if (kind == 2) d = std::make_unique<ReplayDut>(make_dut(false, lanes)->params(), rec);
            else d = make_dut(kind == 1, lanes);
            sim::Harness h(std::move(d), ho);
            st.ResumeTiming();
            const HarnessRun r = harness_pass(h, s, &st);  // pauses around its own set-up
            if (!h.errors().empty()) st.SkipWithError(("harness: " + h.errors().substr(0, 200)).c_str());
            return std::make_tuple(r.cycles, r.checksum, r.seconds);
          });
}


// ------------------------------------------------------------------ TLM job level (issue 16 item 4, row 3)
// tlm/<pass>/L<lanes>/{rtl,data,timing}: the same pass without back-pressure (every valid and ready
// high) on the Verilated C++ RTL driven on its ports (the raw driver: the fastest way to run the RTL
// here), then as one job on the TLM-2.0 target with data (TlmAccel::run_job: the core clocked with
// every valid and ready high) and timing-only (closed form). Rate = the pass's cycles / time; the
// job rows' cycles must equal the RTL row's (else the row errors out). Quantize and score passes
// (the value stimulus is several back-to-back passes, one TLM job each would not be the same run).
#ifdef NQKV_HAVE_SC_KERNEL
const Pattern& no_backpressure() {
  static const Pattern p = make_pattern(kPatternSeed, 1.0, 1.0, 1);
  return p;
}
std::map<std::string, uint64_t>& rtl_pass_cycles() {
  static std::map<std::string, uint64_t> m;
  return m;
}
sysc::JobExtension job_of(const Stim& s, bool timing_only) {
  sysc::JobExtension e;
  e.timing_only = timing_only;
  if (s.pass == Pass::kQuantize) {
    e.kind = sysc::JobKind::Quantize;
    e.cols = 1024;
    e.rows = static_cast<int64_t>(s.qi.size()) / e.cols;
    if (!timing_only) e.x = s.qi;
  } else {
    e.kind = sysc::JobKind::Score;
    e.tokens = static_cast<int64_t>(s.ms.size()) / 2;
    if (!timing_only) {
      e.side = s.ms;
      const size_t beat_bytes = static_cast<size_t>(s.lanes) * 4 / 8;
      for (const auto& w : s.mc)
        for (size_t b = 0; b < beat_bytes; ++b) e.codes.push_back(static_cast<uint8_t>(w[b / 4] >> (8 * (b % 4))));
    }
  }
  return e;
}

// kind: 0 rtl, 1 job with data, 2 timing-only job
void BM_Tlm(benchmark::State& state, int lanes, Pass pass, int kind) {
  if (kind == 0 && !rtl_built(lanes)) return state.SkipWithError("no verilated model with this LANES (NQKV_SIM_LANES)");
  const Stim& s = stim(lanes, pass);
  const std::string key = std::string("tlm/") + pass_name(pass) + "/" + std::to_string(lanes);
  std::unique_ptr<sysc::TlmAccel> t;
  if (kind != 0) t = sysc::make_tlm_accel(("tlm_" + std::to_string(lanes) + "_" + pass_name(pass) + std::to_string(kind)).c_str(), lanes);
  uint64_t job_cycles = 0;
  measure(state, key, key + "/" + std::to_string(kind), kind == 0 ? 1 : 0, [&](benchmark::State& st) {
    Outcome o;
    double secs = 0;
    if (kind == 0) {
      std::tie(o, secs) = drive_rtl_raw(st, lanes, s, no_backpressure());
      rtl_pass_cycles()[key] = o.cycles;
      return std::make_tuple(o.cycles, o.checksum, secs);
    }
    st.PauseTiming();
    program([&t](uint32_t a, uint32_t v) { t->write_register(a, v); }, s);
    sysc::JobExtension e = job_of(s, kind == 2);
    st.ResumeTiming();
    const auto t0 = Clock::now();
    const bool ok = t->run_job(e);
    secs = since(t0);
    if (!ok) st.SkipWithError(("job failed: " + e.error).c_str());
    job_cycles = e.cycles;
    return std::make_tuple(e.cycles, static_cast<uint64_t>(e.cycles), secs);
  });
  auto it = rtl_pass_cycles().find(key);
  if (kind != 0 && it != rtl_pass_cycles().end() && it->second != job_cycles)
    state.SkipWithError(("job cycles " + std::to_string(job_cycles) + " differ from the RTL's " + std::to_string(it->second)).c_str());
}
#endif

void register_all() {
  for (int lanes : {4, 16, 64})
    for (Pass pass : {Pass::kQuantize, Pass::kScore, Pass::kValue}) {
      const std::string tail = std::string(pass_name(pass)) + "/L" + std::to_string(lanes);
      // rtl first: the model row's x_rtl uses the rtl row measured just before
      benchmark::RegisterBenchmark(("pins/" + tail + "/rtl").c_str(), BM_Pins, lanes, pass, true)->UseManualTime()->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("pins/" + tail + "/model").c_str(), BM_Pins, lanes, pass, false)->UseManualTime()->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("raw/" + tail + "/rtl").c_str(), BM_Raw, lanes, pass, true)->UseManualTime()->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("raw/" + tail + "/model").c_str(), BM_Raw, lanes, pass, false)->UseManualTime()->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("harness/" + tail + "/rtl").c_str(), BM_Harness, lanes, pass, 1)->UseManualTime()->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("harness/" + tail + "/model").c_str(), BM_Harness, lanes, pass, 0)->UseManualTime()->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("harness/" + tail + "/replay").c_str(), BM_Harness, lanes, pass, 2)->UseManualTime()->Unit(benchmark::kMillisecond);
#ifdef NQKV_HAVE_SC_KERNEL
      if (pass != Pass::kValue) {
        benchmark::RegisterBenchmark(("tlm/" + tail + "/rtl").c_str(), BM_Tlm, lanes, pass, 0)->UseManualTime()->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("tlm/" + tail + "/data").c_str(), BM_Tlm, lanes, pass, 1)->UseManualTime()->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("tlm/" + tail + "/timing").c_str(), BM_Tlm, lanes, pass, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);
      }
#endif
    }
}

}  // namespace
}  // namespace nqkv::bench

int main(int argc, char** argv) {
  nqkv::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
