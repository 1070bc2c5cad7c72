// Known answers for the performance model, each derived by hand in the comment next to it.
#include <gtest/gtest.h>

#include "models/perf/claims_report.hpp"
#include "models/perf/hardware.hpp"
#include "models/perf/kv_format.hpp"
#include "models/perf/memory_model.hpp"
#include "workloads/model_zoo.hpp"
#include "models/perf/time_model.hpp"

using namespace nqkv::perf;

namespace {
KvFormat fmt_of(const std::string& name, int block = 64, int group = 32, int residual = 128) {
  return parse_kv_format(name, block, group, residual);
}
// A memory model with nothing but weights and KV: no reserve, no workspace, no activations.
MemoryParams bare() {
  MemoryParams p;
  p.utilization = 1.0;
  p.reserve_bytes = 0;
  p.workspace_bytes = 0;
  p.act_per_seq_bytes = 0;
  p.page_tokens = 16;
  return p;
}
Hardware device_with(double bytes) {
  Hardware h;
  h.name = "test";
  h.mem_bytes = bytes;
  h.mem_bw = 1e12;
  h.fp16_flops = 1e30;  // compute never binds unless a test wants it to
  h.int8_ops = 1e30;
  h.fp32_flops = 1e30;
  return h;
}
}  // namespace

TEST(Zoo, PublishedConfigs) {
  const auto& o = zoo_model("opt-6.7b");
  EXPECT_EQ(o.layers, 32);
  EXPECT_EQ(o.heads, 32);
  EXPECT_EQ(o.kv_heads, 32);
  EXPECT_EQ(o.hidden, 4096);
  EXPECT_EQ(o.intermediate, 16384);
  EXPECT_EQ(o.vocab, 50272);
  EXPECT_EQ(o.max_positions, 2048);
  const auto& l2 = zoo_model("llama-2-7b");
  EXPECT_EQ(l2.layers, 32);
  EXPECT_EQ(l2.kv_heads, 32);
  EXPECT_EQ(l2.intermediate, 11008);
  EXPECT_EQ(l2.vocab, 32000);
  const auto& l3 = zoo_model("llama-3-8b");
  EXPECT_EQ(l3.kv_heads, 8);
  EXPECT_EQ(l3.intermediate, 14336);
  EXPECT_EQ(l3.vocab, 128256);
  EXPECT_EQ(l3.head_dim, 128);
  const auto& q = zoo_model("qwen2.5-7b");
  EXPECT_EQ(q.layers, 28);
  EXPECT_EQ(q.kv_heads, 4);
  EXPECT_EQ(q.head_dim, 128);  // 3584 / 28
}

TEST(Zoo, ParameterCounts) {
  // OPT-6.7B per layer: q,k,v,o 4*4096^2 = 67,108,864 + biases 4*4096 = 16,384; fc1+fc2
  // 2*4096*16384 = 134,217,728 + biases 16384+4096 = 20,480; two LayerNorms 4*4096 = 16,384:
  // 201,379,840; x32 = 6,444,154,880. Embedding 50272*4096 = 205,914,112, positions 2050*4096 =
  // 8,396,800, final LayerNorm 8,192, LM head tied: 6,658,473,984 (the published 6.7B count).
  EXPECT_EQ(parameter_count(zoo_model("opt-6.7b")), 6658473984LL);
  // Llama-2-7B per layer: 4*4096^2 = 67,108,864 + 3*4096*11008 = 135,266,304 + 2*4096 = 8,192:
  // 202,383,360; x32 = 6,476,267,520; + embedding and LM head 2*32000*4096 = 262,144,000 + norm 4096
  // = 6,738,415,616.
  EXPECT_EQ(parameter_count(zoo_model("llama-2-7b")), 6738415616LL);
  // Llama-3-8B per layer: q,o 2*4096^2 = 33,554,432; k,v 2*4096*1024 = 8,388,608; MLP 3*4096*14336 =
  // 176,160,768; norms 8,192: 218,112,000; x32 = 6,979,584,000; + 2*128256*4096 = 1,050,673,152
  // + 4096 = 8,030,261,248.
  EXPECT_EQ(parameter_count(zoo_model("llama-3-8b")), 8030261248LL);
}

