#include "models/perf/projection.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/plot.hpp"

namespace nqkv::perf {
namespace {

constexpr double GiB = 1073741824.0;

FormatProjection project_one(const ProjectionInput& in, const KvFormat& f) {
  const ModelConfig& m = in.model;
  FormatProjection r;
  r.format = f;
  r.bits_per_element = kv_bits_per_element(f, m.head_dim);
  r.kv_bytes_per_token = kv_bytes_per_token(m, f);
  r.kv_bytes_per_seq = f.kind == KvKind::NONE ? 0 : kv_bytes_for_tokens(m, f, in.context);
  r.per_seq_bytes = per_sequence_bytes(m, f, in.mem, in.context);
  r.max_batch = max_batch(m, in.hw, f, in.mem, in.context);
  r.max_context = max_context(m, in.hw, f, in.mem, in.context_batch);
  r.beyond_model_positions = r.max_context > m.max_positions;
  r.run_batch = in.batch > 0 ? (in.batch <= r.max_batch ? in.batch : 0) : r.max_batch;
  if (r.run_batch > 0) {
    TimeParams tp = in.time;
    tp.full_prompt_logits = in.mem.full_prompt_logits;
    r.gen = generate(m, in.hw, f, r.run_batch, in.context - in.gen, in.gen, tp);
  }
  return r;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

std::string gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / GiB); }

std::string bound(bool memory_bound) { return memory_bound ? "memory" : "compute"; }

}  // namespace

Projection project(const ProjectionInput& in0) {
  ProjectionInput in = in0;
  if (in.context <= 0) throw InputError("--context must be positive, got " + std::to_string(in.context));
  if (in.gen <= 0) throw InputError("--gen must be positive, got " + std::to_string(in.gen));
  if (in.gen >= in.context)
    throw InputError(fmt::format("--gen ({}) must be smaller than --context ({}): the prompt is context - gen", in.gen,
                                 in.context));
  if (in.batch < 0) throw InputError("--batch must not be negative");
  if (in.context_batch <= 0) throw InputError("--context-batch must be positive");
  KvFormat fp16;
  std::vector<KvFormat> formats{fp16};
  for (const auto& f : in.formats)
    if (f.label() != "fp16") formats.push_back(f);
  in.formats = formats;

  Projection p;
  p.input = in;
  p.memory = memory_breakdown(in.model, in.hw, fp16, in.mem);
  if (p.memory.kv_budget <= 0)
    throw InputError(fmt::format("{} does not fit on {}: weights {} + reserve {} + workspace {} exceed {} usable",
                                 in.model.name, in.hw.name, gib(p.memory.weights), gib(p.memory.reserve),
                                 gib(p.memory.workspace), gib(p.memory.usable)));
  KvFormat none;
  none.kind = KvKind::NONE;
  p.none = project_one(in, none);
  for (const auto& f : in.formats) p.rows.push_back(f.kind == KvKind::NONE ? p.none : project_one(in, f));
  const FormatProjection base = p.rows.front();
  std::vector<FormatProjection*> all;
  for (auto& r : p.rows) all.push_back(&r);
  all.push_back(&p.none);
  for (FormatProjection* rp : all) {
    FormatProjection& r = *rp;
    r.batch_ratio = ratio(r.max_batch, base.max_batch);
    r.context_ratio = ratio(r.max_context, base.max_context);
    r.throughput_ratio = ratio(r.gen.tokens_per_s, base.gen.tokens_per_s);
    r.vs_none_ratio = ratio(r.gen.tokens_per_s, p.none.gen.tokens_per_s);
  }
  return p;
}

