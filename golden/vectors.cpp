#include "golden/vectors.hpp"

#include <cfloat>
#include <cmath>
#include <cctype>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <nlohmann/json.hpp>

#include "golden/attention.hpp"
#include "golden/rng.hpp"
#include "golden/tensor_io.hpp"
#include "io/error.hpp"

namespace nqkv::golden {
namespace {

// ---- case construction ---------------------------------------------------------------------

GoldenCase quantize_case(const std::string& name, const Codebook& cb, ElemType type, int block, int64_t rows,
                         int64_t cols, const std::vector<uint32_t>& x) {
  GoldenCase c;
  c.name = name;
  c.data.metadata = {{"kind", "quantize"},
                     {"codebook", cb.name},
                     {"block", std::to_string(block)},
                     {"dtype", elem_type_name(type)}};
  c.data.tensors["x"] = element_tensor(type, {rows, cols}, x);
  c.data = [&] {
    io::SafeTensors full = recompute_case(c.data);
    full.tensors["x"] = c.data.tensors["x"];
    full.metadata = c.data.metadata;
    return full;
  }();
  return c;
}

// Round an fp32 value to the element type and back (what a KV cache would store).
float to_elem(ElemType t, float v) { return elem_to_f32(t, f32_to_elem(t, v)); }

std::vector<uint32_t> draw(ElemType t, int64_t n, const std::function<double()>& gen) {
  std::vector<uint32_t> out(static_cast<size_t>(n));
  for (auto& b : out) b = f32_to_elem(t, static_cast<float>(gen()));
  return out;
}

// Blocks in which one element's normalised value xn = fp32(x * fp32(1/a)) lands exactly on a
// threshold (plus its neighbours one element-ulp either side): found by scanning absmax values a
// of the element type and the element x nearest to m * a. One block per threshold that has a hit.
std::vector<std::vector<uint32_t>> threshold_blocks(const Codebook& cb, ElemType type, int block, SplitMix64& rng) {
  // fp16/bf16 products x * inv reach only some thresholds exactly (x/a is a ratio of short
  // significands); where none is reachable the block lands one fp32 ulp beside the threshold.
  // fp32 input with absmax 1 reaches every threshold exactly.
  std::vector<std::vector<uint32_t>> blocks;
  const uint32_t a_lo = f32_to_elem(type, 6.2e-5f), a_hi = f32_to_elem(type, 65504.0f);
  for (float m : cb.thresholds) {
    std::vector<uint32_t> hit;
    for (int pass = 0; pass < 2 && hit.empty(); ++pass) {
      if (type == ElemType::F32) {
        hit = {f32_bits(1.0f), f32_bits(m), f32_bits(std::nextafter(m, 2.0f)), f32_bits(std::nextafter(m, -2.0f))};
        break;
      }
      for (uint32_t ab = a_lo; ab < a_hi && hit.empty(); ++ab) {
        const float a = elem_to_f32(type, ab), inv = 1.0f / a;
        const uint32_t xb = f32_to_elem(type, m * a);
        const float x = elem_to_f32(type, xb), xn = x * inv;
        if (std::fabs(x) > a) continue;
        if (xn == m || (pass == 1 && (std::nextafter(xn, 2.0f) == m || std::nextafter(xn, -2.0f) == m)))
          hit = {ab, xb, xb + 1, xb - 1};
      }
    }
    if (hit.empty()) continue;
    const float a = elem_to_f32(type, hit[0]);
    while (static_cast<int>(hit.size()) < block) hit.push_back(f32_to_elem(type, static_cast<float>(a * (2 * rng.uniform() - 1))));
    blocks.push_back(std::move(hit));
  }
  return blocks;
}

void add_quantize_suites(std::vector<GoldenCase>& cases, uint64_t seed) {
  SplitMix64 rng(seed);
  const ElemType types[] = {ElemType::F16, ElemType::BF16};
  const int cols = 256;
  // Corner suites for every codebook and both 16-bit types.
  for (CodebookId id : all_codebooks()) {
    const Codebook& cb = codebook(id);
    for (ElemType t : types) {
      const std::string tag = fmt::format("{}_{}", cb.name, elem_type_name(t));
      std::vector<uint32_t> x;
      const int B = 32;
      auto push = [&](const std::vector<uint32_t>& blk) { x.insert(x.end(), blk.begin(), blk.end()); };
      push(std::vector<uint32_t>(B, 0));                                          // all +0
      push(std::vector<uint32_t>(B, f32_to_elem(t, -0.0f)));                      // all -0
      {                                                                           // single non-zero
        std::vector<uint32_t> b(B, 0);
        b[5] = f32_to_elem(t, -3.5f);
        push(b);
      }
      {  // +-65504 (fp16 max) and mixed signs
        std::vector<uint32_t> b;
        for (int i = 0; i < B; ++i) b.push_back(f32_to_elem(t, (i % 2 ? -1.f : 1.f) * (i == 3 ? 65504.f : 1000.f * i)));
        push(b);
      }
      {  // subnormals: fp16 subnormals (2^-24 .. 2^-15); for bf16, values below 2^-126 (flushed block)
        std::vector<uint32_t> b;
        for (int i = 0; i < B; ++i) {
          if (t == ElemType::F16) b.push_back(static_cast<uint32_t>((i * 37) % 1024) | (i % 3 ? 0 : 0x8000u));
          else b.push_back(static_cast<uint32_t>((i * 5) % 128) | (i % 3 ? 0 : 0x8000u));
        }
        push(b);
      }
      {  // a normal absmax with subnormal companions
        std::vector<uint32_t> b;
        for (int i = 0; i < B; ++i) b.push_back(t == ElemType::F16 ? static_cast<uint32_t>(1 + i * 31) : static_cast<uint32_t>(0x0080u + i * 3));
        push(b);
      }
      if (!cb.affine)
        for (const auto& blk : threshold_blocks(cb, t, B, rng)) push(blk);  // exactly on thresholds
      const int rows = static_cast<int>(x.size()) / B;
      cases.push_back(quantize_case("corner_" + tag, cb, t, B, rows, B, x));
      // Non-finite blocks live in their own case so the finite corners stay checkable everywhere.
      std::vector<uint32_t> nf(3 * B, f32_to_elem(t, 0.5f));
      nf[3] = f32_to_elem(t, NAN);
      nf[B + 7] = f32_to_elem(t, INFINITY);
      nf[2 * B + 1] = f32_to_elem(t, -INFINITY);
      cases.push_back(quantize_case("nonfinite_" + tag, cb, t, B, 3, B, nf));
    }
    if (!cb.affine) {  // fp32 analysis input reaches every threshold exactly
      std::vector<uint32_t> x;
      for (const auto& blk : threshold_blocks(cb, ElemType::F32, 32, rng)) x.insert(x.end(), blk.begin(), blk.end());
      cases.push_back(quantize_case("thresholds_" + cb.name + "_f32", cb, ElemType::F32, 32, static_cast<int64_t>(x.size()) / 32, 32, x));
    }
  }
  // Random suites: distributions x codebooks x block sizes, fp16 and bf16 (and fp32 for NF4).
  struct Dist {
    const char* name;
    std::function<double(SplitMix64&)> gen;
  };
  const Dist dists[] = {
      {"normal", [](SplitMix64& r) { return r.normal(); }},
      {"laplace", [](SplitMix64& r) { return r.laplace(); }},
      {"student3", [](SplitMix64& r) { return r.student_t(3); }},
  };
  for (const Dist& d : dists) {
    for (CodebookId id : all_codebooks()) {
      const Codebook& cb = codebook(id);
      for (int B : {32, 64, 128, 256}) {
        const ElemType t = (B == 128) ? ElemType::BF16 : ElemType::F16;
        auto x = draw(t, 8 * cols, [&] { return 2.0 * d.gen(rng); });
        cases.push_back(quantize_case(fmt::format("{}_{}_{}_b{}", d.name, cb.name, elem_type_name(t), B), cb, t, B, 8, cols, x));
      }
    }
  }
  {  // outlier channels: a few columns 20x larger, as in real key caches
    for (ElemType t : types) {
      auto x = draw(t, 16 * cols, [&] { return rng.normal(); });
      for (int r = 0; r < 16; ++r)
        for (int ch : {3, 77, 130, 201}) x[static_cast<size_t>(r * cols + ch)] = f32_to_elem(t, static_cast<float>(20.0 * rng.normal()));
      for (int B : {32, 64, 128})
        cases.push_back(quantize_case(fmt::format("outliers_nf4_{}_b{}", elem_type_name(t), B), codebook(CodebookId::NF4), t, B, 16, cols, x));
    }
  }
  {  // fp32 analysis input
    auto x = draw(ElemType::F32, 4 * cols, [&] { return rng.normal(); });
    cases.push_back(quantize_case("normal_nf4_f32_b64", codebook(CodebookId::NF4), ElemType::F32, 64, 4, cols, x));
  }
}

struct AttnShape {
  CodebookId cb;
  ElemType type;
  int hq, hkv, d, block, tokens;
};

GoldenCase attention_case(const std::string& name, const AttnShape& s, SplitMix64& rng) {
  const int64_t n = static_cast<int64_t>(s.tokens) * s.hkv * s.d;
  // Keys with outlier channels, values plain: the shape of real caches.
  std::vector<uint32_t> k(static_cast<size_t>(n)), v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int ch = static_cast<int>(i % s.d);
    const double kscale = (ch % 37 == 5) ? 12.0 : 1.0;
    k[i] = f32_to_elem(s.type, static_cast<float>(kscale * rng.normal()));
    v[i] = f32_to_elem(s.type, static_cast<float>(rng.normal()));
  }
  std::vector<float> q(static_cast<size_t>(s.hq) * s.d);
  for (auto& x : q) x = static_cast<float>(1.5 * rng.normal());
  return make_attention_case(name, codebook(s.cb).name, s.type, s.hq, s.hkv, s.d, s.block, s.tokens, k, v, q);
}

void add_attention_suites(std::vector<GoldenCase>& cases, uint64_t seed) {
  SplitMix64 rng(seed ^ 0xa77e);
  const AttnShape shapes[] = {
      {CodebookId::NF4, ElemType::F16, 8, 2, 64, 32, 37},      // GQA 4, short context
      {CodebookId::NF4, ElemType::F16, 4, 4, 128, 64, 600},    // MHA, two partitions
      {CodebookId::NF4, ElemType::BF16, 8, 1, 128, 128, 513},  // GQA 8, partition edge
      {CodebookId::NF3, ElemType::F16, 8, 2, 256, 64, 300},
      {CodebookId::NF2, ElemType::F16, 4, 1, 64, 32, 1100},   // three partitions
      {CodebookId::FP4, ElemType::F16, 4, 1, 128, 128, 100},
      {CodebookId::INT4SYM, ElemType::BF16, 2, 2, 256, 256, 90},
      {CodebookId::LLOYD4, ElemType::F16, 8, 1, 128, 64, 700},
      {CodebookId::E2M1, ElemType::F16, 4, 4, 64, 64, 50},
  };
  for (const auto& s : shapes)
    cases.push_back(attention_case(fmt::format("attn_{}_{}_hq{}_hkv{}_d{}_b{}_t{}", codebook(s.cb).name, elem_type_name(s.type),
                                               s.hq, s.hkv, s.d, s.block, s.tokens),
                                   s, rng));
}

// ---- recomputation ---------------------------------------------------------------------------

io::SafeTensors recompute_quantize(const io::SafeTensors& c) {
  const Codebook& cb = codebook_by_name(case_meta(c, "codebook"));
  const int block = case_meta_int(c, "block");
  const io::Tensor& x = c.get("x");
  const ElemType t = elem_type_of(x, "x");
  // Non-empty x, a block that is a positive multiple of 8 dividing cols (so rows pack to whole bytes).
  if (x.shape.size() != 2 || x.shape[0] <= 0 || x.shape[1] <= 0 || block <= 0 || block % 8 != 0 ||
      x.shape[1] % block != 0)
    throw InputError(c.source + ": bad x shape for block");
  const int64_t rows = x.shape[0], cols = x.shape[1];
  const auto q = quantize_tensor(cb, t, block, rows, cols, raw_elements(x));
  io::SafeTensors out;
  store_quantized(q, x.shape, out, "");
  out.metadata.clear();
  std::vector<uint8_t> status;
  std::vector<float> xs(static_cast<size_t>(block));
  std::vector<uint8_t> scratch(static_cast<size_t>(block));
  const auto bits = raw_elements(x);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < cols / block; ++b) {
      for (int i = 0; i < block; ++i) xs[i] = elem_to_f32(t, bits[static_cast<size_t>(r * cols + b * block + i)]);
      BlockStatus st;
      quantize_block(cb, t, xs.data(), block, scratch.data(), &st);
      status.push_back(static_cast<uint8_t>(st));
    }
  out.tensors["status"] = io::Tensor::from(io::DType::U8, {rows, cols / block}, status);
  out.tensors["dequant"] = f32_tensor({rows, cols}, dequantize_tensor(q));
  return out;
}

