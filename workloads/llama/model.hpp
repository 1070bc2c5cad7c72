// A float32 CPU forward pass of the llama2.c Llama architecture (Eigen matrix-vector products):
// RMSNorm (eps 1e-5), rotary embeddings (base 10000, adjacent pairs within each head), grouped-
// query attention, SwiGLU feed-forward and the (shared) classifier, one token at a time, exactly
// the arithmetic of llama2.c's run.c. Attention is delegated to a KVStore, which owns the cache
// and may keep it in float or quantized form (kv_store.hpp).
#pragma once
#include <functional>
#include <vector>

#include "workloads/llama/checkpoint.hpp"

namespace nqkv::llama {

// The per-sequence KV cache of every layer and the attention over it.
class KVStore {
 public:
  virtual ~KVStore() = default;
  virtual void reset() = 0;  // forget every token (a new sequence)
  // Appends one token's post-RoPE key and value of `layer` (kv_dim floats each).
  virtual void append(int layer, const float* k, const float* v) = 0;
  // Attention of one query token (n_heads x head_size floats, post-RoPE) over every token of
  // `layer` appended so far, the current one included; writes n_heads x head_size floats.
  virtual void attend(int layer, const float* q, float* out) = 0;
};

// Called once per layer and token with the post-RoPE q (dim floats), k and v (kv_dim floats each).
using LayerObserver = std::function<void(int layer, int pos, const float* q, const float* k, const float* v)>;

class Model {
 public:
  explicit Model(Checkpoint ck);
  const Config& config() const { return ck_.config; }
  const Checkpoint& checkpoint() const { return ck_; }
  // Runs token `token` at position `pos` (0-based; the store must hold exactly pos tokens per
  // layer) and returns the vocab_size logits (valid until the next call).
  const std::vector<float>& forward(int token, int pos, KVStore& kv, const LayerObserver* observer = nullptr);
  // The batched (prefill / teacher-forced) pass over T known tokens at positions pos .. pos+T-1
  // (the store must hold exactly pos tokens per layer): every projection is one matrix-matrix
  // product over the T tokens (Eigen GEMM); per layer, token t's K and V are appended and its
  // query attends right after, so it sees exactly the tokens <= pos + t, as in forward(). The
  // observer is called per layer for t = 0..T-1. Returns T x vocab_size logits, row-major
  // (valid until the next call), or an empty vector when with_logits is false.
  // Not bit-identical to T calls of forward(): GEMM and matrix-vector products sum in different
  // orders (float rounding); the KV store sees the same sequence of calls.
  const std::vector<float>& forward_window(const int* tokens, int T, int pos, KVStore& kv,
                                           const LayerObserver* observer = nullptr, bool with_logits = true);

 private:
  Checkpoint ck_;
  std::vector<float> x_, xb_, xb2_, hb_, hb2_, q_, k_, v_, att_out_, logits_;
  std::vector<float> wx_, wxb_, wq_, wk_, wv_, watt_, wxb2_, whb_, whb2_, wlogits_;  // forward_window
};

// Index of the largest logit (the first one on ties, like run.c's argmax).
int argmax(const std::vector<float>& logits);

// Greedy generation from BOS (config().bos_id) with run.c's stopping rule (stop at BOS, or EOS
// when config().eos_id >= 0, or after `steps` forward passes). Returns the generated token ids,
// without the initial BOS.
std::vector<int> generate_greedy(Model& m, KVStore& kv, int steps);
// Greedy continuation of a prompt (run as one forward_window), same stopping rule; returns the
// generated ids (the stop token excluded).
std::vector<int> generate_from_prompt(Model& m, KVStore& kv, const std::vector<int>& prompt, int steps);
// Text of a token sequence that starts after BOS, decoded like run.c (leading space dropped).
std::string decode_tokens(const Tokenizer& tok, const std::vector<int>& tokens, int prev = Tokenizer::kBos);

}  // namespace nqkv::llama
