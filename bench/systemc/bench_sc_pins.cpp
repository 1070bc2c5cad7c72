// bench_sc_pins: simulated clock cycles per second of wall time of the pin-level SystemC model
// ScAccelTop<LANES> (models/systemc/sc_accel_top.hpp) and of the verilated SystemC RTL
// Vnq_sc_l<LANES> (verilator --sc, library nqkv_rtl_sc), both under the SystemC kernel, on the
// stimulus and back-pressure pattern of bench_systemc (speed_stim.hpp), at every LANES of
// NQKV_SC_RTL_LANES. Issue 16 item 4, second row: target 3x.
//
// One elaboration holds, per LANES, two rigs: the model and the RTL, each with its own signals and
// its own testbench thread, which drives the module's pins like a virtual platform's bus model
// would: it writes the inputs (bus values precomputed per beat, as sc_bv where the port is one)
// and lowers the clock; half a period later it samples the handshakes and raises the clock; half a
// period later the next cycle. The measured drive is an SC_METHOD re-triggered every half period
// (next_trigger: no thread switch per cycle, the lightest testbench the kernel allows, so the
// comparison measures the modules more than the testbench). There is no sc_clock: only the rig
// being measured has events, so the idle rigs cost nothing. Set-up (reset, codebook and configuration registers through the same pins)
// is excluded from the rate, which is over the process's CPU time of the drive (manual time: one OS
// thread runs the kernel, testbench and module, so a loaded machine does not skew it). Rows are named sc/<pass>/L<lanes>/<rtl|model>; counters as in
// bench_systemc (cycles_per_s, cycles, and x_rtl on model rows); every run's output checksum must
// equal the first one of its pass and LANES (same pins, same outputs on the same cycles), else the
// row errors out. libsystemc's main() calls sc_main below, which runs Google Benchmark.
#include <systemc.h>

#include "verilated.h"

#include <benchmark/benchmark.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "bench/systemc/measure.hpp"
#include "bench/systemc/speed_stim.hpp"
#include "models/systemc/sc_accel_top.hpp"
#include "sc_rtl_models.hpp"  // generated: Vnq_sc_l<N>.h, NQKV_SC_RTL_MODELS(X) lists the LANES, sysc::ScRtlOf

namespace nqkv::bench {
namespace {

constexpr uint64_t kPatternSeed = 1234;
constexpr double kPValid = 0.75, kPReady = 0.7;
const sc_core::sc_time kHalf(500, sc_core::SC_PS);

const Pattern& pattern() {
  static const Pattern p = make_pattern(kPatternSeed, kPValid, kPReady);
  return p;
}

inline int sext10(uint32_t v) { return static_cast<int>(v << 22) >> 22; }

// The rig of one module: its signals, the module, the testbench thread, and a sim::Dut view of the
// signals for the set-up (speed_stim.hpp setup()); inside the thread, eval() is half a clock period.
template <int L, class Top>
class Rig final : public sc_core::sc_module {
 public:
  using qi_t = typename sysc::ScAccelTop<L>::qi_t;
  using codes_t = typename sysc::ScAccelTop<L>::codes_t;
  static constexpr int kQiWords = sysc::ScAccelTop<L>::kQiWords, kCodeWords = sysc::ScAccelTop<L>::kCodeWords;

  // Inputs: written by the set-up thread, then by the drive method (two processes, one at a time).
  template <class T>
  using in_sig = sc_core::sc_signal<T, sc_core::SC_UNCHECKED_WRITERS>;
  in_sig<bool> clk, rst_n, reg_we, qi_valid, qo_ready, ms_valid, mc_valid, mc_last, mo_ready;
  in_sig<uint32_t> reg_addr, ms_data, reg_wdata;
  in_sig<codes_t> mc_data;
  in_sig<qi_t> qi_data;
  // Outputs: written by the module's process.
  sc_core::sc_signal<bool> qi_ready, qo_valid, qo_last, ms_ready, mc_ready, mo_valid, mo_last;
  sc_core::sc_signal<uint32_t> qo_status, qo_scale, mo_x, reg_rdata;
  sc_core::sc_signal<codes_t> qo_codes;
  sc_core::sc_signal<uint64_t> mo_data;

  sc_core::sc_event go;
  const Stim* stim = nullptr;
  std::vector<qi_t> qi_bus;     // the qi_data value of every quantizer beat
  std::vector<codes_t> mc_bus;  // the mc_data value of every code beat
  Outcome out;
  double secs = 0;

