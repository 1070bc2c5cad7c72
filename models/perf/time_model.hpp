// Roofline time per prefill and per decode step (GPUs), the no-KV-cache recompute mode, whole
// generations, and the modeled accelerator's cycle formula for decode attention.
#pragma once
#include <algorithm>
#include <cstdint>

#include "models/perf/hardware.hpp"
#include "models/perf/kv_format.hpp"
#include "models/perf/memory_model.hpp"
#include "workloads/model_zoo.hpp"

namespace nqkv::perf {

struct TimeParams {
  double mem_efficiency = 1.0;      // fraction of peak bandwidth reached (1 = ideal roofline)
  double compute_efficiency = 1.0;  // fraction of peak FLOP/s reached
  double step_overhead_s = 0;       // fixed per forward pass (launches, scheduling)
  bool full_prompt_logits = false;  // LM head over every prompt position (HF generate style)
};

struct PhaseCost {
  double bytes = 0;         // DRAM traffic
  double tensor_flops = 0;  // matmul work on tensor cores
  double vector_ops = 0;    // quantize/dequantize work on CUDA cores
  double t_memory = 0, t_compute = 0, time = 0;
  bool memory_bound() const { return t_memory >= t_compute; }
};

// Weight bytes streamed per forward pass: every matrix once (the input embedding table is only
// gathered, so it counts only when tied to the LM head).
double streamed_weight_bytes(const ModelConfig& m);

PhaseCost decode_step(const ModelConfig& m, const Hardware& hw, const KvFormat& f, int64_t batch, int64_t kv_tokens,
                      const TimeParams& p);
// The weight part of a decode step alone: every streamed weight read once, the matmuls (and the LM
// head) of `batch` positions; no attention, no KV traffic. What a host (GPU/NPU) does beside a KV
// attention unit, and the accelerator branch of decode_step on its own lanes.
PhaseCost linear_step(const ModelConfig& m, const Hardware& hw, int64_t batch, const TimeParams& p);
PhaseCost prefill(const ModelConfig& m, const Hardware& hw, const KvFormat& f, int64_t batch, int64_t prompt,
                  const TimeParams& p);
// No KV cache: one output token costs a full forward over all `tokens` positions.
PhaseCost recompute_step(const ModelConfig& m, const Hardware& hw, int64_t batch, int64_t tokens, const TimeParams& p);

struct Generation {
  PhaseCost prefill, first_decode, last_decode;  // for the bound report
  double prefill_time = 0, decode_time = 0, total_time = 0;
  double tpot = 0;            // mean time per output token after the first (decode steps)
  double tokens_per_s = 0;    // batch x gen / total time (prefill included)
  bool decode_memory_bound = true, prefill_memory_bound = false;
};
// batch sequences, `prompt` tokens in, `gen` tokens out. With KvKind::NONE every token after the
// first is a recompute over prompt + i positions.
Generation generate(const ModelConfig& m, const Hardware& hw, const KvFormat& f, int64_t batch, int64_t prompt,
                    int64_t gen, const TimeParams& p);

// Decode attention alone (what an SDPA/flash-decoding kernel does): q [B, Hq, 1, d], K/V
// [B, Hkv, T, d] in format f, output [B, Hq, 1, d]. bandwidth overrides hw.mem_bw when > 0
// (validation uses a measured copy bandwidth).
PhaseCost decode_attention(int64_t batch, int64_t q_heads, int64_t kv_heads, int64_t head_dim, int64_t tokens,
                           const KvFormat& f, const Hardware& hw, double bandwidth);

// Launch geometry of PyTorch's flash SDPA (FlashAttention-2 as vendored in ATen,
// aten/src/ATen/native/transformers/cuda/flash_attn/flash_api.cpp, mha_fwd) for one decode step:
// q [B, Hq, 1, d], K/V [B, Hkv, T, d], fp16, no dropout. With native GQA and seqlen_q = 1 the query
// groups become rows of one head (seqlenq_ngroups_swapped: Hkv heads of Hq/Hkv rows); otherwise
// Hq heads of 1 row. set_params_splitkv then splits the KV length (num_splits_heuristic with
// 2 x SMs, "128 threads per block") whenever batch x heads x m_blocks < 0.8 x 2 x SMs: the split-KV
// kernel (tiles of 128 tokens for d <= 128) plus a combine kernel; else the single-pass kernel
// (tiles of 64 tokens for d > 64 on sm90, Flash_fwd_kernel_traits<d, 128, 64, 4>).
struct FlashDecodeLaunch {
  int64_t heads = 0;      // heads the kernel walks (Hkv with native GQA, else Hq)
  int64_t rows = 1;       // query rows per head
  int64_t splits = 1;     // KV-length splits; > 1 = split-KV kernel
  int64_t ctas = 0;       // thread blocks: batch x heads x ceil(rows / 64) x splits
  int64_t block_n = 0;    // KV tokens per tile of the kernel that runs
  int64_t slots = 0;      // thread blocks resident at once: 2 per SM (FA2's own assumption)
  double tile_bytes = 0;  // one K (or V) tile in flight per block: block_n x d x 2 bytes
  double active = 0;      // mean resident blocks over whole waves: ctas / ceil(ctas / slots)
};
// FA2's num_splits_heuristic, verbatim in effect: 1 when the blocks almost fill the slots, else the
// fewest eligible splits whose wave efficiency is >= 85% of the best (at most min(128, slots, n_blocks)).
int64_t flash_num_splits(int64_t batch_nheads_mblocks, int64_t num_slots, int64_t num_n_blocks, int64_t max_splits = 128);
FlashDecodeLaunch flash_decode_launch(int64_t batch, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                                      int64_t tokens, bool native_gqa, int64_t sms);

// Decode-attention kernel time with a parallelism (Little's law) term: each resident thread block keeps
// about one tile in flight, so the blocks together sustain at most active x tile_bytes / latency;
// the device sustains at most mem_eff x copy bandwidth. time = t0 + bytes / min(both).
struct FlashDecodeTime {
  double t0_s = 0, mem_eff = 1, latency_s = 1e-6;
  double parallel_rate(const FlashDecodeLaunch& l) const { return l.active * l.tile_bytes / latency_s; }
  double rate(const FlashDecodeLaunch& l, double copy_bandwidth) const {
    return std::min(mem_eff * copy_bandwidth, parallel_rate(l));
  }
  bool latency_bound(const FlashDecodeLaunch& l, double copy_bandwidth) const {
    return parallel_rate(l) < mem_eff * copy_bandwidth;
  }
  double time(double bytes, const FlashDecodeLaunch& l, double copy_bandwidth) const {
    return t0_s + bytes / rate(l, copy_bandwidth);
  }
};

struct AccelCycles {
  double quantize = 0;        // the new token's K and V through the quantizer (one run)
  double mac = 0;             // code beats: score + value passes, max(d/lanes, nblk) per token per head
  double pass_overhead = 0;   // per pass: nblk side values before the first code beat + output latency
  double drain = 0;           // value form: d accumulator words per partition pass
  double softmax = 0, block_overhead = 0, token_overhead = 0, tile_overhead = 0;
  double dequant_mac = 0;     // mac + pass_overhead + drain + block_overhead: what the RTL dequant-MAC does
  double compute = 0, memory = 0, layer_overhead = 0, total = 0;
  int64_t tiles = 0, partitions = 0;
  bool memory_bound() const { return memory >= compute; }
};
// Cycles for one sequence and one layer of a decode step on the accelerator (section 5 of
// docs/perf-model.md): quantize the new token's K and V, then the dequant-MAC over the
// `tokens` cached tokens plus the new one.
AccelCycles accel_layer_cycles(const AcceleratorParams& a, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                               int64_t tokens, const KvFormat& f);
// The dequant-MAC alone over `attended` tokens (score pass per query head, value passes per
// partition), as `nqkv sim --backend rtl` measures it: fills quantize = softmax = tiles = 0.
AccelCycles accel_mac_cycles(const AcceleratorParams& a, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                             int64_t attended, const KvFormat& f);
// The quantizer alone: `runs` runs of `elements_per_run` elements each (block B).
double accel_quantize_cycles(const AcceleratorParams& a, double elements_per_run, int64_t runs, int block);

}  // namespace nqkv::perf
