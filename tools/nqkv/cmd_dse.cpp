// nqkv dse: design-space exploration of the accelerator (models/dse, docs/dse.md).
//   nqkv dse plan SPEC                      points per stage, cache hits, CPU-time estimate (no work)
//   nqkv dse run SPEC -o OUT [--jobs N] [--resume]
//   nqkv dse shard SPEC --index I --count N -o OUTi      one shard of the points (a job array)
//   nqkv dse merge OUT1 OUT2 ... -o OUT                    shards back into one output
//   nqkv dse pareto OUT [--objectives ...] [--plot DIR]
//   nqkv dse report OUT -o FILE.md
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "golden/backend.hpp"
#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "models/dse/engine.hpp"
#include "models/dse/mpi_pool.hpp"
#include "tools/nqkv/commands.hpp"

namespace {

struct PointArgs {
  std::string backend, codebook = "nf4", dtype = "f16", rtl_plugin;
  int lanes = 16, q_heads = 8, kv_heads = 2, head_dim = 128, block = 64;
  int64_t context = 256;
  uint64_t seed = 1;
};

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw nqkv::InputError("cannot find the nqkv executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

struct DseArgs {
  std::string spec, out, cache, plot, report_out, points = "pareto", backend = "rtl";
  int64_t max_context = 256;
  uint64_t seed = 1;
  double timeout_s = 600, memory_mib = 4096, build_timeout_s = 3600, build_memory_mib = 8192;
  std::string rtl_builder, checkpoint, gguf, tokenizer, text;
  std::vector<std::string> inputs, objectives, also;
  int jobs = 1;
  int64_t index = 0, count = 1;
  bool resume = false, quiet = false;
  std::string command;
};

std::string default_cache() {
  if (const char* c = std::getenv("NQKV_DSE_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/nqkv/dse";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/nqkv/dse";
  return ".nqkv-dse-cache";
}

std::string also_args(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& o : v) s += " --also " + o;
  return s;
}

std::string cache_of(const DseArgs& a) { return a.cache.empty() ? default_cache() : a.cache; }

void print_summary(const nqkv::dse::RunSummary& s, const std::string& out) {
  std::printf("nqkv dse: %lld points: %lld ok, %lld pruned, %lld invalid, %lld infeasible, %lld failed; %lld on the "
              "Pareto front; %.2f s; wrote %s\n",
              static_cast<long long>(s.points), static_cast<long long>(s.ok), static_cast<long long>(s.pruned),
              static_cast<long long>(s.invalid), static_cast<long long>(s.infeasible), static_cast<long long>(s.failed),
              static_cast<long long>(s.pareto), s.seconds, out.c_str());
}

void run_or_shard(const DseArgs& a, bool shard) {
  if (shard && a.index >= a.count)
    throw nqkv::InputError(fmt::format("--index {} must be below --count {}", a.index, a.count));
  const nqkv::dse::Study study(nqkv::dse::load_spec(a.spec), cache_of(a));
  nqkv::dse::RunOptions o;
  o.out = a.out;
  o.jobs = a.jobs;
  o.resume = a.resume;
  o.shard_index = shard ? a.index : 0;
  o.shard_count = shard ? a.count : 1;
  o.progress = !a.quiet;
  o.command = a.command;
  const nqkv::dse::RunSummary sum = nqkv::dse::run(study, o);
  if (nqkv::dse::mpi_rank() == 0) print_summary(sum, a.out);  // MPI workers write nothing
}

}  // namespace

NQKV_COMMAND(dse) {
  auto a = std::make_shared<DseArgs>();
  auto* c = app.add_subcommand("dse", "Design-space exploration of the accelerator (docs/dse.md)");
  c->require_subcommand(1);
  auto cache_opt = [a](CLI::App* s) {
    s->add_option("--cache", a->cache,
                  "Stage cache directory (default $NQKV_DSE_CACHE, else $XDG_CACHE_HOME/nqkv/dse or ~/.cache/nqkv/dse)");
  };
  auto cmdline = [a](const std::string& name) { a->command = "nqkv dse " + name; };
  // --jobs, --timeout, --memory-mib and --quiet of the commands that run child processes per item.
  auto child_opts = [a](CLI::App* s, const std::string& what) {
    s->add_option("--jobs", a->jobs, what + "s at once (child processes)")->check(nqkv::cli::int_range(1, 256))->capture_default_str();
    s->add_option("--timeout", a->timeout_s, "Seconds per " + what)->check(nqkv::cli::real_range(1, 86400))->capture_default_str();
    s->add_option("--memory-mib", a->memory_mib, "Address-space budget per " + what + " (MiB)")
        ->check(nqkv::cli::real_range(64, 1 << 24))
        ->capture_default_str();
    s->add_flag("--quiet", a->quiet, "No progress output");
  };

  auto* plan = c->add_subcommand("plan", "Points per stage after constraints, cache hits and a CPU-time estimate (no work)");
  plan->add_option("spec", a->spec, "Spec file (YAML or JSON)")->required();
  cache_opt(plan);
  plan->callback([a] {
    const nqkv::dse::Study study(nqkv::dse::load_spec(a->spec), cache_of(*a));
    const std::string s = nqkv::dse::plan(study);
    std::fwrite(s.data(), 1, s.size(), stdout);
  });

  for (const bool shard : {false, true}) {
    auto* r = c->add_subcommand(shard ? "shard" : "run",
                                shard ? "Run one shard of the points (id % count == index) into its own OUT"
                                      : "Run the sweep into OUT (written as OUT.partial, renamed when complete)");
    r->add_option("spec", a->spec, "Spec file (YAML or JSON)")->required();
    r->add_option("-o,--out", a->out, "Output directory (must not exist)")->required();
    r->add_option("--jobs", a->jobs, "Local parallelism: threads for points, child processes for syntheses")
        ->check(nqkv::cli::int_range(1, 256))
        ->capture_default_str();
    r->add_flag("--resume", a->resume, "Continue after a killed run (OUT.partial exists); finished stages come from the cache");
    r->add_flag("--quiet", a->quiet, "No progress output");
    if (shard) {
      r->add_option("--index", a->index, "This shard's index (0..count-1)")->check(nqkv::cli::int_range(0, 1 << 20))->required();
      r->add_option("--count", a->count, "Number of shards")->check(nqkv::cli::int_range(1, 1 << 20))->required();
    }
    cache_opt(r);
    r->callback([a, shard, r] {
      a->command = "nqkv dse " + std::string(shard ? "shard" : "run") + " " + a->spec + " -o " + a->out +
                   (shard ? fmt::format(" --index {} --count {}", a->index, a->count) : std::string()) +
                   fmt::format(" --jobs {}", a->jobs) + (a->resume ? " --resume" : "");
      (void)r;
      // Under mpirun (`run` only): MPI_Init here, MPI_Finalize when the run is done (mpi_pool.hpp).
      std::unique_ptr<nqkv::dse::MpiSession> mpi;
      if (nqkv::dse::launched_by_mpirun()) {
        if (shard) throw nqkv::InputError("nqkv dse shard runs one shard per process; under mpirun use nqkv dse run");
        mpi = std::make_unique<nqkv::dse::MpiSession>();
      }
      try {
        run_or_shard(*a, shard);
      } catch (const nqkv::InputError&) {
        // Every rank reads the same spec: rank 0 alone reports a bad one (one line, exit 2).
        if (mpi && mpi->rank() != 0) {
          mpi->finalize();
          std::exit(nqkv::kExitBadInput);
        }
        throw;
      }
    });
  }

  auto* merge = c->add_subcommand("merge", "Merge the OUT directories of the shards of one spec into one OUT");
  merge->add_option("inputs", a->inputs, "Shard output directories")->required();
  merge->add_option("-o,--out", a->out, "Output directory (must not exist)")->required();
  merge->callback([a] {
    nqkv::dse::merge(a->inputs, a->out, "");
    std::printf("nqkv dse: merged %zu shards into %s\n", a->inputs.size(), a->out.c_str());
  });

  auto* pareto = c->add_subcommand("pareto", "The Pareto front of a finished OUT (CSV on stdout), optionally plotted");
  pareto->add_option("out", a->out, "A finished nqkv dse output directory")->required();
  pareto->add_option("--objectives", a->objectives, "e.g. 'max tokens_per_s' 'min area_mm2' (default: the spec's)")
      ->delimiter(',');
  pareto->add_option("--plot", a->plot, "Write PNG plots into this directory");
  pareto->callback([a] {
    if (!a->plot.empty()) nqkv::io::check_output_dir(a->plot, "--plot");
    const std::string s = nqkv::dse::pareto_command(a->out, a->objectives, a->plot, "");
    std::fwrite(s.data(), 1, s.size(), stdout);
  });

  auto* val = c->add_subcommand("validate",
                                "Re-run points of a finished OUT on a cycle model (rtl, systemc), shape capped: "
                                "model-vs-backend cycle difference and bit-exact verdict into OUT/validation.csv");
  val->add_option("out", a->out, "A finished nqkv dse output directory")->required();
  val->add_option("--points", a->points, "pareto | all | sample:N | pareto+sample:N")->capture_default_str();
  val->add_option("--backend", a->backend, "A cycle-model backend of `nqkv backends` (rtl, systemc)")->capture_default_str();
  val->add_option("--max-context", a->max_context, "Cap of the simulated context (tokens)")
      ->check(nqkv::cli::int_range(1, 4096))
      ->capture_default_str();
  val->add_option("--seed", a->seed, "Seed of the sample, the data and the stall pattern")
      ->check(nqkv::cli::seed_range())
      ->capture_default_str();
  child_opts(val, "simulation");
  val->add_option("--rtl-builder", a->rtl_builder,
                  "Command that builds a missing LANES of the rtl backend (`CMD --lanes L --out DIR` -> DIR/libnq_rtl.so; "
                  "default sim/rtl/build_plugin.sh; none: no on-demand builds)");
  val->add_option("--build-timeout", a->build_timeout_s, "Seconds per on-demand RTL build")
      ->check(nqkv::cli::real_range(1, 86400))
      ->capture_default_str();
  val->add_option("--build-memory-mib", a->build_memory_mib, "Address-space budget per on-demand RTL build (MiB)")
      ->check(nqkv::cli::real_range(64, 1 << 24))
      ->capture_default_str();
  cache_opt(val);
  val->callback([a] {
    nqkv::dse::ValidateOptions o;
    o.out = a->out, o.backend = a->backend, o.points = a->points, o.max_context = a->max_context, o.seed = a->seed;
    o.jobs = a->jobs, o.timeout_s = a->timeout_s, o.memory_mib = a->memory_mib, o.progress = !a->quiet;
    o.rtl_builder = a->rtl_builder, o.build_timeout_s = a->build_timeout_s, o.build_memory_mib = a->build_memory_mib;
    o.cache_dir = cache_of(*a);
    o.exe = self_exe();
    bool known = false;
    for (const auto& e : nqkv::backend::entries()) {
      if (e.name != a->backend) continue;
      known = true;
      if (!e.backend) {
        o.backend_built = false, o.not_built_reason = e.not_built;
      } else {
        if (!e.backend->has_cycles())
          throw nqkv::InputError("--backend " + a->backend + " has no clock: validate runs the cycle models (rtl, systemc)");
        o.built_lanes = e.backend->lanes();
      }
    }
    if (!known) nqkv::backend::find(a->backend);  // throws the one-line list of backends
    const auto s = nqkv::dse::validate(o);
    std::printf("nqkv dse validate --backend %s: %lld points (%lld shapes, %lld simulations, %lld from the cache): %lld "
                "cycle-exact and bit-exact, %lld cycle differences, %lld data mismatches, %lld not built, %lld failed; "
                "%lld RTL builds, %lld from the cache (%.0f s of build time); wrote %s/validation.csv\n",
                a->backend.c_str(), static_cast<long long>(s.points), static_cast<long long>(s.shapes),
                static_cast<long long>(s.simulations), static_cast<long long>(s.cache_hits), static_cast<long long>(s.exact),
                static_cast<long long>(s.cycle_mismatch), static_cast<long long>(s.data_mismatch),
                static_cast<long long>(s.not_built), static_cast<long long>(s.failed), static_cast<long long>(s.builds),
                static_cast<long long>(s.build_cache_hits), s.build_seconds, a->out.c_str());
    if (s.cycle_mismatch || s.data_mismatch) std::exit(1);
  });

  auto* ppl = c->add_subcommand("perplexity",
                                "Perplexity of the selected points' KV formats on a llama2.c checkpoint (stories260K) "
                                "through nqkv eval, one cached run per format: ppl columns of points.csv/pareto.csv");
  ppl->add_option("out", a->out, "A finished nqkv dse output directory")->required();
  ppl->add_option("--points", a->points, "pareto | all | sample:N | pareto+sample:N")->capture_default_str();
  ppl->add_option("--checkpoint", a->checkpoint,
                  "llama2.c checkpoint (default ../shared/data/tinyllamas/stories260K.bin beside the source tree; "
                  "when absent the command says so and does nothing)");
  ppl->add_option("--gguf", a->gguf, "A llama-architecture GGUF model instead (e.g. SmolLM2-135M-Instruct; give a short --text)");
  ppl->add_option("--tokenizer", a->tokenizer, "llama2.c tokenizer (default: tok<vocab>.bin beside the checkpoint)");
  ppl->add_option("--text", a->text, "held-out UTF-8 text (default: nqkv eval's built-in paragraphs)");
  ppl->add_option("--seed", a->seed, "Seed of a sample:N selection")->check(nqkv::cli::seed_range())->capture_default_str();
  child_opts(ppl, "run");
  cache_opt(ppl);
  ppl->callback([a] {
    nqkv::dse::PerplexityOptions o;
    o.out = a->out, o.points = a->points, o.seed = a->seed, o.jobs = a->jobs, o.timeout_s = a->timeout_s;
    o.memory_mib = a->memory_mib, o.progress = !a->quiet, o.cache_dir = cache_of(*a), o.exe = self_exe();
    o.tokenizer = a->tokenizer, o.text = a->text, o.gguf = a->gguf;
    const bool given = !a->checkpoint.empty() || !a->gguf.empty();
    o.checkpoint = given ? a->checkpoint : nqkv::dse::default_ppl_checkpoint();
    if (!given && access(o.checkpoint.c_str(), R_OK) != 0) {
      std::printf("nqkv dse perplexity: skipped: %s not found (give --checkpoint)\n", o.checkpoint.c_str());
      return;
    }
    const auto s = nqkv::dse::perplexity(o);
    std::printf("nqkv dse perplexity: %lld formats (%lld runs, %lld from the cache, %lld failed), %lld points filled; "
                "wrote %s/perplexity-<model>.csv\n",
                static_cast<long long>(s.formats), static_cast<long long>(s.runs), static_cast<long long>(s.cache_hits),
                static_cast<long long>(s.failed), static_cast<long long>(s.points), a->out.c_str());
  });

  // One point on a backend, in-process, JSON on stdout: what `validate` runs in each child.
  auto p = std::make_shared<PointArgs>();
  auto* vp = c->add_subcommand("validate-point", "(internal) one validation run of `nqkv dse validate`, JSON on stdout");
  vp->group("");  // not listed in --help
  vp->add_option("--backend", p->backend)->required();
  vp->add_option("--lanes", p->lanes)->check(nqkv::cli::int_range(1, 4096));
  vp->add_option("--q-heads", p->q_heads)->check(nqkv::cli::int_range(1, 1024));
  vp->add_option("--kv-heads", p->kv_heads)->check(nqkv::cli::int_range(1, 1024));
  vp->add_option("--head-dim", p->head_dim)->check(nqkv::cli::int_range(1, 256));
  vp->add_option("--context", p->context)->check(nqkv::cli::int_range(1, 1 << 20));
  vp->add_option("--codebook", p->codebook);
  vp->add_option("--dtype", p->dtype);
  vp->add_option("--block", p->block)->check(nqkv::cli::int_range(1, 4096));
  vp->add_option("--seed", p->seed)->check(nqkv::cli::seed_range());
  vp->add_option("--rtl-plugin", p->rtl_plugin);  // LANES=path of an on-demand RTL build
  vp->callback([p] {
    // This child is single-threaded here: the rtl backend reads its on-demand builds from the environment.
    if (!p->rtl_plugin.empty()) setenv("NQKV_RTL_PLUGINS", p->rtl_plugin.c_str(), 1);
    const nqkv::backend::Backend& be = nqkv::backend::find(p->backend);
    nqkv::backend::Options opt;
    opt.lanes = nqkv::backend::resolve_lanes(be, p->lanes);
    opt.seed = p->seed;
    opt.backpressure = false;  // the analytic formulas are the no-back-pressure cycle counts
    nqkv::backend::Workload w;
    w.q_heads = p->q_heads, w.kv_heads = p->kv_heads, w.head_dim = p->head_dim, w.context = p->context;
    w.codebook = p->codebook, w.dtype = p->dtype, w.block = p->block, w.batch = 1;
    auto r = be.run_workload(w, opt);
    // Test hook: a planted one-cycle error, to show that validate catches a cycle difference.
    if (const char* plant = std::getenv("NQKV_DSE_PLANT_CYCLE_ERROR"); plant && *plant == '1') r.score_cycles += 1;
    const nlohmann::json j = {{"score_cycles", r.score_cycles}, {"value_cycles", r.value_cycles},
                              {"quant_cycles", r.quant_cycles}, {"compared", r.check.compared},
                              {"mismatches", r.check.mismatches}, {"seconds", r.seconds}};
    std::printf("%s\n", j.dump().c_str());
  });

  auto* report = c->add_subcommand("report", "A Markdown report of a finished OUT");
  report->add_option("out", a->out, "A finished nqkv dse output directory")->required();
  report->add_option("-o,--output", a->report_out, "Markdown file to write")->required();
  report->add_option("--plots", a->plot, "Link the PNGs of `nqkv dse pareto --plot` at this path (relative to the report)");
  report->add_option("--also", a->also, "Other finished OUTs whose validation runs and rows are appended");
  report->callback([a] {
    nqkv::io::check_output_file(a->report_out, "-o");
    const std::string md =
        nqkv::dse::report_markdown(a->out,
                                   "nqkv dse report " + a->out + " -o " + a->report_out +
                                       (a->plot.empty() ? std::string() : " --plots " + a->plot) + also_args(a->also),
                                   a->plot, a->also);
    nqkv::io::write_text_atomically(a->report_out, md);
    std::fprintf(stderr, "nqkv dse: wrote %s\n", a->report_out.c_str());
  });
  (void)cmdline;
}
