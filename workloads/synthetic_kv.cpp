#include "workloads/synthetic_kv.hpp"

#include <cmath>

#include "golden/rng.hpp"

namespace nqkv::workloads {

LayerKv synthetic_layer(const KvShape& s, int layer, golden::ElemType type, uint64_t seed) {
  golden::SplitMix64 rng(seed * 1000003u + static_cast<uint64_t>(layer));
  const int D = s.head_dim, H = s.kv_heads;
  // Per (head, channel) statistics drawn once per layer. Outlier key channels (about 3%, 4-10x
  // the typical scale, often with an offset) are what makes per-channel key quantization popular
  // (KIVI) and what per-token blocks must absorb; values get a milder log-normal spread.
  std::vector<double> kscale(static_cast<size_t>(H) * D), kmean(kscale.size()), vscale(kscale.size());
  for (size_t c = 0; c < kscale.size(); ++c) {
    const bool outlier = rng.uniform() < 0.03;
    kscale[c] = std::exp(0.3 * rng.normal()) * (outlier ? 4.0 + 6.0 * rng.uniform() : 1.0);
    kmean[c] = outlier ? kscale[c] * (rng.uniform() - 0.5) : 0.2 * rng.normal();
    vscale[c] = 0.5 * std::exp(0.25 * rng.normal());
  }
  auto round_to = [&](double x) { return golden::elem_to_f32(type, golden::f32_to_elem(type, static_cast<float>(x))); };
  LayerKv out;
  out.k.resize(static_cast<size_t>(s.context) * H * D);
  out.v.resize(out.k.size());
  for (int64_t t = 0; t < s.context; ++t)
    for (size_t c = 0; c < kscale.size(); ++c) {
      const size_t i = static_cast<size_t>(t) * kscale.size() + c;
      out.k[i] = round_to(kmean[c] + kscale[c] * rng.normal());
      out.v[i] = round_to(vscale[c] * rng.normal());
    }
  out.q.resize(static_cast<size_t>(s.q_heads) * D);
  for (int h = 0; h < s.q_heads; ++h)
    for (int i = 0; i < D; ++i) {
      // Query scale chosen so the pre-softmax logits q.k/sqrt(d) spread over a few units, as in
      // trained models; the outlier key channels still dominate the logits.
      const size_t c = static_cast<size_t>(h / (s.q_heads / H)) * D + static_cast<size_t>(i);
      out.q[static_cast<size_t>(h) * D + i] = static_cast<float>(rng.normal() * (kscale[c] > 3 ? 0.5 : 0.35));
    }
  return out;
}

}  // namespace nqkv::workloads
