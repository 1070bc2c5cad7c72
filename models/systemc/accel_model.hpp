// AccelModel: a cycle-exact, bit-true C++ model of rtl/nq_accel_top.sv and its submodules
// (nq_quantizer, nq_recip, nq_recip_stage, nq_quant_lane, nq_widen, nq_fifo, nq_dequant_mac,
// nq_scale_parts) for one accel::AccelConfig. No SystemC kernel: it is plain C++ that the Dut
// adapter (model_dut.hpp), the pin-level SC_MODULE and the TLM target all wrap.
//
// State mirrors the RTL's registers by name (Quantizer::bcnt, DequantMac::sb_full, ...), one
// struct per module instance. clock() is one rising edge of clk: every combinational value is
// computed from the current state and inputs, then every register takes its next value at once
// (two-phase), exactly as the RTL's always_ff blocks, with their enables (`en`, `start`). rst_n
// low acts asynchronously (reset()); registers without a reset in the RTL keep updating on clock
// edges during reset, as they do there. The data path follows the RTL's own arithmetic (the
// restoring division of nq_recip_stage and the rounding of nq_recip, the 24x24 multiply and RNE of
// nq_quant_lane, nq_widen, the integer MAC, adder tree and shifts of nq_dequant_mac); nothing in
// it calls the golden library, so comparing the model with golden is an independent check.
//
// Speed: storage is sized at construction (no heap traffic per cycle); data registers that the
// RTL loads on every enabled edge but that only matter when the matching valid is set (p1_*,
// out_codes, s1_*, s2_*, od_data, the reciprocal stages) are only computed when that valid is
// set, so their values while invalid differ from the RTL's (which are don't-cares: no output
// depends on them; the lock-step test proves it). Idle units are skipped.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/accel/accel_config.hpp"

// Mutation testing (tests/systemc/test_mutation.cpp): the test build compiles this model a second
// time with -DNQKV_MUTANTS into a test-only library. There every NQKV_MUT(k) site below and in
// accel_model.cpp is live: set_mutant(k) makes the model deliberately wrong in one way (a
// one-cycle change of timing or a wrong flag, see Mutant), which the lock-step against the RTL
// must catch. Its classes then live in the inline namespace nqkv::sysc::mutants, so the two builds
// never share a symbol. Production builds (no NQKV_MUTANTS) see NQKV_MUT(k) as the constant false:
// no mutant code and no run-time test is compiled in.
#ifdef NQKV_MUTANTS
#define NQKV_SYSC_BEGIN \
  namespace nqkv::sysc {  \
  inline namespace mutants {
#define NQKV_SYSC_END \
  }                     \
  }
#define NQKV_MUT(k) (::nqkv::sysc::g_mutant == (k))
#else
#define NQKV_SYSC_BEGIN namespace nqkv::sysc {
#define NQKV_SYSC_END }
#define NQKV_MUT(k) false
#endif

NQKV_SYSC_BEGIN

#ifdef NQKV_MUTANTS
// The mutants, one deliberate error each (0: the unchanged model).
enum Mutant : int {
  kMutNone = 0,
  kMutEfifoShort,        // element FIFO one entry shallower (full one beat early)
  kMutInflightIgnored,   // qi_ready ignores the in-flight block limit (pending < SF_DEPTH)
  kMutInflightShort,     // in-flight limit one block too small
  kMutRecipShort,        // the reciprocal pipeline one stage short (scale ready a cycle early)
  kMutSideFullEarly,     // side bank's full flag cleared one code beat early
  kMutDrainLate,         // the value-form drain starts one cycle late
  kMutOdLastEarly,       // od_last on the second-to-last drained word
  kMutHoldEarly,         // hold (code input blocked by the drain) released one cycle early
  kMutClearIgnored,      // CTRL.clear of the counters ignored
  kMutFirstTokStuck,     // first_tok not re-armed at a pass end (the next pass accumulates on the old)
  kMutWaitSideEarly,     // mc_ready one cycle early: the side bank completing this cycle counts as full
  kMutS2IgnoresStall,    // stage-2 valid advances while the output is back-pressured
  kMutCount
};
extern int g_mutant;  // the active mutant (kMutNone by default)
const char* mutant_name(int k);
#endif

