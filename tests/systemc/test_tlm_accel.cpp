// The TLM-2.0 loosely-timed target (models/systemc/tlm_accel.hpp):
//  - an initiator (SC_MODULE with simple_initiator_sockets and a tlm_quantumkeeper) programs the
//    registers through b_transport and runs quantize, score and value jobs on random golden cases:
//    every result bit-exact with the golden library (codes, scales, status, counters; S_t, x_t,
//    O_p), every job's annotated delay equal to the cycles of the clocked model driven through the
//    harness without back-pressure (sim::Harness, HarnessOptions::backpressure = false: RunStats
//    cycles, the definition in tlm_accel.hpp) on the cycle model and, when built, on the verilated
//    RTL, and equal to the timing-only job's closed form; simulated time at the end equals the sum
//    of all annotated delays;
//  - the closed forms equal the core's cycle count on every legal configuration of several
//    parameter sets (LANES 4..64, DIV_SPS 1..24, BLOCK_MAX, DMAX);
//  - register-socket and job errors (address, burst, byte-enable, no extension, unknown kind,
//    wrong mode, illegal configuration, sizes) and the factory's InputError.
// A SystemC simulation cannot restart within one process: ctest runs each test in its own
// process (gtest_discover_tests); run by hand, use --gtest_filter with one test.
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include <gtest/gtest.h>

#include "one_simulation.hpp"

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "golden/attention.hpp"
#include "golden/codebook.hpp"
#include "golden/quantize.hpp"
#include "golden/rng.hpp"
#include "io/error.hpp"
#include "models/systemc/model_dut.hpp"
#include "models/systemc/tlm_accel.hpp"
#include "sim/common/harness.hpp"
#include "sim/common/stimulus.hpp"
#ifdef NQKV_HAVE_RTL
#include "sim/rtl/rtl_dut.hpp"
#endif

namespace nqkv {
namespace {

using sysc::JobExtension;
using sysc::JobKind;
namespace reg = accel::reg;


struct Initiator : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Initiator> regs{"regs"}, jobs{"jobs"};
  tlm_utils::tlm_quantumkeeper qk;
  std::function<void(Initiator&)> body;
  uint64_t annotated_cycles = 0;  // sum of every OK transaction's annotated cycles
  sc_core::sc_time period{1, sc_core::SC_NS};

