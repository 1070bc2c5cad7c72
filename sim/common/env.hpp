// The verification environment as a backend: any cycle model of nq_accel_top behind sim::Dut
// (the verilated RTL, the SystemC model, a lock-step pair) becomes a registered backend with
// golden-case checks, constrained-random self-checks and the decode workload of `nqkv sim`,
// all through the same harness, stimulus and scoreboard (OpenTitan's dv/env split: the design is
// the only part that changes). sim/rtl/rtl_backend.cpp registers the RTL as "rtl" in two lines.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "golden/backend.hpp"
#include "models/accel/accel_config.hpp"
#include "sim/common/dut.hpp"
#include "sim/common/harness.hpp"

namespace nqkv::sim {

// Constrained-random self-check (tests and lock-step runs): `cases` random quantize and
// attention cases with the contract's corner cases, expected values from the golden library.
struct RandomSpec {
  std::string codebook = "nf4";
  std::string dtype = "f16";  // f16 | bf16
  int block = 64;
  int cases = 4;
  bool quantize = true, attention = true;
  bool back_to_back = true;  // attention passes overlapped at random (scoreboard PassPlan)
};

class CycleBackend : public backend::Backend {
 public:
  CycleBackend(std::string name, std::string description, DutFactory make)
      : name_(std::move(name)), description_(std::move(description)), make_(std::move(make)) {}
  std::string name() const override { return name_; }
  std::string description() const override { return description_; }
  bool available(std::string*) const override { return true; }
  std::vector<int> lanes() const override { return accel::sim_lanes(); }
  int default_lanes() const override;
  bool has_cycles() const override { return true; }
  // The model runs a case when its block is a multiple of 8 and of LANES, at most BLOCK_MAX, its
  // codebook an absmax table of at most BITS_MAX bits and its elements fp16/bf16; other cases
  // are skipped with the reason.
  backend::Result check_case(const io::SafeTensors& golden_case, const backend::Options& opt) const override;
  backend::WorkloadResult run_workload(const backend::Workload& w, const backend::Options& opt) const override;
  backend::Result random_check(const RandomSpec& spec, const backend::Options& opt) const;

  const DutFactory& factory() const { return make_; }
  // The harness over a fresh model of opt.lanes (resolved against lanes()).
  std::unique_ptr<Harness> make_harness(const backend::Options& opt) const;

 private:
  std::string name_, description_;
  DutFactory make_;
};

}  // namespace nqkv::sim
