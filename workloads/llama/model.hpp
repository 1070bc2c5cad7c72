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

 private:
  Checkpoint ck_;
  std::vector<float> x_, xb_, xb2_, hb_, hb2_, q_, k_, v_, att_out_, logits_;
};

// Index of the largest logit (the first one on ties, like run.c's argmax).
int argmax(const std::vector<float>& logits);

// Greedy generation from BOS with run.c's stopping rule (stop at BOS or after `steps` forward
// passes). Returns the generated token ids, without the initial BOS.
std::vector<int> generate_greedy(Model& m, KVStore& kv, int steps);
// Text of a token sequence that starts after BOS, decoded like run.c (leading space dropped).
std::string decode_tokens(const Tokenizer& tok, const std::vector<int>& tokens, int prev = Tokenizer::kBos);

}  // namespace nqkv::llama
