// Devices the projection runs on: built-in GPUs with datasheet figures, user-defined entries
// from a JSON file, and the modeled NQKV accelerator (parameterized like the RTL).
#pragma once
#include <string>
#include <vector>

#include "golden/attention.hpp"
#include "models/accel/accel_config.hpp"

namespace nqkv::perf {

// The accelerator's cycle model (docs/perf-model.md section 5). The per-pass and per-run terms
// follow the RTL's documented protocol (rtl/doc/protocol.md, rtl/nq_dequant_mac.sv header,
// reports/rtl.md); they were not fitted to the measured cycle counts.
struct AcceleratorParams {
  int lanes = 64;                 // elements per cycle (quantizer) and MACs per cycle (dequant-MAC)
  double clock_hz = 1.0e9;
  double mem_bw = 256.0e9;        // bytes/s of the KV memory interface
  double buffer_bytes = 256.0 * 1024;  // on-chip buffer for streamed KV tiles (double-buffered)
  double mem_bytes = 16.0 * 1073741824.0;  // off-chip capacity behind it
  // Quantizer: one input beat of `lanes` elements per cycle, no per-block bubble; a run ends
  // when the last block's B/lanes output beats are out, quant_latency_cycles after its last input
  // beat (3 + (24/DIV_SPS + 1) = 10 for DIV_SPS 4).
  int quant_block_cycles = 0;     // extra cycles per quantized block (0: the RTL has no per-block bubble)
  int quant_latency_cycles = accel::AccelConfig{}.quant_latency();  // last input beat of a block -> its first output beat
  // Dequant-MAC: one pass per query head in score form over all tokens, then one value-form
  // pass per 512-token partition. A token's nblk = d/B side values (one per cycle on their own
  // stream, two banks) must be in before its codes are accepted: nblk cycles before the first
  // code beat of a pass, hidden behind the d/lanes code beats of the previous token afterwards.
  int dequant_block_cycles = 0;   // extra cycles per block read beyond the side stream (0: hidden)
  int score_latency_cycles = accel::AccelConfig::score_latency();  // last code beat -> the score word (score form)
  int drain_latency_cycles = accel::AccelConfig::drain_latency();  // last code beat -> first drained word (value
                                  // form; the drain is d words, one per cycle): drain starts 2 cycles after, + the output register
  int partition_tokens = golden::kPartitionTokens;  // tokens per value pass
  bool protocol_terms = true;     // per-pass fill/drain and per-run quantizer tail (false: first model)
  // Parts the RTL does not contain (the projection's assumptions beyond it).
  int token_cycles = 0;           // per cached token per head: softmax bookkeeping outside the lanes
  int tile_cycles = 8;            // per KV tile streamed through the buffer: DMA setup
  int layer_cycles = 0;           // per layer per sequence (fill/drain is in the per-pass terms)

  // The protocol terms of an accelerator build (lanes and latencies from models/accel).
  static AcceleratorParams from_config(const accel::AccelConfig& c) {
    AcceleratorParams a;
    a.lanes = c.lanes;
    a.quant_latency_cycles = c.quant_latency();
    a.score_latency_cycles = accel::AccelConfig::score_latency();
    a.drain_latency_cycles = accel::AccelConfig::drain_latency();
    return a;
  }

  // The first, unvalidated parameter set (before the RTL existed): 2 cycles per quantized block,
  // 1 per dequantized block, 32 per layer, and no per-pass fill, drain or quantizer latency.
  static AcceleratorParams first_model() {
    AcceleratorParams a;
    a.quant_block_cycles = 2;
    a.quant_latency_cycles = 0;
    a.dequant_block_cycles = 1;
    a.score_latency_cycles = 0;
    a.drain_latency_cycles = 0;
    a.protocol_terms = false;  // no per-pass side-value fill, latency or drain
    a.layer_cycles = 32;
    return a;
  }
};

struct Hardware {
  std::string name;
  std::string source;       // datasheet or file the figures come from
  double mem_bytes = 0;     // device memory capacity
  double mem_bw = 0;        // peak DRAM bandwidth, bytes/s
  double fp16_flops = 0;    // dense fp16/bf16 tensor-core peak, FLOP/s
  double int8_ops = 0;      // dense int8 tensor-core peak, OP/s
  double fp32_flops = 0;    // non-tensor fp32 (CUDA-core) peak: where dequantization runs
  int sms = 0;              // streaming multiprocessors (GPUs; 0 = not given): sizes flash SDPA's launch
  std::string cuda_name;    // the name CUDA reports (torch.cuda.get_device_name): matches measured runs
  bool accelerator = false;
  AcceleratorParams accel;
};

const std::vector<Hardware>& builtin_hardware();
// Built-ins plus entries registered from files; throws InputError listing the known names.
const Hardware& find_hardware(const std::string& name);
// The entry whose cuda_name is the device name a measurement run recorded; nullptr when none is.
const Hardware* find_hardware_by_cuda_name(const std::string& cuda_name);
// Reads {"hardware": [ {...}, ... ]} (or one object) and registers each entry; errors name the field.
std::vector<Hardware> load_hardware_file(const std::string& path);
std::vector<Hardware> parse_hardware_json(const std::string& text, const std::string& origin);
void register_hardware(const Hardware& hw);
// The modeled accelerator built from parameters (peak rates derived from lanes and clock).
Hardware make_accelerator(const std::string& name, const AcceleratorParams& p);

}  // namespace nqkv::perf