TEST(KvFormat, BitsPerElement) {
  EXPECT_DOUBLE_EQ(kv_bits_per_element(fmt_of("fp16"), 128), 16.0);
  EXPECT_DOUBLE_EQ(kv_bits_per_element(fmt_of("nf4", 64), 128), 4.25);    // 4 + 16/64
  EXPECT_DOUBLE_EQ(kv_bits_per_element(fmt_of("nf4", 32), 128), 4.5);     // 4 + 16/32
  EXPECT_DOUBLE_EQ(kv_bits_per_element(fmt_of("nf3", 128), 128), 3.125);  // 3 + 16/128
  EXPECT_DOUBLE_EQ(kv_bits_per_element(fmt_of("nf2", 16), 128), 3.0);     // 2 + 16/16
  EXPECT_DOUBLE_EQ(kv_bits_per_element(fmt_of("int8"), 128), 8.125);      // 8 + 16/128
  EXPECT_DOUBLE_EQ(kv_bits_per_element(fmt_of("kivi2", 64, 32), 128), 3.0);  // 2 + 32/32
  EXPECT_DOUBLE_EQ(kv_bits_per_element(fmt_of("kivi4", 64, 128), 128), 4.25);  // 4 + 32/128
  EXPECT_DOUBLE_EQ(kv_bits_per_element(fmt_of("fp8"), 128), 8.0);
}

TEST(KvFormat, BytesPerToken) {
  // OPT-6.7B: 32 layers x 2 (K,V) x 4096 x 2 bytes = 524,288 bytes per token in fp16.
  const auto& opt = zoo_model("opt-6.7b");
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(opt, fmt_of("fp16")), 524288.0);
  // NF4/B64: 262,144 elements x 4.25 bits / 8 = 139,264 bytes.
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(opt, fmt_of("nf4", 64)), 139264.0);
  // Llama-3-8B (GQA): 32 x 2 x 8 heads x 128 x 2 bytes = 131,072.
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(zoo_model("llama-3-8b"), fmt_of("fp16")), 131072.0);
  // KIVI-2, g32, r128, 1000 tokens of OPT-6.7B: 128 fp16 tokens x 524,288 = 67,108,864 plus
  // 872 tokens x 524,288 x 3/16 = 85,721,088: 152,829,952.
  EXPECT_DOUBLE_EQ(kv_bytes_for_tokens(opt, fmt_of("kivi2", 64, 32, 128), 1000), 152829952.0);
  // Fewer tokens than the window: all fp16.
  EXPECT_DOUBLE_EQ(kv_bytes_for_tokens(opt, fmt_of("kivi2", 64, 32, 128), 100), 100 * 524288.0);
}

TEST(Memory, MaxBatchWithPages) {
  const auto& opt = zoo_model("opt-6.7b");
  const MemoryParams p = bare();
  // Room for exactly 10 sequences of 2048 fp16 tokens beside the weights.
  const Hardware hw = device_with(weight_bytes(opt) + 10.0 * 2048 * 524288);
  EXPECT_EQ(max_batch(opt, hw, fmt_of("fp16"), p, 2048), 10);
  // 2049 tokens take 129 pages of 16 = 2064 token slots: floor(10*2048/2064) = 9.
  EXPECT_EQ(max_batch(opt, hw, fmt_of("fp16"), p, 2049), 9);
  // NF4/B64 pages are 16 x 139,264 bytes; 2048 tokens = 128 pages: floor(10*524288/139264) = 37.
  EXPECT_EQ(max_batch(opt, hw, fmt_of("nf4", 64), p, 2048), 37);
}

TEST(Memory, MaxContextWithPages) {
  const auto& opt = zoo_model("opt-6.7b");
  const MemoryParams p = bare();
  const Hardware hw = device_with(weight_bytes(opt) + 10.0 * 2048 * 524288);  // 20,480 fp16 token slots
  EXPECT_EQ(max_context(opt, hw, fmt_of("fp16"), p, 1), 20480);
  // Batch 3: 20480/3 = 6826.7 slots each, whole pages: floor(6826.7/16) = 426 pages = 6816 tokens.
  EXPECT_EQ(max_context(opt, hw, fmt_of("fp16"), p, 3), 6816);
  // NF4/B64 at batch 1: budget / 139,264 = 77,101.2 -> 4,818 whole pages = 77,088 tokens.
  EXPECT_EQ(max_context(opt, hw, fmt_of("nf4", 64), p, 1), 77088);
}

