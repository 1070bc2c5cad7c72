// Readers for Andrej Karpathy's llama2.c formats: the legacy (v0) checkpoint, a 7 x int32 header
// followed by float32 weights, and the tokenizer (int32 max_token_length, then per token float32
// score, int32 length, bytes). Every structural problem (truncated file, inconsistent header,
// trailing bytes) raises nqkv::InputError naming the file and the problem.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nqkv::llama {

struct Config {
  int dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;  // header vocab_size > 0
  // llama2.c's fixed values; a GGUF model sets them from its metadata (workloads/gguf).
  float rope_theta = 10000.0f;  // RoPE base
  float norm_eps = 1e-5f;       // RMSNorm epsilon
  int bos_id = 1;               // the token every window and greedy generation starts from
  int eos_id = -1;              // greedy generation also stops here (-1: only at bos_id, run.c's rule)
  int head_size() const { return dim / n_heads; }
  int kv_dim() const { return n_kv_heads * head_size(); }
};

// Row-major weight matrices exactly as stored (llama2.c layout: W is out x in, y = W x).
struct Weights {
  std::vector<float> token_embedding;  // vocab x dim
  std::vector<float> rms_att;          // layers x dim
  std::vector<float> wq, wk, wv, wo;   // layers x (dim x dim | kv_dim x dim | kv_dim x dim | dim x dim)
  std::vector<float> rms_ffn;          // layers x dim
  std::vector<float> w1, w2, w3;       // layers x (hidden x dim | dim x hidden | hidden x dim)
  std::vector<float> rms_final;        // dim
  std::vector<float> wcls;             // vocab x dim; empty when shared with token_embedding
  const float* classifier() const { return wcls.empty() ? token_embedding.data() : wcls.data(); }
};

struct Checkpoint {
  Config config;
  Weights weights;
  std::string path;
};

// Validates the header (positive sizes, heads dividing dim, kv heads dividing heads, even head
// size, sizes that fit in memory) and that the file size is exactly what the header implies.
Checkpoint load_checkpoint(const std::string& path);
// The same from bytes already in memory (`name` is used in messages); used by tests.
Checkpoint parse_checkpoint(const std::vector<uint8_t>& bytes, const std::string& name);

class Tokenizer {
 public:
  static Tokenizer load(const std::string& path, int vocab_size);
  static Tokenizer parse(const std::vector<uint8_t>& bytes, int vocab_size, const std::string& name);

  int vocab_size() const { return static_cast<int>(vocab_.size()); }
  const std::string& piece(int id) const { return vocab_.at(id); }
  float score(int id) const { return scores_.at(id); }
  // run.c's encode: optional BOS (1), a dummy-prefix space for non-empty text, UTF-8 code points
  // looked up in the vocabulary (byte fallback id = byte + 3), then greedy best-score pair merges.
  std::vector<int> encode(const std::string& text, bool bos, bool eos) const;
  // run.c's decode: the text of `token` following `prev` (leading space dropped after BOS;
  // "<0xNN>" pieces become the byte).
  std::string decode(int prev, int token) const;

  static constexpr int kBos = 1, kEos = 2;

 private:
  int lookup(const std::string& s) const;
  std::vector<std::string> vocab_;
  std::vector<float> scores_;
  std::vector<std::pair<std::string, int>> sorted_;
  int max_token_length_ = 0;
};

// Default tokenizer path for a checkpoint: "tok<vocab>.bin" beside it if present, else
// "tokenizer.bin" beside it (llama2.c conventions). Returns "" if neither exists.
std::string default_tokenizer_path(const std::string& checkpoint_path, int vocab_size);

std::vector<uint8_t> read_file_bytes(const std::string& path);  // InputError if unreadable

}  // namespace nqkv::llama