std::string render_table(const Projection& p) {
  const auto& in = p.input;
  const auto& m = in.model;
  const auto& mem = p.memory;
  std::string s;
  s += fmt::format("nqkv project: {} on {}, context {} tokens (prompt {} + gen {}), {}\n", m.name, in.hw.name,
                   in.context, in.context - in.gen, in.gen,
                   in.batch > 0 ? fmt::format("batch {}", in.batch) : std::string("each format at its max batch"));
  s += fmt::format("model: {} layers, {} heads ({} KV), head_dim {}, hidden {}, ffn {}, vocab {}, max positions {}, "
                   "{:.3f} B params x {} B\n",
                   m.layers, m.heads, m.kv_heads, m.head_dim, m.hidden, m.intermediate, m.vocab, m.max_positions,
                   parameter_count(m) / 1e9, m.weight_bytes);
  s += fmt::format("memory: {} x util {:.2f} = {}; weights {}; reserve {}; workspace {} ({} prefill tokens); "
                   "KV budget {}; pages of {} tokens\n",
                   gib(mem.capacity), in.mem.utilization, gib(mem.usable), gib(mem.weights), gib(mem.reserve),
                   gib(mem.workspace), in.mem.prefill_chunk_tokens, gib(mem.kv_budget), mem.page_tokens);
  s += fmt::format("per-sequence activations: {:.2f} MiB at {} tokens{}\n",
                   per_sequence_activation_bytes(m, KvFormat{}, in.mem, in.context) / 1048576.0, in.context,
                   in.mem.full_prompt_logits ? " (logits of every prompt position kept, fp32)" : "");
  s += fmt::format("device: {:.0f} GB/s, {:.1f} TFLOP/s fp16, {:.1f} TOP/s int8, {:.1f} TFLOP/s fp32 ({})\n\n",
                   in.hw.mem_bw / 1e9, in.hw.fp16_flops / 1e12, in.hw.int8_ops / 1e12, in.hw.fp32_flops / 1e12,
                   in.hw.source);
  s += fmt::format("{:<16} {:>9} {:>10} {:>10} {:>7} {:>11} {:>7} {:>6} {:>9} {:>10} {:>7} {:>8} {:>8} {:>8}\n",
                   "format", "bits/elem", "KV KiB/tok", fmt::format("batch@{}", in.context), "x fp16",
                   fmt::format("ctx@b={}", in.context_batch), "x fp16", "batch", "TPOT ms", "tok/s", "x fp16",
                   "x no-KV", "prefill", "decode");
  auto row = [&](const FormatProjection& r) {
    const bool runs = r.run_batch > 0;
    s += fmt::format("{:<16} {:>9.3f} {:>10.2f} {:>10} {:>7.2f} {:>11} {:>7.2f} {:>6} {:>9} {:>10} {:>7} {:>8} {:>8} {:>8}\n",
                     r.format.label(), r.bits_per_element, r.kv_bytes_per_token / 1024.0, r.max_batch, r.batch_ratio,
                     fmt::format("{}{}", r.max_context, r.beyond_model_positions ? "*" : ""), r.context_ratio,
                     runs ? std::to_string(r.run_batch) : "-",
                     runs ? fmt::format("{:.2f}", r.gen.tpot * 1e3) : "n/fit",
                     runs ? fmt::format("{:.1f}", r.gen.tokens_per_s) : "-",
                     runs ? fmt::format("{:.2f}", r.throughput_ratio) : "-",
                     runs ? fmt::format("{:.2f}", r.vs_none_ratio) : "-",
                     runs ? bound(r.gen.prefill_memory_bound) : "-", runs ? bound(r.gen.decode_memory_bound) : "-");
  };
  for (const auto& r : p.rows) row(r);
  bool listed_none = false;
  for (const auto& r : p.rows) listed_none |= r.format.kind == KvKind::NONE;
  if (!listed_none) row(p.none);
  s += "\n* beyond the model's max_position_embeddings (memory would allow it, the model does not)\n";
  s += "'none' = no KV cache: every output token recomputes the whole prefix; its batch is activation-limited.\n";
  s += "Times are an ideal roofline (peak bandwidth and FLOP/s; see --mem-eff/--compute-eff).\n";
  return s;
}