  SC_HAS_PROCESS(Rig);
  template <class Make>
  Rig(const sc_core::sc_module_name& name, Make&& make) : sc_core::sc_module(name), view_(*this) {
    top_ = make();
    Top& t = *top_;
    t.clk(clk), t.rst_n(rst_n), t.reg_we(reg_we), t.qi_valid(qi_valid), t.qi_ready(qi_ready), t.qo_valid(qo_valid);
    t.qo_ready(qo_ready), t.qo_status(qo_status), t.qo_last(qo_last), t.ms_valid(ms_valid), t.ms_ready(ms_ready);
    t.mc_valid(mc_valid), t.mc_ready(mc_ready), t.mc_last(mc_last), t.mo_valid(mo_valid), t.mo_ready(mo_ready);
    t.mo_last(mo_last), t.reg_addr(reg_addr), t.qo_codes(qo_codes), t.qo_scale(qo_scale), t.ms_data(ms_data);
    t.mc_data(mc_data), t.mo_x(mo_x), t.reg_wdata(reg_wdata), t.reg_rdata(reg_rdata), t.qi_data(qi_data);
    t.mo_data(mo_data);
    SC_THREAD(setup_thread);
    SC_METHOD(step);
    sensitive << step_ev_;
    dont_initialize();
  }

  // Prepares the bus values of `s` (before the row's timing).
  void load(const Stim& s) {
    stim = &s;
    qi_bus.assign(s.qi_beats, qi_t{});
    for (size_t b = 0; b < s.qi_beats; ++b)
      sysc::words_to_bus(&s.qi_w[b * static_cast<size_t>(s.qwords)], s.qwords, qi_bus[b]);
    mc_bus.assign(s.mc_last.size(), codes_t{});
    for (size_t b = 0; b < s.mc_last.size(); ++b)
      sysc::words_to_bus(&s.mc_w[b * static_cast<size_t>(s.cwords)], s.cwords, mc_bus[b]);
  }

  // ---- the pin adapter of speed_stim.hpp drive()
  void set(bool qv, size_t qb, bool sv, uint16_t side, bool cv, size_t cb, bool clast, bool rq, bool rm) {
    qi_valid.write(qv);
    if (qv) qi_data.write(qi_bus[qb]);
    ms_valid.write(sv);
    if (sv) ms_data.write(side);
    mc_valid.write(cv);
    if (cv) mc_data.write(mc_bus[cb]);
    mc_last.write(clast);
    qo_ready.write(rq);
    mo_ready.write(rm);
  }
  void qo_hash(uint64_t& h) {
    uint32_t w[kCodeWords];
    sysc::bus_to_words(qo_codes.read(), w, kCodeWords);
    for (uint32_t x : w) mix(h, x);
    mix(h, qo_scale.read() | (static_cast<uint64_t>(qo_status.read()) << 16) |
               (static_cast<uint64_t>(qo_last.read()) << 20));
  }
  void mo_hash(uint64_t& h) {
    mix(h, mo_data.read());
    mix(h, static_cast<uint64_t>(static_cast<uint32_t>(sext10(mo_x.read()))) |
               (static_cast<uint64_t>(mo_last.read()) << 32));
  }

 private:
  // sim::Dut over the rig's signals: what setup() needs (reset, register writes, idle streams).
  class View final : public sim::Dut {
   public:
    explicit View(Rig& r) : r_(r) { p_.lanes = L; }
    const sim::DutParams& params() const override { return p_; }
    void eval() override { sc_core::wait(kHalf); }
    void set_clk(bool v) override { r_.clk.write(v); }
    void set_rst_n(bool v) override { r_.rst_n.write(v); }
    void set_reg(bool we, uint32_t addr, uint32_t wdata) override {
      r_.reg_we.write(we);
      r_.reg_addr.write(addr & 0xfffu);
      r_.reg_wdata.write(wdata);
    }
    uint32_t reg_rdata() const override { return r_.reg_rdata.read(); }
    void set_qi(bool valid, const uint16_t*) override { r_.qi_valid.write(valid); }
    bool qi_ready() const override { return r_.qi_ready.read(); }
    void set_qo_ready(bool v) override { r_.qo_ready.write(v); }
    bool qo_valid() const override { return r_.qo_valid.read(); }
    void qo(std::vector<uint32_t>&, uint16_t&, int&, bool&) const override {}
    void set_ms(bool valid, uint16_t) override { r_.ms_valid.write(valid); }
    bool ms_ready() const override { return r_.ms_ready.read(); }
    void set_mc(bool valid, const std::vector<uint32_t>&, bool last) override {
      r_.mc_valid.write(valid);
      r_.mc_last.write(last);
    }
    bool mc_ready() const override { return r_.mc_ready.read(); }
    void set_mo_ready(bool v) override { r_.mo_ready.write(v); }
    bool mo_valid() const override { return r_.mo_valid.read(); }
    void mo(uint64_t&, int&, bool&) const override {}
    void trace_open(const std::string&) override {}
    void trace_dump(uint64_t) override {}
    void trace_close() override {}