TEST(Memory, PerSequenceActivationLimitsBatchNotContext) {
  // With a fixed per-sequence cost A that NF4 does not shrink, the batch ratio is
  // (KV16 + A) / (KV4 + A) < 16/4.25, while the context ratio at batch 1 keeps 16/4.25.
  const auto& opt = zoo_model("opt-6.7b");
  MemoryParams p = bare();
  p.act_per_seq_bytes = 2048.0 * 139264 * 1.5;  // 1.5x an NF4 sequence of 2048 tokens
  const Hardware hw = device_with(weight_bytes(opt) + 100.0 * 2048 * 524288);
  const double b16 = max_batch(opt, hw, fmt_of("fp16"), p, 2048);
  const double b4 = max_batch(opt, hw, fmt_of("nf4", 64), p, 2048);
  // (524288 + 208896) / (139264 + 208896) = 2.106 -> floor(100*2048*524288 / (2048*733184)) = 71
  // and floor(... / (2048*348160)) = 150.
  EXPECT_EQ(b16, 71);
  EXPECT_EQ(b4, 150);
  const double c16 = max_context(opt, hw, fmt_of("fp16"), p, 1);
  const double c4 = max_context(opt, hw, fmt_of("nf4", 64), p, 1);
  EXPECT_GT(c4 / c16, 3.7);
  EXPECT_LT(b4 / b16, 2.2);
}

TEST(Memory, Monotonic) {
  const auto& m = zoo_model("llama-2-7b");
  const Hardware& hw = find_hardware("a100-80gb");
  MemoryParams p;
  int64_t prev = INT64_MAX;
  for (int64_t t = 256; t <= 65536; t *= 2) {
    const int64_t b = max_batch(m, hw, fmt_of("nf4"), p, t);
    EXPECT_LE(b, prev) << "context " << t;
    prev = b;
  }
  prev = INT64_MAX;
  for (int64_t b = 1; b <= 128; b *= 2) {
    const int64_t c = max_context(m, hw, fmt_of("nf4"), p, b);
    EXPECT_LE(c, prev) << "batch " << b;
    prev = c;
  }
  // Fewer bits, more room: fp16 <= fp8 <= nf4 <= nf3 <= nf2.
  int64_t last = 0;
  for (const char* n : {"fp16", "fp8", "nf4", "nf3", "nf2"}) {
    const int64_t b = max_batch(m, hw, fmt_of(n), p, 4096);
    EXPECT_GE(b, last) << n;
    last = b;
  }
}

TEST(Memory, RatioApproachesBitRatio) {
  // With a huge budget, paging and integer effects vanish: batch ratio -> 16 / 4.25 = 3.7647.
  const auto& m = zoo_model("opt-1.3b");
  MemoryParams p = bare();
  const Hardware hw = device_with(1e15);
  const double r = double(max_batch(m, hw, fmt_of("nf4"), p, 2048)) / double(max_batch(m, hw, fmt_of("fp16"), p, 2048));
  EXPECT_NEAR(r, 16.0 / 4.25, 1e-4);
}

TEST(Memory, VllmFormulaAgreesForFp16) {
  // For fp16 and the same free memory, the page capacity is vLLM's num_gpu_blocks * block_size.
  for (const char* name : {"opt-6.7b", "llama-2-13b", "llama-3-8b", "qwen2.5-7b", "llama-3-70b"}) {
    const auto& m = zoo_model(name);
    for (double free_gib : {1.0, 7.3, 22.94, 61.5}) {
      const double free = free_gib * 1073741824.0;
      EXPECT_EQ(kv_token_capacity(m, fmt_of("fp16"), 16, free), vllm_kv_tokens(m, 16, 2.0, free)) << name;
    }
  }
}

