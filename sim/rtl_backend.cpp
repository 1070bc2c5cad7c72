// Scoreboard and case runners of the RTL backend (see rtl_backend.hpp). Everything the
// accelerator computes is compared with the golden library: packed codes, block scales, block
// status and the status counters (quantizer); S_t and x_t (score form); the partition
// accumulators O_p (value form). The value-form block weights W_{t,b} are computed on the host
// from E_t (exp2 step of 8.4) and the V scales with golden::value_weight, as the protocol says.
#include "sim/rtl_backend.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "golden/attention.hpp"
#include "golden/rng.hpp"
#include "io/error.hpp"
#include "sim/harness.hpp"

namespace nqkv::sim {
namespace {

using golden::ElemType;

struct Scoreboard {
  RtlCheckResult* r;
  int shown = 0;
  void cmp(const std::string& name, int64_t idx, uint64_t expected, uint64_t got, int hex_digits = 16) {
    ++r->compared;
    if (expected == got) return;
    ++r->mismatches;
    if (shown++ < 8) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "  %s[%lld]: expected 0x%0*llx got 0x%0*llx\n", name.c_str(),
                    static_cast<long long>(idx), hex_digits, static_cast<unsigned long long>(expected), hex_digits,
                    static_cast<unsigned long long>(got));
      r->first_mismatches += buf;
    }
  }
  void error(const std::string& what) {
    ++r->mismatches;
    if (shown++ < 8) r->first_mismatches += "  " + what + "\n";
  }
};

struct QuantCase {
  const golden::Codebook* cb = nullptr;
  ElemType type = ElemType::F16;
  int block = 64;
  int64_t rows = 0, cols = 0;
  std::vector<uint16_t> x, scales;
  std::vector<uint8_t> codes, status;
};

struct AttnCase {
  const golden::Codebook* cb = nullptr;
  ElemType type = ElemType::F16;
  int block = 64, q_heads = 1, kv_heads = 1, head_dim = 64;
  int64_t tokens = 0;
  std::vector<int16_t> q_fixed;                 // [Hq, D]
  std::vector<uint8_t> k_codes, v_codes;        // [T, Hkv, D*bits/8]
  std::vector<uint16_t> k_absmax, v_absmax;     // [T, Hkv, nb]
  std::vector<int64_t> logits, part_M;          // [Hq, T], [Hq, P]
  std::vector<int32_t> part_e, scores_x;        // [Hq, P], [Hq, T]
  std::vector<int64_t> scores_S, part_O;        // [Hq, T], [Hq, P, D]
};

void stats_into(RtlCheckResult& r, const RunStats& s) {
  r.cycles += s.cycles;
  r.stall_cycles += s.stall_cycles;
}

void run_quant(Harness& h, const QuantCase& c, Scoreboard& sb, RunStats* st) {
  h.load_codebook(*c.cb);
  h.configure(c.type, c.cb->bits, c.block, 1, 0);
  h.write_reg(reg::kCtrl, 2u);  // clear counters and the error flag
  const QuantOut out = h.quantize(c.x, c.rows, c.cols, st);
  for (size_t i = 0; i < c.codes.size(); ++i)
    sb.cmp("codes", static_cast<int64_t>(i), c.codes[i], i < out.codes.size() ? out.codes[i] : 0xffff, 2);
  int64_t counts[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < c.scales.size(); ++i) {
    sb.cmp("absmax", static_cast<int64_t>(i), c.scales[i], i < out.scales.size() ? out.scales[i] : 0xfffff, 4);
    sb.cmp("status", static_cast<int64_t>(i), c.status[i], i < out.status.size() ? out.status[i] : 0xff, 2);
    ++counts[c.status[i] & 3];
  }
  sb.cmp("cnt_blocks", 0, c.scales.size(), h.read_reg(reg::kCntBlocks), 8);
  sb.cmp("cnt_zero", 0, static_cast<uint64_t>(counts[1]), h.read_reg(reg::kCntZero), 8);
  sb.cmp("cnt_flushed", 0, static_cast<uint64_t>(counts[2]), h.read_reg(reg::kCntFlushed), 8);
  sb.cmp("cnt_nonfinite", 0, static_cast<uint64_t>(counts[3]), h.read_reg(reg::kCntNonfinite), 8);
  sb.cmp("err_nonfinite", 0, counts[3] ? 1u : 0u, (h.read_reg(reg::kStatus) >> 2) & 1u, 1);
}