// Stall-cause and activity counters, one increment per rising edge out of reset where the
// condition holds (conditions evaluated on the state and inputs before the edge). They are
// independent (a cycle may count under several), see stall_counters() for the names.
struct StallCounters {
  uint64_t cycles = 0;  // rising edges with rst_n high
  // quantizer
  uint64_t q_busy = 0;          // STATUS.busy of the quantizer
  uint64_t q_in_beats = 0;      // qi beats accepted
  uint64_t q_out_beats = 0;     // qo beats delivered
  uint64_t q_starved = 0;       // busy, qi_ready high, qi_valid low: the unit waits for input
  uint64_t q_backpressure = 0;  // qo_valid high, qo_ready low: the encode pipeline is stopped
  uint64_t q_efifo_full = 0;    // qi_valid high, element FIFO full
  uint64_t q_inflight = 0;      // qi_valid high, FIFO not full, SF_DEPTH blocks in flight (pending)
  uint64_t q_wait_recip = 0;    // encode stage enabled, element FIFO has a beat, its block's reciprocal not ready
  // dequant-MAC
  uint64_t m_busy = 0;          // STATUS.busy of the MAC
  uint64_t m_code_beats = 0;    // mc beats accepted
  uint64_t m_side_beats = 0;    // ms beats accepted
  uint64_t m_out_beats = 0;     // mo beats delivered
  uint64_t m_starved = 0;       // mc_ready high (side values in, pipeline free), mc_valid low
  uint64_t m_backpressure = 0;  // mo_valid high, mo_ready low: the MAC pipeline is stopped
  uint64_t m_side_full = 0;     // ms_valid high, both side banks full (ms is a token ahead)
  uint64_t m_wait_side = 0;     // mc_valid high, not draining, the token's side values not all in
  uint64_t m_drain_block = 0;   // mc_valid high, code input held by the value-form drain (hold)
  uint64_t m_draining = 0;      // cycles with the accumulator drain running (draining)
};

class AccelModel {
 public:
  static constexpr int kMaxLanes = 64;
  static constexpr int kMaxWords = kMaxLanes * 4 / 32;  // qo_codes / mc_data in 32-bit words

  // Pin inputs, held until changed (as ports are).
  struct Inputs {
    bool rst_n = true;
    bool reg_we = false;
    uint32_t reg_addr = 0, reg_wdata = 0;
    bool qi_valid = false;
    std::array<uint16_t, kMaxLanes> qi_data{};  // element i = qi_data[16i+15:16i]
    bool qo_ready = false;
    bool ms_valid = false;
    uint16_t ms_data = 0;
    bool mc_valid = false;
    std::array<uint32_t, kMaxWords> mc_data{};  // bus bit k = word k/32 bit k%32
    bool mc_last = false;
    bool mo_ready = false;
  };

