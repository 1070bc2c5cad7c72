// SystemC-level lock-step: the pin-level model ScAccelTop<LANES> (models/systemc/sc_accel_top.hpp)
// and the verilated SystemC RTL Vnq_sc_l<LANES> (verilator --sc, models/systemc/sc_rtl_ref.hpp)
// side by side in ONE SystemC simulation, their inputs bound to the same signals, each with its own
// output signals. The testbench is the verification environment's harness and stimulus (sim::Dut:
// ScLockstepDut below writes the input signals and runs the kernel for every evaluation), so the
// runs have random valid gaps and ready, register writes and reads, quantize runs and score/value
// passes with random data checked against the golden library (tests/systemc/random_runs.hpp
// random_run), and overlapping back-to-back passes with concurrent quantizer traffic (stream_run).
// Compared:
//  - after every evaluation (clk low and after each rising edge), settled: every ready and valid,
//    every data output while its valid is high, reg_rdata unless it reads a THR/MAC word never
//    written since the start (the RTL does not reset them);
//  - in every delta cycle in which an output of either model changes (DeltaMonitor, the same
//    gating): the pin-level model must update its outputs in the same delta as the verilated one.
// The port types are checked at compile time against the verilated classes (static_assert), the
// port names and directions at elaboration. Zero mismatches required; the seed is in every message.
// A SystemC simulation cannot restart in one process: one simulation per test, ctest runs each
// test in its own process (gtest_discover_tests).
#include <systemc.h>

#include "verilated.h"

#include <gtest/gtest.h>

#include "one_simulation.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>

#include "io/error.hpp"
#include "models/systemc/sc_accel_top.hpp"
#include "models/systemc/sc_rtl_ref.hpp"
#include "random_runs.hpp"
#include "sc_rtl_models.hpp"