void run_attn(Harness& h, const AttnCase& c, Scoreboard& sb, RunStats* score_st, RunStats* value_st) {
  const int D = c.head_dim, B = c.block, nb = D / B, Hq = c.q_heads, Hkv = c.kv_heads, group = Hq / Hkv;
  const int64_t T = c.tokens, P = (T + golden::kPartitionTokens - 1) / golden::kPartitionTokens;
  const int64_t row_bytes = static_cast<int64_t>(D) * c.cb->bits / 8;
  h.load_codebook(*c.cb);
  for (int hq = 0; hq < Hq; ++hq) {
    const int kvh = hq / group;
    std::vector<uint16_t> ks(static_cast<size_t>(T * nb)), vs(static_cast<size_t>(T * nb));
    std::vector<uint8_t> kc(static_cast<size_t>(T * row_bytes)), vc(static_cast<size_t>(T * row_bytes));
    for (int64_t t = 0; t < T; ++t) {
      for (int b = 0; b < nb; ++b) {
        ks[static_cast<size_t>(t * nb + b)] = c.k_absmax[static_cast<size_t>((t * Hkv + kvh) * nb + b)];
        vs[static_cast<size_t>(t * nb + b)] = c.v_absmax[static_cast<size_t>((t * Hkv + kvh) * nb + b)];
      }
      std::copy_n(c.k_codes.begin() + (t * Hkv + kvh) * row_bytes, row_bytes, kc.begin() + t * row_bytes);
      std::copy_n(c.v_codes.begin() + (t * Hkv + kvh) * row_bytes, row_bytes, vc.begin() + t * row_bytes);
    }
    // score form over all tokens of this head
    h.configure(c.type, c.cb->bits, B, nb, 0);
    std::vector<int16_t> q(c.q_fixed.begin() + static_cast<int64_t>(hq) * D, c.q_fixed.begin() + static_cast<int64_t>(hq + 1) * D);
    const auto sc = h.score(q, ks, kc, T, score_st);
    for (int64_t t = 0; t < T; ++t) {
      const size_t i = static_cast<size_t>(hq * T + t);
      const bool have = t < static_cast<int64_t>(sc.size());
      sb.cmp("scores_S", static_cast<int64_t>(i), static_cast<uint64_t>(c.scores_S[i]),
             have ? static_cast<uint64_t>(sc[t].first) : 0xdeadbeefull);
      sb.cmp("scores_x", static_cast<int64_t>(i), static_cast<uint32_t>(c.scores_x[i]),
             have ? static_cast<uint32_t>(sc[t].second) : 0xdeadbeefu, 8);
    }
    // value form, one pass per partition; weights on the host from E_t and the V scales
    h.configure(c.type, c.cb->bits, B, nb, 1);
    for (int64_t p = 0; p < P; ++p) {
      const int64_t t0 = p * golden::kPartitionTokens, t1 = std::min<int64_t>(T, t0 + golden::kPartitionTokens);
      const int64_t M = c.part_M[static_cast<size_t>(hq * P + p)];
      const int e = c.part_e[static_cast<size_t>(hq * P + p)];
      std::vector<uint16_t> w;
      for (int64_t t = t0; t < t1; ++t) {
        const uint32_t E = golden::exp2_fixed(c.logits[static_cast<size_t>(hq * T + t)] - M);
        for (int b = 0; b < nb; ++b) w.push_back(golden::value_weight(E, c.type, vs[static_cast<size_t>(t * nb + b)], e));
      }
      std::vector<uint8_t> vpart(vc.begin() + t0 * row_bytes, vc.begin() + t1 * row_bytes);
      const auto O = h.value(w, vpart, t1 - t0, value_st);
      for (int i = 0; i < D; ++i) {
        const size_t idx = static_cast<size_t>((hq * P + p) * D + i);
        sb.cmp("part_O", static_cast<int64_t>(idx), static_cast<uint64_t>(c.part_O[idx]),
               i < static_cast<int>(O.size()) ? static_cast<uint64_t>(O[i]) : 0xdeadbeefull);
      }
    }
  }
}

