// nqkv sim --backend rtl|systemc: a decode workload through a cycle model of the accelerator
// (nq_accel_top): the K/V cache is quantized by the model's quantizer, one decode step runs the
// score and value passes on its dequant-MAC (softmax and combine on the host), and every output
// is compared bit for bit with the golden library. Prints cycles, throughput, stall causes and
// the verdict. The backend comes from the registry (golden/backend.hpp).
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "golden/backend.hpp"
#include "io/error.hpp"
#include "tools/nqkv/commands.hpp"
#include "workloads/model_zoo.hpp"

namespace {

struct SimArgs {
  std::string backend = "rtl", model, codebook = "nf4", dtype = "f16", trace;
  int q_heads = 8, kv_heads = 2, head_dim = 128, block = 64, batch = 1, lanes = 0;
  int64_t context = 512;
  uint64_t seed = 1;
  bool no_backpressure = false;
};

void run_sim(SimArgs a) {
  const nqkv::backend::Backend& be = nqkv::backend::find(a.backend);
  if (!be.has_cycles()) {
    std::string cyc;
    for (const auto& e : nqkv::backend::entries())
      if (e.backend && e.backend->has_cycles()) cyc += (cyc.empty() ? "" : ", ") + e.name;
    throw nqkv::InputError("backend " + be.name() + " has no clock: `nqkv sim` runs the cycle models (" + cyc + ")");
  }
  nqkv::backend::Options opt;
  opt.lanes = nqkv::backend::resolve_lanes(be, a.lanes);
  opt.seed = a.seed;
  opt.backpressure = !a.no_backpressure;
  opt.trace = a.trace;
  // --model sets the attention shape (one layer's heads) from the model zoo or a Hugging Face
  // config.json, the same models `nqkv project` and `nqkv run` know; "tiny" is a quick test shape.
  if (a.model == "tiny") {
    a.q_heads = 4, a.kv_heads = 2, a.head_dim = 64;
  } else if (!a.model.empty()) {
    const nqkv::workloads::ModelConfig m = nqkv::workloads::resolve_model(a.model);
    a.q_heads = static_cast<int>(m.heads);
    a.kv_heads = static_cast<int>(m.kv_heads);
    a.head_dim = static_cast<int>(m.head_dim);
  }
  nqkv::backend::Workload w;
  w.q_heads = a.q_heads;
  w.kv_heads = a.kv_heads;
  w.head_dim = a.head_dim;
  w.context = a.context;
  w.batch = a.batch;
  w.codebook = a.codebook;
  w.dtype = a.dtype;
  w.block = a.block;
  const auto r = be.run_workload(w, opt);
  const uint64_t mac_cycles = r.score_cycles + r.value_cycles;
  fmt::print("nqkv sim --backend {}: LANES {}, {} {} B={}, Hq {} Hkv {} D {}, context {}, batch {}, back-pressure {}\n",
             be.name(), opt.lanes, a.codebook, a.dtype, a.block, a.q_heads, a.kv_heads, a.head_dim, a.context, a.batch,
             opt.backpressure ? "on" : "off");
  fmt::print("  quantizer: {} elements in {} cycles ({:.2f} elements/cycle overall, {:.2f} steady), {} stall cycles\n",
             r.quant_elements, r.quant_cycles, r.quant_cycles ? double(r.quant_elements) / r.quant_cycles : 0.0,
             r.quant_steady, r.quant_stall_cycles);
  fmt::print("  dequant-MAC: {} MACs in {} cycles (score {}, value {}): {:.2f} MACs/cycle overall, {:.2f} steady, "
             "{} stall cycles\n",
             r.macs, mac_cycles, r.score_cycles, r.value_cycles, mac_cycles ? double(r.macs) / mac_cycles : 0.0,
             r.mac_steady, r.mac_stall_cycles);
  if (!r.check.cycles.stalls.empty()) {
    fmt::print("  stall causes (cycles, whole run):");
    for (const auto& [k, v] : r.check.cycles.stalls) fmt::print(" {} {};", k, v);
    fmt::print("\n");
  }
  fmt::print("  decode step: {} cycles per sequence ({:.1f} us at 1 GHz); simulated in {:.1f} s\n",
             mac_cycles / static_cast<uint64_t>(a.batch), mac_cycles / static_cast<double>(a.batch) / 1000.0, r.seconds);
  if (r.check.mismatches == 0) {
    fmt::print("  verdict: BIT-EXACT with the golden library ({} values compared, seed {})\n", r.check.compared, a.seed);
  } else {
    fmt::print("  verdict: MISMATCH: {} of {} values differ (seed {})\n{}", r.check.mismatches, r.check.compared, a.seed,
               r.check.report);
    std::fflush(stdout);
    std::exit(1);
  }
}

}  // namespace

NQKV_COMMAND(sim) {
  auto a = std::make_shared<SimArgs>();
  auto* c = app.add_subcommand("sim", "Run a decode workload on a cycle model (--backend rtl|systemc) and check it bit-exactly");
  c->add_option("--backend", a->backend, "A cycle-model backend of `nqkv backends` (rtl, systemc)")->capture_default_str();
  c->add_option("--model", a->model, "Attention shape of a zoo model (as nqkv project; an unknown name lists them), a config.json, or tiny");
  c->add_option("--q-heads", a->q_heads, "Query heads")->capture_default_str();
  c->add_option("--kv-heads", a->kv_heads, "KV heads")->capture_default_str();
  c->add_option("--head-dim", a->head_dim, "Head dimension (<= 256)")->capture_default_str();
  c->add_option("--context", a->context, "Context length (tokens in the cache)")->capture_default_str();
  c->add_option("--batch", a->batch, "Sequences (each its own cache)")->capture_default_str();
  c->add_option("--codebook", a->codebook, "nf4|nf3|nf2|fp4|e2m1|int4sym|lloyd4")->capture_default_str();
  c->add_option("--dtype", a->dtype, "KV element type: f16|bf16")->capture_default_str();
  c->add_option("--block", a->block, "Block size (32..256, a multiple of the lanes)")->capture_default_str();
  c->add_option("--lanes", a->lanes, "LANES build of the model (default 16; `nqkv backends` lists the built set)");
  c->add_option("--seed", a->seed, "Seed of the data and of the stall pattern")->capture_default_str();
  c->add_flag("--no-backpressure", a->no_backpressure, "Streams always valid/ready (throughput measurement)");
  c->add_option("--trace-fst", a->trace, "Write a waveform to this file (FST for rtl)");
  c->callback([a] { run_sim(*a); });
}
