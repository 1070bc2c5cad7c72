#include "workloads/llama/model.hpp"

#include <Eigen/Core>
#include <cmath>

#include "io/error.hpp"
#include "workloads/llama/simd.hpp"

namespace nqkv::llama {

bool detail::have_avx2() {
#if NQKV_LLAMA_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return avx2;
#else
  return false;
#endif
}

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using detail::have_avx2;

// y = W x, W row-major rows x cols (the AVX2 + FMA build when the CPU has both).
void matvec(float* y, const float* W, const float* x, int rows, int cols) {
  if (have_avx2()) return detail::matmat_avx2(y, W, x, 1, rows, cols);
  Eigen::Map<const RowMat> Wm(W, rows, cols);
  Eigen::Map<const Eigen::VectorXf> xv(x, cols);
  Eigen::Map<Eigen::VectorXf> yv(y, rows);
  yv.noalias() = Wm * xv;
}

void rmsnorm(float* o, const float* x, const float* w, int n, float eps) {
  float ss = 0.f;
  for (int j = 0; j < n; ++j) ss += x[j] * x[j];
  ss /= static_cast<float>(n);
  ss += eps;
  ss = 1.0f / std::sqrt(ss);
  for (int j = 0; j < n; ++j) o[j] = w[j] * (ss * x[j]);
}

// Y (T x rows) = X (T x cols) W^T with W row-major rows x cols: one GEMM (the AVX2 + FMA build of
// matmat_avx2.cpp when the CPU has both).
void matmat(float* Y, const float* W, const float* X, int T, int rows, int cols) {
  if (have_avx2()) return detail::matmat_avx2(Y, W, X, T, rows, cols);
  Eigen::Map<const RowMat> Wm(W, rows, cols);
  Eigen::Map<const RowMat> Xm(X, T, cols);
  Eigen::Map<RowMat> Ym(Y, T, rows);
  Ym.noalias() = Xm * Wm.transpose();
}

// RoPE on one token's q (dim) and k (kv_dim): adjacent pairs (i, i+1) of each head rotated by
// pos * theta^(-(i mod hs)/hs) (llama2.c's run.c; GGUF llama files store Q/K permuted for it).
void rope(float* q, float* k, int pos, int dim, int kv_dim, int hs, float theta) {
  for (int i = 0; i < dim; i += 2) {
    const int head_dim = i % hs;
    const float freq = 1.0f / std::pow(theta, static_cast<float>(head_dim) / static_cast<float>(hs));
    const float val = static_cast<float>(pos) * freq;
    const float fcr = std::cos(val), fci = std::sin(val);
    const int rotn = i < kv_dim ? 2 : 1;
    for (int r = 0; r < rotn; ++r) {
      float* vec = r == 0 ? q : k;
      const float v0 = vec[i], v1 = vec[i + 1];
      vec[i] = v0 * fcr - v1 * fci;
      vec[i + 1] = v0 * fci + v1 * fcr;
    }
  }
}

float silu_mul(float g, float u) {
  g *= 1.0f / (1.0f + std::exp(-g));
  return g * u;
}

}  // namespace

Model::Model(Checkpoint ck) : ck_(std::move(ck)) {
  const Config& c = ck_.config;
  x_.resize(c.dim);
  xb_.resize(c.dim);
  xb2_.resize(c.dim);
  hb_.resize(c.hidden_dim);
  hb2_.resize(c.hidden_dim);
  q_.resize(c.dim);
  k_.resize(c.kv_dim());
  v_.resize(c.kv_dim());
  att_out_.resize(c.dim);
  logits_.resize(c.vocab_size);
}

