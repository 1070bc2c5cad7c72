// The embedded default workload of `nqkv run`: a seeded KV cache and query shaped like one decode
// step of a real model (OPT-6.7B by default: 32 layers, 32 heads, head_dim 128), with the
// structure real caches show: keys carry a few large outlier channels and per-channel offsets,
// values are closer to zero-mean Gaussian with mild per-channel spread.
#pragma once
#include <cstdint>
#include <vector>

#include "golden/float_formats.hpp"

namespace nqkv::workloads {

struct KvShape {
  int layers = 32, q_heads = 32, kv_heads = 32, head_dim = 128;
  int64_t context = 2048;
};

struct LayerKv {
  // k, v: context x kv_heads x head_dim values already rounded to the cache element type;
  // q: q_heads x head_dim fp32.
  std::vector<float> k, v, q;
};

LayerKv synthetic_layer(const KvShape& s, int layer, golden::ElemType type, uint64_t seed);

}  // namespace nqkv::workloads