namespace nqkv {
namespace {

using sysc::ScAccelTop;

template <int L>
using RtlOf = sysc::ScRtlOf<L>;  // generated in sc_rtl_models.hpp

// ---- port types: exactly the verilated module's (compile time)
template <class R, class M>
constexpr bool same_port() {
  return std::is_same_v<std::remove_reference_t<R>, M>;
}
template <int L>
constexpr bool port_types_match() {
  using R = typename RtlOf<L>::type;
  using M = ScAccelTop<L>;
#define P(n) same_port<decltype(R::n), decltype(M::n)>()
  return P(clk) && P(rst_n) && P(reg_we) && P(qi_valid) && P(qi_ready) && P(qo_valid) && P(qo_ready) && P(qo_status) &&
         P(qo_last) && P(ms_valid) && P(ms_ready) && P(mc_valid) && P(mc_ready) && P(mc_last) && P(mo_valid) &&
         P(mo_ready) && P(mo_last) && P(reg_addr) && P(qo_codes) && P(qo_scale) && P(ms_data) && P(mc_data) && P(mo_x) &&
         P(reg_wdata) && P(reg_rdata) && P(qi_data) && P(mo_data);
#undef P
}
#define NQKV_CHECK_TYPES(l) static_assert(port_types_match<l>(), "ScAccelTop<" #l "> ports differ from Vnq_sc_l" #l);
NQKV_SC_RTL_MODELS(NQKV_CHECK_TYPES)
#undef NQKV_CHECK_TYPES


std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}
template <int W>
std::string hex(const sc_dt::sc_bv<W>& v) {
  return "0x" + v.to_string(sc_dt::SC_HEX_US, false);
}
inline int sext10(uint32_t v) { return static_cast<int>(v << 22) >> 22; }

// The outputs of one model.
template <int L>
struct Outs {
  using codes_t = typename ScAccelTop<L>::codes_t;
  sc_signal<bool> qi_ready, qo_valid, qo_last, ms_ready, mc_ready, mo_valid, mo_last;
  sc_signal<uint32_t> qo_status, qo_scale, mo_x, reg_rdata;
  sc_signal<codes_t> qo_codes;
  sc_signal<uint64_t> mo_data;
  explicit Outs(const std::string& p)
      : qi_ready((p + "_qi_ready").c_str()),
        qo_valid((p + "_qo_valid").c_str()),
        qo_last((p + "_qo_last").c_str()),
        ms_ready((p + "_ms_ready").c_str()),
        mc_ready((p + "_mc_ready").c_str()),
        mo_valid((p + "_mo_valid").c_str()),
        mo_last((p + "_mo_last").c_str()),
        qo_status((p + "_qo_status").c_str()),
        qo_scale((p + "_qo_scale").c_str()),
        mo_x((p + "_mo_x").c_str()),
        reg_rdata((p + "_reg_rdata").c_str()),
        qo_codes((p + "_qo_codes").c_str()),
        mo_data((p + "_mo_data").c_str()) {}
  template <class Top>
  void bind(Top& t) {
    t.qi_ready(qi_ready);
    t.qo_valid(qo_valid);
    t.qo_last(qo_last);
    t.ms_ready(ms_ready);
    t.mc_ready(mc_ready);
    t.mo_valid(mo_valid);
    t.mo_last(mo_last);
    t.qo_status(qo_status);
    t.qo_scale(qo_scale);
    t.mo_x(mo_x);
    t.reg_rdata(reg_rdata);
    t.qo_codes(qo_codes);
    t.mo_data(mo_data);
  }
  void sensitize(sc_sensitive& s) {
    s << qi_ready << qo_valid << qo_last << ms_ready << mc_ready << mo_valid << mo_last << qo_status << qo_scale << mo_x
      << reg_rdata << qo_codes << mo_data;
  }
};

// Calls back in every delta cycle in which an output of either model changed.
struct DeltaMonitor : sc_module {
  std::function<void()> check;
  SC_HAS_PROCESS(DeltaMonitor);
  template <class O>
  DeltaMonitor(const sc_module_name& n, O& a, O& b) : sc_module(n) {
    SC_METHOD(run);
    a.sensitize(sensitive);
    b.sensitize(sensitive);
    dont_initialize();
  }
  void run() {
    if (check) check();
  }
};

// Copies one set of outputs to another: one delta later (the test of the delta-level comparison).
template <int L>
struct DeltaLate : sc_module {
  Outs<L>& from;
  Outs<L>& to;
  SC_HAS_PROCESS(DeltaLate);
  DeltaLate(const sc_module_name& n, Outs<L>& f, Outs<L>& t) : sc_module(n), from(f), to(t) {
    SC_METHOD(run);
    from.sensitize(sensitive);
  }
  void run() {
    to.qi_ready.write(from.qi_ready.read());
    to.qo_valid.write(from.qo_valid.read());
    to.qo_last.write(from.qo_last.read());
    to.ms_ready.write(from.ms_ready.read());
    to.mc_ready.write(from.mc_ready.read());
    to.mo_valid.write(from.mo_valid.read());
    to.mo_last.write(from.mo_last.read());
    to.qo_status.write(from.qo_status.read());
    to.qo_scale.write(from.qo_scale.read());
    to.mo_x.write(from.mo_x.read());
    to.reg_rdata.write(from.reg_rdata.read());
    to.qo_codes.write(from.qo_codes.read());
    to.mo_data.write(from.mo_data.read());
  }
};

// The two models on the same input signals, behind sim::Dut (what the harness reads is the
// pin-level model's outputs; the verilated RTL is the reference of the comparison).
template <int L>
class ScLockstepDut final : public sim::Dut {
 public:
  using Top = ScAccelTop<L>;
  using Rtl = typename RtlOf<L>::type;
  using qi_t = typename Top::qi_t;
  using codes_t = typename Top::codes_t;
  struct Divergence {
    uint64_t eval;
    bool delta;
    std::string signal, rtl, model;
  };