const std::vector<float>& Model::forward(int token, int pos, KVStore& kv, const LayerObserver* observer) {
  const Config& c = ck_.config;
  const Weights& w = ck_.weights;
  if (token < 0 || token >= c.vocab_size) throw InputError("token id " + std::to_string(token) + " out of range");
  if (pos < 0 || pos >= c.seq_len)
    throw InputError("position " + std::to_string(pos) + " is beyond the model's context of " +
                     std::to_string(c.seq_len) + " tokens");
  const int dim = c.dim, kv_dim = c.kv_dim(), hs = c.head_size(), hidden = c.hidden_dim;
  std::copy_n(w.token_embedding.data() + static_cast<size_t>(token) * dim, dim, x_.data());

  for (int l = 0; l < c.n_layers; ++l) {
    rmsnorm(xb_.data(), x_.data(), w.rms_att.data() + static_cast<size_t>(l) * dim, dim, c.norm_eps);
    matvec(q_.data(), w.wq.data() + static_cast<size_t>(l) * dim * dim, xb_.data(), dim, dim);
    matvec(k_.data(), w.wk.data() + static_cast<size_t>(l) * kv_dim * dim, xb_.data(), kv_dim, dim);
    matvec(v_.data(), w.wv.data() + static_cast<size_t>(l) * kv_dim * dim, xb_.data(), kv_dim, dim);
    rope(q_.data(), k_.data(), pos, dim, kv_dim, hs, c.rope_theta);
    if (observer && *observer) (*observer)(l, pos, q_.data(), k_.data(), v_.data());
    kv.append(l, k_.data(), v_.data());
    kv.attend(l, q_.data(), att_out_.data());
    matvec(xb2_.data(), w.wo.data() + static_cast<size_t>(l) * dim * dim, att_out_.data(), dim, dim);
    for (int i = 0; i < dim; ++i) x_[i] += xb2_[i];

    rmsnorm(xb_.data(), x_.data(), w.rms_ffn.data() + static_cast<size_t>(l) * dim, dim, c.norm_eps);
    matvec(hb_.data(), w.w1.data() + static_cast<size_t>(l) * hidden * dim, xb_.data(), hidden, dim);
    matvec(hb2_.data(), w.w3.data() + static_cast<size_t>(l) * hidden * dim, xb_.data(), hidden, dim);
    for (int i = 0; i < hidden; ++i) hb_[i] = silu_mul(hb_[i], hb2_[i]);  // SiLU(gate) x up
    matvec(xb_.data(), w.w2.data() + static_cast<size_t>(l) * dim * hidden, hb_.data(), dim, hidden);
    for (int i = 0; i < dim; ++i) x_[i] += xb_[i];
  }
  rmsnorm(x_.data(), x_.data(), w.rms_final.data(), dim, c.norm_eps);
  matvec(logits_.data(), w.classifier(), x_.data(), c.vocab_size, dim);
  return logits_;
}