nlohmann::json to_json(const Projection& p) {
  using nlohmann::json;
  const auto& in = p.input;
  const auto& m = in.model;
  json j;
  j["model"] = {{"name", m.name},         {"source", m.source},       {"layers", m.layers},
                {"heads", m.heads},       {"kv_heads", m.kv_heads},   {"head_dim", m.head_dim},
                {"hidden", m.hidden},     {"intermediate", m.intermediate}, {"vocab", m.vocab},
                {"max_positions", m.max_positions}, {"dtype", m.dtype}, {"weight_bytes_per_param", m.weight_bytes},
                {"parameters", parameter_count(m)}};
  j["hardware"] = {{"name", in.hw.name},         {"source", in.hw.source},       {"memory_bytes", in.hw.mem_bytes},
                   {"bandwidth_bytes_per_s", in.hw.mem_bw}, {"fp16_flops", in.hw.fp16_flops},
                   {"int8_ops", in.hw.int8_ops}, {"fp32_flops", in.hw.fp32_flops}, {"accelerator", in.hw.accelerator}};
  j["setup"] = {{"context", in.context}, {"gen", in.gen},  {"prompt", in.context - in.gen},
                {"batch", in.batch},     {"context_batch", in.context_batch},
                {"mem_utilization", in.mem.utilization}, {"reserve_bytes", in.mem.reserve_bytes},
                {"page_tokens", in.mem.page_tokens},     {"prefill_chunk_tokens", in.mem.prefill_chunk_tokens},
                {"full_prompt_logits", in.mem.full_prompt_logits},
                {"mem_efficiency", in.time.mem_efficiency}, {"compute_efficiency", in.time.compute_efficiency}};
  j["memory"] = {{"capacity", p.memory.capacity}, {"usable", p.memory.usable},   {"weights", p.memory.weights},
                 {"reserve", p.memory.reserve},   {"workspace", p.memory.workspace}, {"kv_budget", p.memory.kv_budget}};
  auto phase = [](const PhaseCost& c) {
    return json{{"bytes", c.bytes},       {"tensor_flops", c.tensor_flops}, {"vector_ops", c.vector_ops},
                {"t_memory_s", c.t_memory}, {"t_compute_s", c.t_compute},   {"time_s", c.time},
                {"bound", c.memory_bound() ? "memory" : "compute"}};
  };
  auto row = [&](const FormatProjection& r) {
    json o{{"format", r.format.label()},
           {"bits_per_element", r.bits_per_element},
           {"kv_bytes_per_token", r.kv_bytes_per_token},
           {"kv_bytes_per_sequence", r.kv_bytes_per_seq},
           {"per_sequence_bytes", r.per_seq_bytes},
           {"max_batch", r.max_batch},
           {"max_context", r.max_context},
           {"max_context_beyond_model_positions", r.beyond_model_positions},
           {"batch_ratio_vs_fp16", r.batch_ratio},
           {"context_ratio_vs_fp16", r.context_ratio},
           {"run_batch", r.run_batch}};
    if (r.run_batch > 0) {
      o["tpot_s"] = r.gen.tpot;
      o["tokens_per_s"] = r.gen.tokens_per_s;
      o["total_time_s"] = r.gen.total_time;
      o["prefill"] = phase(r.gen.prefill);
      o["decode_last_step"] = phase(r.gen.last_decode);
      o["throughput_ratio_vs_fp16"] = r.throughput_ratio;
      o["throughput_ratio_vs_no_kv_cache"] = r.vs_none_ratio;
    }
    return o;
  };
  j["formats"] = json::array();
  for (const auto& r : p.rows) j["formats"].push_back(row(r));
  j["no_kv_cache"] = row(p.none);
  return j;
}

std::string to_csv(const Projection& p) {
  std::string s =
      "model,hardware,context,gen,format,bits_per_element,kv_bytes_per_token,max_batch,batch_ratio,max_context,"
      "context_ratio,run_batch,tpot_s,tokens_per_s,throughput_ratio,vs_no_kv_ratio,prefill_bound,decode_bound\n";
  auto row = [&](const FormatProjection& r) {
    const bool runs = r.run_batch > 0;
    s += fmt::format("{},{},{},{},{},{:.6f},{:.3f},{},{:.6f},{},{:.6f},{},{},{},{},{},{},{}\n", p.input.model.name,
                     p.input.hw.name, p.input.context, p.input.gen, r.format.label(), r.bits_per_element,
                     r.kv_bytes_per_token, r.max_batch, r.batch_ratio, r.max_context, r.context_ratio, r.run_batch,
                     runs ? fmt::format("{:.9g}", r.gen.tpot) : "", runs ? fmt::format("{:.6g}", r.gen.tokens_per_s) : "",
                     runs ? fmt::format("{:.6f}", r.throughput_ratio) : "",
                     runs ? fmt::format("{:.6f}", r.vs_none_ratio) : "", runs ? bound(r.gen.prefill_memory_bound) : "",
                     runs ? bound(r.gen.decode_memory_bound) : "");
  };
  for (const auto& r : p.rows) row(r);
  bool listed_none = false;
  for (const auto& r : p.rows) listed_none |= r.format.kind == KvKind::NONE;
  if (!listed_none) row(p.none);
  return s;
}