// Skip rules shared by files and random cases.
std::string cannot_run(const RtlConfig& cfg, const golden::Codebook& cb, ElemType type, int block, int64_t cols) {
  if (cb.affine) return "affine int4 is not implemented in the RTL (absmax codebooks only)";
  if (type == ElemType::F32) return "f32 input (the RTL takes fp16/bf16 elements)";
  if (cb.bits > 4) return "codebook needs more than BITS_MAX 4 bits";
  if (block > 256) return "block " + std::to_string(block) + " > BLOCK_MAX 256";
  if (cfg.lanes != 4 && cfg.lanes != 16) return "no verilated model with LANES " + std::to_string(cfg.lanes) + " (built: 4, 16)";
  if (block % cfg.lanes != 0 || block % 8 != 0)
    return "block " + std::to_string(block) + " is not a multiple of LANES " + std::to_string(cfg.lanes);
  if (cols % block != 0) return "cols not a multiple of block";
  return "";
}

template <class T>
std::vector<T> tensor(const io::SafeTensors& f, const std::string& name) {
  return f.get(name).values<T>();
}

ElemType type_by_name(const std::string& s) {
  if (s == "f16") return ElemType::F16;
  if (s == "bf16") return ElemType::BF16;
  if (s == "f32") return ElemType::F32;
  throw InputError("unknown dtype '" + s + "' (f16|bf16|f32)");
}

std::string meta(const io::SafeTensors& f, const std::string& k) {
  auto it = f.metadata.find(k);
  if (it == f.metadata.end()) throw InputError(f.source + ": metadata has no '" + k + "'");
  return it->second;
}
int meta_int(const io::SafeTensors& f, const std::string& k) {
  try {
    return std::stoi(meta(f, k));
  } catch (const std::logic_error&) {
    throw InputError(f.source + ": metadata '" + k + "' is not an integer");
  }
}

// ------------------------------------------------------------------ random stimulus
uint16_t to_elem(ElemType t, double v) { return static_cast<uint16_t>(golden::f32_to_elem(t, static_cast<float>(v))); }

std::vector<uint16_t> random_block(golden::SplitMix64& rng, const golden::Codebook& cb, ElemType t, int B, int kind) {
  std::vector<uint16_t> x(static_cast<size_t>(B));
  const bool bf = t == ElemType::BF16;
  const int emin = bf ? -120 : -14, emax = bf ? 120 : 14;
  const double scale = std::ldexp(1.0, emin + static_cast<int>(rng.below(static_cast<uint64_t>(emax - emin))));
  for (auto& e : x) e = to_elem(t, rng.normal() * scale);
  switch (kind) {
    case 1:  // zero block (+0 and -0)
      for (auto& e : x) e = rng.below(2) ? 0x8000 : 0x0000;
      break;
    case 2: {  // non-finite: one NaN or +-Inf somewhere
      const uint16_t inf = bf ? 0x7f80 : 0x7c00, nan = bf ? 0x7fc1 : 0x7e01;
      const uint16_t v[] = {inf, static_cast<uint16_t>(inf | 0x8000), nan, static_cast<uint16_t>(nan | 0x8000)};
      x[rng.below(static_cast<uint64_t>(B))] = v[rng.below(4)];
      break;
    }
    case 3:  // subnormal elements: fp16 subnormal absmax (normal path); bf16 flushed block
      for (auto& e : x) e = static_cast<uint16_t>((rng.below(2) << 15) | rng.below(bf ? 0x80 : 0x400));
      break;
    case 4: {  // values on and next to a * threshold (rounding onto a threshold)
      const double a = std::fabs(rng.normal()) * scale + std::ldexp(1.0, emin);
      const uint16_t ab = to_elem(t, a);
      const double af = golden::elem_to_f32(t, ab);
      for (int i = 0; i < B; ++i) {
        if (cb.thresholds.empty()) break;
        const float th = cb.thresholds[rng.below(cb.thresholds.size())];
        uint16_t e = to_elem(t, th * af);
        const int tweak = static_cast<int>(rng.below(3)) - 1;
        if ((e & 0x7fff) != 0 && (e & 0x7fff) < (bf ? 0x7f7f : 0x7bff)) e = static_cast<uint16_t>(e + tweak);
        x[static_cast<size_t>(i)] = e;
      }
      x[rng.below(static_cast<uint64_t>(B))] = static_cast<uint16_t>(ab | (rng.below(2) << 15));
      break;
    }
    case 5: {  // extremes: fp16 +-65504, bf16 max (subnormal reciprocal) or 2^-126 with subnormals
      if (!bf) {
        x[rng.below(static_cast<uint64_t>(B))] = rng.below(2) ? 0x7bff : 0xfbff;
      } else if (rng.below(2)) {
        x[rng.below(static_cast<uint64_t>(B))] = static_cast<uint16_t>(0x7f00 | rng.below(0x80));  // a > 2^126
        for (int i = 0; i < B / 2; ++i) x[rng.below(static_cast<uint64_t>(B))] = static_cast<uint16_t>(rng.next());
        for (auto& e : x)
          if ((e & 0x7f80) == 0x7f80) e = 0x7f00;
      } else {
        for (auto& e : x) e = static_cast<uint16_t>((rng.below(2) << 15) | rng.below(0x100));  // around 2^-126
      }
      break;
    }
    case 6:  // random finite bit patterns
      for (auto& e : x) {
        e = static_cast<uint16_t>(rng.next());
        if (bf ? (e & 0x7f80) == 0x7f80 : (e & 0x7c00) == 0x7c00) e ^= bf ? 0x4000 : 0x4000;
      }
      break;
    default:
      break;
  }
  return x;
}