  SC_HAS_PROCESS(Initiator);
  explicit Initiator(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    tlm_utils::tlm_quantumkeeper::set_global_quantum(sc_core::sc_time(1, sc_core::SC_US));
    qk.reset();
    SC_THREAD(run);
  }
  void run() {
    if (body) body(*this);
    qk.sync();
  }
  // Sends t through socket s with the keeper's local time; returns the annotated delay.
  sc_core::sc_time send(tlm_utils::simple_initiator_socket<Initiator>& s, tlm::tlm_generic_payload& t) {
    sc_core::sc_time delay = qk.get_local_time();
    const sc_core::sc_time before = delay;
    s->b_transport(t, delay);
    qk.set(delay);
    if (qk.need_sync()) qk.sync();
    return delay - before;
  }
  tlm::tlm_response_status reg_words(tlm::tlm_command cmd, uint32_t word_addr, uint32_t* data, unsigned n) {
    tlm::tlm_generic_payload t;
    t.set_command(cmd);
    t.set_address(static_cast<uint64_t>(word_addr) * 4);
    t.set_data_ptr(reinterpret_cast<unsigned char*>(data));
    t.set_data_length(4 * n);
    t.set_streaming_width(4 * n);
    t.set_byte_enable_ptr(nullptr);
    t.set_dmi_allowed(false);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    const sc_core::sc_time d = send(regs, t);
    if (t.is_response_ok()) {
      EXPECT_EQ(d, period * static_cast<double>(n)) << "register words annotate one clock period each";
      annotated_cycles += n;
    }
    return t.get_response_status();
  }
  void write(uint32_t a, uint32_t v) { EXPECT_EQ(reg_words(tlm::TLM_WRITE_COMMAND, a, &v, 1), tlm::TLM_OK_RESPONSE) << a; }
  uint32_t read(uint32_t a) {
    uint32_t v = 0xdeadbeef;
    EXPECT_EQ(reg_words(tlm::TLM_READ_COMMAND, a, &v, 1), tlm::TLM_OK_RESPONSE) << a;
    return v;
  }
  tlm::tlm_response_status job(JobExtension& e) {
    tlm::tlm_generic_payload t;
    t.set_command(tlm::TLM_WRITE_COMMAND);
    t.set_address(0);
    t.set_data_ptr(nullptr);
    t.set_data_length(0);
    t.set_streaming_width(0);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    t.set_extension(&e);
    const sc_core::sc_time d = send(jobs, t);
    t.clear_extension(&e);  // the extension belongs to the caller
    if (t.is_response_ok()) {
      EXPECT_EQ(d, period * static_cast<double>(e.cycles)) << "a job annotates its cycles";
      annotated_cycles += e.cycles;
    }
    return t.get_response_status();
  }
  void load_codebook(const golden::Codebook& cb) {  // as sim::Harness::load_codebook
    const int n = static_cast<int>(cb.values.size());
    write(reg::kCbN, static_cast<uint32_t>(n));
    for (int k = 0; k < 15; ++k) write(reg::kThr + k, k < n - 1 ? golden::f32_bits(cb.thresholds[k]) : 0x7f800000u);
    for (int k = 0; k < 16; ++k) write(reg::kMac + k, k < n ? static_cast<uint32_t>(static_cast<uint8_t>(cb.mac[k])) : 0u);
  }
  void configure(golden::ElemType type, int bits, int block, int nblk, int mode) {
    write(reg::kCfg, (type == golden::ElemType::BF16 ? 1u : 0u) | (mode ? 2u : 0u) | (static_cast<uint32_t>(bits) << 2));
    write(reg::kBlock, static_cast<uint32_t>(block));
    write(reg::kNblk, static_cast<uint32_t>(nblk));
  }
};

// The reference clocked models, driven by the harness without back-pressure.
struct Clocked {
  std::vector<std::unique_ptr<sim::Harness>> h;
  std::vector<std::string> names;
  Clocked(int lanes, uint64_t seed) {
    sim::HarnessOptions ho;
    ho.seed = seed;
    ho.backpressure = false;
    h.push_back(std::make_unique<sim::Harness>(sysc::make_model_dut(lanes, 2, seed), ho));
    names.push_back("cycle model");
#ifdef NQKV_HAVE_RTL
    for (int l : accel::sim_lanes())
      if (l == lanes) {
        h.push_back(std::make_unique<sim::Harness>(sim::make_rtl_dut(lanes, 2, seed), ho));
        names.push_back("verilated RTL");
      }
#endif
  }
};

// Blocks a LANES build runs: multiples of 8 and of LANES up to 256 (at least 32 for attention).
int pick_block(golden::SplitMix64& rng, int L, int min_block) {
  for (;;) {
    const int b = 8 << rng.below(6);
    if (b % L == 0 && b >= min_block && b <= 256) return b;
  }
}

const char* kBooks[] = {"nf4", "nf3", "nf2", "fp4", "e2m1", "int4sym", "lloyd4"};

class TlmGolden : public ::testing::TestWithParam<int> {};

TEST_P(TlmGolden, QuantizeBitExactAndCycleExact) {
  NQKV_NEEDS_SIMULATION();
  const int L = GetParam();
  auto target = sysc::make_tlm_accel("accel", L);
  Initiator init("init");
  init.regs.bind(target->regs);
  init.jobs.bind(target->jobs);
  Clocked clocked(L, 7);
  int jobs = 0;
  init.body = [&](Initiator& I) {
    golden::SplitMix64 rng(1234 + static_cast<uint64_t>(L));
    for (int round = 0; round < 10; ++round) {
      const golden::Codebook& cb = golden::codebook_by_name(kBooks[rng.below(7)]);
      const golden::ElemType type = rng.below(2) ? golden::ElemType::BF16 : golden::ElemType::F16;
      const int B = pick_block(rng, L, 8);
      const sim::QuantCase c = sim::random_quant_case(rng, cb, type, B);
      const std::string what = "lanes " + std::to_string(L) + " round " + std::to_string(round) + " " + cb.name +
                                " block " + std::to_string(B) + " rows " + std::to_string(c.rows) + " cols " +
                                std::to_string(c.cols);
      I.load_codebook(cb);
      I.configure(type, cb.bits, B, 1, 0);
      I.write(reg::kCtrl, 2u);  // clear the counters
      JobExtension e;
      e.kind = JobKind::Quantize;
      e.rows = c.rows;
      e.cols = c.cols;
      e.x = c.x;
      ASSERT_EQ(I.job(e), tlm::TLM_OK_RESPONSE) << what << ": " << e.error;
      ++jobs;
      // bit-exact with the golden encoder
      const auto g = golden::quantize_tensor(cb, type, B, c.rows, c.cols, std::vector<uint32_t>(c.x.begin(), c.x.end()));
      EXPECT_EQ(e.q_codes, g.codes) << what;
      ASSERT_EQ(e.q_scales.size(), g.scales.size()) << what;
      for (size_t i = 0; i < g.scales.size(); ++i) EXPECT_EQ(e.q_scales[i], g.scales[i].absmax_bits) << what << " block " << i;
      EXPECT_EQ(e.q_status, c.status) << what;
      EXPECT_EQ(I.read(reg::kCntBlocks), c.scales.size()) << what;
      // cycle-exact: the timing-only job and the clocked models without back-pressure
      JobExtension t;
      t.kind = JobKind::Quantize;
      t.timing_only = true;
      t.rows = c.rows;
      t.cols = c.cols;
      ASSERT_EQ(I.job(t), tlm::TLM_OK_RESPONSE) << what << ": " << t.error;
      EXPECT_EQ(t.cycles, e.cycles) << what;
      EXPECT_TRUE(t.q_codes.empty());
      for (size_t k = 0; k < clocked.h.size(); ++k) {
        sim::Harness& h = *clocked.h[k];
        h.load_codebook(cb);
        h.configure(type, cb.bits, B, 1, 0);
        sim::RunStats st;
        const sim::QuantOut out = h.quantize(c.x, c.rows, c.cols, &st);
        EXPECT_EQ(st.cycles, e.cycles) << what << " vs " << clocked.names[k];
        EXPECT_EQ(out.codes, e.q_codes) << what << " vs " << clocked.names[k];
        EXPECT_TRUE(h.errors().empty()) << h.errors();
      }
    }
  };
  sc_core::sc_start();
  EXPECT_EQ(jobs, 10);
  EXPECT_EQ(sc_core::sc_time_stamp(), init.period * static_cast<double>(init.annotated_cycles))
      << "simulated time = the sum of the annotated delays (quantum keeper)";
  EXPECT_EQ(target->cycles(), init.annotated_cycles);
  std::printf("[tlm] lanes %d: %d quantize jobs bit-exact, %llu cycles annotated, checked against %zu clocked model(s)\n", L,
              jobs, static_cast<unsigned long long>(init.annotated_cycles), clocked.h.size());
}

TEST_P(TlmGolden, AttentionBitExactAndCycleExact) {
  NQKV_NEEDS_SIMULATION();
  const int L = GetParam();
  auto target = sysc::make_tlm_accel("accel", L);
  Initiator init("init");
  init.regs.bind(target->regs);
  init.jobs.bind(target->jobs);
  Clocked clocked(L, 9);
  int jobs = 0;
  init.body = [&](Initiator& I) {
    golden::SplitMix64 rng(777 + static_cast<uint64_t>(L));
    for (int round = 0; round < 4; ++round) {
      const golden::Codebook& cb = golden::codebook_by_name(kBooks[rng.below(7)]);
      const golden::ElemType type = rng.below(2) ? golden::ElemType::BF16 : golden::ElemType::F16;
      const int B = pick_block(rng, L, 32);
      const sim::AttnCase c = sim::random_attn_case(rng, cb, type, B, round == 0);
      const int D = c.head_dim, nb = D / B, Hq = c.q_heads, Hkv = c.kv_heads, group = Hq / Hkv;
      const int64_t T = c.tokens, P = (T + golden::kPartitionTokens - 1) / golden::kPartitionTokens;
      const int64_t row_bytes = static_cast<int64_t>(D) * cb.bits / 8;
      const std::string what = "lanes " + std::to_string(L) + " round " + std::to_string(round) + " " + cb.name +
                                " block " + std::to_string(B) + " D " + std::to_string(D) + " T " + std::to_string(T);
      I.load_codebook(cb);
      for (auto& h : clocked.h) h->load_codebook(cb);
      for (int hq = 0; hq < Hq; ++hq) {
        const int kvh = hq / group;
        std::vector<uint16_t> ks(static_cast<size_t>(T * nb)), vs(static_cast<size_t>(T * nb));
        std::vector<uint8_t> kc(static_cast<size_t>(T * row_bytes)), vc(static_cast<size_t>(T * row_bytes));
        for (int64_t t = 0; t < T; ++t) {
          for (int b = 0; b < nb; ++b) {
            ks[static_cast<size_t>(t * nb + b)] = c.k_absmax[static_cast<size_t>((t * Hkv + kvh) * nb + b)];
            vs[static_cast<size_t>(t * nb + b)] = c.v_absmax[static_cast<size_t>((t * Hkv + kvh) * nb + b)];
          }
          std::copy_n(c.k_codes.begin() + (t * Hkv + kvh) * row_bytes, row_bytes, kc.begin() + t * row_bytes);
          std::copy_n(c.v_codes.begin() + (t * Hkv + kvh) * row_bytes, row_bytes, vc.begin() + t * row_bytes);
        }
        // ---- score pass: configuration, the query (one burst over the Q window), CTRL.start
        I.configure(type, cb.bits, B, nb, 0);
        std::vector<uint32_t> qw(static_cast<size_t>(D));
        for (int i = 0; i < D; ++i) qw[static_cast<size_t>(i)] = static_cast<uint16_t>(c.q_fixed[static_cast<size_t>(hq * D + i)]);
        EXPECT_EQ(I.reg_words(tlm::TLM_WRITE_COMMAND, reg::kQ, qw.data(), static_cast<unsigned>(D)), tlm::TLM_OK_RESPONSE);
        I.write(reg::kCtrl, 1u);
        JobExtension s;
        s.kind = JobKind::Score;
        s.tokens = T;
        s.side = ks;
        s.codes = kc;
        ASSERT_EQ(I.job(s), tlm::TLM_OK_RESPONSE) << what << ": " << s.error;
        ++jobs;
        ASSERT_EQ(s.scores.size(), static_cast<size_t>(T)) << what;
        for (int64_t t = 0; t < T; ++t) {
          EXPECT_EQ(s.scores[static_cast<size_t>(t)], c.scores_S[static_cast<size_t>(hq * T + t)]) << what << " token " << t;
          EXPECT_EQ(s.scores_x[static_cast<size_t>(t)], c.scores_x[static_cast<size_t>(hq * T + t)]) << what << " token " << t;
        }
        JobExtension st;
        st.kind = JobKind::Score;
        st.timing_only = true;
        st.tokens = T;
        ASSERT_EQ(I.job(st), tlm::TLM_OK_RESPONSE) << st.error;
        EXPECT_EQ(st.cycles, s.cycles) << what << " score, timing-only";
        const std::vector<int16_t> q(c.q_fixed.begin() + static_cast<int64_t>(hq) * D, c.q_fixed.begin() + static_cast<int64_t>(hq + 1) * D);
        for (size_t k = 0; k < clocked.h.size(); ++k) {
          sim::Harness& h = *clocked.h[k];
          h.configure(type, cb.bits, B, nb, 0);
          sim::RunStats rs;
          const auto sc = h.score(q, ks, kc, T, &rs);
          EXPECT_EQ(rs.cycles, s.cycles) << what << " score vs " << clocked.names[k];
          EXPECT_TRUE(h.errors().empty()) << h.errors();
        }
        // ---- value passes, one per partition (weights from E_t and the V scales on the host)
        I.configure(type, cb.bits, B, nb, 1);
        for (auto& h : clocked.h) h->configure(type, cb.bits, B, nb, 1);
        for (int64_t p = 0; p < P; ++p) {
          const int64_t t0 = p * golden::kPartitionTokens, t1 = std::min<int64_t>(T, t0 + golden::kPartitionTokens);
          const int64_t M = c.part_M[static_cast<size_t>(hq * P + p)];
          const int ex = c.part_e[static_cast<size_t>(hq * P + p)];
          std::vector<uint16_t> w;
          for (int64_t t = t0; t < t1; ++t) {
            const uint32_t E = golden::exp2_fixed(c.logits[static_cast<size_t>(hq * T + t)] - M);
            for (int b = 0; b < nb; ++b) w.push_back(golden::value_weight(E, type, vs[static_cast<size_t>(t * nb + b)], ex));
          }
          JobExtension v;
          v.kind = JobKind::Value;
          v.tokens = t1 - t0;
          v.side = w;
          v.codes.assign(vc.begin() + t0 * row_bytes, vc.begin() + t1 * row_bytes);
          ASSERT_EQ(I.job(v), tlm::TLM_OK_RESPONSE) << what << ": " << v.error;
          ++jobs;
          ASSERT_EQ(v.out.size(), static_cast<size_t>(D)) << what;
          for (int i = 0; i < D; ++i)
            EXPECT_EQ(v.out[static_cast<size_t>(i)], c.part_O[static_cast<size_t>((hq * P + p) * D + i)]) << what << " O " << i;
          JobExtension vt;
          vt.kind = JobKind::Value;
          vt.timing_only = true;
          vt.tokens = t1 - t0;
          ASSERT_EQ(I.job(vt), tlm::TLM_OK_RESPONSE) << vt.error;
          EXPECT_EQ(vt.cycles, v.cycles) << what << " value, timing-only";
          for (size_t k = 0; k < clocked.h.size(); ++k) {
            sim::RunStats rs;
            const auto O = clocked.h[k]->value(w, v.codes, t1 - t0, &rs);
            EXPECT_EQ(rs.cycles, v.cycles) << what << " value vs " << clocked.names[k];
            EXPECT_EQ(O, v.out) << what << " value vs " << clocked.names[k];
          }
        }
      }
    }
  };
  sc_core::sc_start();
  EXPECT_GT(jobs, 0);
  EXPECT_EQ(sc_core::sc_time_stamp(), init.period * static_cast<double>(init.annotated_cycles));
  std::printf("[tlm] lanes %d: %d score/value jobs bit-exact, %llu cycles annotated, checked against %zu clocked model(s)\n",
              L, jobs, static_cast<unsigned long long>(init.annotated_cycles), clocked.h.size());
}

INSTANTIATE_TEST_SUITE_P(Lanes, TlmGolden, ::testing::Values(4, 16, 64),
                         [](const ::testing::TestParamInfo<int>& i) { return "L" + std::to_string(i.param); });

// The closed forms (timing-only jobs) equal the core's cycle count (jobs with data) on every
// legal block / NBLK of several parameter sets, for 1..3 rows / tokens. No simulation needed.
TEST(TlmClosedForm, EqualsTheCycleModelOnEveryConfiguration) {
  std::vector<accel::AccelConfig> cfgs;
  for (int L : {4, 8, 16, 32, 64}) cfgs.push_back(accel::AccelConfig::sim(L));
  for (int sps : {1, 2, 3, 6, 8, 12, 24}) {
    accel::AccelConfig c = accel::AccelConfig::sim(16);
    c.div_sps = sps;
    cfgs.push_back(c);
  }
  {
    accel::AccelConfig c = accel::AccelConfig::sim(8);
    c.block_max = 64;
    c.dmax = 128;
    cfgs.push_back(c);
    c = accel::AccelConfig::sim(32);
    c.bits_max = 3;
    c.block_max = 128;
    cfgs.push_back(c);
  }
  golden::SplitMix64 rng(99);
  int n_cfg = 0, n_pass = 0;
  for (const auto& cfg : cfgs) {
    if (!cfg.validate().empty()) continue;
    sysc::TlmAccel t(("accel" + std::to_string(n_cfg++)).c_str(), cfg);
    for (int B = 8; B <= cfg.block_max; B *= 2) {
      if (B % cfg.lanes != 0) continue;
      for (int nblk = 1; nblk <= cfg.nbmax() && nblk * B <= cfg.dmax; ++nblk) {
        for (int mode = 0; mode < 3; ++mode) {
          t.write_register(reg::kCfg, (static_cast<uint32_t>(cfg.bits_max) << 2) | (mode == 2 ? 2u : 0u));
          t.write_register(reg::kCbN, 4);
          t.write_register(reg::kBlock, static_cast<uint32_t>(B));
          t.write_register(reg::kNblk, static_cast<uint32_t>(mode == 0 ? 1 : nblk));
          ASSERT_EQ(t.read_register(reg::kStatus) & 8u, 0u) << cfg.describe() << " block " << B;
          if (mode == 0 && nblk > 1) continue;
          if (mode == 1) t.write_register(reg::kCtrl, 1);
          for (int64_t n = 1; n <= 3; ++n) {
            JobExtension e;
            e.kind = static_cast<JobKind>(mode);
            const int D = nblk * B;
            if (mode == 0) {
              e.rows = n;
              e.cols = B * (1 + static_cast<int64_t>(rng.below(3)));
              e.x.resize(static_cast<size_t>(e.rows * e.cols));
              for (auto& x : e.x) x = static_cast<uint16_t>(rng.next() & 0x7bff);
            } else {
              e.tokens = n;
              e.side.resize(static_cast<size_t>(n * nblk));
              for (auto& x : e.side) x = static_cast<uint16_t>(rng.next() & 0x7bff);
              e.codes.resize(static_cast<size_t>(n * D * cfg.bits_max / 8));
              for (auto& x : e.codes) x = static_cast<uint8_t>(rng.next());
            }
            ASSERT_TRUE(t.run_job(e)) << e.error;
            JobExtension f = e;
            f.timing_only = true;
            f.x.clear();
            f.side.clear();
            f.codes.clear();
            ASSERT_TRUE(t.run_job(f)) << f.error;
            EXPECT_EQ(f.cycles, e.cycles) << cfg.describe() << ", " << sysc::job_kind_name(e.kind) << ", block " << B
                                          << ", nblk " << nblk << ", n " << n;
            ++n_pass;
            ASSERT_FALSE(t.model().q_busy() || t.model().m_busy()) << "the core is idle after a job";
          }
        }
      }
    }
  }
  std::printf("[tlm] closed form = cycle model on %d passes over %d parameter sets\n", n_pass, n_cfg);
  EXPECT_GT(n_pass, 500);
}

// Timing-only and data jobs against the verilated RTL running the same pass (no back-pressure):
// the same cycle count. (Their speed is measured in bench/systemc, bench_systemc's tlm/ rows.)
#ifdef NQKV_HAVE_RTL
TEST(TlmTiming, JobCyclesEqualTheVerilatedRtl) {
  for (int L : accel::sim_lanes()) {
    // A quantize pass of 64 rows x 1024 elements, block 64.
    const int64_t rows = 64, cols = 1024;
    const int B = 64;
    std::vector<uint16_t> x(static_cast<size_t>(rows * cols));
    golden::SplitMix64 rng(5);
    for (auto& v : x) v = static_cast<uint16_t>(rng.next() & 0x7bff);
    sim::HarnessOptions ho;
    ho.backpressure = false;
    sim::Harness h(sim::make_rtl_dut(L, 2, 1), ho);
    h.load_codebook(golden::codebook_by_name("nf4"));
    h.configure(golden::ElemType::F16, 4, B, 1, 0);
    sim::RunStats st;
    h.quantize(x, rows, cols, &st);
    sysc::TlmAccel t(("timing" + std::to_string(L)).c_str(), accel::AccelConfig::sim(L));
    t.write_register(reg::kBlock, B);
    JobExtension e;
    e.kind = JobKind::Quantize;
    e.timing_only = true;
    e.rows = rows;
    e.cols = cols;
    ASSERT_TRUE(t.run_job(e)) << e.error;
    EXPECT_EQ(e.cycles, st.cycles) << "lanes " << L << ", timing-only";
    JobExtension d = e;
    d.timing_only = false;
    d.x = x;
    ASSERT_TRUE(t.run_job(d)) << d.error;
    EXPECT_EQ(d.cycles, st.cycles) << "lanes " << L << ", with data";
  }
}
#endif

// ------------------------------------------------------------------------------ bad input
TEST(TlmErrors, RegisterAndJobErrors) {
  NQKV_NEEDS_SIMULATION();
  auto target = sysc::make_tlm_accel("accel", 16);
  Initiator init("init");
  init.regs.bind(target->regs);
  init.jobs.bind(target->jobs);
  init.body = [&](Initiator& I) {
    EXPECT_EQ(I.read(reg::kId), reg::kIdValue);
    EXPECT_EQ(I.read(reg::kParams), accel::AccelConfig::sim(16).params_word());
    EXPECT_EQ(I.read(reg::kCfg), reg::kResetCfg);
    I.write(reg::kBlock, 128);
    EXPECT_EQ(I.read(reg::kBlock), 128u);
    // bursts: 3 consecutive registers
    uint32_t three[3] = {0x11, 0x22, 0x33};
    EXPECT_EQ(I.reg_words(tlm::TLM_WRITE_COMMAND, reg::kMac, three, 3), tlm::TLM_OK_RESPONSE);
    uint32_t back[3] = {};
    EXPECT_EQ(I.reg_words(tlm::TLM_READ_COMMAND, reg::kMac, back, 3), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(back[0], 0x11u);
    EXPECT_EQ(back[2], 0x33u);
    // debug transport: same registers, no delay
    {
      uint32_t v = 0;
      tlm::tlm_generic_payload t;
      t.set_read();
      t.set_address(4 * reg::kBlock);
      t.set_data_ptr(reinterpret_cast<unsigned char*>(&v));
      t.set_data_length(4);
      t.set_streaming_width(4);
      EXPECT_EQ(I.regs->transport_dbg(t), 4u);
      EXPECT_EQ(v, 128u);
      v = 32;
      t.set_write();
      EXPECT_EQ(I.regs->transport_dbg(t), 4u);
      EXPECT_EQ(I.read(reg::kBlock), 32u);
      t.set_address(0x4000);
      EXPECT_EQ(I.regs->transport_dbg(t), 0u);
    }
    // address, burst and byte-enable errors
    auto raw = [&](uint64_t addr, unsigned len, unsigned sw, bool be) {
      uint32_t buf[4] = {};
      unsigned char ben[16];
      std::fill_n(ben, 16, 0xff);
      tlm::tlm_generic_payload t;
      t.set_read();
      t.set_address(addr);
      t.set_data_ptr(reinterpret_cast<unsigned char*>(buf));
      t.set_data_length(len);
      t.set_streaming_width(sw);
      t.set_byte_enable_ptr(be ? ben : nullptr);
      t.set_byte_enable_length(be ? len : 0);
      t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      I.send(I.regs, t);
      if (t.is_response_ok()) I.annotated_cycles += len / 4;
      return t.get_response_status();
    };
    EXPECT_EQ(raw(2, 4, 4, false), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(raw(0x4000, 4, 4, false), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(raw(0x3ffc, 8, 8, false), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(raw(0x3ffc, 4, 4, false), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(raw(0, 2, 2, false), tlm::TLM_BURST_ERROR_RESPONSE);
    EXPECT_EQ(raw(0, 8, 4, false), tlm::TLM_BURST_ERROR_RESPONSE);
    EXPECT_EQ(raw(0, 4, 4, true), tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    // a job transaction without the extension
    {
      tlm::tlm_generic_payload t;
      t.set_write();
      t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      I.send(I.jobs, t);
      EXPECT_EQ(t.get_response_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);
    }
    auto one_line = [](const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; };
    // unknown kind
    JobExtension e;
    e.kind = static_cast<JobKind>(7);
    e.rows = 1;
    e.cols = 64;
    EXPECT_EQ(I.job(e), tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_NE(e.error.find("unknown job kind 7"), std::string::npos) << e.error;
    EXPECT_TRUE(one_line(e.error)) << e.error;
    // score job while CFG.mode is value
    I.write(reg::kBlock, 64);
    I.write(reg::kCfg, (4u << 2) | 2u);
    e = JobExtension{};
    e.kind = JobKind::Score;
    e.timing_only = true;
    e.tokens = 3;
    EXPECT_EQ(I.job(e), tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_NE(e.error.find("CFG.mode"), std::string::npos) << e.error;
    // illegal configuration (block not a multiple of LANES)
    I.write(reg::kCfg, 4u << 2);
    I.write(reg::kBlock, 24);
    e = JobExtension{};
    e.kind = JobKind::Quantize;
    e.rows = 1;
    e.cols = 48;
    e.x.assign(48, 0);
    EXPECT_EQ(I.job(e), tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_NE(e.error.find("err_cfg"), std::string::npos) << e.error;
    EXPECT_TRUE(one_line(e.error)) << e.error;
    // sizes that do not match
    I.write(reg::kBlock, 64);
    e = JobExtension{};
    e.kind = JobKind::Quantize;
    e.rows = 2;
    e.cols = 64;
    e.x.assign(64, 0);
    EXPECT_EQ(I.job(e), tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_NE(e.error.find("x has 64 elements"), std::string::npos) << e.error;
    e.cols = 96;
    EXPECT_EQ(I.job(e), tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_NE(e.error.find("multiple of BLOCK"), std::string::npos) << e.error;
    e = JobExtension{};
    e.kind = JobKind::Score;
    e.tokens = 2;
    e.side.assign(3, 0);
    EXPECT_EQ(I.job(e), tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_NE(e.error.find("side has 3 values"), std::string::npos) << e.error;
    EXPECT_TRUE(one_line(e.error)) << e.error;
    // the target still works
    e = JobExtension{};
    e.kind = JobKind::Quantize;
    e.rows = 1;
    e.cols = 64;
    e.x.assign(64, 0x3c00);
    EXPECT_EQ(I.job(e), tlm::TLM_OK_RESPONSE) << e.error;
  };
  sc_core::sc_start();
  EXPECT_EQ(sc_core::sc_time_stamp(), init.period * static_cast<double>(init.annotated_cycles));
}

TEST(TlmErrors, FactoryRejectsIllegalLanes) {
  for (int lanes : {0, 3, 12, 128}) {
    try {
      auto t = sysc::make_tlm_accel(("bad" + std::to_string(lanes)).c_str(), lanes);
      ADD_FAILURE() << "LANES " << lanes << " accepted";
    } catch (const InputError& e) {
      const std::string w = e.what();
      EXPECT_NE(w.find("TLM model"), std::string::npos) << w;
      EXPECT_EQ(w.find('\n'), std::string::npos) << w;
    }
  }
}

}  // namespace
}  // namespace nqkv

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
