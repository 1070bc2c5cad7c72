// A width-independent, pin-level view of one nq_accel_top model: the verification environment
// (harness drivers and monitors, scoreboard, stimulus: sim/common) is written once against this
// interface. Implementations: the verilated RTL (sim/rtl/dut_models.cpp, one per LANES of
// accel::sim_lanes()), the SystemC/C++ cycle model (models/systemc), and LockstepDut (two of
// them compared on every cycle). Protocol per clock period, as the harness drives it: set the
// inputs, set_clk(false) + eval() (combinational outputs such as the readies and reg_rdata now
// reflect the inputs), sample, set_clk(true) + eval() (the rising edge).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nqkv::sim {

struct DutParams {
  int lanes = 16, bits_max = 4, block_max = 256, dmax = 256, acc_w = 48;
};

class Dut {
 public:
  virtual ~Dut() = default;
  virtual const DutParams& params() const = 0;
  virtual void eval() = 0;
  virtual void set_clk(bool v) = 0;
  virtual void set_rst_n(bool v) = 0;
  // register interface
  virtual void set_reg(bool we, uint32_t addr, uint32_t wdata) = 0;
  virtual uint32_t reg_rdata() const = 0;
  // quantizer input (lanes 16-bit elements, lane 0 in the low bits) and output
  virtual void set_qi(bool valid, const uint16_t* elems) = 0;
  virtual bool qi_ready() const = 0;
  virtual void set_qo_ready(bool r) = 0;
  virtual bool qo_valid() const = 0;
  // codes bus as 32-bit words, bit 0 of word 0 = bus bit 0 (the bus is lanes*bits_max bits)
  virtual void qo(std::vector<uint32_t>& codes, uint16_t& scale, int& status, bool& last) const = 0;
  // MAC streams
  virtual void set_ms(bool valid, uint16_t data) = 0;
  virtual bool ms_ready() const = 0;
  virtual void set_mc(bool valid, const std::vector<uint32_t>& codes, bool last) = 0;
  virtual bool mc_ready() const = 0;
  virtual void set_mo_ready(bool r) = 0;
  virtual bool mo_valid() const = 0;
  virtual void mo(uint64_t& data, int& x, bool& last) const = 0;
  // FST tracing (only when the model was verilated with --trace-fst)
  virtual void trace_open(const std::string& path) = 0;
  virtual void trace_dump(uint64_t time) = 0;
  virtual void trace_close() = 0;
  // Errors the model found in itself since the last call (RTL assertions, lock-step
  // divergences), one per line; empty when none. The harness reports them as protocol errors.
  virtual std::string take_errors() { return {}; }
  // Cycle models: stall cycles per cause since reset (empty when the model does not count them).
  virtual std::map<std::string, uint64_t> stall_counters() const { return {}; }
};

// Makes a model for one LANES value. rand_reset 2: every register and memory starts random
// (Verilator's +verilator+rand+reset+2; the seed is rand_seed), so a model that depends on an
// unreset value is caught.
using DutFactory = std::function<std::unique_ptr<Dut>(int lanes, int rand_reset, uint64_t rand_seed)>;

}  // namespace nqkv::sim