QuantCase random_quant_case(golden::SplitMix64& rng, const golden::Codebook& cb, ElemType t, int B, int lanes) {
  QuantCase c;
  c.cb = &cb;
  c.type = t;
  c.block = B;
  c.rows = 1 + static_cast<int64_t>(rng.below(3));
  const int nblk = 1 + static_cast<int>(rng.below(static_cast<uint64_t>(std::max(1, 1024 / B))));
  c.cols = static_cast<int64_t>(nblk) * B;
  (void)lanes;
  for (int64_t r = 0; r < c.rows; ++r)
    for (int b = 0; b < nblk; ++b) {
      const int kind = static_cast<int>(rng.below(10));  // 0 and 7..9: ordinary Gaussian blocks
      const auto blk = random_block(rng, cb, t, B, kind > 6 ? 0 : kind);
      c.x.insert(c.x.end(), blk.begin(), blk.end());
    }
  std::vector<uint32_t> xb(c.x.begin(), c.x.end());
  const auto q = golden::quantize_tensor(cb, t, B, c.rows, c.cols, xb);
  c.codes = q.codes;
  std::vector<float> xf(static_cast<size_t>(B));
  std::vector<uint8_t> tmp(static_cast<size_t>(B));
  for (int64_t i = 0; i < c.rows * c.cols / B; ++i) {
    c.scales.push_back(static_cast<uint16_t>(q.scales[static_cast<size_t>(i)].absmax_bits));
    for (int j = 0; j < B; ++j) xf[j] = golden::elem_to_f32(t, c.x[static_cast<size_t>(i * B + j)]);
    golden::BlockStatus st;
    golden::quantize_block(cb, t, xf.data(), B, tmp.data(), &st);
    c.status.push_back(static_cast<uint8_t>(st));
  }
  return c;
}

