#include "workloads/llama/model.hpp"

#include <Eigen/Core>
#include <cmath>

#include "io/error.hpp"

namespace nqkv::llama {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// y = W x, W row-major rows x cols.
void matvec(float* y, const float* W, const float* x, int rows, int cols) {
  Eigen::Map<const RowMat> Wm(W, rows, cols);
  Eigen::Map<const Eigen::VectorXf> xv(x, cols);
  Eigen::Map<Eigen::VectorXf> yv(y, rows);
  yv.noalias() = Wm * xv;
}

void rmsnorm(float* o, const float* x, const float* w, int n) {
  float ss = 0.f;
  for (int j = 0; j < n; ++j) ss += x[j] * x[j];
  ss /= static_cast<float>(n);
  ss += 1e-5f;
  ss = 1.0f / std::sqrt(ss);
  for (int j = 0; j < n; ++j) o[j] = w[j] * (ss * x[j]);
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
    rmsnorm(xb_.data(), x_.data(), w.rms_att.data() + static_cast<size_t>(l) * dim, dim);
    matvec(q_.data(), w.wq.data() + static_cast<size_t>(l) * dim * dim, xb_.data(), dim, dim);
    matvec(k_.data(), w.wk.data() + static_cast<size_t>(l) * kv_dim * dim, xb_.data(), kv_dim, dim);
    matvec(v_.data(), w.wv.data() + static_cast<size_t>(l) * kv_dim * dim, xb_.data(), kv_dim, dim);
    // RoPE: rotate adjacent pairs (i, i+1) of each head by pos * 10000^(-(i mod hs)/hs).
    for (int i = 0; i < dim; i += 2) {
      const int head_dim = i % hs;
      const float freq = 1.0f / std::pow(10000.0f, static_cast<float>(head_dim) / static_cast<float>(hs));
      const float val = static_cast<float>(pos) * freq;
      const float fcr = std::cos(val), fci = std::sin(val);
      const int rotn = i < kv_dim ? 2 : 1;
      for (int r = 0; r < rotn; ++r) {
        float* vec = r == 0 ? q_.data() : k_.data();
        const float v0 = vec[i], v1 = vec[i + 1];
        vec[i] = v0 * fcr - v1 * fci;
        vec[i + 1] = v0 * fci + v1 * fcr;
      }
    }
    if (observer && *observer) (*observer)(l, pos, q_.data(), k_.data(), v_.data());
    kv.append(l, k_.data(), v_.data());
    kv.attend(l, q_.data(), att_out_.data());
    matvec(xb2_.data(), w.wo.data() + static_cast<size_t>(l) * dim * dim, att_out_.data(), dim, dim);
    for (int i = 0; i < dim; ++i) x_[i] += xb2_[i];

    rmsnorm(xb_.data(), x_.data(), w.rms_ffn.data() + static_cast<size_t>(l) * dim, dim);
    matvec(hb_.data(), w.w1.data() + static_cast<size_t>(l) * hidden * dim, xb_.data(), hidden, dim);
    matvec(hb2_.data(), w.w3.data() + static_cast<size_t>(l) * hidden * dim, xb_.data(), hidden, dim);
    for (int i = 0; i < hidden; ++i) {
      float val = hb_[i];
      val *= 1.0f / (1.0f + std::exp(-val));  // SiLU
      hb_[i] = val * hb2_[i];
    }
    matvec(xb_.data(), w.w2.data() + static_cast<size_t>(l) * dim * hidden, hb_.data(), dim, hidden);
    for (int i = 0; i < dim; ++i) x_[i] += xb_[i];
  }
  rmsnorm(x_.data(), x_.data(), w.rms_final.data(), dim);
  matvec(logits_.data(), w.classifier(), x_.data(), c.vocab_size, dim);
  return logits_;
}

int argmax(const std::vector<float>& logits) {
  int best = 0;
  for (int i = 1; i < static_cast<int>(logits.size()); ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

std::vector<int> generate_greedy(Model& m, KVStore& kv, int steps) {
  kv.reset();
  std::vector<int> out;
  int token = Tokenizer::kBos;
  steps = std::min(steps, m.config().seq_len);
  for (int pos = 0; pos < steps; ++pos) {
    const int next = argmax(m.forward(token, pos, kv));
    if (next == Tokenizer::kBos) break;
    out.push_back(next);
    token = next;
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