std::vector<std::string> write_plots(const ProjectionInput& in0, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError("cannot create plot directory '" + dir + "': " + ec.message());
  ProjectionInput in = in0;
  KvFormat fp16;
  std::vector<KvFormat> formats{fp16};
  for (const auto& f : in.formats)
    if (f.label() != "fp16" && f.kind != KvKind::NONE) formats.push_back(f);
  const auto& m = in.model;
  // Contexts from 256 to 4x the model's trained length (memory, not the model, is the question here).
  std::vector<int64_t> contexts;
  for (int64_t t = 256; t <= std::max<int64_t>(4 * m.max_positions, in.context); t *= 2) contexts.push_back(t);
  std::vector<int64_t> batches;
  for (int64_t b = 1; b <= 256; b *= 2) batches.push_back(b);

  std::vector<io::PlotSeries> batch_s, gain_s, ctx_s, tps_s;
  std::string csv = "model,hardware,format,curve,x,y\n";
  const int64_t base_b0 = 0;
  (void)base_b0;
  std::vector<double> fp16_batch, fp16_tps;
  for (size_t fi = 0; fi < formats.size(); ++fi) {
    const KvFormat& f = formats[fi];
    io::PlotSeries sb{f.label(), {}, {}}, sg{f.label(), {}, {}}, sc{f.label(), {}, {}}, st{f.label(), {}, {}};
    for (size_t ci = 0; ci < contexts.size(); ++ci) {
      const int64_t t = contexts[ci];
      const int64_t b = max_batch(m, in.hw, f, in.mem, t);
      if (fi == 0) fp16_batch.push_back(static_cast<double>(b));
      sb.x.push_back(t);
      sb.y.push_back(b);
      csv += fmt::format("{},{},{},max_batch_vs_context,{},{}\n", m.name, in.hw.name, f.label(), t, b);
      if (fp16_batch[ci] > 0) {
        sg.x.push_back(t);
        sg.y.push_back(b / fp16_batch[ci]);
        csv += fmt::format("{},{},{},batch_gain_vs_context,{},{:.6f}\n", m.name, in.hw.name, f.label(), t,
                           b / fp16_batch[ci]);
      }
      double tps = 0;
      if (b > 0 && t > in.gen) {
        TimeParams tp = in.time;
        tp.full_prompt_logits = in.mem.full_prompt_logits;
        tps = generate(m, in.hw, f, b, t - in.gen, in.gen, tp).tokens_per_s;
        st.x.push_back(t);
        st.y.push_back(tps);
        csv += fmt::format("{},{},{},tokens_per_s_vs_context,{},{:.6g}\n", m.name, in.hw.name, f.label(), t, tps);
      }
    }
    for (int64_t b : batches) {
      const int64_t c = max_context(m, in.hw, f, in.mem, b);
      if (c <= 0) continue;
      sc.x.push_back(b);
      sc.y.push_back(c);
      csv += fmt::format("{},{},{},max_context_vs_batch,{},{}\n", m.name, in.hw.name, f.label(), b, c);
    }
    batch_s.push_back(sb);
    if (fi > 0) gain_s.push_back(sg);
    ctx_s.push_back(sc);
    tps_s.push_back(st);
  }
  const std::string tag = m.name + " on " + in.hw.name;
  std::string stem = m.name + "_" + in.hw.name;
  for (auto& c : stem)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  std::vector<std::string> written;
  auto plot = [&](const std::string& name, const io::PlotSpec& spec, const std::vector<io::PlotSeries>& s) {
    const std::string path = (fs::path(dir) / (stem + "_" + name + ".png")).string();
    io::write_line_plot_png(path, spec, s);
    written.push_back(path);
  };
  plot("batch_vs_context", {"Max batch vs context: " + tag, "context (tokens)", "max batch", true, true}, batch_s);
  if (!gain_s.empty())
    plot("gain_vs_context", {"Batch gain over fp16 vs context: " + tag, "context (tokens)", "max batch / fp16", true, false},
         gain_s);
  plot("context_vs_batch", {"Max context vs batch: " + tag, "batch", "max context (tokens)", true, true}, ctx_s);
  plot("throughput_vs_context",
       {fmt::format("Throughput at max batch ({} output tokens): {}", in.gen, tag), "context (tokens)", "tokens/s", true, true},
       tps_s);
  const std::string csv_path = (fs::path(dir) / (stem + "_curves.csv")).string();
  io::write_text_atomically(csv_path, csv);
  written.push_back(csv_path);
  return written;
}

}  // namespace nqkv::perf
