// A width-independent view of one verilated nq_accel_top: the harness (drivers, monitors,
// scoreboard) is written once against this interface; sim/dut_models.cpp implements it for each
// verilated parameter set (LANES = 4 and 16, BITS_MAX = 4, BLOCK_MAX = DMAX = 256).
#pragma once
#include <cstdint>
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
};

// Verilated parameter sets in this build (lanes values).
std::vector<int> available_lanes();
// Creates a model with its own VerilatedContext. rand_reset 2 = +verilator+rand+reset+2 (every
// register and memory starts random; the seed is rand_seed).
std::unique_ptr<Dut> make_dut(int lanes, int rand_reset, uint64_t rand_seed);

}  // namespace nqkv::sim