const std::vector<float>& Model::forward_window(const int* tokens, int T, int pos, KVStore& kv,
                                               const LayerObserver* observer, bool with_logits) {
  const Config& c = ck_.config;
  const Weights& w = ck_.weights;
  if (T < 1) throw InputError("forward_window: empty window");
  if (pos < 0 || pos > c.seq_len - T)
    throw InputError("positions " + std::to_string(pos) + ".." + std::to_string(static_cast<int64_t>(pos) + T - 1) +
                     " are beyond the model's context of " + std::to_string(c.seq_len) + " tokens");
  for (int t = 0; t < T; ++t)
    if (tokens[t] < 0 || tokens[t] >= c.vocab_size) throw InputError("token id " + std::to_string(tokens[t]) + " out of range");
  const int dim = c.dim, kv_dim = c.kv_dim(), hs = c.head_size(), hidden = c.hidden_dim;
  const size_t Td = static_cast<size_t>(T) * dim, Tk = static_cast<size_t>(T) * kv_dim,
               Th = static_cast<size_t>(T) * hidden;
  wx_.resize(Td);
  wxb_.resize(Td);
  wxb2_.resize(Td);
  wq_.resize(Td);
  watt_.resize(Td);
  wk_.resize(Tk);
  wv_.resize(Tk);
  whb_.resize(Th);
  whb2_.resize(Th);
  for (int t = 0; t < T; ++t)
    std::copy_n(w.token_embedding.data() + static_cast<size_t>(tokens[t]) * dim, dim, wx_.data() + static_cast<size_t>(t) * dim);
  for (int l = 0; l < c.n_layers; ++l) {
    for (int t = 0; t < T; ++t)
      rmsnorm(wxb_.data() + static_cast<size_t>(t) * dim, wx_.data() + static_cast<size_t>(t) * dim,
              w.rms_att.data() + static_cast<size_t>(l) * dim, dim, c.norm_eps);
    matmat(wq_.data(), w.wq.data() + static_cast<size_t>(l) * dim * dim, wxb_.data(), T, dim, dim);
    matmat(wk_.data(), w.wk.data() + static_cast<size_t>(l) * kv_dim * dim, wxb_.data(), T, kv_dim, dim);
    matmat(wv_.data(), w.wv.data() + static_cast<size_t>(l) * kv_dim * dim, wxb_.data(), T, kv_dim, dim);
    for (int t = 0; t < T; ++t) {
      float* q = wq_.data() + static_cast<size_t>(t) * dim;
      float* k = wk_.data() + static_cast<size_t>(t) * kv_dim;
      const float* v = wv_.data() + static_cast<size_t>(t) * kv_dim;
      rope(q, k, pos + t, dim, kv_dim, hs, c.rope_theta);
      if (observer && *observer) (*observer)(l, pos + t, q, k, v);
      kv.append(l, k, v);
      kv.attend(l, q, watt_.data() + static_cast<size_t>(t) * dim);
    }
    matmat(wxb2_.data(), w.wo.data() + static_cast<size_t>(l) * dim * dim, watt_.data(), T, dim, dim);
    for (size_t i = 0; i < Td; ++i) wx_[i] += wxb2_[i];
    for (int t = 0; t < T; ++t)
      rmsnorm(wxb_.data() + static_cast<size_t>(t) * dim, wx_.data() + static_cast<size_t>(t) * dim,
              w.rms_ffn.data() + static_cast<size_t>(l) * dim, dim, c.norm_eps);
    matmat(whb_.data(), w.w1.data() + static_cast<size_t>(l) * hidden * dim, wxb_.data(), T, hidden, dim);
    matmat(whb2_.data(), w.w3.data() + static_cast<size_t>(l) * hidden * dim, wxb_.data(), T, hidden, dim);
    for (size_t i = 0; i < Th; ++i) whb_[i] = silu_mul(whb_[i], whb2_[i]);
    matmat(wxb_.data(), w.w2.data() + static_cast<size_t>(l) * dim * hidden, whb_.data(), T, dim, hidden);
    for (size_t i = 0; i < Td; ++i) wx_[i] += wxb_[i];
  }
  wlogits_.clear();
  if (!with_logits) return wlogits_;
  for (int t = 0; t < T; ++t)
    rmsnorm(wx_.data() + static_cast<size_t>(t) * dim, wx_.data() + static_cast<size_t>(t) * dim, w.rms_final.data(), dim,
            c.norm_eps);
  wlogits_.resize(static_cast<size_t>(T) * c.vocab_size);
  matmat(wlogits_.data(), w.classifier(), wx_.data(), T, c.vocab_size, dim);
  return wlogits_;
}

int argmax(const std::vector<float>& logits) {
  int best = 0;
  for (int i = 1; i < static_cast<int>(logits.size()); ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

std::vector<int> generate_greedy(Model& m, KVStore& kv, int steps) {
  kv.reset();
  const Config& c = m.config();
  std::vector<int> out;
  int token = c.bos_id;
  steps = std::min(steps, c.seq_len);
  for (int pos = 0; pos < steps; ++pos) {
    const int next = argmax(m.forward(token, pos, kv));
    if (next == c.bos_id || next == c.eos_id) break;
    out.push_back(next);
    token = next;
  }
  return out;
}

std::vector<int> generate_from_prompt(Model& m, KVStore& kv, const std::vector<int>& prompt, int steps) {
  const Config& c = m.config();
  if (prompt.empty()) throw InputError("generate: empty prompt");
  if (static_cast<int64_t>(prompt.size()) + steps > c.seq_len)
    throw InputError("generate: prompt and steps exceed the model's context of " + std::to_string(c.seq_len));
  kv.reset();
  const int T = static_cast<int>(prompt.size());
  const std::vector<float>& all = m.forward_window(prompt.data(), T, 0, kv);
  std::vector<float> last(all.end() - c.vocab_size, all.end());
  std::vector<int> out;
  int next = argmax(last);
  for (int pos = T; static_cast<int>(out.size()) < steps; ++pos) {
    if (next == c.bos_id || next == c.eos_id) break;
    out.push_back(next);
    if (static_cast<int>(out.size()) == steps) break;
    next = argmax(m.forward(next, pos, kv));
  }
  return out;
}

std::string decode_tokens(const Tokenizer& tok, const std::vector<int>& tokens, int prev) {
  std::string s;
  for (int t : tokens) {
    s += tok.decode(prev, t);
    prev = t;
  }
  return s;
}

}  // namespace nqkv::llama
