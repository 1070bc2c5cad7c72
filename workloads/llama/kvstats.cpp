#include "workloads/llama/kvstats.hpp"

#include <algorithm>
#include <cmath>

#include "golden/quantize.hpp"
#include "golden/rng.hpp"
#include "io/safetensors.hpp"
#include "workloads/llama/kv_store.hpp"
#include "workloads/llama/normality.hpp"

namespace nqkv::llama {

KVCapture capture_kv(Model& m, const std::vector<std::vector<int>>& windows,
                     const std::function<void(int64_t, int64_t)>& progress) {
  const Config& c = m.config();
  KVCapture cap;
  cap.config = c;
  cap.q.resize(c.n_layers);
  cap.k.resize(c.n_layers);
  cap.v.resize(c.n_layers);
  int64_t total = 0, done = 0;
  for (const auto& w : windows) total += static_cast<int64_t>(w.size());
  FloatKVStore kv(c);
  const LayerObserver obs = [&](int layer, int, const float* q, const float* k, const float* v) {
    cap.q[layer].insert(cap.q[layer].end(), q, q + c.dim);
    cap.k[layer].insert(cap.k[layer].end(), k, k + c.kv_dim());
    cap.v[layer].insert(cap.v[layer].end(), v, v + c.kv_dim());
  };
  for (const auto& w : windows) {
    kv.reset();
    // One batched pass per window (the observer sees each layer's rows in token order).
    m.forward_window(w.data(), static_cast<int>(w.size()), 0, kv, &obs, false);
    for (int pos = 0; pos < static_cast<int>(w.size()); ++pos) {
      cap.tokens.push_back(w[pos]);
      cap.positions.push_back(pos);
      if (progress) progress(++done, total);
    }
  }
  return cap;
}

void dump_capture(const KVCapture& cap, const std::string& path, const std::string& source_note) {
  const Config& c = cap.config;
  const int64_t L = c.n_layers, T = cap.rows(), hs = c.head_size();
  io::SafeTensors st;
  auto cat = [&](const std::vector<std::vector<float>>& per_layer) {
    std::vector<float> all;
    for (const auto& x : per_layer) all.insert(all.end(), x.begin(), x.end());
    return all;
  };
  st.tensors["q"] = io::Tensor::from(io::DType::F32, {L, T, c.n_heads, hs}, cat(cap.q));
  st.tensors["k"] = io::Tensor::from(io::DType::F32, {L, T, c.n_kv_heads, hs}, cat(cap.k));
  st.tensors["v"] = io::Tensor::from(io::DType::F32, {L, T, c.n_kv_heads, hs}, cat(cap.v));
  std::vector<int32_t> tok(cap.tokens.begin(), cap.tokens.end()), pos(cap.positions.begin(), cap.positions.end());
  st.tensors["tokens"] = io::Tensor::from(io::DType::I32, {T}, tok);
  st.tensors["positions"] = io::Tensor::from(io::DType::I32, {T}, pos);
  auto& md = st.metadata;
  md["format"] = "nqkv llama kv capture v1";
  md["model"] = "llama2.c checkpoint";
  md["source"] = source_note;
  md["dim"] = std::to_string(c.dim);
  md["n_layers"] = std::to_string(c.n_layers);
  md["n_heads"] = std::to_string(c.n_heads);
  md["n_kv_heads"] = std::to_string(c.n_kv_heads);
  md["head_size"] = std::to_string(hs);
  md["seq_len"] = std::to_string(c.seq_len);
  md["layout"] =
      "q, k: post-RoPE; k, v exactly as the float KV cache holds them; a new window starts where positions == 0 "
      "(token 1 = BOS); query head h reads kv head h / (n_heads / n_kv_heads); sm_scale = 1/sqrt(head_size)";
  st.save(path);
}

NormalitySummary normality_of_blocks(const std::string& source, const float* x, int64_t rows, int cols, int block) {
  NormalitySummary s;
  s.source = source;
  s.block = block;
  std::vector<double> buf(block), ps;
  int64_t pass = 0;
  double sk = 0, ask = 0, ek = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int b = 0; b + block <= cols; b += block) {
      ++s.blocks;
      for (int i = 0; i < block; ++i) buf[i] = x[r * cols + b + i];
      const NormalTestResult t = normaltest(buf.data(), block);
      if (!t.valid) continue;
      ++s.valid;
      const SampleMoments m = moments(buf.data(), block);
      sk += m.skewness();
      ask += std::fabs(m.skewness());
      ek += m.kurtosis() - 3;
      ps.push_back(t.p);
      pass += t.p >= 0.05;
    }
  if (s.valid > 0) {
    const double n = static_cast<double>(s.valid);
    s.pass_fraction = pass / n;
    s.mean_skew = sk / n;
    s.mean_abs_skew = ask / n;
    s.mean_excess_kurtosis = ek / n;
    std::nth_element(ps.begin(), ps.begin() + ps.size() / 2, ps.end());
    s.median_p = ps[ps.size() / 2];
  }
  return s;
}

