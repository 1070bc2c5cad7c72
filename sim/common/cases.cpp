#include "sim/common/cases.hpp"

#include <algorithm>

#include "golden/attention.hpp"
#include "golden/tensor_io.hpp"
#include "golden/vectors.hpp"
#include "io/error.hpp"
#include "io/sizes.hpp"

namespace nqkv::sim {

std::string cannot_run(const accel::AccelConfig& cfg, const golden::Codebook& cb, golden::ElemType type, int block,
                       int64_t cols) {
  if (cb.affine) return "affine int4 is not implemented in the RTL (absmax codebooks only)";
  if (type == golden::ElemType::F32) return "f32 input (the RTL takes fp16/bf16 elements)";
  if (cb.bits > cfg.bits_max) return "codebook needs more than BITS_MAX " + std::to_string(cfg.bits_max) + " bits";
  if (block <= 0 || block > cfg.block_max) return "block " + std::to_string(block) + " outside 1..BLOCK_MAX " + std::to_string(cfg.block_max);
  if (block % cfg.lanes != 0 || block % 8 != 0)
    return "block " + std::to_string(block) + " is not a multiple of LANES " + std::to_string(cfg.lanes) + " and of 8";
  if (cols % block != 0) return "cols not a multiple of block";
  return "";
}

std::string cannot_run_attention(const accel::AccelConfig& cfg, const golden::Codebook& cb, golden::ElemType type,
                                 int block, int head_dim) {
  std::string why = cannot_run(cfg, cb, type, block, head_dim);
  if (why.empty() && (head_dim > cfg.dmax || head_dim / block > cfg.nbmax()))
    why = "head_dim " + std::to_string(head_dim) + " exceeds DMAX " + std::to_string(cfg.dmax) + " or " +
          std::to_string(cfg.nbmax()) + " blocks";
  return why;
}

HeadStreams head_streams(const AttnCase& c, int hq) {
  const int D = c.head_dim, nb = D / c.block, Hkv = c.kv_heads, kvh = hq / (c.q_heads / Hkv);
  const int64_t T = c.tokens, row_bytes = static_cast<int64_t>(D) * c.cb->bits / 8;
  HeadStreams h;
  h.k_scales.resize(static_cast<size_t>(T * nb));
  h.v_scales.resize(h.k_scales.size());
  h.k_codes.resize(static_cast<size_t>(T * row_bytes));
  h.v_codes.resize(h.k_codes.size());
  for (int64_t t = 0; t < T; ++t) {
    for (int b = 0; b < nb; ++b) {
      h.k_scales[static_cast<size_t>(t * nb + b)] = c.k_absmax[static_cast<size_t>((t * Hkv + kvh) * nb + b)];
      h.v_scales[static_cast<size_t>(t * nb + b)] = c.v_absmax[static_cast<size_t>((t * Hkv + kvh) * nb + b)];
    }
    std::copy_n(c.k_codes.begin() + (t * Hkv + kvh) * row_bytes, row_bytes, h.k_codes.begin() + t * row_bytes);
    std::copy_n(c.v_codes.begin() + (t * Hkv + kvh) * row_bytes, row_bytes, h.v_codes.begin() + t * row_bytes);
  }
  return h;
}

std::vector<uint16_t> partition_weights(const AttnCase& c, int hq, int64_t p, const HeadStreams& hs) {
  const int nb = c.head_dim / c.block;
  const int64_t T = c.tokens, P = (T + golden::kPartitionTokens - 1) / golden::kPartitionTokens;
  const int64_t t0 = p * golden::kPartitionTokens, t1 = std::min<int64_t>(T, t0 + golden::kPartitionTokens);
  const int64_t M = c.part_M[static_cast<size_t>(hq * P + p)];
  const int e = c.part_e[static_cast<size_t>(hq * P + p)];
  std::vector<uint16_t> w;
  w.reserve(static_cast<size_t>((t1 - t0) * nb));
  for (int64_t t = t0; t < t1; ++t) {
    const uint32_t E = golden::exp2_fixed(c.logits[static_cast<size_t>(hq * T + t)] - M);
    for (int b = 0; b < nb; ++b) w.push_back(golden::value_weight(E, c.type, hs.v_scales[static_cast<size_t>(t * nb + b)], e));
  }
  return w;
}

namespace {

template <class T>
std::vector<T> tensor(const io::SafeTensors& f, const std::string& name, size_t expect) {
  const io::Tensor& t = f.get(name);
  if (io::dtype_size(t.dtype) != sizeof(T))
    throw InputError(f.source + ": tensor '" + name + "' has dtype " + io::dtype_name(t.dtype) + ", expected " +
                     std::to_string(8 * sizeof(T)) + "-bit elements");
  auto v = t.values<T>();
  if (v.size() != expect)
    throw InputError(f.source + ": tensor '" + name + "' has " + std::to_string(v.size()) + " values, the metadata says " +
                     std::to_string(expect));
  return v;
}

}  // namespace

FileCase read_case_header(const io::SafeTensors& f) {
  FileCase c;
  c.kind = golden::case_meta(f, "kind");
  if (c.kind != "quantize" && c.kind != "attention") return c;
  const golden::Codebook& cb = golden::codebook_by_name(golden::case_meta(f, "codebook"));
  const golden::ElemType type = golden::elem_type_from_name(golden::case_meta(f, "dtype"));
  const int block = golden::case_meta_int(f, "block");
  if (block <= 0) throw InputError(f.source + ": metadata 'block' must be positive");
  if (c.kind == "quantize") {
    QuantCase& q = c.quant;
    q.cb = &cb;
    q.type = type;
    q.block = block;
    const auto& xt = f.get("x");
    if (xt.shape.size() != 2) throw InputError(f.source + ": x must be [rows, cols]");
    q.rows = xt.dim(0);
    q.cols = xt.dim(1);
    return c;
  }
  AttnCase& a = c.attn;
  a.cb = &cb;
  a.type = type;
  a.block = block;
  a.q_heads = golden::case_meta_int(f, "q_heads");
  a.kv_heads = golden::case_meta_int(f, "kv_heads");
  a.head_dim = golden::case_meta_int(f, "head_dim");
  a.tokens = golden::case_meta_int(f, "tokens");
  if (a.q_heads <= 0 || a.kv_heads <= 0 || a.q_heads % a.kv_heads != 0 || a.head_dim <= 0 || a.tokens <= 0 ||
      a.head_dim % block != 0)
    throw InputError(f.source + ": inconsistent attention metadata (q_heads, kv_heads, head_dim, block, tokens)");
  return c;
}

void load_case_tensors(const io::SafeTensors& f, FileCase& c) {
  if (c.kind == "quantize") {
    QuantCase& q = c.quant;
    const size_t n = static_cast<size_t>(io::checked_mul(q.rows, q.cols, f.source + ": x")),
                 nb = n / static_cast<size_t>(q.block);
    q.x = tensor<uint16_t>(f, "x", n);
    q.codes = tensor<uint8_t>(f, "codes", n * static_cast<size_t>(q.cb->bits) / 8);
    q.scales = tensor<uint16_t>(f, "absmax", nb);
    q.status = tensor<uint8_t>(f, "status", nb);
    return;
  }
  if (c.kind != "attention") return;
  AttnCase& a = c.attn;
  // Every product checked (io/sizes.hpp): metadata that wraps a size_t could match a small tensor.
  auto mul = [&](int64_t x, int64_t y) { return io::checked_mul(x, y, f.source + ": attention metadata"); };
  const int64_t Hq = a.q_heads, Hkv = a.kv_heads, D = a.head_dim, T = a.tokens, nb = D / a.block,
                P = (T + golden::kPartitionTokens - 1) / golden::kPartitionTokens;
  const int64_t row = mul(D, a.cb->bits) / 8;
  auto n = [](int64_t x) { return static_cast<size_t>(x); };
  a.q_fixed = tensor<int16_t>(f, "q_fixed", n(mul(Hq, D)));
  a.k_codes = tensor<uint8_t>(f, "k_codes", n(mul(mul(T, Hkv), row)));
  a.v_codes = tensor<uint8_t>(f, "v_codes", n(mul(mul(T, Hkv), row)));
  a.k_absmax = tensor<uint16_t>(f, "k_absmax", n(mul(mul(T, Hkv), nb)));
  a.v_absmax = tensor<uint16_t>(f, "v_absmax", n(mul(mul(T, Hkv), nb)));
  a.logits = tensor<int64_t>(f, "logits", n(mul(Hq, T)));
  a.part_M = tensor<int64_t>(f, "part_M", n(mul(Hq, P)));
  a.part_e = tensor<int32_t>(f, "part_e", n(mul(Hq, P)));
  a.scores_S = tensor<int64_t>(f, "scores_S", n(mul(Hq, T)));
  a.scores_x = tensor<int32_t>(f, "scores_x", n(mul(Hq, T)));
  a.part_O = tensor<int64_t>(f, "part_O", n(mul(mul(Hq, P), D)));
}

}  // namespace nqkv::sim
