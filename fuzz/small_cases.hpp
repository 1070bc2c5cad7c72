// Two small, valid golden cases built with the golden library (seed-free, deterministic): the
// fixed cases the results harness compares against, and the seeds make_seeds writes.
#pragma once
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "golden/tensor_io.hpp"
#include "golden/vectors.hpp"

namespace nqkv::fuzz {

// A quantize case: `rows` x `cols` elements of `dtype`, codebook `cb`, block `block`.
inline golden::GoldenCase small_quantize_case(const std::string& name, const std::string& cb, golden::ElemType type,
                                              int block, int rows, int cols) {
  golden::GoldenCase c;
  c.name = name;
  c.data.metadata = {{"kind", "quantize"}, {"codebook", cb}, {"block", std::to_string(block)},
                     {"dtype", golden::elem_type_name(type)}};
  std::vector<uint32_t> x(static_cast<size_t>(rows) * cols);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = golden::f32_to_elem(type, static_cast<float>(std::sin(0.37 * double(i)) * (1 + i % 7)));
  if (x.size() > 40) x[33] = golden::f32_to_elem(type, 0.0f), x[40] = golden::f32_to_elem(type, -65504.0f);
  c.data.tensors["x"] = golden::element_tensor(type, {rows, cols}, x);
  io::SafeTensors full = golden::recompute_case(c.data);
  full.tensors["x"] = c.data.tensors["x"];
  full.metadata = c.data.metadata;
  c.data = std::move(full);
  return c;
}

inline golden::GoldenCase small_attention_case(const std::string& name, const std::string& cb, golden::ElemType type,
                                               int q_heads, int kv_heads, int head_dim, int block, int tokens) {
  const size_t n = static_cast<size_t>(tokens) * kv_heads * head_dim;
  std::vector<uint32_t> k(n), v(n);
  for (size_t i = 0; i < n; ++i) {
    k[i] = golden::f32_to_elem(type, static_cast<float>(std::cos(0.11 * double(i)) * ((i % head_dim) == 5 ? 12 : 1)));
    v[i] = golden::f32_to_elem(type, static_cast<float>(std::sin(0.23 * double(i))));
  }
  std::vector<float> q(static_cast<size_t>(q_heads) * head_dim);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<float>(1.5 * std::sin(0.7 * double(i) + 1));
  return golden::make_attention_case(name, cb, type, q_heads, kv_heads, head_dim, block, tokens, k, v, q);
}

}  // namespace nqkv::fuzz
