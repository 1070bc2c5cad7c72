// nqkv sim --backend rtl|systemc: a decode workload through a cycle model of the accelerator
// (nq_accel_top): the K/V cache is quantized by the model's quantizer, one decode step runs the
// score and value passes on its dequant-MAC (softmax and combine on the host), and every output
// is compared bit for bit with the golden library. Prints cycles, throughput, stall causes and
// the verdict. The backend comes from the registry (golden/backend.hpp).
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "golden/backend.hpp"
#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "tools/nqkv/commands.hpp"
#include "workloads/model_zoo.hpp"

namespace {

struct SimArgs {
  std::string backend = "rtl", model, codebook = "nf4", dtype = "f16", trace, level;
  int q_heads = 8, kv_heads = 2, head_dim = 128, block = 64, batch = 1, lanes = 0;
  int64_t context = 512;
  uint64_t seed = 1;
  bool no_backpressure = false;
};

constexpr int64_t kMaxCacheElements = int64_t{1} << 24;

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
  opt.level = nqkv::backend::resolve_level(be, a.level);
  // --model sets the attention shape (one layer's heads) from the model zoo or a Hugging Face
  // config.json, the same models `nqkv project` and `nqkv run` know; "tiny" is a quick test shape.
  if (a.model == "tiny") {
    a.q_heads = 4, a.kv_heads = 2, a.head_dim = 64;
  } else if (!a.model.empty()) {
    nqkv::cli::check_model_file(a.model);
    const nqkv::workloads::ModelConfig m = nqkv::workloads::resolve_model(a.model);
    a.q_heads = static_cast<int>(m.heads);
    a.kv_heads = static_cast<int>(m.kv_heads);
    a.head_dim = static_cast<int>(m.head_dim);
  }
  // A bounded workload (each sequence's K and V caches are held in memory several times over) and
  // a writable trace, both checked before the simulation starts.
  const int64_t cache_elements = a.context * a.kv_heads * int64_t{a.head_dim};
  if (cache_elements > kMaxCacheElements)
    throw nqkv::InputError(fmt::format("the workload's KV cache (context {} x kv_heads {} x head_dim {} = {} elements per "
                                       "sequence) exceeds the limit of 2^24 = {} elements",
                                       a.context, a.kv_heads, a.head_dim, cache_elements, kMaxCacheElements));
  if (!a.trace.empty()) nqkv::io::check_output_file(a.trace, "--trace-fst");
  nqkv::backend::Workload w;
  w.q_heads = a.q_heads;
  w.kv_heads = a.kv_heads;
  w.head_dim = a.head_dim;
  w.context = a.context;
  w.batch = a.batch;
  w.codebook = a.codebook;
  w.dtype = a.dtype;
  w.block = a.block;
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto trace_before = a.trace.empty() ? fs::file_time_type{} : fs::last_write_time(a.trace, ec);
  const auto r = be.run_workload(w, opt);
  // A backend that cannot trace must not leave the user believing it did (the registry does not
  // say which can: checked after the run; rtl and lockstep write FST).
  if (!a.trace.empty() && (!fs::exists(a.trace, ec) || fs::last_write_time(a.trace, ec) == trace_before))
    throw nqkv::InputError("--trace-fst " + a.trace + ": the " + be.name() +
                           " backend wrote no waveform (rtl and lockstep do)");
  const uint64_t mac_cycles = r.score_cycles + r.value_cycles;
  const bool tlm = opt.level.rfind("tlm", 0) == 0, timing_only = opt.level == "tlm-timing";
  fmt::print("nqkv sim --backend {}{}: LANES {}, {} {} B={}, Hq {} Hkv {} D {}, context {}, batch {}, back-pressure {}\n",
             be.name(), opt.level.empty() ? "" : " --level " + opt.level, opt.lanes, a.codebook, a.dtype, a.block, a.q_heads,
             a.kv_heads, a.head_dim, a.context, a.batch, tlm ? "none (job level)" : opt.backpressure ? "on" : "off");
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
  if (timing_only) {
    fmt::print("  verdict: timing only (no data path: nothing computed or compared)\n");
  } else if (r.check.mismatches == 0) {
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
  c->add_option("--q-heads", a->q_heads, "Query heads")->check(nqkv::cli::int_range(1, 1024))->capture_default_str();
  c->add_option("--kv-heads", a->kv_heads, "KV heads")->check(nqkv::cli::int_range(1, 1024))->capture_default_str();
  c->add_option("--head-dim", a->head_dim, "Head dimension (<= 256)")
      ->check(nqkv::cli::int_range(1, 256))
      ->capture_default_str();
  c->add_option("--context", a->context, "Context length (tokens in the cache; context x kv_heads x head_dim <= 2^24)")
      ->check(nqkv::cli::int_range(1, 1 << 20))
      ->capture_default_str();
  c->add_option("--batch", a->batch, "Sequences (each its own cache)")
      ->check(nqkv::cli::int_range(1, 4096))
      ->capture_default_str();
  c->add_option("--codebook", a->codebook, "nf4|nf3|nf2|fp4|e2m1|int4sym|lloyd4")->capture_default_str();
  c->add_option("--dtype", a->dtype, "KV element type: f16|bf16")->capture_default_str();
  c->add_option("--block", a->block, "Block size (32..256, a multiple of the lanes)")
      ->check(nqkv::cli::int_range(1, 4096))
      ->capture_default_str();
  c->add_option("--lanes", a->lanes, "LANES build of the model (default 16; `nqkv backends` lists the built set)")
      ->check(nqkv::cli::int_range(0, 4096));
  c->add_option("--seed", a->seed, "Seed of the data and of the stall pattern")
      ->check(nqkv::cli::seed_range())
      ->capture_default_str();
  c->add_flag("--no-backpressure", a->no_backpressure, "Streams always valid/ready (throughput measurement)");
  c->add_option("--trace-fst", a->trace, "Write a waveform to this file (FST for rtl)");
  c->add_option("--level", a->level,
                "Abstraction level of backends that have several (systemc: cycle (default), tlm (job-level TLM-2.0 "
                "with data), tlm-timing (cycles only))");
  c->callback([a] { run_sim(*a); });
}
