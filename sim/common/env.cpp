#include "sim/common/env.hpp"

#include <algorithm>
#include <chrono>

#include "golden/tensor_io.hpp"
#include "io/error.hpp"
#include "sim/common/scoreboard.hpp"
#include "sim/common/stimulus.hpp"

namespace nqkv::sim {
namespace {

using golden::ElemType;

void stats_into(backend::Result& r, const RunStats& s) {
  r.has_cycles = true;
  r.cycles.cycles += s.cycles;
  r.cycles.stall_cycles += s.stall_cycles;
}

// Harness errors (protocol, time-outs, the model's own assertions) and the seed close a result.
void finish(backend::Result& r, backend::Mismatches& sb, Harness& h, uint64_t seed) {
  if (!h.errors().empty()) sb.error("harness: " + h.errors());
  r.take(sb);
  for (const auto& [k, v] : h.dut().stall_counters()) r.cycles.stalls[k] += v;
  if (r.mismatches) r.report += "  (seed " + std::to_string(seed) + ")\n";
}

backend::Result skipped(std::string why) {
  backend::Result r;
  r.skipped = true;
  r.skip_reason = std::move(why);
  return r;
}

}  // namespace

int CycleBackend::default_lanes() const {
  const auto& l = accel::sim_lanes();
  return std::find(l.begin(), l.end(), 16) != l.end() ? 16 : l.front();
}

std::unique_ptr<Harness> CycleBackend::make_harness(const backend::Options& opt) const {
  HarnessOptions ho;
  ho.seed = opt.seed;
  ho.backpressure = opt.backpressure;
  ho.trace_fst = opt.trace;
  const int lanes = backend::resolve_lanes(*this, opt.lanes);
  return std::make_unique<Harness>(make_(lanes, ho.rand_reset, ho.seed), ho);
}

backend::Result CycleBackend::check_case(const io::SafeTensors& f, const backend::Options& opt) const {
  const accel::AccelConfig cfg = accel::AccelConfig::sim(backend::resolve_lanes(*this, opt.lanes));
  FileCase c = read_case_header(f);
  if (c.kind == "quantize") {
    const std::string why = cannot_run(cfg, *c.quant.cb, c.quant.type, c.quant.block, c.quant.cols);
    if (!why.empty()) return skipped(why);
  } else if (c.kind == "attention") {
    const std::string why = cannot_run_attention(cfg, *c.attn.cb, c.attn.type, c.attn.block, c.attn.head_dim);
    if (!why.empty()) return skipped(why);
  } else {
    return skipped("unknown case kind '" + c.kind + "'");
  }
  load_case_tensors(f, c);
  backend::Result r;
  backend::Mismatches sb;
  auto h = make_harness(opt);
  RunStats st;
  if (c.kind == "quantize")
    run_quant(*h, c.quant, sb, &st);
  else
    run_attn(*h, c.attn, sb, &st, &st);
  stats_into(r, st);
  finish(r, sb, *h, opt.seed);
  return r;
}

backend::Result CycleBackend::random_check(const RandomSpec& spec, const backend::Options& opt) const {
  const accel::AccelConfig cfg = accel::AccelConfig::sim(backend::resolve_lanes(*this, opt.lanes));
  const golden::Codebook& cb = golden::codebook_by_name(spec.codebook);
  const ElemType type = golden::elem_type_from_name(spec.dtype);
  const std::string why = cannot_run(cfg, cb, type, spec.block, spec.block);
  if (!why.empty()) return skipped(why);
  backend::Result r;
  backend::Mismatches sb;
  auto h = make_harness(opt);
  golden::SplitMix64 rng(opt.seed * 0x9e3779b97f4a7c15ull + 17);
  RunStats st;
  for (int i = 0; i < spec.cases; ++i) {
    if (spec.quantize) run_quant(*h, random_quant_case(rng, cb, type, spec.block), sb, &st);
    if (spec.attention) {
      const AttnCase c = random_attn_case(rng, cb, type, spec.block, i == 0 && spec.cases > 2);
      PassPlan plan;
      plan.back_to_back = spec.back_to_back && rng.below(2) == 1;
      plan.seed = rng.next();
      run_attn(*h, c, sb, &st, &st, plan);
    }
  }
  stats_into(r, st);
  finish(r, sb, *h, opt.seed);
  return r;
}

backend::WorkloadResult CycleBackend::run_workload(const backend::Workload& w, const backend::Options& opt) const {
  backend::WorkloadResult res;
  const auto t_start = std::chrono::steady_clock::now();
  const golden::Codebook& cb = golden::codebook_by_name(w.codebook);
  const ElemType type = golden::elem_type_from_name(w.dtype);
  const int lanes = backend::resolve_lanes(*this, opt.lanes);
  if (w.kv_heads <= 0 || w.q_heads <= 0 || w.q_heads % w.kv_heads != 0)
    throw InputError("q_heads must be a positive multiple of kv_heads");
  if (w.context < 1 || w.batch < 1) throw InputError("context and batch must be >= 1");
  if (w.block <= 0 || w.head_dim <= 0 || w.head_dim % w.block != 0)
    throw InputError("--block " + std::to_string(w.block) + " must be positive and divide head_dim " + std::to_string(w.head_dim));
  const std::string why = cannot_run_attention(accel::AccelConfig::sim(lanes), cb, type, w.block, w.head_dim);
  if (!why.empty()) throw InputError("the " + name_ + " backend cannot run this workload: " + why);
  auto h = make_harness(opt);
  backend::Mismatches sb;
  const int D = w.head_dim, Hkv = w.kv_heads;
  for (int s = 0; s < w.batch; ++s) {
    const WorkloadData d = workload_data(type, w.q_heads, Hkv, D, w.context, opt.seed, s);
    // the quantizer: K and V rows through the model, compared with the golden encoder
    for (int is_v = 0; is_v < 2; ++is_v) {
      RunStats st;
      run_quant(*h, quant_case_of(cb, type, w.block, w.context * Hkv, D, is_v ? d.v : d.k), sb, &st);
      res.quant_cycles += st.cycles;
      res.quant_stall_cycles += st.stall_cycles;
      res.quant_elements += st.work;
      res.quant_steady = st.steady_rate() * lanes;
    }
    const AttnCase c = workload_attention(cb, type, w.block, w.q_heads, Hkv, D, d);
    RunStats ss, vs;
    run_attn(*h, c, sb, &ss, &vs);
    res.score_cycles += ss.cycles;
    res.value_cycles += vs.cycles;
    res.macs += ss.work + vs.work;
    res.mac_stall_cycles += ss.stall_cycles + vs.stall_cycles;
    RunStats all = ss;
    all.add(vs);
    res.mac_steady = all.steady_rate() * lanes;
  }
  res.check.has_cycles = true;
  res.check.cycles.cycles = res.quant_cycles + res.score_cycles + res.value_cycles;
  res.check.cycles.stall_cycles = res.quant_stall_cycles + res.mac_stall_cycles;
  finish(res.check, sb, *h, opt.seed);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return res;
}

}  // namespace nqkv::sim