io::SafeTensors recompute_attention(const io::SafeTensors& c) {
  const Codebook& cb = codebook_by_name(case_meta(c, "codebook"));
  const int block = case_meta_int(c, "block"), hq = case_meta_int(c, "q_heads"), hkv = case_meta_int(c, "kv_heads"),
            d = case_meta_int(c, "head_dim"), tokens = case_meta_int(c, "tokens");
  const int64_t sm_bits = case_meta_int64(c, "sm_scale_bits");
  if (sm_bits < 0 || sm_bits > 0xffffffffll) throw InputError(c.source + ": metadata 'sm_scale_bits' is not a 32-bit pattern");
  const float sm_scale = f32_from_bits(static_cast<uint32_t>(sm_bits));
  if (block <= 0 || hq <= 0 || hkv <= 0 || d <= 0 || tokens <= 0 || hq % hkv != 0 || d % block != 0)
    throw InputError(c.source + ": inconsistent attention metadata (q_heads, kv_heads, head_dim, block, tokens)");
  const io::Tensor &k = c.get("k"), &v = c.get("v"), &q = c.get("q");
  const ElemType t = elem_type_of(k, "k");
  const std::vector<int64_t> kv_shape = {tokens, hkv, d};
  if (k.shape != kv_shape || v.shape != kv_shape || v.dtype != k.dtype || q.dtype != io::DType::F32 ||
      q.shape != std::vector<int64_t>{hq, d})
    throw InputError(c.source + ": attention case tensors do not match the metadata shape");
  QuantKVCache cache(cb, t, hkv, d, block);
  const auto kb = raw_elements(k), vb = raw_elements(v);
  std::vector<float> kf(static_cast<size_t>(hkv) * d), vf(kf.size());
  for (int tok = 0; tok < tokens; ++tok) {
    for (size_t i = 0; i < kf.size(); ++i) {
      kf[i] = elem_to_f32(t, kb[tok * kf.size() + i]);
      vf[i] = elem_to_f32(t, vb[tok * kf.size() + i]);
    }
    cache.append(kf.data(), vf.data());
  }
  const auto qv = q.values<float>();
  AttentionTrace tr;
  const auto o = decode_attention(cache, qv.data(), AttentionConfig{hq, sm_scale}, &tr);
  io::SafeTensors out;
  // The cache as stored: packed codes and scales per token and head.
  const int nb = d / block;
  std::vector<uint8_t> kc, vc;
  std::vector<uint32_t> ka, va;
  for (int tok = 0; tok < tokens; ++tok)
    for (int h = 0; h < hkv; ++h) {
      auto pk = pack_codes(cb.bits, cache.codes(false, tok, h), static_cast<size_t>(d));
      auto pv = pack_codes(cb.bits, cache.codes(true, tok, h), static_cast<size_t>(d));
      kc.insert(kc.end(), pk.begin(), pk.end());
      vc.insert(vc.end(), pv.begin(), pv.end());
      for (int b = 0; b < nb; ++b) {
        ka.push_back(cache.scales(false, tok, h)[b].absmax_bits);
        va.push_back(cache.scales(true, tok, h)[b].absmax_bits);
      }
    }
  const int64_t pb = d * cb.bits / 8;
  out.tensors["k_codes"] = io::Tensor::from(io::DType::U8, {tokens, hkv, pb}, kc);
  out.tensors["v_codes"] = io::Tensor::from(io::DType::U8, {tokens, hkv, pb}, vc);
  out.tensors["k_absmax"] = element_tensor(t, {tokens, hkv, nb}, ka);
  out.tensors["v_absmax"] = element_tensor(t, {tokens, hkv, nb}, va);
  std::vector<int16_t> qf;
  std::vector<int32_t> qs;
  for (int h = 0; h < hq; ++h) {
    const FixedQuery fq = quantize_query(qv.data() + static_cast<size_t>(h) * d, d);
    qf.insert(qf.end(), fq.q.begin(), fq.q.end());
    qs.push_back(fq.shift);
  }
  out.tensors["q_fixed"] = io::Tensor::from(io::DType::I16, {hq, d}, qf);
  out.tensors["q_shift"] = io::Tensor::from(io::DType::I32, {hq}, qs);
  std::vector<int64_t> S;
  std::vector<int32_t> X;
  for (const auto& s : tr.scores) {
    S.push_back(s.S);
    X.push_back(s.x);
  }
  out.tensors["scores_S"] = io::Tensor::from(io::DType::I64, {hq, tokens}, S);
  out.tensors["scores_x"] = io::Tensor::from(io::DType::I32, {hq, tokens}, X);
  out.tensors["logits"] = io::Tensor::from(io::DType::I64, {hq, tokens}, tr.logits);
  const int64_t P = static_cast<int64_t>(tr.parts.size()) / hq;
  std::vector<int64_t> pm, po;
  std::vector<uint64_t> pl;
  std::vector<int32_t> pe;
  for (const auto& p : tr.parts) {
    pm.push_back(p.M);
    pl.push_back(p.L);
    pe.push_back(p.e);
    po.insert(po.end(), p.O.begin(), p.O.end());
  }
  out.tensors["part_M"] = io::Tensor::from(io::DType::I64, {hq, P}, pm);
  out.tensors["part_L"] = io::Tensor::from(io::DType::U64, {hq, P}, pl);
  out.tensors["part_e"] = io::Tensor::from(io::DType::I32, {hq, P}, pe);
  out.tensors["part_O"] = io::Tensor::from(io::DType::I64, {hq, P, d}, po);
  out.tensors["out"] = f32_tensor({hq, d}, o);
  return out;
}

