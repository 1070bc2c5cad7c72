#include "models/perf/time_model.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "io/error.hpp"

namespace nqkv::perf {
namespace {

void finish(PhaseCost& c, const Hardware& hw, const TimeParams& p, double bandwidth = 0) {
  const double bw = (bandwidth > 0 ? bandwidth : hw.mem_bw) * p.mem_efficiency;
  c.t_memory = c.bytes / bw;
  c.t_compute = (c.tensor_flops / hw.fp16_flops + c.vector_ops / hw.fp32_flops) / p.compute_efficiency;
  c.time = std::max(c.t_memory, c.t_compute) + p.step_overhead_s;
}

double kv_elements_per_token(const ModelConfig& m) { return 2.0 * m.layers * m.kv_heads * m.head_dim; }

// Matmul FLOPs of `rows` positions through all layers (no attention scores), plus the LM head
// over `head_rows` positions.
double linear_flops(const ModelConfig& m, double rows, double head_rows) {
  const ParamCounts pc = parameter_counts(m);
  return 2.0 * rows * m.layers * pc.matmul_per_layer + 2.0 * head_rows * m.hidden * m.vocab;
}

double ceil_div(double a, double b) { return std::ceil(a / b); }

}  // namespace

double streamed_weight_bytes(const ModelConfig& m) {
  const ParamCounts pc = parameter_counts(m);
  const int64_t streamed = pc.total() - pc.positions - (m.tied_embeddings ? 0 : pc.embedding);
  return static_cast<double>(streamed) * m.weight_bytes;
}

PhaseCost linear_step(const ModelConfig& m, const Hardware& hw, int64_t batch, const TimeParams& p) {
  PhaseCost lin;
  const double b = static_cast<double>(batch);
  lin.bytes = streamed_weight_bytes(m);
  lin.tensor_flops = linear_flops(m, b, b);
  finish(lin, hw, p);
  return lin;
}

PhaseCost decode_step(const ModelConfig& m, const Hardware& hw, const KvFormat& f, int64_t batch, int64_t kv_tokens,
                      const TimeParams& p) {
  if (f.kind == KvKind::NONE) return recompute_step(m, hw, batch, kv_tokens + 1, p);
  PhaseCost c;
  const double b = static_cast<double>(batch), T = static_cast<double>(kv_tokens);
  c.bytes = streamed_weight_bytes(m) + b * kv_bytes_for_tokens(m, f, kv_tokens)  // read the cache
            + b * kv_bytes_per_token(m, f);                                     // append the new token
  const double attn_flops = 4.0 * m.layers * m.heads * m.head_dim * (T + 1) * b;  // q.K and p.V
  c.tensor_flops = linear_flops(m, b, b) + attn_flops;
  const int64_t fp16_tokens = kv_residual_tokens(f, kv_tokens);
  c.vector_ops = b * kv_elements_per_token(m) * ((T - fp16_tokens) * dequant_ops_per_element(f) + quant_ops_per_element(f));
  if (hw.accelerator) {
    // Matmuls on the lanes (roofline), attention by the cycle formula.
    const PhaseCost lin = linear_step(m, hw, batch, p);
    const AccelCycles a = accel_layer_cycles(hw.accel, m.heads, m.kv_heads, m.head_dim, kv_tokens, f);
    const double attn_s = b * m.layers * a.total / hw.accel.clock_hz;
    c.t_memory = lin.t_memory + b * m.layers * a.memory / hw.accel.clock_hz;
    c.t_compute = lin.t_compute + b * m.layers * a.compute / hw.accel.clock_hz;
    c.time = lin.time + attn_s;
    return c;
  }
  finish(c, hw, p);
  return c;
}

PhaseCost prefill(const ModelConfig& m, const Hardware& hw, const KvFormat& f, int64_t batch, int64_t prompt,
                  const TimeParams& p) {
  PhaseCost c;
  const double b = static_cast<double>(batch), P = static_cast<double>(prompt);
  c.bytes = streamed_weight_bytes(m) + (f.kind == KvKind::NONE ? 0.0 : b * kv_bytes_for_tokens(m, f, prompt));
  // Causal attention touches P(P+1)/2 (query, key) pairs per head.
  const double attn_flops = 4.0 * m.layers * m.heads * m.head_dim * (P * (P + 1) / 2) * b;
  c.tensor_flops = linear_flops(m, b * P, p.full_prompt_logits ? b * P : b) + attn_flops;
  c.vector_ops = b * P * kv_elements_per_token(m) * quant_ops_per_element(f);
  finish(c, hw, p);
  return c;
}

PhaseCost recompute_step(const ModelConfig& m, const Hardware& hw, int64_t batch, int64_t tokens, const TimeParams& p) {
  KvFormat none;
  none.kind = KvKind::NONE;
  TimeParams q = p;
  q.full_prompt_logits = false;  // generate() keeps only the last row when no cache is used
  return prefill(m, hw, none, batch, tokens, q);
}

Generation generate(const ModelConfig& m, const Hardware& hw, const KvFormat& f, int64_t batch, int64_t prompt,
                    int64_t gen, const TimeParams& p) {
  if (prompt <= 0) throw InputError("the prompt must hold at least one token (context must exceed --gen)");
  if (gen <= 0) throw InputError("--gen must be positive, got " + std::to_string(gen));
  Generation g;
  g.prefill = prefill(m, hw, f, batch, prompt, p);
  g.prefill_time = g.prefill.time;
  g.prefill_memory_bound = g.prefill.memory_bound();
  // The prefill yields the first output token; each later one is a decode step over the cache
  // (or a full recompute of prompt + i positions without a cache).
  for (int64_t i = 1; i < gen; ++i) {
    const PhaseCost s = decode_step(m, hw, f, batch, prompt + i - 1, p);
    if (i == 1) g.first_decode = s;
    g.last_decode = s;
    g.decode_time += s.time;
  }
  if (gen == 1) g.first_decode = g.last_decode = decode_step(m, hw, f, batch, prompt, p);
  g.decode_memory_bound = g.last_decode.memory_bound();
  g.total_time = g.prefill_time + g.decode_time;
  g.tpot = gen > 1 ? g.decode_time / static_cast<double>(gen - 1) : g.first_decode.time;
  g.tokens_per_s = static_cast<double>(batch) * gen / g.total_time;
  return g;
}

PhaseCost decode_attention(int64_t batch, int64_t q_heads, int64_t kv_heads, int64_t head_dim, int64_t tokens,
                           const KvFormat& f, const Hardware& hw, double bandwidth) {
  PhaseCost c;
  const double B = batch, T = tokens, d = head_dim;
  const double kv_elems = B * kv_heads * T * d * 2.0;
  c.bytes = kv_elems * kv_bits_per_element(f, head_dim) / 8.0 + B * q_heads * d * 2.0 * 2.0;  // + q in, o out
  c.tensor_flops = 4.0 * B * q_heads * d * T;
  c.vector_ops = kv_elems * dequant_ops_per_element(f);
  TimeParams p;
  finish(c, hw, p, bandwidth);
  return c;
}

int64_t flash_num_splits(int64_t batch_nheads_mblocks, int64_t num_slots, int64_t num_n_blocks, int64_t max_splits) {
  if (static_cast<double>(batch_nheads_mblocks) >= 0.8 * static_cast<double>(num_slots)) return 1;
  max_splits = std::min({max_splits, num_slots, num_n_blocks});
  auto cdiv = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  auto eligible = [&](int64_t s) { return s == 1 || cdiv(num_n_blocks, s) != cdiv(num_n_blocks, s - 1); };
  std::vector<double> eff;
  double best = 0;
  for (int64_t s = 1; s <= max_splits; ++s) {
    // FA2 computes the waves in float; the same here so ties break the same way.
    const float waves = static_cast<float>(batch_nheads_mblocks * s) / static_cast<float>(num_slots);
    const float e = eligible(s) ? waves / std::ceil(waves) : 0.f;
    eff.push_back(e);
    best = std::max(best, static_cast<double>(e));
  }
  for (int64_t s = 1; s <= max_splits; ++s)
    if (eligible(s) && eff[static_cast<size_t>(s - 1)] >= 0.85 * best) return s;
  return 1;
}

FlashDecodeLaunch flash_decode_launch(int64_t batch, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                                      int64_t tokens, bool native_gqa, int64_t sms) {
  FlashDecodeLaunch l;
  const bool swapped = native_gqa && q_heads > kv_heads;
  l.heads = swapped ? kv_heads : q_heads;
  l.rows = swapped ? q_heads / kv_heads : 1;
  l.slots = 2 * sms;
  const int64_t m_blocks = (l.rows + 63) / 64;
  const int64_t split_block_n = head_dim <= 64 ? 256 : (head_dim <= 128 ? 128 : 64);
  const int64_t n_blocks = (tokens + split_block_n - 1) / split_block_n;
  l.splits = flash_num_splits(batch * l.heads * m_blocks, l.slots, n_blocks);
  l.ctas = batch * l.heads * m_blocks * l.splits;
  l.block_n = l.splits > 1 ? split_block_n : (head_dim <= 64 ? 128 : 64);
  l.tile_bytes = static_cast<double>(l.block_n) * static_cast<double>(head_dim) * 2.0;
  const double waves = std::ceil(static_cast<double>(l.ctas) / static_cast<double>(l.slots));
  l.active = waves > 0 ? static_cast<double>(l.ctas) / waves : 0;
  return l;
}

double accel_quantize_cycles(const AcceleratorParams& a, double elements_per_run, int64_t runs, int block) {
  const double L = a.lanes;
  double per_run = ceil_div(elements_per_run, L) + ceil_div(elements_per_run, block) * a.quant_block_cycles;
  // The run ends when the last block's B/lanes output beats are out: its first beat comes
  // quant_latency_cycles after its last input beat (rtl/doc/protocol.md, Quantizer timing).
  if (a.protocol_terms) per_run += ceil_div(block, L) + a.quant_latency_cycles;
  return per_run * static_cast<double>(runs);
}

AccelCycles accel_mac_cycles(const AcceleratorParams& a, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                             int64_t attended, const KvFormat& f) {
  AccelCycles c;
  const double L = a.lanes, n = static_cast<double>(attended), d = static_cast<double>(head_dim), Hq = q_heads;
  const bool blocked = f.kind == KvKind::NF4 || f.kind == KvKind::NF3 || f.kind == KvKind::NF2;
  const double nblk = blocked ? ceil_div(d, f.block) : 1;
  if (!a.protocol_terms) {
    // First model: lanes MACs per cycle over all Hq x n x d products of q.K and p.V, plus a
    // cycle per block scale load (counted over the Hkv-shared cache, T = n - 1 cached tokens).
    c.mac = ceil_div(2.0 * Hq * d * n, L);
    c.block_overhead = blocked ? ceil_div(2.0 * kv_heads * d * (n - 1), f.block) * a.dequant_block_cycles : 0;
  } else {
    // One score pass per query head over all n tokens, then one value pass per partition of
    // partition_tokens tokens. Per token: d/lanes code beats; its nblk side values arrive one per
    // cycle on their own stream and load while the previous token's codes stream (two banks), so
    // they cost nothing unless nblk > d/lanes. Per pass: nblk cycles before the first code beat.
    // Score pass ends score_latency cycles after its last code beat; a value pass drains its d
    // accumulators, one word per cycle, starting drain_latency cycles after its last code beat.
    const double beats = std::max(ceil_div(d, L), nblk);
    const double parts = ceil_div(n, a.partition_tokens);
    c.partitions = static_cast<int64_t>(parts);
    c.mac = 2.0 * Hq * n * beats;
    c.pass_overhead = Hq * ((nblk + a.score_latency_cycles) + parts * (nblk + a.drain_latency_cycles));
    c.drain = Hq * parts * d;
    c.block_overhead = blocked ? Hq * 2.0 * n * nblk * a.dequant_block_cycles : 0;
  }
  c.dequant_mac = c.mac + c.pass_overhead + c.drain + c.block_overhead;
  c.compute = c.dequant_mac;
  c.total = c.compute;
  return c;
}

AccelCycles accel_layer_cycles(const AcceleratorParams& a, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                               int64_t tokens, const KvFormat& f) {
  const double L = a.lanes, T = static_cast<double>(tokens), d = static_cast<double>(head_dim);
  AccelCycles c = accel_mac_cycles(a, q_heads, kv_heads, head_dim, tokens + 1, f);  // the cache + the new token
  const bool blocked = f.kind == KvKind::NF4 || f.kind == KvKind::NF3 || f.kind == KvKind::NF2;
  const double new_elems = 2.0 * kv_heads * d;
  if (f.kind != KvKind::FP16 && f.kind != KvKind::BF16)
    c.quantize = accel_quantize_cycles(a, new_elems, 1, blocked ? f.block : static_cast<int>(head_dim));
  c.softmax = ceil_div(q_heads * (T + 1), L);  // one exp-and-accumulate per score on the lanes
  c.token_overhead = static_cast<double>(a.token_cycles) * kv_heads * T;
  const double kv_bytes = 2.0 * kv_heads * d * T * kv_bits_per_element(f, head_dim) / 8.0;
  const double tile_bytes = a.buffer_bytes / 2;  // double-buffered: one tile computing, one loading
  c.tiles = static_cast<int64_t>(std::ceil(kv_bytes / tile_bytes));
  c.tile_overhead = static_cast<double>(c.tiles) * a.tile_cycles;
  c.compute = c.quantize + c.dequant_mac + c.softmax + c.token_overhead + c.tile_overhead;
  c.memory = std::ceil(kv_bytes / (a.mem_bw / a.clock_hz));
  c.layer_overhead = a.layer_cycles;
  c.total = std::max(c.compute, c.memory) + c.layer_overhead;
  return c;
}

}  // namespace nqkv::perf
