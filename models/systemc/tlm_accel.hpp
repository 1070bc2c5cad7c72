// TlmAccel: a TLM-2.0 loosely-timed target of nq_accel_top for virtual platforms. No clock and no
// process inside: every transaction completes in b_transport and annotates its delay in cycles
// of the accelerator's clock (clock_period, default 1 ns). Built on the cycle-exact core
// AccelModel (accel_model.hpp); nothing of the accelerator's logic is written here.
//
// Two target sockets (32-bit bus width):
//  - regs: the register map of rtl/doc/protocol.md. TLM addresses are BYTE addresses: register
//    word address a (reg_addr) is at byte address 4a, so the 12-bit reg_addr space is bytes
//    0x0000..0x3fff. A transaction is one or more whole 32-bit words (data_length a multiple of 4,
//    streaming_width == data_length, consecutive registers; host byte order), no byte enables.
//    Reads return reg_rdata (0 for write-only and unmapped words, as the RTL); writes are one
//    clock edge of the core each (reg_we for one cycle: they take effect at that edge, exactly as
//    on the pins). Delay: one clock period per word, read or write. transport_dbg does the same
//    without delay. Errors: TLM_ADDRESS_ERROR_RESPONSE (unaligned or beyond 0x3fff),
//    TLM_BURST_ERROR_RESPONSE (length not a multiple of 4, or streaming), 
//    TLM_BYTE_ENABLE_ERROR_RESPONSE (byte enables). DMI is not offered.
//  - jobs: a transaction carrying a JobExtension runs one whole pass on the current register
//    configuration (CFG, BLOCK, NBLK, CB_N, THR, MAC, and for the score form the query Q written
//    before, followed by CTRL.start, as on the pins): a quantize pass (rows x cols elements), a
//    score pass (T tokens: S_t, x_t) or a value pass (T tokens of one partition: O_i). The
//    command, address and data pointer of the generic payload are ignored. With data the pass
//    runs on the core with every valid and ready high and returns the outputs; timing_only skips
//    the data path and computes the cycle count in closed form (pass_cycles below). The delay
//    is annotated with the pass's cycles, JobExtension::cycles. Errors (no extension, unknown
//    kind, illegal configuration (STATUS.err_cfg), CFG.mode not matching the kind, sizes that do
//    not match the configuration): TLM_GENERIC_ERROR_RESPONSE and JobExtension::error (one line).
//
// The cycle count of a pass (the definition of sim::Harness's RunStats::cycles, which the tests
// compare with): the pass's first cycle is the one in which its first input beat is offered (every
// stream of the pass offers its first beat in that cycle); the count runs up to and including
// the cycle whose rising edge transfers the pass's last output beat. Register writes before the
// pass (configuration, query, CTRL.start) are not part of it (each is one cycle on the regs
// socket), nor are idle cycles after it.
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/accel/accel_config.hpp"
#include "models/systemc/accel_model.hpp"

namespace nqkv::sysc {

enum class JobKind : int { Quantize = 0, Score = 1, Value = 2 };
const char* job_kind_name(JobKind k);  // "quantize", "score", "value"; "unknown" otherwise

struct JobExtension : tlm::tlm_extension<JobExtension> {
  JobKind kind = JobKind::Quantize;
  bool timing_only = false;  // no data path: only cycles (sizes from rows/cols/tokens)
  // ---- inputs
  int64_t rows = 0, cols = 0;   // quantize: rows x cols elements, cols a multiple of BLOCK and LANES
  std::vector<uint16_t> x;      // quantize: raw fp16/bf16 bits, row-major (rows * cols)
  int64_t tokens = 0;           // score / value: T
  std::vector<uint16_t> side;   // score: K scales; value: block weights W (T * NBLK)
  std::vector<uint8_t> codes;   // score / value: T packed rows of D = NBLK*BLOCK codes (D*bits/8 bytes each)
  // ---- outputs
  std::vector<uint8_t> q_codes;    // quantize: rows * cols*bits/8 packed bytes (docs/numerics.md 4.2)
  std::vector<uint16_t> q_scales;  // quantize: rows * cols/BLOCK block scales
  std::vector<uint8_t> q_status;   // quantize: block status (0 ok, 1 zero, 2 flushed, 3 non-finite)
  std::vector<int64_t> scores;     // score: S_t per token
  std::vector<int32_t> scores_x;   // score: x_t per token
  std::vector<int64_t> out;        // value: O_i, i < D
  uint64_t cycles = 0;             // the pass's cycles (definition above); the annotated delay
  std::string error;               // why the job failed (TLM_GENERIC_ERROR_RESPONSE), else empty

