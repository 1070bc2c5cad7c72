#include "sim/common/cases.hpp"

#include "golden/attention.hpp"
#include "golden/tensor_io.hpp"
#include "golden/vectors.hpp"
#include "io/error.hpp"

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

namespace {

template <class T>
std::vector<T> tensor(const io::SafeTensors& f, const std::string& name, size_t expect) {
  auto v = f.get(name).values<T>();
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
    const size_t n = static_cast<size_t>(q.rows * q.cols), nb = n / static_cast<size_t>(q.block);
    q.x = tensor<uint16_t>(f, "x", n);
    q.codes = tensor<uint8_t>(f, "codes", n * static_cast<size_t>(q.cb->bits) / 8);
    q.scales = tensor<uint16_t>(f, "absmax", nb);
    q.status = tensor<uint8_t>(f, "status", nb);
    return;
  }
  if (c.kind != "attention") return;
  AttnCase& a = c.attn;
  const size_t Hq = static_cast<size_t>(a.q_heads), Hkv = static_cast<size_t>(a.kv_heads), D = static_cast<size_t>(a.head_dim),
               T = static_cast<size_t>(a.tokens), nb = D / static_cast<size_t>(a.block),
               P = (T + golden::kPartitionTokens - 1) / golden::kPartitionTokens;
  const size_t row = D * static_cast<size_t>(a.cb->bits) / 8;
  a.q_fixed = tensor<int16_t>(f, "q_fixed", Hq * D);
  a.k_codes = tensor<uint8_t>(f, "k_codes", T * Hkv * row);
  a.v_codes = tensor<uint8_t>(f, "v_codes", T * Hkv * row);
  a.k_absmax = tensor<uint16_t>(f, "k_absmax", T * Hkv * nb);
  a.v_absmax = tensor<uint16_t>(f, "v_absmax", T * Hkv * nb);
  a.logits = tensor<int64_t>(f, "logits", Hq * T);
  a.part_M = tensor<int64_t>(f, "part_M", Hq * P);
  a.part_e = tensor<int32_t>(f, "part_e", Hq * P);
  a.scores_S = tensor<int64_t>(f, "scores_S", Hq * T);
  a.scores_x = tensor<int32_t>(f, "scores_x", Hq * T);
  a.part_O = tensor<int64_t>(f, "part_O", Hq * P * D);
}

}  // namespace nqkv::sim