  // delta_late: the pin-level model's outputs reach the compared signals one delta late (only to
  // prove that the delta-level comparison catches it).
  explicit ScLockstepDut(uint64_t seed, bool delta_late = false)
      : clk_("clk"),
        rst_n_("rst_n"),
        reg_we_("reg_we"),
        qi_valid_("qi_valid"),
        qo_ready_("qo_ready"),
        ms_valid_("ms_valid"),
        mc_valid_("mc_valid"),
        mc_last_("mc_last"),
        mo_ready_("mo_ready"),
        reg_addr_("reg_addr"),
        reg_wdata_("reg_wdata"),
        ms_data_("ms_data"),
        qi_data_("qi_data"),
        mc_data_("mc_data"),
        ref_("rtl"),
        cand_("model"),
        mid_("model_early") {
    p_.lanes = L;
    Verilated::randReset(2);  // unreset registers and memories start random (seeded)
    Verilated::randSeed(static_cast<int>(1 + seed % 2147483000ull));
    Verilated::fatalOnError(false);
    rtl_ = std::make_unique<Rtl>("rtl");
    model_ = std::make_unique<Top>("model", Top::sim_config(), 2, seed);
    bind_inputs(*rtl_);
    bind_inputs(*model_);
    ref_.bind(*rtl_);
    if (delta_late) {
      mid_.bind(*model_);
      late_ = std::make_unique<DeltaLate<L>>("delta_late", mid_, cand_);
    } else {
      cand_.bind(*model_);
    }
    mon_ = std::make_unique<DeltaMonitor>("delta_monitor", ref_, cand_);
    mon_->check = [this] { compare(true); };
  }
  ~ScLockstepDut() override { trace_close(); }

  const sim::DutParams& params() const override { return p_; }
  void set_clk(bool v) override {
    clk_.write(v);
    clk_next_ = v;
  }
  void set_rst_n(bool v) override {
    rst_n_.write(v);
    rst_n_next_ = v;
  }
  void set_reg(bool we, uint32_t addr, uint32_t wdata) override {
    reg_we_.write(we);
    reg_addr_.write(addr & 0xfffu);
    reg_wdata_.write(wdata);
    we_ = we;
    addr_ = addr & 0xfffu;
  }
  uint32_t reg_rdata() const override { return cand_.reg_rdata.read(); }
  void set_qi(bool valid, const uint16_t* elems) override {
    qi_valid_.write(valid);
    uint32_t w[Top::kQiWords] = {};
    if (elems)
      for (int i = 0; i < L; ++i) w[i / 2] |= static_cast<uint32_t>(elems[i]) << (16 * (i % 2));
    sysc::words_to_bus(w, Top::kQiWords, qi_buf_);
    qi_data_.write(qi_buf_);
  }
  bool qi_ready() const override { return cand_.qi_ready.read(); }
  void set_qo_ready(bool r) override { qo_ready_.write(r); }
  bool qo_valid() const override { return cand_.qo_valid.read(); }
  void qo(std::vector<uint32_t>& codes, uint16_t& scale, int& status, bool& last) const override {
    codes.assign(Top::kCodeWords, 0);
    sysc::bus_to_words(cand_.qo_codes.read(), codes.data(), Top::kCodeWords);
    scale = static_cast<uint16_t>(cand_.qo_scale.read());
    status = static_cast<int>(cand_.qo_status.read());
    last = cand_.qo_last.read();
  }
  void set_ms(bool valid, uint16_t data) override {
    ms_valid_.write(valid);
    ms_data_.write(data);
  }
  bool ms_ready() const override { return cand_.ms_ready.read(); }
  void set_mc(bool valid, const std::vector<uint32_t>& codes, bool last) override {
    mc_valid_.write(valid);
    mc_last_.write(last);
    uint32_t w[Top::kCodeWords] = {};
    for (size_t i = 0; i < codes.size() && i < static_cast<size_t>(Top::kCodeWords); ++i) w[i] = codes[i];
    sysc::words_to_bus(w, Top::kCodeWords, mc_buf_);
    mc_data_.write(mc_buf_);
  }
  bool mc_ready() const override { return cand_.mc_ready.read(); }
  void set_mo_ready(bool r) override { mo_ready_.write(r); }
  bool mo_valid() const override { return cand_.mo_valid.read(); }
  void mo(uint64_t& data, int& x, bool& last) const override {
    data = cand_.mo_data.read();
    x = sext10(cand_.mo_x.read());
    last = cand_.mo_last.read();
  }
  void eval() override {
    // A rising edge with reg_we writes the addressed THR/MAC word: from then on it is comparable.
    if (clk_next() && !clk_now_ && we_) written_.insert(addr_);
    if (!rst_n_next()) armed_ = true;
    sc_start(1, SC_NS);
    clk_now_ = clk_.read();
    ++evals_;
    compare(false);
    errors_ += sysc::take_rtl_sc_errors();
  }
  void trace_open(const std::string& path) override {
    if (tf_) return;
    std::string base = path;
    if (base.size() > 4 && base.substr(base.size() - 4) == ".vcd") base.resize(base.size() - 4);
    tf_ = sc_create_vcd_trace_file(base.c_str());
    model_->trace(tf_);
  }
  void trace_dump(uint64_t) override {}
  void trace_close() override {
    if (tf_) sc_close_vcd_trace_file(tf_);
    tf_ = nullptr;
  }
  std::string take_errors() override {
    std::string s;
    s.swap(errors_);
    return s;
  }
  std::map<std::string, uint64_t> stall_counters() const override { return model_->model().stall_counters(); }