AttnCase attention_case_from_cache(const golden::QuantKVCache& cache, const std::vector<float>& q, int q_heads) {
  AttnCase c;
  c.cb = &cache.cb();
  c.type = cache.type();
  c.block = cache.block();
  c.q_heads = q_heads;
  c.kv_heads = cache.kv_heads();
  c.head_dim = cache.head_dim();
  c.tokens = cache.tokens();
  const int D = c.head_dim, nb = D / c.block;
  golden::AttentionTrace tr;
  golden::AttentionConfig acfg;
  acfg.q_heads = q_heads;
  golden::decode_attention(cache, q.data(), acfg, &tr);
  for (int h = 0; h < q_heads; ++h) {
    const auto fq = golden::quantize_query(q.data() + static_cast<size_t>(h) * D, D);
    c.q_fixed.insert(c.q_fixed.end(), fq.q.begin(), fq.q.end());
  }
  for (int64_t t = 0; t < c.tokens; ++t)
    for (int h = 0; h < c.kv_heads; ++h)
      for (int is_v = 0; is_v < 2; ++is_v) {
        const auto packed = golden::pack_codes(c.cb->bits, cache.codes(is_v, t, h), static_cast<size_t>(D));
        auto& dst = is_v ? c.v_codes : c.k_codes;
        dst.insert(dst.end(), packed.begin(), packed.end());
        auto& sc = is_v ? c.v_absmax : c.k_absmax;
        for (int b = 0; b < nb; ++b) sc.push_back(static_cast<uint16_t>(cache.scales(is_v, t, h)[b].absmax_bits));
      }
  for (const auto& s : tr.scores) {
    c.scores_S.push_back(s.S);
    c.scores_x.push_back(s.x);
  }
  c.logits = tr.logits;
  for (const auto& p : tr.parts) {
    c.part_M.push_back(p.M);
    c.part_e.push_back(p.e);
    c.part_O.insert(c.part_O.end(), p.O.begin(), p.O.end());
  }
  return c;
}

AttnCase random_attn_case(golden::SplitMix64& rng, const golden::Codebook& cb, ElemType t, int B, bool long_ctx) {
  const int dims[] = {64, 128, 256};
  int D = dims[rng.below(3)];
  while (D % B != 0 || D / B > 8) D *= 2;
  if (D > 256) D = 256;
  const int hkv = 1 + static_cast<int>(rng.below(2)), group = 1 + static_cast<int>(rng.below(2));
  const int64_t T = long_ctx ? 513 + static_cast<int64_t>(rng.below(40)) : 1 + static_cast<int64_t>(rng.below(24));
  golden::QuantKVCache cache(cb, t, hkv, D, B);
  const bool bf = t == ElemType::BF16;
  std::vector<float> k(static_cast<size_t>(hkv * D)), v(k.size());
  for (int64_t tok = 0; tok < T; ++tok) {
    for (int is_v = 0; is_v < 2; ++is_v) {
      auto& dst = is_v ? v : k;
      for (int blk = 0; blk < hkv * D / B; ++blk) {
        const int kind = static_cast<int>(rng.below(12));
        const int e = bf ? static_cast<int>(rng.below(40)) - 20 : static_cast<int>(rng.below(20)) - 12;
        for (int i = 0; i < B; ++i) {
          double val = rng.normal() * std::ldexp(1.0, e);
          if (kind == 0) val = 0.0;                                   // zero block
          if (kind == 1) val = rng.normal() * std::ldexp(1.0, bf ? -130 : -20);  // subnormal / flushed
          if (kind == 2 && !bf) val = (rng.below(2) ? 1 : -1) * 65504.0 * rng.uniform();
          dst[static_cast<size_t>(blk * B + i)] = golden::elem_to_f32(t, golden::f32_to_elem(t, static_cast<float>(val)));
        }
      }
    }
    cache.append(k.data(), v.data());
  }
  std::vector<float> q(static_cast<size_t>(hkv * group * D));
  const int qe = static_cast<int>(rng.below(10)) - 5;
  for (auto& x : q) x = static_cast<float>(rng.normal() * std::ldexp(1.0, qe));
  if (rng.below(4) == 0) std::fill(q.begin(), q.begin() + D, 0.0f);  // an all-zero query head
  return attention_case_from_cache(cache, q, hkv * group);
}

void finish(RtlCheckResult& r, const Harness& h, uint64_t seed) {
  if (!h.errors().empty()) {
    ++r.mismatches;
    r.first_mismatches += h.errors();
  }
  if (r.mismatches) r.first_mismatches += "  (seed " + std::to_string(seed) + ")\n";
}

}  // namespace

namespace {
HarnessOptions harness_options(const RtlConfig& cfg) {
  HarnessOptions ho;
  ho.seed = cfg.seed;
  ho.backpressure = cfg.backpressure;
  ho.trace_fst = cfg.trace_fst;
  return ho;
}
}  // namespace