  tlm::tlm_extension_base* clone() const override { return new JobExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& e) override { *this = static_cast<const JobExtension&>(e); }
};

// Closed forms of a pass's cycles without back-pressure (definition above), for the current
// register values block (BLOCK) and nblk (NBLK); LANES and the latencies from cfg. Proven equal
// to the core's count on every legal configuration in tests/systemc/test_tlm_accel.cpp:
//   quantize: N + B/L + quant_latency()  (N = rows*cols/LANES input beats: one accepted per cycle,
//             the last block's first code beat quant_latency() cycles after its last input beat,
//             then its B/L beats one per cycle)
//   score:    NBLK + T*D/L + score_latency()  (token 0's NBLK side values first, then the code
//             beats of all tokens back to back: the next token's side values load into the other
//             bank meanwhile, since D/L >= NBLK; S_t of the last token 3 cycles after its last beat)
//   value:    NBLK + T*D/L + drain_latency() + D  (then the drain: D words, the first one
//             drain_latency() + 1 cycles after the last code beat)
uint64_t quantize_pass_cycles(const accel::AccelConfig& cfg, int block, int64_t beats);
uint64_t score_pass_cycles(const accel::AccelConfig& cfg, int block, int nblk, int64_t tokens);
uint64_t value_pass_cycles(const accel::AccelConfig& cfg, int block, int nblk, int64_t tokens);

class TlmAccel : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<TlmAccel> regs;
  tlm_utils::simple_target_socket<TlmAccel> jobs;

  // cfg: the accelerator's parameters (AccelConfig::validate must accept them).
  TlmAccel(const sc_core::sc_module_name& name, const accel::AccelConfig& cfg,
           const sc_core::sc_time& clock_period = sc_core::sc_time(1, sc_core::SC_NS));
  const accel::AccelConfig& config() const { return m_.config(); }
  const sc_core::sc_time& clock_period() const { return period_; }
  const AccelModel& model() const { return m_; }
  // Cycles annotated so far (register words and passes).
  uint64_t cycles() const { return cycles_; }

  // The job itself, without TLM (the b_transport of `jobs` calls it): false and ext.error set
  // on bad input.
  bool run_job(JobExtension& ext);
  // One register word without TLM (what transport_dbg does per word): a write is one clock edge
  // of the core with reg_we; a read is reg_rdata. word_addr is reg_addr (12 bits).
  void write_register(uint32_t word_addr, uint32_t data);
  uint32_t read_register(uint32_t word_addr);

 private:
  void reg_b_transport(tlm::tlm_generic_payload& t, sc_core::sc_time& delay);
  unsigned reg_transport_dbg(tlm::tlm_generic_payload& t);
  void job_b_transport(tlm::tlm_generic_payload& t, sc_core::sc_time& delay);
  // Register words of t (checks them); returns the number of words, or 0 with t's response set.
  unsigned reg_access(tlm::tlm_generic_payload& t);
  std::string check_config(JobKind kind) const;

  bool quantize(JobExtension& e);
  bool mac_pass(JobExtension& e, bool value);

  AccelModel m_;
  sc_core::sc_time period_;
  uint64_t cycles_ = 0;
  std::vector<uint32_t> beat_;  // one code beat, scratch
};

// TlmAccel with the simulation parameter set of LANES (AccelConfig::sim); nqkv::InputError (one
// line) for an illegal LANES.
std::unique_ptr<TlmAccel> make_tlm_accel(const char* name, int lanes,
                                         const sc_core::sc_time& clock_period = sc_core::sc_time(1, sc_core::SC_NS));

}  // namespace nqkv::sysc
