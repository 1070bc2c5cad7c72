#include "models/perf/claims_tables.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <limits>

#include "models/perf/projection.hpp"
#include "models/perf/time_model.hpp"

namespace nqkv::perf {

int64_t vllm_kv_tokens(const ModelConfig& m, int64_t block_size, double dtype_bytes, double free_bytes) {
  // cache_engine.get_cache_block_size: key_cache_block = block_size * num_heads * head_size;
  // value_cache_block = key_cache_block; total = num_layers * (key + value); times dtype_size.
  const double key_cache_block = static_cast<double>(block_size) * m.kv_heads * m.head_dim;
  const double total = static_cast<double>(m.layers) * (key_cache_block + key_cache_block);
  const double cache_block_size = dtype_bytes * total;
  // worker.determine_num_available_blocks: num_gpu_blocks = int(available_kv_cache_memory // cache_block_size)
  const auto num_gpu_blocks = static_cast<int64_t>(std::floor(free_bytes / cache_block_size));
  return std::max<int64_t>(num_gpu_blocks, 0) * block_size;
}

int64_t pow2_floor(int64_t x) {
  if (x <= 0) return 0;
  int64_t p = 1;
  while (p * 2 <= x) p *= 2;
  return p;
}

void ErrorTally::add(double e) {
  ++n, within += std::abs(e) <= 0.15, sum += std::abs(e), max = std::max(max, std::abs(e));
}

bool is_datacentre_gpu(const std::string& g) { return g == "a100-40gb" || g == "a100-80gb" || g == "h100-80gb"; }

std::string project_command(const std::string& model, const std::string& gpu, int64_t context, int64_t gen,
                            int64_t batch, bool logits) {
  return fmt::format("nqkv project --model {} --gpu {} --kv nf4 --block 64 --context {} --gen {}{}{}", model, gpu,
                     context, gen, batch > 0 ? fmt::format(" --batch {}", batch) : "",
                     logits ? " --full-prompt-logits" : "");
}

namespace {

constexpr double GiB = 1073741824.0;
const char* kOptModels[] = {"opt-1.3b", "opt-2.7b", "opt-6.7b", "opt-13b", "opt-30b"};
const char* kGpus[] = {"a100-40gb", "a100-80gb", "h100-80gb", "h200", "l4", "rtx-4090"};

KvFormat nf4() { return parse_kv_format("nf4", 64, 32, 128); }
KvFormat fp16() { return parse_kv_format("fp16", 64, 32, 128); }
KvFormat no_cache() {
  KvFormat none;
  none.kind = KvKind::NONE;
  return none;
}

MemoryParams paged_runtime() { return MemoryParams{}; }  // defaults: vLLM-like server
MemoryParams full_logits_runtime() {
  MemoryParams hf;
  hf.full_prompt_logits = true;
  return hf;
}

bool fits(const ModelConfig& m, const Hardware& hw, const MemoryParams& mp) {
  return memory_breakdown(m, hw, fp16(), mp).kv_budget > 0;
}

// Sections 1-4: every (OPT model, GPU) set-up of the three sweeps, and the rows the report leads with.
void compute_sweeps(ClaimsTables& t) {
  const MemoryParams paged = paged_runtime(), hf = full_logits_runtime();
  for (const char* mn : kOptModels)
    for (const char* gn : kGpus) {
      const ModelConfig& m = zoo_model(mn);
      const Hardware& hw = find_hardware(gn);
      for (bool logits : {false, true}) {
        const MemoryParams& mp = logits ? hf : paged;
        if (!fits(m, hw, mp)) continue;
        for (int64_t ctx : {512, 1024, 2048}) {
          BatchRow r{mn, gn, ctx, logits, max_batch(m, hw, fp16(), mp, ctx), max_batch(m, hw, nf4(), mp, ctx), 0, 0};
          if (r.b16 < 1) continue;
          r.ratio = double(r.b4) / r.b16;
          r.ladder_ratio = double(pow2_floor(r.b4)) / pow2_floor(r.b16);
          t.batch.push_back(r);
        }
      }
      if (!fits(m, hw, paged)) continue;
      for (int64_t b : {1, 8, 32, 64, 128}) {
        ContextRow r{mn, gn, b, max_context(m, hw, fp16(), paged, b), max_context(m, hw, nf4(), paged, b), 0, 0, false, false};
        if (r.c16 < 16) continue;
        r.ratio = double(r.c4) / r.c16;
        r.capped = r.c4 > m.max_positions;
        r.ladder_ratio = double(pow2_floor(r.c4)) / pow2_floor(r.c16);
        // Exactly 4x on the power-of-two ladder with the NF4 rung inside the model's positions.
        r.ladder_ok = r.ladder_ratio == 4.0 && pow2_floor(r.c4) <= m.max_positions;
        t.context.push_back(r);
      }
      for (int64_t ctx : {1024, 2048})
        for (int64_t gen : {32, 64, 128, 256}) {
          TimeParams tp;
          const auto with = generate(m, hw, nf4(), 1, ctx - gen, gen, tp);
          const auto without = generate(m, hw, no_cache(), 1, ctx - gen, gen, tp);
          t.throughput.push_back({mn, gn, ctx, gen, 1, with.tokens_per_s, without.tokens_per_s,
                                  with.tokens_per_s / without.tokens_per_s});
        }
    }
  // Headline set-ups on the data-centre GPUs such papers use (the tables list the rest).
  for (size_t i = 0; i < t.batch.size(); ++i)
    if (is_datacentre_gpu(t.batch[i].gpu) &&
        (t.best_batch < 0 || std::abs(t.batch[i].ratio - 2) < std::abs(t.batch[t.best_batch].ratio - 2)))
      t.best_batch = static_cast<int>(i);
  // The longest context with exactly 4x on the ladder is the most meaningful (512 -> 2048 for OPT).
  for (size_t i = 0; i < t.context.size(); ++i) {
    const ContextRow& r = t.context[i];
    if (r.ladder_ok && is_datacentre_gpu(r.gpu) &&
        (t.best_context < 0 || pow2_floor(r.c4) > pow2_floor(t.context[t.best_context].c4)))
      t.best_context = static_cast<int>(i);
  }
  for (size_t i = 0; i < t.throughput.size(); ++i)
    if (t.best_throughput < 0 ||
        std::abs(t.throughput[i].ratio - 9.3) < std::abs(t.throughput[t.best_throughput].ratio - 9.3))
      t.best_throughput = static_cast<int>(i);
}

// Section 1's single set-up, the FLOP-per-byte figures, section 4's largest-batch gap and section 5.
void compute_opt67b(ClaimsTables& t) {
  const MemoryParams paged = paged_runtime(), hf = full_logits_runtime();
  const ModelConfig& m = zoo_model("opt-6.7b");
  const Hardware& hw = find_hardware("a100-40gb");
  t.one.b16 = max_batch(m, hw, fp16(), hf, 2048), t.one.b4 = max_batch(m, hw, nf4(), hf, 2048);
  t.one.c16 = max_context(m, hw, fp16(), paged, 64), t.one.c4 = max_context(m, hw, nf4(), paged, 64);
  TimeParams tp;
  t.one.throughput_ratio =
      generate(m, hw, nf4(), 1, 1920, 128, tp).tokens_per_s / generate(m, hw, no_cache(), 1, 1920, 128, tp).tokens_per_s;
  for (const char* gn : {"a100-40gb", "a100-80gb", "h100-80gb"}) {
    const Hardware& h = find_hardware(gn);
    t.flop_per_byte.push_back({gn, h.fp16_flops, h.mem_bw, h.fp16_flops / h.mem_bw});
  }
  // At each format's own max batch the gap is far larger: the recompute is compute-bound there too.
  ProjectionInput pin;
  pin.model = m;
  pin.hw = hw;
  pin.formats = {nf4()};
  pin.context = 2048;
  pin.gen = 128;
  const Projection p = project(pin);
  t.max_batch_gap = {p.rows[1].run_batch, p.none.run_batch, p.rows[1].vs_none_ratio};
  t.why = {kv_bytes_per_token(m, fp16()), kv_bytes_per_token(m, nf4()), m.vocab * 4.0};
}

// 6.1: what flash SDPA launches, the two-point intercepts, the error tallies, each run alone, and
// the fit without wave rounding.
void compute_sdpa(ClaimsTables& t) {
  SdpaSection& s = t.sdpa;
  s.hw = find_hardware(t.in.hardware);
  s.v = validate_sdpa(t.in.sdpa_jsons, t.in.hardware);
  const SdpaValidation& sv = s.v;
  if (!sv.measured) {
    for (int64_t b : {1, 8, 32})
      for (int64_t hkv : {8, 32})
        for (int64_t tok : {8192, 16384, 32768})
          s.pending_us.push_back(decode_attention(b, 32, hkv, 128, tok, fp16(), s.hw, 0).time * 1e6);
    return;
  }
  s.ctas_lo = std::numeric_limits<int64_t>::max();
  for (const auto& r : sv.rows) {
    s.ctas_lo = std::min(s.ctas_lo, r.launch.ctas), s.ctas_hi = std::max(s.ctas_hi, r.launch.ctas);
    s.n_split += r.launch.splits > 1;
  }
  // Two-point intercepts of the fit half per shape group (T = 8192 and 16384), as a fraction of the
  // shorter case's time.
  for (const auto& a : sv.rows)
    for (const auto& c : sv.rows) {
      if (!a.fit_set || !c.fit_set || a.tokens >= c.tokens || a.batch != c.batch || a.kv_heads != c.kv_heads ||
          a.q_heads != c.q_heads || a.gqa_mode != c.gqa_mode)
        continue;
      const double icpt = (a.measured_s - (c.measured_s - a.measured_s) / (c.bytes - a.bytes) * a.bytes) / a.measured_s;
      const bool split = a.launch.splits > 1 && c.launch.splits > 1;
      (split ? s.icpt_split_lo : s.icpt_single_lo) = std::min(split ? s.icpt_split_lo : s.icpt_single_lo, icpt);
      (split ? s.icpt_split_hi : s.icpt_single_hi) = std::max(split ? s.icpt_split_hi : s.icpt_single_hi, icpt);
    }
  for (const auto& r : sv.rows) {
    s.roof_within += std::abs(r.error) <= 0.15;
    if (sv.fit.ok) (r.fit_set ? s.fit3 : s.held3).add(r.fitted_error);
    if (sv.linear_fit.ok) (r.fit_set ? s.fit2 : s.held2).add(r.linear_error);
  }
  if (!sv.fit.ok) return;
  if (sv.runs.size() > 1)
    for (const auto& run : sv.runs) {
      const SdpaValidation one = validate_sdpa({run.path}, t.in.hardware);
      const std::filesystem::path p(run.path);
      SdpaRunAlone a{p.filename() == "sdpa.json" ? (p.parent_path().filename() / p.filename()).string()
                                                 : p.filename().string(),
                     {}, {}, {}, {}};
      for (const auto& r : one.rows) {
        if (one.fit.ok) (r.fit_set ? a.fit3 : a.held3).add(r.fitted_error);
        if (one.linear_fit.ok) (r.fit_set ? a.fit2 : a.held2).add(r.linear_error);
      }
      s.per_run.push_back(a);
    }
  // The same fit without wave rounding (active = min(blocks, slots)): its held-out maximum.
  auto flat = [](FlashDecodeLaunch x) {
    x.active = static_cast<double>(std::min(x.ctas, x.slots));
    return x;
  };
  std::vector<double> b, mm;
  std::vector<FlashDecodeLaunch> l;
  for (const auto& r : sv.rows)
    if (r.fit_set) b.push_back(r.bytes), mm.push_back(r.measured_s), l.push_back(flat(r.launch));
  const FlashTimeFit f = fit_flash_decode_time(b, l, mm, sv.copy_bandwidth);
  for (const auto& r : sv.rows)
    if (!r.fit_set && f.ok)
      s.no_wave_held_max = std::max(
          s.no_wave_held_max, std::abs(f.model.time(r.bytes, flat(r.launch), sv.copy_bandwidth) / r.measured_s - 1.0));
  for (const auto& r : sv.rows)
    if (r.launch.splits == 1) {
      s.single = r.launch;
      break;
    }
}

void compute_nf(ClaimsTables& t) {
  t.nf.rows = validate_nf_kernel(t.in.gpu_bench_json, t.sdpa.v);
  for (const auto& r : t.nf.rows) {
    t.nf.within += std::abs(r.fitted_error) <= 0.15;
    t.nf.lo = std::min(t.nf.lo, r.fitted_error), t.nf.hi = std::max(t.nf.hi, r.fitted_error);
  }
}

// 6.2: the protocol-derived model and the first model against the RTL's cycle counts.
void compute_rtl(ClaimsTables& t) {
  RtlSection& s = t.rtl;
  s.have = !t.in.rtl_cycles_json.empty() && std::filesystem::exists(t.in.rtl_cycles_json);
  if (s.have)
    for (const RtlCycleCase& c : read_rtl_cycles(t.in.rtl_cycles_json)) {
      const KvFormat f = parse_kv_format(c.codebook, static_cast<int>(c.block), 32, 128);
      AcceleratorParams al = s.accel;
      al.lanes = static_cast<int>(c.lanes);
      AcceleratorParams first = AcceleratorParams::first_model();
      first.lanes = static_cast<int>(c.lanes);
      RtlRow r{c};
      r.mac = accel_mac_cycles(al, c.q_heads, c.kv_heads, c.head_dim, c.context, f).dequant_mac;
      r.quant = accel_quantize_cycles(al, static_cast<double>(c.quant_elements) / c.quant_runs, c.quant_runs,
                                      static_cast<int>(c.block));
      r.first = accel_layer_cycles(first, c.q_heads, c.kv_heads, c.head_dim, c.context - 1, f).total;
      const double got_mac = static_cast<double>(c.mac_cycles), got_q = static_cast<double>(c.quant_cycles);
      r.e_mac = (r.mac - got_mac) / got_mac, r.e_quant = (r.quant - got_q) / got_q, r.e_first = (r.first - got_mac) / got_mac;
      s.max_mac = std::max(s.max_mac, std::abs(r.e_mac)), s.max_quant = std::max(s.max_quant, std::abs(r.e_quant));
      s.max_first = std::max(s.max_first, r.e_first), s.min_first = std::min(s.min_first, r.e_first);
      if (std::find(s.lanes.begin(), s.lanes.end(), c.lanes) == s.lanes.end()) s.lanes.push_back(c.lanes);
      s.rows.push_back(r);
    }
  std::sort(s.lanes.begin(), s.lanes.end());
  for (int64_t tok : {127, 1023, 4095})
    for (int64_t hkv : {8, 32}) s.reference.push_back({hkv, tok, accel_layer_cycles(s.accel, 32, hkv, 128, tok, nf4())});
}

void compute_vllm(ClaimsTables& t) {
  for (const char* mn : {"opt-6.7b", "opt-13b", "llama-2-7b", "llama-3-8b", "mistral-7b", "qwen2.5-7b", "llama-3-70b"})
    for (double free_gib : {5.0, 22.94, 57.3}) {
      const ModelConfig& m = zoo_model(mn);
      t.vllm.push_back({mn, free_gib, kv_token_capacity(m, fp16(), 16, free_gib * GiB),
                        vllm_kv_tokens(m, 16, 2.0, free_gib * GiB)});
    }
}

void write_report_plots(ClaimsTables& t) {
  if (t.in.plot_dir.empty()) return;
  for (const auto& [mn, gn] : std::vector<std::pair<std::string, std::string>>{{"opt-6.7b", "a100-40gb"},
                                                                                 {"llama-3-8b", "h100-80gb"}}) {
    ProjectionInput pin;
    pin.model = zoo_model(mn);
    pin.hw = find_hardware(gn);
    for (const char* f : {"fp8", "int8", "kivi4", "kivi2", "nf4", "nf3", "nf2"})
      pin.formats.push_back(parse_kv_format(f, 64, 32, 128));
    pin.gen = 128;
    for (const auto& w : write_plots(pin, t.in.plot_dir)) t.plots.push_back(w);
  }
}

}  // namespace

ClaimsTables compute_claims_tables(const ClaimsReportInputs& in) {
  ClaimsTables t;
  t.in = in;
  compute_sweeps(t);
  compute_opt67b(t);
  compute_sdpa(t);
  compute_nf(t);
  compute_rtl(t);
  compute_vllm(t);
  write_report_plots(t);
  return t;
}

}  // namespace nqkv::perf
