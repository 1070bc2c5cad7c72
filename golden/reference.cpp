#include "golden/reference.hpp"

#include <Eigen/Dense>
#include <cmath>

namespace nqkv::golden {

std::vector<double> reference_attention(const std::vector<double>& q, const std::vector<double>& k,
                                        const std::vector<double>& v, int tokens, int q_heads, int kv_heads,
                                        int head_dim, double sm_scale) {
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int group = q_heads / kv_heads;
  std::vector<double> out(static_cast<size_t>(q_heads) * head_dim);
  for (int h = 0; h < q_heads; ++h) {
    const int kvh = h / group;
    Mat K(tokens, head_dim), V(tokens, head_dim);
    for (int t = 0; t < tokens; ++t)
      for (int i = 0; i < head_dim; ++i) {
        const size_t idx = (static_cast<size_t>(t) * kv_heads + kvh) * head_dim + i;
        K(t, i) = k[idx];
        V(t, i) = v[idx];
      }
    Eigen::Map<const Eigen::VectorXd> qh(q.data() + static_cast<size_t>(h) * head_dim, head_dim);
    Eigen::VectorXd s = (K * qh) * sm_scale;
    Eigen::VectorXd p = (s.array() - s.maxCoeff()).exp();
    Eigen::VectorXd o = V.transpose() * p / p.sum();
    for (int i = 0; i < head_dim; ++i) out[static_cast<size_t>(h) * head_dim + i] = o(i);
  }
  return out;
}

namespace {
template <class F>
void dequantized_cache(const QuantKVCache& cache, std::vector<double>& k, std::vector<double>& v, F value) {
  const int D = cache.head_dim(), B = cache.block(), H = cache.kv_heads();
  k.assign(static_cast<size_t>(cache.tokens()) * H * D, 0.0);
  v.assign(k.size(), 0.0);
  for (int64_t t = 0; t < cache.tokens(); ++t)
    for (int h = 0; h < H; ++h)
      for (int is_v = 0; is_v < 2; ++is_v) {
        const uint8_t* c = cache.codes(is_v, t, h);
        const BlockScale* s = cache.scales(is_v, t, h);
        auto& dst = is_v ? v : k;
        for (int i = 0; i < D; ++i)
          dst[(static_cast<size_t>(t) * H + h) * D + i] = value(c[i], elem_to_f32(cache.type(), s[i / B].absmax_bits));
      }
}
}  // namespace

void mac_dequantized_cache(const QuantKVCache& cache, std::vector<double>& k, std::vector<double>& v) {
  const Codebook& cb = cache.cb();
  dequantized_cache(cache, k, v, [&](uint8_t c, float s) { return cb.mac[c] / 127.0 * s; });
}

void exact_dequantized_cache(const QuantKVCache& cache, std::vector<double>& k, std::vector<double>& v) {
  const Codebook& cb = cache.cb();
  dequantized_cache(cache, k, v, [&](uint8_t c, float s) { return static_cast<double>(cb.values[c] * s); });
}

}  // namespace nqkv::golden
