// nqkv golden gen / nqkv golden check: the golden vector files and bit-exact checks of every
// registered backend (golden/backend.hpp) or of an external kernel's results file against them.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "golden/backend.hpp"
#include "golden/golden_dir.hpp"
#include "golden/vectors.hpp"
#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/safetensors.hpp"
#include "tools/nqkv/commands.hpp"

namespace {
using namespace nqkv;
namespace fs = std::filesystem;

void run_gen(const std::string& out, uint64_t seed) {
  const auto cases = golden::generate_golden_cases(seed);
  const auto gd = golden::write_golden_directory(out, seed, cases);
  fmt::print("wrote {} golden cases ({:.1f} MB, seed {}) and {} to {}\n", gd.files.size(), gd.bytes / 1e6, seed,
             golden::kGoldenManifest, out);
}

struct Totals {
  int64_t cases = 0, skipped = 0, failed = 0, compared = 0, mismatches = 0;
};

// Compares the named output tensors of `got` with the golden case (those present in `got`).
void compare_outputs(const io::SafeTensors& golden_case, const io::SafeTensors& got, const std::string& prefix,
                     golden::TensorDiff& total, bool require_all) {
  for (const auto& name : golden::output_tensor_names(golden_case)) {
    const std::string key = prefix + name;
    if (!got.has(key)) {
      if (require_all) throw InputError(got.source + ": result tensor '" + key + "' missing");
      continue;
    }
    const auto d = golden::compare_tensors(key, golden_case.get(name), got.get(key));
    total.compared += d.compared;
    total.mismatches += d.mismatches;
    total.report += d.report;
  }
}

struct CheckArgs {
  std::string dir, backend = "cpu", results;
  bool verbose = false, no_backpressure = false;
  int lanes = 0;
  uint64_t seed = 1;
};

void run_check(const CheckArgs& a) {
  // The backend is resolved (unknown, not built, unavailable, LANES not built: one line, exit 2)
  // before any file is read.
  const backend::Backend* be = a.results.empty() ? &backend::find(a.backend) : nullptr;
  backend::Options opt;
  opt.seed = a.seed;
  opt.backpressure = !a.no_backpressure;
  if (be && a.lanes && be->lanes().empty())
    throw InputError("--lanes: backend " + be->name() + " has no LANES builds (only the cycle models do)");
  if (be) opt.lanes = backend::resolve_lanes(*be, a.lanes);
  else if (a.lanes) throw InputError("--lanes applies to a backend, not to --results");
  const auto files = golden::open_golden_directory(a.dir).files;
  io::SafeTensors external;
  if (!a.results.empty()) {
    io::check_input_file(a.results, "--results", io::kMaxTensorFileBytes);
    external = io::SafeTensors::load(a.results);
  }
  Totals tot;
  backend::CycleStats cycles;
  for (const auto& file : files) {
    const fs::path f(file);
    const io::SafeTensors c = io::SafeTensors::load(f.string());
    const std::string name = f.stem().string();
    backend::Result r;
    if (be) {
      r = be->check_case(c, opt);
    } else {
      // An external kernel's results: tensors named "<case>/<output>", any subset of cases.
      bool any = false;
      for (const auto& n : golden::output_tensor_names(c)) any = any || external.has(name + "/" + n);
      if (!any) {
        r.skipped = true;
        r.skip_reason = "no results for this case";
      } else {
        golden::TensorDiff diff;
        compare_outputs(c, external, name + "/", diff, false);
        r.compared = diff.compared;
        r.mismatches = diff.mismatches;
        r.report = diff.report;
      }
    }
    ++tot.cases;
    if (r.skipped) {
      ++tot.skipped;
      if (a.verbose) fmt::print("SKIP {:<48} {}\n", name, r.skip_reason);
      continue;
    }
    tot.compared += r.compared;
    tot.mismatches += r.mismatches;
    cycles.add(r.cycles);
    if (r.mismatches) {
      ++tot.failed;
      fmt::print("FAIL {:<48} {} of {} values differ\n{}", name, r.mismatches, r.compared, r.report);
    } else if (a.verbose) {
      fmt::print("ok   {:<48} {} values bit-exact\n", name, r.compared);
    }
  }
  const std::string what = be ? (opt.lanes ? fmt::format("{}, LANES {}", be->name(), opt.lanes) : be->name())
                              : "results " + a.results;
  fmt::print("golden check ({}): {} cases, {} checked, {} skipped, {} failed; {} values compared, {} mismatches\n", what,
             tot.cases, tot.cases - tot.skipped, tot.skipped, tot.failed, tot.compared, tot.mismatches);
  if (be && be->has_cycles()) {
    fmt::print("  cycles: {} ({} stall cycles of the data streams)", cycles.cycles, cycles.stall_cycles);
    for (const auto& [k, v] : cycles.stalls) fmt::print("; {} {}", k, v);
    fmt::print("\n");
  }
  if (tot.cases == tot.skipped) throw InputError("no golden case could be checked");
  if (tot.mismatches) std::exit(1);
}

}  // namespace

NQKV_COMMAND(golden) {
  auto* golden_cmd = app.add_subcommand("golden", "Golden vector files: generate them, check a backend against them");
  golden_cmd->require_subcommand(1);
  auto* gen = golden_cmd->add_subcommand("gen", "Write every golden case (corner and random suites) to a directory");
  auto out = std::make_shared<std::string>();
  auto seed = std::make_shared<uint64_t>(20261122);
  gen->add_option("--out", *out, "Output directory")->required();
  gen->add_option("--seed", *seed, "Seed of the random suites")->check(nqkv::cli::seed_range())->capture_default_str();
  gen->callback([=] { run_gen(*out, *seed); });

  auto* check = golden_cmd->add_subcommand("check", "Check a backend (or an external results file) bit for bit");
  auto a = std::make_shared<CheckArgs>();
  check->add_option("dir", a->dir, "Directory written by `nqkv golden gen`")->required();
  check->add_option("--backend", a->backend, "A backend of `nqkv backends` (cpu, rtl, systemc, cuda)")->capture_default_str();
  check->add_option("--results", a->results,
                    "Safetensors file of an external kernel's outputs, tensors named CASE/OUTPUT (e.g. "
                    "normal_nf4_f16_b64/codes); compares whatever it holds");
  check->add_option("--lanes", a->lanes, "Cycle models (rtl, systemc): the LANES build to use (default 16; `nqkv backends` lists the built set)")
      ->check(nqkv::cli::int_range(0, 4096));
  check->add_option("--seed", a->seed, "Cycle models: seed of the random back-pressure")
      ->check(nqkv::cli::seed_range())
      ->capture_default_str();
  check->add_flag("--no-backpressure", a->no_backpressure, "Cycle models: keep every ready/valid high");
  check->add_flag("-v,--verbose", a->verbose, "Print one line per case");
  check->callback([a] { run_check(*a); });
}