   private:
    Rig& r_;
    sim::DutParams p_;
  };

  // The adapter drive() sees: the rig, with the readies and valids under the names drive() uses.
  struct Pins {
    Rig& r;
    void set(bool qv, size_t qb, bool sv, uint16_t side, bool cv, size_t cb, bool clast, bool rq, bool rm) {
      r.set(qv, qb, sv, side, cv, cb, clast, rq, rm);
    }
    void low() { r.clk.write(false); }
    void high() { r.clk.write(true); }
    bool qi_ready() const { return r.qi_ready.read(); }
    bool ms_ready() const { return r.ms_ready.read(); }
    bool mc_ready() const { return r.mc_ready.read(); }
    bool qo_valid() const { return r.qo_valid.read(); }
    bool mo_valid() const { return r.mo_valid.read(); }
    void qo_hash(uint64_t& h) { r.qo_hash(h); }
    void mo_hash(uint64_t& h) { r.mo_hash(h); }
  };

  // The set-up through the sim::Dut view (a thread: it waits half periods), then the method.
  void setup_thread() {
    for (;;) {
      sc_core::wait(go);
      setup(view_, *stim);
      driver_ = std::make_unique<Driver>(*stim, pattern());
      low_phase_ = false;
      t0_ = Clock::now();
      step_ev_.notify(sc_core::SC_ZERO_TIME);
    }
  }
  // The measured drive: one activation per half period, no thread switch.
  void step() {
    Pins pins{*this};
    if (low_phase_) {  // the low phase has settled: sample, rising edge
      driver_->end(pins);
      low_phase_ = false;
      next_trigger(kHalf);
      return;
    }
    if (driver_->done()) {
      secs = since(t0_);
      out = driver_->outcome();
      next_trigger(step_ev_);
      return;
    }
    driver_->begin(pins);  // inputs, clock low
    low_phase_ = true;
    next_trigger(kHalf);
  }

  std::unique_ptr<Top> top_;
  View view_;
  sc_core::sc_event step_ev_;
  std::unique_ptr<Driver> driver_;
  bool low_phase_ = false;
  Clock::time_point t0_;
};

// Both rigs of one LANES.
template <int L>
struct Pair {
  using Model = sysc::ScAccelTop<L>;
  Rig<L, Model> model;
  Rig<L, typename sysc::ScRtlOf<L>::type> rtl;
  Pair()
      : model(("model_l" + std::to_string(L)).c_str(),
              [] { return std::make_unique<Model>("top", Model::sim_config()); }),
        rtl(("rtl_l" + std::to_string(L)).c_str(), [] { return std::make_unique<typename sysc::ScRtlOf<L>::type>("top"); }) {}
};

template <int L, class R>
void run_row(benchmark::State& state, R& rig, Pass pass, bool is_rtl) {
  const Stim& s = [&]() -> const Stim& {
    static std::vector<std::unique_ptr<Stim>> keep;
    keep.push_back(std::make_unique<Stim>(make_stim(L, pass)));
    return *keep.back();
  }();
  rig.load(s);
  const std::string tail = std::string(pass_name(pass)) + "/L" + std::to_string(L);
  measure(state, "sc/" + tail, tail, is_rtl ? 1 : 0, [&](benchmark::State&) {
    rig.go.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();  // until the thread is back at wait(go): no events left
    return std::make_tuple(rig.out.cycles, rig.out.checksum, rig.secs);
  });
}

template <int L>
void register_lanes(Pair<L>& p) {
  for (Pass pass : {Pass::kQuantize, Pass::kScore, Pass::kValue}) {
    const std::string tail = std::string(pass_name(pass)) + "/L" + std::to_string(L);
    benchmark::RegisterBenchmark(("sc/" + tail + "/rtl").c_str(),
                                 [&p, pass](benchmark::State& st) { run_row<L>(st, p.rtl, pass, true); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("sc/" + tail + "/model").c_str(),
                                 [&p, pass](benchmark::State& st) { run_row<L>(st, p.model, pass, false); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace
}  // namespace nqkv::bench

int sc_main(int argc, char** argv) {
  using namespace nqkv::bench;
  sc_core::sc_report_handler::set_actions(sc_core::SC_ID_NO_SC_START_ACTIVITY_, sc_core::SC_DO_NOTHING);
#define NQKV_PAIR(l)  \
  Pair<l> pair_##l;   \
  register_lanes<l>(pair_##l);
  NQKV_SC_RTL_MODELS(NQKV_PAIR)
#undef NQKV_PAIR
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  sc_core::sc_start(sc_core::SC_ZERO_TIME);  // end of elaboration; every rig waits for its go event
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