  uint64_t evals() const { return evals_; }
  uint64_t compared() const { return compared_; }
  uint64_t delta_checks() const { return delta_checks_; }
  uint64_t mismatches() const { return mismatches_; }
  const std::vector<Divergence>& divergences() const { return div_; }
  std::string report() const {
    std::string s;
    for (const auto& d : div_)
      s += "  eval " + std::to_string(d.eval) + (d.delta ? " (delta) " : " (settled) ") + d.signal + ": rtl " + d.rtl +
           " model " + d.model + "\n";
    return s;
  }
  Top& model() { return *model_; }
  Rtl& rtl() { return *rtl_; }

 private:
  template <class M>
  void bind_inputs(M& m) {
    m.clk(clk_);
    m.rst_n(rst_n_);
    m.reg_we(reg_we_);
    m.qi_valid(qi_valid_);
    m.qo_ready(qo_ready_);
    m.ms_valid(ms_valid_);
    m.mc_valid(mc_valid_);
    m.mc_last(mc_last_);
    m.mo_ready(mo_ready_);
    m.reg_addr(reg_addr_);
    m.reg_wdata(reg_wdata_);
    m.ms_data(ms_data_);
    m.qi_data(qi_data_);
    m.mc_data(mc_data_);
  }
  // The values clk and rst_n take in this evaluation (written before eval, applied by the kernel).
  bool clk_next() const { return clk_next_; }
  bool rst_n_next() const { return rst_n_next_; }

  bool rdata_comparable() const {
    const uint32_t a = reg_addr_.read() & 0xfffu;
    if ((a >> 4) == 0x01 || (a >> 4) == 0x02) return written_.count(a) != 0;
    return true;
  }
  template <class T, class F>
  void cmp(bool delta, const char* name, const T& r, const T& m, F fmt) {
    if (r == m) return;
    bad_ = true;
    if (div_.size() < 20) div_.push_back({evals_, delta, name, fmt(r), fmt(m)});
  }
  void compare(bool delta) {
    if (!armed_) return;
    bad_ = false;
    auto b = [](bool v) { return std::string(v ? "1" : "0"); };
    auto u = [](uint64_t v) { return hex(v); };
    auto c = [](const codes_t& v) { return hex(v); };
    cmp(delta, "qi_ready", ref_.qi_ready.read(), cand_.qi_ready.read(), b);
    cmp(delta, "ms_ready", ref_.ms_ready.read(), cand_.ms_ready.read(), b);
    cmp(delta, "mc_ready", ref_.mc_ready.read(), cand_.mc_ready.read(), b);
    cmp(delta, "qo_valid", ref_.qo_valid.read(), cand_.qo_valid.read(), b);
    cmp(delta, "mo_valid", ref_.mo_valid.read(), cand_.mo_valid.read(), b);
    if (ref_.qo_valid.read() && cand_.qo_valid.read()) {
      cmp(delta, "qo_codes", ref_.qo_codes.read(), cand_.qo_codes.read(), c);
      cmp(delta, "qo_scale", uint64_t{ref_.qo_scale.read()}, uint64_t{cand_.qo_scale.read()}, u);
      cmp(delta, "qo_status", uint64_t{ref_.qo_status.read()}, uint64_t{cand_.qo_status.read()}, u);
      cmp(delta, "qo_last", ref_.qo_last.read(), cand_.qo_last.read(), b);
    }
    if (ref_.mo_valid.read() && cand_.mo_valid.read()) {
      cmp(delta, "mo_data", ref_.mo_data.read(), cand_.mo_data.read(), u);
      cmp(delta, "mo_x", uint64_t{ref_.mo_x.read()}, uint64_t{cand_.mo_x.read()}, u);
      cmp(delta, "mo_last", ref_.mo_last.read(), cand_.mo_last.read(), b);
    }
    if (rdata_comparable())
      cmp(delta, "reg_rdata", uint64_t{ref_.reg_rdata.read()}, uint64_t{cand_.reg_rdata.read()}, u);
    if (delta) ++delta_checks_;
    else ++compared_;
    if (bad_) {
      ++mismatches_;
      if (mismatches_ <= 3)
        errors_ += std::string("SystemC lock-step: ") + (delta ? "delta" : "settled") + " mismatch at evaluation " +
                   std::to_string(evals_) + "\n";
    }
  }