std::string hex_of(const io::Tensor& t, size_t i) {
  const size_t w = io::dtype_size(t.dtype);
  uint64_t v = 0;
  std::memcpy(&v, t.data.data() + i * w, w);
  return fmt::format("0x{:0{}x}", v, 2 * w);
}

// b - a exactly: the difference of two int64 values needs 65 bits (an int64 subtraction overflows
// for far-apart values such as a saturated logit and a negative one); its magnitude fits uint64.
std::string exact_difference(int64_t a, int64_t b) {
  if (b >= a) return std::to_string(static_cast<uint64_t>(b) - static_cast<uint64_t>(a));
  return "-" + std::to_string(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

// Distance in units in the last place for float dtypes (ordered-integer difference), plain
// integer difference for integer dtypes.
std::string distance(const io::Tensor& a, const io::Tensor& b, size_t i) {
  const size_t w = io::dtype_size(a.dtype);
  int64_t x = 0, y = 0;
  std::memcpy(&x, a.data.data() + i * w, w);
  std::memcpy(&y, b.data.data() + i * w, w);
  const bool is_float = a.dtype == io::DType::F16 || a.dtype == io::DType::BF16 || a.dtype == io::DType::F32 ||
                        a.dtype == io::DType::F64;
  if (is_float) {
    const int bits = static_cast<int>(8 * w);
    auto ordered = [&](int64_t u) {
      const uint64_t mask = bits == 64 ? ~0ull : ((1ull << bits) - 1);
      u &= static_cast<int64_t>(mask);
      const uint64_t sign = 1ull << (bits - 1);
      return (static_cast<uint64_t>(u) & sign) ? -static_cast<int64_t>(static_cast<uint64_t>(u) & ~sign) : u;
    };
    const std::string d = exact_difference(ordered(y), ordered(x));
    return fmt::format("{} ulp", d[0] == '-' ? d.substr(1) : d);
  }
  if (w < 8) {  // sign-extend
    const int sh = static_cast<int>(64 - 8 * w);
    if (a.dtype == io::DType::I8 || a.dtype == io::DType::I16 || a.dtype == io::DType::I32) {
      x = (x << sh) >> sh;
      y = (y << sh) >> sh;
    }
  }
  return "diff " + exact_difference(x, y);
}

}  // namespace

GoldenCase make_attention_case(const std::string& name, const std::string& cb, ElemType type, int q_heads,
                               int kv_heads, int head_dim, int block, int tokens, const std::vector<uint32_t>& k_bits,
                               const std::vector<uint32_t>& v_bits, const std::vector<float>& q) {
  GoldenCase c;
  c.name = name;
  c.data.metadata = {{"kind", "attention"},
                     {"codebook", cb},
                     {"block", std::to_string(block)},
                     {"dtype", elem_type_name(type)},
                     {"q_heads", std::to_string(q_heads)},
                     {"kv_heads", std::to_string(kv_heads)},
                     {"head_dim", std::to_string(head_dim)},
                     {"tokens", std::to_string(tokens)},
                     {"sm_scale_bits", std::to_string(f32_bits(static_cast<float>(1.0 / std::sqrt(double(head_dim)))))}};
  c.data.tensors["k"] = element_tensor(type, {tokens, kv_heads, head_dim}, k_bits);
  c.data.tensors["v"] = element_tensor(type, {tokens, kv_heads, head_dim}, v_bits);
  c.data.tensors["q"] = f32_tensor({q_heads, head_dim}, q);
  io::SafeTensors full = recompute_case(c.data);
  for (auto& [n, t] : full.tensors) c.data.tensors[n] = t;
  return c;
}

std::vector<GoldenCase> generate_golden_cases(uint64_t seed) {
  std::vector<GoldenCase> cases;
  add_quantize_suites(cases, seed);
  add_attention_suites(cases, seed);
  for (auto& c : cases) c.data.metadata["seed"] = std::to_string(seed);
  return cases;
}

io::SafeTensors recompute_case(const io::SafeTensors& c) {
  const std::string kind = case_meta(c, "kind");
  if (kind == "quantize") return recompute_quantize(c);
  if (kind == "attention") return recompute_attention(c);
  throw InputError(c.source + ": unknown golden case kind '" + kind + "'");
}

std::vector<std::string> output_tensor_names(const io::SafeTensors& c) {
  if (case_meta(c, "kind") == "quantize") {
    const Codebook& cb = codebook_by_name(case_meta(c, "codebook"));
    if (cb.affine) return {"codes", "minimum", "step", "status", "dequant"};
    return {"codes", "absmax", "status", "dequant"};
  }
  return {"k_codes", "v_codes", "k_absmax", "v_absmax", "q_fixed", "q_shift", "scores_S", "scores_x",
          "logits",  "part_M",  "part_L",   "part_e",   "part_O",  "out"};
}

TensorDiff compare_tensors(const std::string& name, const io::Tensor& expected, const io::Tensor& got, int max_report) {
  TensorDiff d;
  if (expected.dtype != got.dtype || expected.shape != got.shape) {
    d.compared = static_cast<int64_t>(expected.numel());
    d.mismatches = d.compared;
    d.report = fmt::format("  {}: expected {} {}, got {} {}\n", name, io::dtype_name(expected.dtype),
                           nlohmann::json(expected.shape).dump(), io::dtype_name(got.dtype), nlohmann::json(got.shape).dump());
    return d;
  }
  const size_t w = io::dtype_size(expected.dtype);
  for (size_t i = 0; i < expected.numel(); ++i) {
    ++d.compared;
    if (std::memcmp(expected.data.data() + i * w, got.data.data() + i * w, w) != 0) {
      if (d.mismatches < max_report)
        d.report += fmt::format("  {}[{}]: expected {} got {} ({})\n", name, i, hex_of(expected, i), hex_of(got, i),
                                distance(expected, got, i));
      ++d.mismatches;
    }
  }
  return d;
}

std::string case_meta(const io::SafeTensors& c, const std::string& key) {
  auto it = c.metadata.find(key);
  if (it == c.metadata.end()) throw InputError(c.source + ": golden case lacks metadata '" + key + "'");
  return it->second;
}
int64_t case_meta_int64(const io::SafeTensors& c, const std::string& key) {
  const std::string v = case_meta(c, key);
  try {
    size_t used = 0;
    const long long r = std::stoll(v, &used);
    if (used == v.size() && !v.empty() && !std::isspace(static_cast<unsigned char>(v[0]))) return r;
  } catch (const std::logic_error&) {
  }
  throw InputError(c.source + ": metadata '" + key + "' is not an integer ('" + v + "')");
}
int case_meta_int(const io::SafeTensors& c, const std::string& key) {
  const int64_t r = case_meta_int64(c, key);
  if (r < std::numeric_limits<int>::min() || r > std::numeric_limits<int>::max())
    throw InputError(c.source + ": metadata '" + key + "' is out of range ('" + case_meta(c, key) + "')");
  return static_cast<int>(r);
}

}  // namespace nqkv::golden
