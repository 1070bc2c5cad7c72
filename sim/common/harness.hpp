// The harness for any model of nq_accel_top behind sim::Dut (verilated RTL, SystemC model,
// lock-step pair): a clock/reset driver, a register-bus driver, valid/ready stream drivers with
// random stall injection, stream monitors that check the handshake rules (a valid output may not
// drop or change until it is taken; nothing lost, duplicated or extra), and helpers that run one
// quantize / score / value pass and return what the accelerator produced. Errors the model
// reports about itself (RTL assertions, lock-step divergences: Dut::take_errors) join the
// harness's own. The scoreboard (comparison with the golden library) is sim/common/scoreboard.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "golden/attention.hpp"
#include "golden/rng.hpp"
#include "models/accel/regmap.hpp"
#include "sim/common/dut.hpp"

namespace nqkv::sim {

struct HarnessOptions {
  uint64_t seed = 1;          // stall pattern and random-reset seed
  bool backpressure = true;   // random valid gaps on inputs and random ready on outputs
  double p_valid = 0.75;      // probability an idle driver offers its next beat in a cycle
  double p_ready = 0.7;       // probability an output is ready in a cycle
  int rand_reset = 2;         // +verilator+rand+reset+N
  std::string trace_fst;      // FST waveform path (empty: no tracing)
};

struct RunStats {
  uint64_t cycles = 0;        // clock cycles of the runs
  uint64_t stall_cycles = 0;  // cycles where the data stream (qi or mc) offered a beat and the DUT was not ready
  uint64_t work = 0;          // elements quantized or MACs performed
  uint64_t data_beats = 0;    // element beats (quantizer) or code beats (MAC)
  uint64_t span_cycles = 0;   // cycles from the first to the last data beat accepted (inclusive)
  void add(const RunStats& o) {
    cycles += o.cycles;
    stall_cycles += o.stall_cycles;
    work += o.work;
    data_beats += o.data_beats;
    span_cycles += o.span_cycles;
  }
  double work_per_cycle() const { return cycles ? double(work) / double(cycles) : 0.0; }
  double steady_rate() const { return span_cycles ? double(data_beats) / double(span_cycles) : 0.0; }
};

// Register map: generated from rtl/data/nq_accel_regs.json (rtl/doc/protocol.md).
namespace reg = accel::reg;

struct QuantOut {
  std::vector<uint8_t> codes;    // rows * cols*bits/8 packed bytes (section 4.2)
  std::vector<uint16_t> scales;  // rows * cols/block
  std::vector<uint8_t> status;   // rows * cols/block
};

class Harness {
 public:
  // Takes a model made with opt.rand_reset and opt.seed (a DutFactory's arguments).
  Harness(std::unique_ptr<Dut> dut, const HarnessOptions& opt);
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
  Dut& dut() { return *dut_; }
  int lanes() const { return dut_->params().lanes; }
  const DutParams& params() const { return dut_->params(); }

  void reset();
  void write_reg(uint32_t addr, uint32_t data);
  uint32_t read_reg(uint32_t addr);
  void load_codebook(const golden::Codebook& cb);
  // mode 0 score, 1 value; nblk = blocks per head vector (MAC only)
  void configure(golden::ElemType type, int bits, int block, int nblk, int mode);
  void start_mac();

  // rows x cols raw element bits, cols a multiple of block (configured) and of lanes.
  QuantOut quantize(const std::vector<uint16_t>& x, int64_t rows, int64_t cols, RunStats* st);
  // Score passes: the query (head_dim int16), then for T tokens their nb K scales and packed K
  // codes (T rows of head_dim*bits/8 bytes). Returns (S_t, x_t) per token. pass_ends (ascending,
  // the last = T) splits the tokens into passes streamed back to back (mc_last after each);
  // empty: one pass.
  std::vector<std::pair<int64_t, int>> score(const std::vector<int16_t>& q, const std::vector<uint16_t>& scales,
                                             const std::vector<uint8_t>& packed, int64_t T, RunStats* st,
                                             const std::vector<int64_t>& pass_ends = {});
  // Value passes: nb weights W per token and packed V codes; returns head_dim accumulators per
  // pass. pass_ends as for score: the passes stream back to back, the next one's side values and
  // codes queued behind the previous one's drain.
  std::vector<int64_t> value(const std::vector<uint16_t>& weights, const std::vector<uint8_t>& packed, int64_t T,
                             RunStats* st, const std::vector<int64_t>& pass_ends = {});

  const std::string& errors() const { return errors_; }  // protocol violations, time-outs, model errors
  uint64_t seed() const { return opt_.seed; }

 private:
  struct Beat {
    std::vector<uint16_t> elems;   // qi
    std::vector<uint32_t> codes;   // mc
    uint16_t side = 0;             // ms
    bool last = false;
  };
  struct Streams {
    std::vector<Beat> qi, ms, mc;
    size_t expect_qo = 0, expect_mo = 0;
  };
  struct QoBeat {
    std::vector<uint32_t> codes;
    uint16_t scale;
    int status;
    bool last;
  };
  struct MoBeat {
    uint64_t data;
    int x;
    bool last;
  };
  void tick();  // one clock period with the inputs already set
  void posedge();  // clk 0 -> 1, eval, trace, collect the model's own errors
  void run(const Streams& s, std::vector<QoBeat>& qo, std::vector<MoBeat>& mo, RunStats* st);
  // One MAC pass (either form): per token, its nblk side values (scales or weights) then its code
  // beats; returns the MAC output beats. The two forms differ only in what they feed and read.
  std::vector<MoBeat> mac_pass(const std::vector<uint16_t>& side, const std::vector<uint8_t>& packed, int64_t T,
                               const std::vector<int64_t>& pass_ends, size_t expect_mo, RunStats* st);
  std::vector<uint32_t> code_beat(const uint8_t* row, int64_t beat) const;
  bool chance(double p) { return p >= 1.0 || rng_.uniform() < p; }

  HarnessOptions opt_;
  std::unique_ptr<Dut> dut_;
  golden::SplitMix64 rng_;
  uint64_t time_ = 0;
  int bits_ = 4, block_ = 64, nblk_ = 2;
  std::string errors_;
};

}  // namespace nqkv::sim