  sim::DutParams p_;
  sc_signal<bool> clk_, rst_n_, reg_we_, qi_valid_, qo_ready_, ms_valid_, mc_valid_, mc_last_, mo_ready_;
  sc_signal<uint32_t> reg_addr_, reg_wdata_, ms_data_;
  sc_signal<qi_t> qi_data_;
  sc_signal<codes_t> mc_data_;
  Outs<L> ref_, cand_, mid_;
  std::unique_ptr<DeltaLate<L>> late_;
  std::unique_ptr<Rtl> rtl_;
  std::unique_ptr<Top> model_;
  std::unique_ptr<DeltaMonitor> mon_;
  qi_t qi_buf_{};
  codes_t mc_buf_{};
  sc_trace_file* tf_ = nullptr;
  bool we_ = false, clk_now_ = false, clk_next_ = false, rst_n_next_ = false, armed_ = false, bad_ = false;
  uint32_t addr_ = 0;
  std::set<uint32_t> written_;
  uint64_t evals_ = 0, compared_ = 0, delta_checks_ = 0, mismatches_ = 0;
  std::vector<Divergence> div_;
  std::string errors_;
};

// A non-owning Dut (the lock-step pair must outlive the harness: SystemC modules are not
// destroyed mid-simulation).
class DutRef final : public sim::Dut {
 public:
  explicit DutRef(sim::Dut& d) : d_(d) {}
  const sim::DutParams& params() const override { return d_.params(); }
  void eval() override { d_.eval(); }
  void set_clk(bool v) override { d_.set_clk(v); }
  void set_rst_n(bool v) override { d_.set_rst_n(v); }
  void set_reg(bool we, uint32_t a, uint32_t w) override { d_.set_reg(we, a, w); }
  uint32_t reg_rdata() const override { return d_.reg_rdata(); }
  void set_qi(bool v, const uint16_t* e) override { d_.set_qi(v, e); }
  bool qi_ready() const override { return d_.qi_ready(); }
  void set_qo_ready(bool r) override { d_.set_qo_ready(r); }
  bool qo_valid() const override { return d_.qo_valid(); }
  void qo(std::vector<uint32_t>& c, uint16_t& s, int& st, bool& l) const override { d_.qo(c, s, st, l); }
  void set_ms(bool v, uint16_t d) override { d_.set_ms(v, d); }
  bool ms_ready() const override { return d_.ms_ready(); }
  void set_mc(bool v, const std::vector<uint32_t>& c, bool l) override { d_.set_mc(v, c, l); }
  bool mc_ready() const override { return d_.mc_ready(); }
  void set_mo_ready(bool r) override { d_.set_mo_ready(r); }
  bool mo_valid() const override { return d_.mo_valid(); }
  void mo(uint64_t& d, int& x, bool& l) const override { d_.mo(d, x, l); }
  void trace_open(const std::string& p) override { d_.trace_open(p); }
  void trace_dump(uint64_t t) override { d_.trace_dump(t); }
  void trace_close() override {}
  std::string take_errors() override { return d_.take_errors(); }
  std::map<std::string, uint64_t> stall_counters() const override { return d_.stall_counters(); }