TEST(Time, DecodeStepMemoryBound) {
  // OPT-6.7B, batch 1, empty cache, 1e12 B/s: streamed weights = all params minus the positional
  // table (the tied embedding doubles as the LM head): (6,658,473,984 - 8,396,800) x 2 bytes =
  // 13,300,154,368 bytes, plus the new token's K/V 524,288 bytes -> 13.300678656 ms.
  const auto& opt = zoo_model("opt-6.7b");
  const Hardware hw = device_with(1e12);
  TimeParams tp;
  const PhaseCost c = decode_step(opt, hw, fmt_of("fp16"), 1, 0, tp);
  EXPECT_DOUBLE_EQ(c.bytes, 13300154368.0 + 524288.0);
  EXPECT_NEAR(c.time, 13.300678656e-3, 1e-12);
  EXPECT_TRUE(c.memory_bound());
}

TEST(Time, DecodeAttentionBytes) {
  // B=1, Hq=32, Hkv=8, T=8192, d=128, fp16: K+V = 8*8192*128*2*2 = 33,554,432 bytes; q and o
  // 32*128*2*2 = 16,384: 33,570,816 bytes; at 3e12 B/s that is 11.190272 us.
  Hardware hw = device_with(1e12);
  const PhaseCost c = decode_attention(1, 32, 8, 128, 8192, fmt_of("fp16"), hw, 3e12);
  EXPECT_DOUBLE_EQ(c.bytes, 33570816.0);
  EXPECT_NEAR(c.time, 11.190272e-6, 1e-15);
}

TEST(Time, PrefillComputeBoundAndNoCacheSlower) {
  const auto& m = zoo_model("llama-2-7b");
  const Hardware& hw = find_hardware("a100-80gb");
  TimeParams tp;
  EXPECT_FALSE(prefill(m, hw, fmt_of("fp16"), 8, 2048, tp).memory_bound());
  EXPECT_TRUE(decode_step(m, hw, fmt_of("fp16"), 8, 2048, tp).memory_bound());
  // Recomputing 2049 positions costs more than reading them from a cache.
  EXPECT_GT(recompute_step(m, hw, 8, 2049, tp).time, decode_step(m, hw, fmt_of("fp16"), 8, 2048, tp).time);
  const Generation with = generate(m, hw, fmt_of("nf4"), 8, 1024, 128, tp);
  const Generation without = generate(m, hw, fmt_of("none"), 8, 1024, 128, tp);
  EXPECT_GT(with.tokens_per_s, without.tokens_per_s);
}

TEST(Time, AcceleratorCyclesFirstModel) {
  // The first (pre-RTL) parameter set: lanes 64, Hq 32, Hkv 8, d 128, T 1023 cached tokens, NF4/B64:
  //  quantize: new K+V 2*8*128 = 2048 elements / 64 = 32 cycles + 32 blocks x 2 = 96
  //  MAC: 2*32*128*1024 / 64 = 131,072; softmax: 32*1024/64 = 512
  //  block overhead: 2*8*128*1023/64 = 32,736 blocks x 1 = 32,736
  //  tiles: 2*8*128*1023 = 2,095,104 elements x 4.25 bits / 8 = 1,113,024 bytes / 131,072 per tile
  //  -> 8.49, 9 tiles x 8 = 72
  //  compute = 96 + 131,072 + 512 + 32,736 + 72 = 164,488; memory: 1,113,024 / 256 B/cycle = 4347.75
  //  -> 4,348; total = 164,488 + 32 layer cycles = 164,520.
  const AcceleratorParams a = AcceleratorParams::first_model();
  const AccelCycles c = accel_layer_cycles(a, 32, 8, 128, 1023, fmt_of("nf4", 64));
  EXPECT_DOUBLE_EQ(c.quantize, 96);
  EXPECT_DOUBLE_EQ(c.mac, 131072);
  EXPECT_DOUBLE_EQ(c.softmax, 512);
  EXPECT_DOUBLE_EQ(c.block_overhead, 32736);
  EXPECT_EQ(c.tiles, 9);
  EXPECT_DOUBLE_EQ(c.memory, 4348);
  EXPECT_DOUBLE_EQ(c.total, 164520);
  EXPECT_FALSE(c.memory_bound());
}