  // --------------------------------------------------------------- state, by RTL instance
  struct Top {  // nq_accel_top
    bool cfg_bf16 = false, cfg_mode = false;
    uint32_t cfg_bits = 4, cfg_block = 64, cfg_nblk = 2, cfg_cbn = 16;
    std::array<uint32_t, 15> thr{};  // no reset
    std::array<uint8_t, 16> mac{};   // no reset
    uint32_t cnt_blocks = 0, cnt_zero = 0, cnt_flushed = 0, cnt_nonfinite = 0;
    bool err_nonfinite = false;
  };
  struct Fifo {  // nq_fifo (pointers and count; the memory lives with the owner)
    uint32_t wp = 0, rp = 0, count = 0;
  };
  struct RecipTag {  // t_bus: {in_tag = {be_scale, be_status}, in_ea}
    uint16_t scale = 0;
    uint8_t status = 0;
    int32_t ea = 0;
  };
  struct RecipStage {  // nq_recip_stage output registers
    bool out_valid = false;
    uint32_t out_r = 0, out_ma = 0, out_q = 0;
    RecipTag out_tag;
  };
  struct ScaleEntry {  // u_sfifo entry {rc_mi, rc_ei, rc_tag}
    uint32_t mi = 0;
    int32_t ei = 0;
    uint16_t scale = 0;
    uint8_t status = 0;
  };
  struct Quantizer {  // nq_quantizer (u_quant)
    uint32_t bcnt = 0, run_max = 0;
    bool run_nf = false;
    bool be_valid = false;
    uint32_t be_max = 0;
    bool be_nf = false;
    Fifo u_efifo, u_sfifo;
    std::vector<uint16_t> efifo_data;  // [EF_DEPTH][LANES]
    std::vector<uint8_t> efifo_last;   // [EF_DEPTH]
    std::vector<ScaleEntry> sfifo_mem; // [SF_DEPTH]
    // u_recip
    std::array<RecipStage, 24> g_stage{};
    bool rc_valid = false;  // u_recip.out_valid
    ScaleEntry rc;          // u_recip.out_mi / out_ei / out_tag
    uint32_t pending = 0;
    bool p1_valid = false, p1_last = false;
    std::array<uint16_t, kMaxLanes> p1_data{};
    uint32_t p1_mi = 0;
    int32_t p1_ei = 0;
    uint16_t p1_scale = 0;
    uint8_t p1_status = 0;
    bool out_valid = false;
    std::array<uint64_t, 4> out_codes{};  // bus bit k = word k/64 bit k%64
    uint16_t out_scale = 0;
    uint8_t out_status = 0;
    bool out_blk_last = false;
  };
  struct DequantMac {  // nq_dequant_mac (u_mac)
    std::array<uint16_t, 32> sb_mem{};  // [2*NBMAX]
    uint32_t sb_full = 0;               // 2 bits
    uint32_t sb_wbank = 0, sb_rbank = 0, sb_widx = 0;
    std::array<int32_t, 2> sb_xt{};
    uint32_t sb_any = 0;  // 2 bits
    uint32_t bib = 0, blk = 0, row = 0;
    bool first_tok = true, hold = false;
    bool s1_valid = false, s1_bfirst = false, s1_blast = false, s1_tlast = false, s1_first_blk = false,
         s1_first_tok = false, s1_plast = false;
    std::array<int32_t, kMaxLanes> s1_prod{};
    uint32_t s1_m = 0;
    int32_t s1_xb = 0, s1_xt = 0;
    uint32_t s1_row = 0;
    int32_t blk_acc = 0;
    bool s2_valid = false, s2_first_blk = false, s2_tlast = false, s2_plast = false;
    int32_t s2_p = 0;
    uint32_t s2_m = 0;
    int32_t s2_xb = 0, s2_xt = 0;
    int64_t s_acc = 0;
    bool od_valid = false;
    uint64_t od_data = 0;
    int32_t od_x = 0;
    bool od_last = false;
    uint32_t drain_idx = 0;
    bool draining = false, drain_go = false;
    // g_lane[l].qm[r] and g_acc[l].am[r], stored row-major: [r * LANES + l]
    std::vector<int16_t> qm;
    std::vector<int64_t> am;  // ACC_W-bit values, kept sign-extended
    int16_t& qm_at(int lane, int r) { return qm[static_cast<size_t>(r) * lanes + lane]; }
    int64_t& am_at(int lane, int r) { return am[static_cast<size_t>(r) * lanes + lane]; }
    int lanes = 16;
  };

  explicit AccelModel(const accel::AccelConfig& cfg);
  const accel::AccelConfig& config() const { return cfg_; }

  Inputs in;  // drive the pins here

  // rst_n low: the asynchronous reset (apply while in.rst_n is low; clock() also applies it).
  void reset();
  // One rising edge of clk.
  void clock();
  // Registers the RTL does not reset start from this generator's values (like
  // +verilator+rand+reset+2); outputs must not depend on them.
  void randomize_unreset(uint64_t seed);

  // --------------------------------------------------------------- outputs (combinational reads)
  bool qi_ready() const { return !ef_full() && inflight_ok(); }
  bool qo_valid() const { return q_.out_valid; }
  const std::array<uint64_t, 4>& qo_codes() const { return q_.out_codes; }
  uint16_t qo_scale() const { return q_.out_scale; }
  int qo_status() const { return q_.out_status; }
  bool qo_last() const { return q_.out_blk_last; }
  bool ms_ready() const { return !((m_.sb_full >> m_.sb_wbank) & 1u) && !start(); }
  bool mc_ready() const {
    return (!m_.od_valid || in.mo_ready) && (((m_.sb_full >> m_.sb_rbank) & 1u) || side_completes()) && !m_.hold &&
           !start();
  }
  bool mo_valid() const { return m_.od_valid; }
  uint64_t mo_data() const { return m_.od_data; }
  int mo_x() const { return m_.od_x; }
  bool mo_last() const { return m_.od_last; }
  uint32_t reg_rdata() const;
  bool q_busy() const;
  bool m_busy() const;
  bool err_cfg() const { return err_cfg_; }