 private:
  sim::Dut& d_;
};

// One seed: golden-checked random runs through the harness, then the overlapping-pass stream
// scenario, on one lock-step pair.
template <int L>
void lockstep_seed(uint64_t seed, int cases) {
  auto* pair = new ScLockstepDut<L>(seed);  // lives until the process ends (no teardown mid-simulation)
  const auto r = test::random_run(std::make_unique<DutRef>(*pair), seed, cases, true);
  EXPECT_EQ(r.mismatches, 0) << r.what << "\n" << r.report;
  EXPECT_GT(r.compared, 0) << r.what;
  const uint64_t after_runs = pair->evals();
  uint64_t stream_cycles = 0;
  for (uint64_t k = 0; k < 5; ++k)  // the stream scenario resets the pair itself
    stream_cycles += test::stream_run(*pair, seed * 100 + k, [&] { return pair->mismatches() > 0; });
  const std::string errs = pair->take_errors();
  EXPECT_TRUE(errs.empty()) << errs;
  EXPECT_EQ(pair->mismatches(), 0u) << "lanes " << L << ", seed " << seed << "\n" << pair->report();
  EXPECT_GT(pair->delta_checks(), 0u);
  std::printf("[sc lock-step] lanes %d seed %llu: %s; %llu evaluations (%llu in the stream scenario, %llu cycles), "
              "%llu delta checks, %llu mismatching\n",
              L, static_cast<unsigned long long>(seed), r.what.c_str(), static_cast<unsigned long long>(pair->evals()),
              static_cast<unsigned long long>(pair->evals() - after_runs), static_cast<unsigned long long>(stream_cycles),
              static_cast<unsigned long long>(pair->delta_checks()), static_cast<unsigned long long>(pair->mismatches()));
}

class ScLockstep : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ScLockstep, ZeroMismatches) {
  const int lanes = std::get<0>(GetParam());
  const uint64_t seed = static_cast<uint64_t>(std::get<1>(GetParam()));
  bool built = false;
#define NQKV_BUILT(l) built |= lanes == l;
  NQKV_SC_RTL_MODELS(NQKV_BUILT)
#undef NQKV_BUILT
  if (!built) GTEST_SKIP() << "no verilated SystemC model with LANES " << lanes << " (NQKV_SC_RTL_LANES)";
  NQKV_NEEDS_SIMULATION();
  switch (lanes) {
#define NQKV_CASE(l) \
  case l: lockstep_seed<l>(seed, 3); break;
    NQKV_SC_RTL_MODELS(NQKV_CASE)
#undef NQKV_CASE
    default: break;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, ScLockstep,
                         ::testing::Combine(::testing::Values(4, 16, 64), ::testing::Range(1, 7)),
                         [](const ::testing::TestParamInfo<std::tuple<int, int>>& i) {
                           return "L" + std::to_string(std::get<0>(i.param)) + "_seed" + std::to_string(std::get<1>(i.param));
                         });

// Port names and directions as the verilated module's (elaboration only, no simulation).
TEST(ScAccelTop, PortNamesAndDirectionsMatchVerilator) {
  auto ports = [](const sc_object& top) {
    std::map<std::string, std::string> m;
    std::function<void(const sc_object&)> walk = [&](const sc_object& o) {
      for (const sc_object* c : o.get_child_objects()) {
        const std::string k = c->kind();
        if (k == "sc_in" || k == "sc_out" || k == "sc_inout") m[c->basename()] = k;
        else if (dynamic_cast<const sc_module*>(c)) walk(*c);  // Verilator keeps them in its root
      }
    };
    walk(top);
    return m;
  };
#define NQKV_PORTS(l)                                                                              \
  {                                                                                                \
    typename RtlOf<l>::type r("rtl" #l);                                                           \
    ScAccelTop<l> m("model" #l);                                                                   \
    const auto pr = ports(r), pm = ports(m);                                                       \
    EXPECT_EQ(pm.size(), 27u) << "LANES " << l;                                                    \
    EXPECT_EQ(pr, pm) << "LANES " << l;                                                            \
  }
  NQKV_SC_RTL_MODELS(NQKV_PORTS)
#undef NQKV_PORTS
}

// sc_trace: every port and the core's state in a VCD file.
TEST(ScAccelTop, VcdWaveform) {
  NQKV_NEEDS_SIMULATION();
  auto* pair = new ScLockstepDut<4>(5);
  const std::string path = ::testing::TempDir() + "nqkv_sc_accel_top";
  pair->trace_open(path);
  test::stream_run(*pair, 5, [&] { return pair->evals() > 4000; });
  pair->trace_close();
  std::ifstream f(path + ".vcd");
  ASSERT_TRUE(f.good()) << path << ".vcd";
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string vcd = ss.str();
  // (VCD splits hierarchical names into scopes: model.u_quant.u_efifo.count is scope u_efifo, var count)
  for (const char* n : {"qi_ready", "qo_codes", "mo_x", "reg_rdata", "u_quant", "u_efifo", "pending", "u_mac", "draining", "sb_full"})
    EXPECT_NE(vcd.find(n), std::string::npos) << n;
  EXPECT_GT(vcd.size(), 10000u);
  EXPECT_EQ(pair->mismatches(), 0u) << pair->report();
}

// The delta-level comparison can fail: the pin-level model's outputs one delta late are caught by
// the delta monitor while every settled comparison still agrees.
TEST(ScAccelTop, LockstepDetectsOutputsOneDeltaLate) {
  NQKV_NEEDS_SIMULATION();
  auto* pair = new ScLockstepDut<4>(4, true);
  uint64_t cycles = 0;
  test::stream_run(*pair, 4, [&] { return ++cycles > 1500; });
  EXPECT_GT(pair->mismatches(), 0u);
  bool settled = false, delta = false;
  for (const auto& d : pair->divergences()) (d.delta ? delta : settled) = true;
  EXPECT_TRUE(delta);
  EXPECT_FALSE(settled) << pair->report();
  std::printf("[sc lock-step] outputs one delta late: %llu mismatching delta checks, first:\n%s",
              static_cast<unsigned long long>(pair->mismatches()), pair->report().substr(0, 300).c_str());
}

// The comparison can fail: one extra clock edge of the pin-level model's core in the middle of
// the stream scenario must show up as mismatches.
TEST(ScAccelTop, LockstepDetectsADivergence) {
  NQKV_NEEDS_SIMULATION();
  auto* pair = new ScLockstepDut<16>(3);
  uint64_t cycles = 0;
  test::stream_run(*pair, 3, [&] {
    if (++cycles == 600) pair->model().model().clock();  // the candidate runs one edge ahead
    return pair->mismatches() > 0 && cycles > 700;
  });
  EXPECT_GT(pair->mismatches(), 0u);
  EXPECT_FALSE(pair->report().empty());
  std::printf("[sc lock-step] injected extra edge at cycle 600: %llu mismatching evaluations, first:\n%s",
              static_cast<unsigned long long>(pair->mismatches()), pair->report().substr(0, 400).c_str());
}

TEST(ScAccelTop, FactoryRejectsLanesNotBuilt) {
  for (int l : {0, 2, 12, 128}) {
    try {
      auto m = sysc::make_sc_accel_top(("bad" + std::to_string(l)).c_str(), l);
      ADD_FAILURE() << "LANES " << l << " accepted";
    } catch (const InputError& e) {
      const std::string w = e.what();
      EXPECT_NE(w.find("LANES " + std::to_string(l) + " is not built"), std::string::npos) << w;
      EXPECT_EQ(w.find('\n'), std::string::npos) << w;
    }
  }
  auto m = sysc::make_sc_accel_top("ok16", 16);
  EXPECT_EQ(m->lanes(), 16);
  EXPECT_NE(dynamic_cast<ScAccelTop<16>*>(m.get()), nullptr);
}

}  // namespace
}  // namespace nqkv

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