RtlCheckResult rtl_check_case(const io::SafeTensors& f, const RtlConfig& cfg) {
  RtlCheckResult r;
  const std::string kind = meta(f, "kind");
  const golden::Codebook& cb = golden::codebook_by_name(meta(f, "codebook"));
  const ElemType type = type_by_name(meta(f, "dtype"));
  const int block = meta_int(f, "block");
  if (kind == "quantize") {
    QuantCase c;
    c.cb = &cb;
    c.type = type;
    c.block = block;
    const auto& xt = f.get("x");
    if (xt.shape.size() != 2) throw InputError(f.source + ": x must be [rows, cols]");
    c.rows = xt.dim(0);
    c.cols = xt.dim(1);
    const std::string why = cannot_run(cfg, cb, type, block, c.cols);
    if (!why.empty()) {
      r.skipped = true;
      r.skip_reason = why;
      return r;
    }
    c.x = tensor<uint16_t>(f, "x");
    c.codes = tensor<uint8_t>(f, "codes");
    c.scales = tensor<uint16_t>(f, "absmax");
    c.status = tensor<uint8_t>(f, "status");
    Harness h(cfg.lanes, harness_options(cfg));
    Scoreboard sb{&r};
    RunStats st;
    run_quant(h, c, sb, &st);
    stats_into(r, st);
    finish(r, h, cfg.seed);
    return r;
  }
  if (kind == "attention") {
    AttnCase c;
    c.cb = &cb;
    c.type = type;
    c.block = block;
    c.q_heads = meta_int(f, "q_heads");
    c.kv_heads = meta_int(f, "kv_heads");
    c.head_dim = meta_int(f, "head_dim");
    c.tokens = meta_int(f, "tokens");
    std::string why = cannot_run(cfg, cb, type, block, c.head_dim);
    if (why.empty() && (c.head_dim > 256 || c.head_dim / block > 8))
      why = "head_dim " + std::to_string(c.head_dim) + " exceeds DMAX 256 or 8 blocks";
    if (!why.empty()) {
      r.skipped = true;
      r.skip_reason = why;
      return r;
    }
    c.q_fixed = tensor<int16_t>(f, "q_fixed");
    c.k_codes = tensor<uint8_t>(f, "k_codes");
    c.v_codes = tensor<uint8_t>(f, "v_codes");
    c.k_absmax = tensor<uint16_t>(f, "k_absmax");
    c.v_absmax = tensor<uint16_t>(f, "v_absmax");
    c.logits = tensor<int64_t>(f, "logits");
    c.part_M = tensor<int64_t>(f, "part_M");
    c.part_e = tensor<int32_t>(f, "part_e");
    c.scores_S = tensor<int64_t>(f, "scores_S");
    c.scores_x = tensor<int32_t>(f, "scores_x");
    c.part_O = tensor<int64_t>(f, "part_O");
    Harness h(cfg.lanes, harness_options(cfg));
    Scoreboard sb{&r};
    RunStats st;
    run_attn(h, c, sb, &st, &st);
    stats_into(r, st);
    finish(r, h, cfg.seed);
    return r;
  }
  r.skipped = true;
  r.skip_reason = "unknown case kind '" + kind + "'";
  return r;
}

RtlCheckResult rtl_random_check(const RtlRandomSpec& spec, const RtlConfig& cfg) {
  RtlCheckResult r;
  const golden::Codebook& cb = golden::codebook_by_name(spec.codebook);
  const ElemType type = type_by_name(spec.dtype);
  const std::string why = cannot_run(cfg, cb, type, spec.block, spec.block);
  if (!why.empty()) {
    r.skipped = true;
    r.skip_reason = why;
    return r;
  }
  Harness h(cfg.lanes, harness_options(cfg));
  Scoreboard sb{&r};
  golden::SplitMix64 rng(cfg.seed * 0x9e3779b97f4a7c15ull + 17);
  RunStats st;
  for (int i = 0; i < spec.cases; ++i) {
    if (spec.quantize) run_quant(h, random_quant_case(rng, cb, type, spec.block, cfg.lanes), sb, &st);
    if (spec.attention) run_attn(h, random_attn_case(rng, cb, type, spec.block, i == 0 && spec.cases > 2), sb, &st, &st);
  }
  stats_into(r, st);
  finish(r, h, cfg.seed);
  return r;
}