  // --------------------------------------------------------------- introspection
  const Top& top() const { return t_; }
  const Quantizer& quantizer() const { return q_; }
  const DequantMac& mac() const { return m_; }
  const StallCounters& counters() const { return sc_; }
  std::map<std::string, uint64_t> stall_counters() const;
  void clear_counters() { sc_ = StallCounters{}; }
  uint64_t edges() const { return edges_; }  // every rising edge, reset or not

 private:
  bool start() const { return in.reg_we && in.reg_addr == 0x002 && (in.reg_wdata & 1u); }
  // nq_quantizer's element FIFO full flag and in-flight limit (in_ready = !full && pending < SF_DEPTH)
  bool ef_full() const {
    return NQKV_MUT(kMutEfifoShort) ? q_.u_efifo.count + 1u >= ef_depth_ : q_.u_efifo.count == ef_depth_;
  }
  bool inflight_ok() const {
    if (NQKV_MUT(kMutInflightIgnored)) return true;
    return q_.pending < sf_depth_ - (NQKV_MUT(kMutInflightShort) ? 1u : 0u);
  }
  // Always false in the RTL (and in production builds); kMutWaitSideEarly: the read bank is the
  // write bank and an ms beat completes it in this cycle.
  bool side_completes() const {
#ifdef NQKV_MUTANTS
    if (NQKV_MUT(kMutWaitSideEarly)) return side_completes_mut();
#endif
    return false;
  }
#ifdef NQKV_MUTANTS
  bool side_completes_mut() const;
  bool mut_go2_ = false;  // kMutDrainLate: drain_go delayed once more
#endif
  void derive();  // cached decodes of the configuration registers
  void clock_quantizer(bool count);
  void clock_mac(bool count);
  void clock_top();
  void encode_beat();  // p1_* -> out_codes (nq_quant_lane x LANES and the packing)
  static constexpr int kBatchMax = 256;  // elements encoded in one run (BLOCK_MAX at most)
  void codes_of(const uint16_t* x, int n, uint32_t mi, int32_t ei, uint32_t status, uint32_t* code) const;
  void pack_beat(const uint32_t* code, std::array<uint64_t, 4>& oc) const;
  void encode_block(uint32_t rp, const ScaleEntry& h);  // the per-block fast path
  void mac_lanes(int32_t* prod, uint32_t sv_raw) const;
  void reset_regs();

  accel::AccelConfig cfg_;
  // parameters
  int lanes_, lw_, bpbw_, nbw_, dw_, rw_, rows_, nthr_, nent_, nst_, sps_;
  uint32_t ef_depth_, sf_depth_, sfaw_;
  uint32_t bus_bits_;
  // derived configuration (derive())
  uint32_t bpb_ = 0, thr_n_ = 0, dlast_ = 0;
  bool err_cfg_ = false;
  std::array<int32_t, 16> thr_key_pad_{};  // thr_key[k] for k < thr_n, INT32_MAX above
  bool thr_sorted_ = false;

  Top t_;
  Quantizer q_;
  DequantMac m_;
  StallCounters sc_;
  uint64_t edges_ = 0;
  bool q_idle_ = true;  // quantizer: nothing in flight (FIFOs, pipeline, pending) after the last edge
  // per-block fast path (encode_block): each element-FIFO slot's packed codes, valid while
  // ef_gen_[slot] == gen_ (gen_ changes with every configuration decode, derive()); p1's copy
  uint32_t gen_ = 0;
  std::vector<std::array<uint64_t, 4>> ef_pk_;
  std::vector<uint32_t> ef_gen_;
  std::array<uint64_t, 4> p1_pk_{};
  uint32_t p1_gen_ = 0;
};

NQKV_SYSC_END
