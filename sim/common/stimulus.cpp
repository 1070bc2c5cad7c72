#include "sim/common/stimulus.hpp"

#include <algorithm>
#include <cmath>

#include "golden/quantize.hpp"

namespace nqkv::sim {

using golden::ElemType;

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

QuantCase random_quant_case(golden::SplitMix64& rng, const golden::Codebook& cb, ElemType t, int B) {
  const int64_t rows = 1 + static_cast<int64_t>(rng.below(3));
  const int nblk = 1 + static_cast<int>(rng.below(static_cast<uint64_t>(std::max(1, 1024 / B))));
  std::vector<uint16_t> x;
  for (int64_t r = 0; r < rows; ++r)
    for (int b = 0; b < nblk; ++b) {
      const int kind = static_cast<int>(rng.below(10));  // 0 and 7..9: ordinary Gaussian blocks
      const auto blk = random_block(rng, cb, t, B, kind > 6 ? 0 : kind);
      x.insert(x.end(), blk.begin(), blk.end());
    }
  return quant_case_of(cb, t, B, rows, static_cast<int64_t>(nblk) * B, std::move(x));
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
  while (D % B != 0) D *= 2;  // blocks above 64
  while (D / B > 8) D /= 2;   // blocks of 8 and 16: at most NBMAX = 8 blocks per head vector
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

QuantCase quant_case_of(const golden::Codebook& cb, ElemType t, int block, int64_t rows, int64_t cols,
                        std::vector<uint16_t> x) {
  QuantCase c;
  c.cb = &cb;
  c.type = t;
  c.block = block;
  c.rows = rows;
  c.cols = cols;
  c.x = std::move(x);
  std::vector<uint32_t> xb(c.x.begin(), c.x.end());
  const auto q = golden::quantize_tensor(cb, t, block, rows, cols, xb);
  c.codes = q.codes;
  std::vector<float> xf(static_cast<size_t>(block));
  std::vector<uint8_t> tmp(static_cast<size_t>(block));
  for (int64_t i = 0; i < rows * cols / block; ++i) {
    c.scales.push_back(static_cast<uint16_t>(q.scales[static_cast<size_t>(i)].absmax_bits));
    for (int j = 0; j < block; ++j) xf[j] = golden::elem_to_f32(t, c.x[static_cast<size_t>(i * block + j)]);
    golden::BlockStatus st;
    golden::quantize_block(cb, t, xf.data(), block, tmp.data(), &st);
    c.status.push_back(static_cast<uint8_t>(st));
  }
  return c;
}

WorkloadData workload_data(ElemType type, int q_heads, int kv_heads, int head_dim, int64_t context, uint64_t seed,
                           int sequence) {
  golden::SplitMix64 rng(seed * 1000003ull + static_cast<uint64_t>(sequence));
  WorkloadData d;
  d.k.resize(static_cast<size_t>(context * kv_heads * head_dim));
  d.v.resize(d.k.size());
  for (auto& e : d.k) e = to_elem(type, rng.normal());
  for (auto& e : d.v) e = to_elem(type, rng.normal());
  d.q.resize(static_cast<size_t>(q_heads * head_dim));
  for (auto& x : d.q) x = static_cast<float>(rng.normal());
  return d;
}

AttnCase workload_attention(const golden::Codebook& cb, ElemType type, int block, int q_heads, int kv_heads, int head_dim,
                            const WorkloadData& d) {
  golden::QuantKVCache cache(cb, type, kv_heads, head_dim, block);
  const size_t row = static_cast<size_t>(kv_heads) * static_cast<size_t>(head_dim);
  std::vector<float> kf(row), vf(row);
  for (size_t t = 0; t < d.k.size() / row; ++t) {
    for (size_t i = 0; i < row; ++i) {
      kf[i] = golden::elem_to_f32(type, d.k[t * row + i]);
      vf[i] = golden::elem_to_f32(type, d.v[t * row + i]);
    }
    cache.append(kf.data(), vf.data());
  }
  return attention_case_from_cache(cache, d.q, q_heads);
}

}  // namespace nqkv::sim
