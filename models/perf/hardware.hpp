// Devices the projection runs on: built-in GPUs with datasheet figures, user-defined entries
// from a JSON file, and the modeled NQKV accelerator (parameterized like the RTL).
#pragma once
#include <string>
#include <vector>

namespace nqkv::perf {

// The accelerator's cycle model (docs/perf-model.md section 5). Overheads are parameters so they can
// be fitted to RTL/SystemC cycle counts once those exist.
struct AcceleratorParams {
  int lanes = 64;                 // elements per cycle (quantizer) and MACs per cycle (dequant-MAC)
  double clock_hz = 1.0e9;
  double mem_bw = 256.0e9;        // bytes/s of the KV memory interface
  double buffer_bytes = 256.0 * 1024;  // on-chip buffer for streamed KV tiles (double-buffered)
  double mem_bytes = 16.0 * 1073741824.0;  // off-chip capacity behind it
  int quant_block_cycles = 2;     // per quantized block: absmax tree tail + scale write
  int dequant_block_cycles = 1;   // per block read: scale load into the MAC
  int token_cycles = 0;           // per cached token per head: softmax bookkeeping outside the lanes
  int tile_cycles = 8;            // per KV tile streamed through the buffer: DMA setup
  int layer_cycles = 32;          // per layer per sequence: pipeline fill and drain
};

struct Hardware {
  std::string name;
  std::string source;       // datasheet or file the figures come from
  double mem_bytes = 0;     // device memory capacity
  double mem_bw = 0;        // peak DRAM bandwidth, bytes/s
  double fp16_flops = 0;    // dense fp16/bf16 tensor-core peak, FLOP/s
  double int8_ops = 0;      // dense int8 tensor-core peak, OP/s
  double fp32_flops = 0;    // non-tensor fp32 (CUDA-core) peak: where dequantization runs
  bool accelerator = false;
  AcceleratorParams accel;
};

const std::vector<Hardware>& builtin_hardware();
// Built-ins plus entries registered from files; throws InputError listing the known names.
const Hardware& find_hardware(const std::string& name);
// Reads {"hardware": [ {...}, ... ]} (or one object) and registers each entry; errors name the field.
std::vector<Hardware> load_hardware_file(const std::string& path);
std::vector<Hardware> parse_hardware_json(const std::string& text, const std::string& origin);
void register_hardware(const Hardware& hw);
// The modeled accelerator built from parameters (peak rates derived from lanes and clock).
Hardware make_accelerator(const std::string& name, const AcceleratorParams& p);

}  // namespace nqkv::perf
