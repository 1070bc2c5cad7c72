#include "workloads/gguf/gguf_model.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "io/error.hpp"

namespace nqkv::gguf {

namespace {

int meta_int(const io::gguf::File& f, const std::string& key, int lo, int hi) {
  const uint64_t v = f.get_uint(key);
  if (v < static_cast<uint64_t>(lo) || v > static_cast<uint64_t>(hi))
    throw InputError(f.source() + ": " + key + " = " + std::to_string(v) + " is outside " + std::to_string(lo) + ".." +
                     std::to_string(hi));
  return static_cast<int>(v);
}

// Appends tensor `name` (dequantized) after checking its shape ne = [in, out] (or [n] for 1-D).
void take(const io::gguf::File& f, const std::string& name, std::vector<int64_t> ne, std::vector<float>& dst) {
  const io::gguf::TensorInfo& t = f.tensor(name);
  if (t.ne != ne) {
    std::string want, got;
    for (int64_t d : ne) want += (want.empty() ? "" : ", ") + std::to_string(d);
    for (int64_t d : t.ne) got += (got.empty() ? "" : ", ") + std::to_string(d);
    throw InputError(f.source() + ": tensor '" + name + "' has shape [" + got + "], expected [" + want + "]");
  }
  const std::vector<float> v = f.dequantize(t);
  dst.insert(dst.end(), v.begin(), v.end());
}

}  // namespace

llama::Checkpoint checkpoint_from_gguf(const io::gguf::File& f) {
  const std::string arch = f.get_string("general.architecture");
  if (arch != "llama")
    throw InputError(f.source() + ": general.architecture is '" + arch + "'; only 'llama' models are supported");
  llama::Checkpoint ck;
  ck.path = f.source();
  llama::Config& c = ck.config;
  constexpr int kBig = 1 << 20;
  c.dim = meta_int(f, "llama.embedding_length", 1, kBig);
  c.hidden_dim = meta_int(f, "llama.feed_forward_length", 1, kBig);
  c.n_layers = meta_int(f, "llama.block_count", 1, 4096);
  c.n_heads = meta_int(f, "llama.attention.head_count", 1, 4096);
  c.n_kv_heads = f.has("llama.attention.head_count_kv") ? meta_int(f, "llama.attention.head_count_kv", 1, 4096) : c.n_heads;
  c.seq_len = meta_int(f, "llama.context_length", 1, kBig);
  if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0 || c.head_size() % 2 != 0)
    throw InputError(f.source() + ": heads (" + std::to_string(c.n_heads) + " query, " + std::to_string(c.n_kv_heads) +
                     " KV) do not divide the embedding of " + std::to_string(c.dim) + " into even head sizes");
  if (f.has("llama.rope.dimension_count") &&
      f.get_uint("llama.rope.dimension_count") != static_cast<uint64_t>(c.head_size()))
    throw InputError(f.source() + ": llama.rope.dimension_count differs from the head size " +
                     std::to_string(c.head_size()) + " (partial RoPE is not supported)");
  for (const char* key : {"llama.attention.key_length", "llama.attention.value_length"})
    if (f.has(key) && f.get_uint(key) != static_cast<uint64_t>(c.head_size()))
      throw InputError(f.source() + ": " + key + " differs from embedding_length / head_count");
  c.rope_theta = f.has("llama.rope.freq_base") ? static_cast<float>(f.get_float("llama.rope.freq_base")) : 10000.0f;
  c.norm_eps = static_cast<float>(f.get_float("llama.attention.layer_norm_rms_epsilon"));
  if (!(c.rope_theta > 1.0f && c.rope_theta < 1e12f) || !(c.norm_eps > 0.0f && c.norm_eps < 1.0f))
    throw InputError(f.source() + ": RoPE base or RMSNorm epsilon out of range");
  const io::gguf::TensorInfo& emb = f.tensor("token_embd.weight");
  if (emb.ne.size() != 2 || emb.ne[0] != c.dim || emb.ne[1] > kBig)
    throw InputError(f.source() + ": token_embd.weight is not [embedding_length, vocab]");
  c.vocab_size = static_cast<int>(emb.ne[1]);
  if (f.has("llama.vocab_size") && f.get_uint("llama.vocab_size") != static_cast<uint64_t>(c.vocab_size))
    throw InputError(f.source() + ": llama.vocab_size differs from token_embd.weight's vocabulary");
  const int64_t dim = c.dim, kv = c.kv_dim(), hid = c.hidden_dim, V = c.vocab_size;
  llama::Weights& w = ck.weights;
  take(f, "token_embd.weight", {dim, V}, w.token_embedding);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    take(f, p + "attn_norm.weight", {dim}, w.rms_att);
    take(f, p + "attn_q.weight", {dim, dim}, w.wq);
    take(f, p + "attn_k.weight", {dim, kv}, w.wk);
    take(f, p + "attn_v.weight", {dim, kv}, w.wv);
    take(f, p + "attn_output.weight", {dim, dim}, w.wo);
    take(f, p + "ffn_norm.weight", {dim}, w.rms_ffn);
    take(f, p + "ffn_gate.weight", {dim, hid}, w.w1);
    take(f, p + "ffn_down.weight", {hid, dim}, w.w2);
    take(f, p + "ffn_up.weight", {dim, hid}, w.w3);
  }
  take(f, "output_norm.weight", {dim}, w.rms_final);
  c.shared_classifier = f.find_tensor("output.weight") == nullptr;
  if (!c.shared_classifier) take(f, "output.weight", {dim, V}, w.wcls);
  return ck;
}

GgufModel load_gguf_model(const std::string& path) {
  const auto t0 = std::chrono::steady_clock::now();
  const io::gguf::File f = io::gguf::File::load(path);
  GgufModel m{checkpoint_from_gguf(f), BpeTokenizer::from_gguf(f), 0};
  if (m.tokenizer.vocab_size() != m.checkpoint.config.vocab_size)
    throw InputError(path + ": the tokenizer has " + std::to_string(m.tokenizer.vocab_size()) + " tokens, the model " +
                     std::to_string(m.checkpoint.config.vocab_size));
  if (m.tokenizer.bos() < 0) throw InputError(path + ": tokenizer.ggml.bos_token_id is missing");
  m.checkpoint.config.bos_id = m.tokenizer.bos();
  m.checkpoint.config.eos_id = m.tokenizer.eos();
  m.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

std::string default_smollm2_path() {
  namespace fs = std::filesystem;
  if (const char* p = std::getenv("NQKV_SMOLLM2_GGUF"); p && *p) return fs::exists(p) ? p : "";
  std::string dir;
  if (const char* d = std::getenv("NQKV_DATA_DIR"); d && *d) dir = d;
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.cache/nqkv";
  else return "";
  const std::string p = dir + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
  return fs::exists(p) ? p : "";
}

}  // namespace nqkv::gguf