RtlWorkloadResult rtl_decode_workload(const RtlWorkload& w, const RtlConfig& cfg) {
  RtlWorkloadResult res;
  const auto t_start = std::chrono::steady_clock::now();
  const golden::Codebook& cb = golden::codebook_by_name(w.codebook);
  const ElemType type = type_by_name(w.dtype);
  if (w.kv_heads <= 0 || w.q_heads % w.kv_heads != 0) throw InputError("q_heads must be a multiple of kv_heads");
  if (w.context < 1 || w.batch < 1) throw InputError("context and batch must be >= 1");
  std::string why = cannot_run(cfg, cb, type, w.block, w.head_dim);
  if (why.empty() && (w.head_dim > 256 || w.head_dim / w.block > 8)) why = "head_dim exceeds DMAX 256 or 8 blocks";
  if (!why.empty()) throw InputError("the RTL cannot run this workload: " + why);
  Harness h(cfg.lanes, harness_options(cfg));
  Scoreboard sb{&res.check};
  const int D = w.head_dim, Hkv = w.kv_heads;
  for (int s = 0; s < w.batch; ++s) {
    golden::SplitMix64 rng(cfg.seed * 1000003ull + static_cast<uint64_t>(s));
    // K and V of every token, as fp16/bf16 bits: [T, Hkv, D]
    std::vector<uint16_t> kx(static_cast<size_t>(w.context * Hkv * D)), vx(kx.size());
    for (auto& e : kx) e = to_elem(type, rng.normal());
    for (auto& e : vx) e = to_elem(type, rng.normal());
    // the quantizer: K and V rows through the RTL, compared with the golden encoder
    golden::QuantKVCache cache(cb, type, Hkv, D, w.block);
    for (int is_v = 0; is_v < 2; ++is_v) {
      QuantCase c;
      c.cb = &cb;
      c.type = type;
      c.block = w.block;
      c.rows = w.context * Hkv;
      c.cols = D;
      c.x = is_v ? vx : kx;
      std::vector<uint32_t> xb(c.x.begin(), c.x.end());
      const auto q = golden::quantize_tensor(cb, type, w.block, c.rows, c.cols, xb);
      c.codes = q.codes;
      for (const auto& sc : q.scales) {
        c.scales.push_back(static_cast<uint16_t>(sc.absmax_bits));
        c.status.push_back(golden::elem_to_f32(type, sc.absmax_bits) == 0.0f ? 1 : 0);
      }
      RunStats st;
      run_quant(h, c, sb, &st);
      res.quant_cycles += st.cycles;
      res.quant_stall_cycles += st.stall_cycles;
      res.quant_elements += st.work;
      res.quant_steady = st.steady_rate() * cfg.lanes;
    }
    std::vector<float> kf(static_cast<size_t>(Hkv * D)), vf(kf.size());
    for (int64_t t = 0; t < w.context; ++t) {
      for (int i = 0; i < Hkv * D; ++i) {
        kf[static_cast<size_t>(i)] = golden::elem_to_f32(type, kx[static_cast<size_t>(t * Hkv * D + i)]);
        vf[static_cast<size_t>(i)] = golden::elem_to_f32(type, vx[static_cast<size_t>(t * Hkv * D + i)]);
      }
      cache.append(kf.data(), vf.data());
    }
    std::vector<float> q(static_cast<size_t>(w.q_heads * D));
    for (auto& x : q) x = static_cast<float>(rng.normal());
    const AttnCase c = attention_case_from_cache(cache, q, w.q_heads);
    RunStats ss, vs;
    run_attn(h, c, sb, &ss, &vs);
    res.score_cycles += ss.cycles;
    res.value_cycles += vs.cycles;
    res.macs += ss.work + vs.work;
    res.mac_stall_cycles += ss.stall_cycles + vs.stall_cycles;
    RunStats all = ss;
    all.add(vs);
    res.mac_steady = all.steady_rate() * cfg.lanes;
  }
  res.check.cycles = res.quant_cycles + res.score_cycles + res.value_cycles;
  res.check.stall_cycles = res.quant_stall_cycles + res.mac_stall_cycles;
  finish(res.check, h, cfg.seed);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return res;
}

}  // namespace nqkv::sim