ChannelOutliers channel_outliers(int layer, const std::string& tensor, const float* x, int64_t rows, int cols) {
  ChannelOutliers o;
  o.layer = layer;
  o.tensor = tensor;
  std::vector<double> rms(cols, 0.0), all;
  all.reserve(rows * cols);
  double peak = 0, ss = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double v = x[r * cols + c];
      rms[c] += v * v;
      ss += v * v;
      peak = std::max(peak, std::fabs(v));
      all.push_back(v);
    }
  for (double& v : rms) v = std::sqrt(v / static_cast<double>(rows));
  std::vector<double> sorted = rms;
  std::sort(sorted.begin(), sorted.end());
  const double median = cols % 2 ? sorted[cols / 2] : 0.5 * (sorted[cols / 2 - 1] + sorted[cols / 2]);
  o.top_channel = static_cast<int>(std::max_element(rms.begin(), rms.end()) - rms.begin());
  o.max_over_median_rms = sorted.back() / median;
  for (double v : rms) o.channels_over_2x += v > 2 * median;
  o.peak_over_rms = peak / std::sqrt(ss / static_cast<double>(all.size()));
  o.excess_kurtosis = moments(all.data(), all.size()).kurtosis() - 3;
  return o;
}

CodebookError codebook_error(const golden::Codebook& cb, golden::ElemType type, const std::string& source,
                             const float* x, int64_t rows, int cols, int block) {
  CodebookError e;
  e.codebook = cb.name;
  e.source = source;
  e.block = block;
  e.bits_per_element = golden::bits_per_element(cb, block, golden::elem_bits(type));
  std::vector<float> in(block), out(block);
  std::vector<uint8_t> codes(block);
  double num = 0, den = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int b = 0; b + block <= cols; b += block) {
      for (int i = 0; i < block; ++i)
        in[i] = golden::elem_to_f32(type, golden::f32_to_elem(type, x[r * cols + b + i]));
      const golden::BlockScale s = golden::quantize_block(cb, type, in.data(), block, codes.data());
      golden::dequantize_block(cb, type, s, codes.data(), block, out.data());
      for (int i = 0; i < block; ++i) {
        const double d = static_cast<double>(in[i]) - out[i];
        num += d * d;
        den += static_cast<double>(in[i]) * in[i];
      }
    }
  e.sq_err = num;
  e.sq_in = den;
  e.rel_mse = den > 0 ? num / den : 0;
  e.sqnr_db = -10 * std::log10(e.rel_mse);
  return e;
}

CodebookError combine_codebook_errors(const std::vector<CodebookError>& parts) {
  CodebookError e;
  if (parts.empty()) return e;
  e = parts.front();
  e.sq_err = e.sq_in = 0;
  for (const CodebookError& p : parts) e.sq_err += p.sq_err, e.sq_in += p.sq_in;
  e.rel_mse = e.sq_in > 0 ? e.sq_err / e.sq_in : 0;
  e.sqnr_db = -10 * std::log10(e.rel_mse);
  return e;
}

std::vector<float> synthetic_rows(const std::string& kind, int64_t rows, int cols, uint64_t seed) {
  golden::SplitMix64 rng(seed);
  std::vector<float> x(static_cast<size_t>(rows) * cols);
  for (float& v : x) v = static_cast<float>(kind == "laplace" ? rng.laplace() : rng.normal());
  return x;
}

}  // namespace nqkv::llama
