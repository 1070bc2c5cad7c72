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

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "models/dse/engine.hpp"
#include "models/dse/mpi_pool.hpp"
#include "tools/nqkv/commands.hpp"

namespace {

struct DseArgs {
  std::string spec, out, cache, plot, report_out;
  std::vector<std::string> inputs, objectives;
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

  auto* report = c->add_subcommand("report", "A Markdown report of a finished OUT");
  report->add_option("out", a->out, "A finished nqkv dse output directory")->required();
  report->add_option("-o,--output", a->report_out, "Markdown file to write")->required();
  report->callback([a] {
    nqkv::io::check_output_file(a->report_out, "-o");
    const std::string md =
        nqkv::dse::report_markdown(a->out, "nqkv dse report " + a->out + " -o " + a->report_out);
    nqkv::io::write_text_atomically(a->report_out, md);
    std::fprintf(stderr, "nqkv dse: wrote %s\n", a->report_out.c_str());
  });
  (void)cmdline;
}