TEST(Time, AcceleratorCyclesTinyHandDerived) {
  // Protocol-derived model (rtl/doc/protocol.md), hand-derived for a tiny case: lanes 4, Hq 2,
  // Hkv 1, d 64, NF4/B32 (nblk 2, 4.5 bits/element), T 3 cached tokens -> n = 4 attended.
  //  code beats per token: d/L = 16 (>= nblk 2: side values hidden)
  //  mac = 2 passes (score, value) x Hq 2 x n 4 x 16 = 256
  //  score pass per head: nblk 2 + latency 3 = 5; value pass (P = 1): nblk 2 + latency 3 + drain 64 = 69
  //  pass_overhead = 2 x (5 + 2 + 3) = 20; drain = 2 x 1 x 64 = 128; dequant-MAC = 256 + 20 + 128 = 404
  //  quantize (new K and V, one run of 128 elements): 128/4 = 32 beats + B/L 8 + latency 10 = 50
  //  softmax = ceil(2 x 4 / 4) = 2; KV bytes = 2 x 1 x 64 x 3 x 4.5 / 8 = 216 -> 1 tile x 8 = 8
  //  compute = 50 + 404 + 2 + 0 + 8 = 464; memory = ceil(216 / 256) = 1; total = 464.
  AcceleratorParams a;
  a.lanes = 4;
  const AccelCycles c = accel_layer_cycles(a, 2, 1, 64, 3, fmt_of("nf4", 32));
  EXPECT_DOUBLE_EQ(c.mac, 256);
  EXPECT_DOUBLE_EQ(c.pass_overhead, 20);
  EXPECT_DOUBLE_EQ(c.drain, 128);
  EXPECT_DOUBLE_EQ(c.block_overhead, 0);
  EXPECT_DOUBLE_EQ(c.dequant_mac, 404);
  EXPECT_DOUBLE_EQ(c.quantize, 50);
  EXPECT_DOUBLE_EQ(c.softmax, 2);
  EXPECT_EQ(c.tiles, 1);
  EXPECT_DOUBLE_EQ(c.memory, 1);
  EXPECT_DOUBLE_EQ(c.total, 464);
}

TEST(Time, AcceleratorMacPartitionsAndQuantizer) {
  // n = 700 attended tokens -> P = 2 partitions (512 + 188). lanes 16, Hq 4, Hkv 2, d 64, B 64
  // (nblk 1, d/L = 4 beats): mac = 2 x 4 x 700 x 4 = 22,400; per head: score 1 + 3, value
  // 2 x (1 + 3) + 2 x 64 drain -> 4 + 8 + 128 = 140; x 4 heads = 560; total 22,960 (the RTL's
  // `nqkv sim --backend rtl --model tiny --context 700 --block 64 --lanes 16` count).
  AcceleratorParams a;
  a.lanes = 16;
  const AccelCycles c = accel_mac_cycles(a, 4, 2, 64, 700, fmt_of("nf4", 64));
  EXPECT_EQ(c.partitions, 2);
  EXPECT_DOUBLE_EQ(c.dequant_mac, 22960);
  // Quantizer: 2 runs of 700 x 2 x 64 = 89,600 elements: 5,600 beats + B/L 4 + 10 = 5,614 per run.
  EXPECT_DOUBLE_EQ(accel_quantize_cycles(a, 89600, 2, 64), 11228);
}

TEST(Report, KernelTimeFitRecoversExactLine) {
  // Times generated by t = 20 us + bytes / (0.8 x 3e12) are fitted back exactly.
  std::vector<double> b = {1e6, 5e7, 2e8, 1e9}, m;
  for (double x : b) m.push_back(20e-6 + x / (0.8 * 3e12));
  const KernelTimeFit f = fit_kernel_time(b, m, 3e12);
  ASSERT_TRUE(f.ok);
  EXPECT_NEAR(f.launch_s, 20e-6, 1e-12);
  EXPECT_NEAR(f.mem_eff, 0.8, 1e-9);
  EXPECT_FALSE(fit_kernel_time({1e6}, {1e-5}, 3e12).ok);
}
