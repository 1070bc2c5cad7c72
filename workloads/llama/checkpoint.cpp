#include "workloads/llama/checkpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "io/error.hpp"

namespace nqkv::llama {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open for reading");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path + ": read error");
  return bytes;
}

namespace {

int32_t read_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

Checkpoint parse_checkpoint(const std::vector<uint8_t>& bytes, const std::string& name) {
  constexpr size_t kHeader = 7 * 4;
  if (bytes.size() < kHeader)
    throw InputError(name + ": truncated llama2.c checkpoint (" + std::to_string(bytes.size()) +
                     " bytes, the header alone is 28)");
  Checkpoint ck;
  ck.path = name;
  Config& c = ck.config;
  int32_t h[7];
  for (int i = 0; i < 7; ++i) h[i] = read_i32(bytes.data() + 4 * i);
  c.dim = h[0], c.hidden_dim = h[1], c.n_layers = h[2], c.n_heads = h[3], c.n_kv_heads = h[4];
  c.shared_classifier = h[5] > 0;
  if (h[5] == INT32_MIN) throw InputError(name + ": bad header: vocab_size out of range");
  c.vocab_size = h[5] > 0 ? h[5] : -h[5];
  c.seq_len = h[6];
  auto bad = [&](const std::string& why) {
    return InputError(name + ": not a llama2.c checkpoint (bad header: " + why + "; header dim=" +
                      std::to_string(h[0]) + " hidden_dim=" + std::to_string(h[1]) + " n_layers=" +
                      std::to_string(h[2]) + " n_heads=" + std::to_string(h[3]) + " n_kv_heads=" +
                      std::to_string(h[4]) + " vocab_size=" + std::to_string(h[5]) + " seq_len=" +
                      std::to_string(h[6]) + ")");
  };
  // Generous caps that keep every size computation below far from overflow.
  constexpr int kMax = 1 << 20;
  if (c.dim <= 0 || c.dim > kMax) throw bad("dim must be in 1.." + std::to_string(kMax));
  if (c.hidden_dim <= 0 || c.hidden_dim > kMax) throw bad("hidden_dim must be positive");
  if (c.n_layers <= 0 || c.n_layers > 4096) throw bad("n_layers must be in 1..4096");
  if (c.n_heads <= 0 || c.dim % c.n_heads != 0) throw bad("n_heads must be positive and divide dim");
  if (c.n_kv_heads <= 0 || c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0)
    throw bad("n_kv_heads must be positive and divide n_heads");
  if (c.head_size() % 2 != 0) throw bad("head size dim/n_heads must be even for RoPE");
  if (c.vocab_size <= 0 || c.vocab_size > kMax) throw bad("vocab_size must be nonzero");
  if (c.seq_len <= 0 || c.seq_len > kMax) throw bad("seq_len must be positive");

  const uint64_t L = c.n_layers, D = c.dim, H = c.hidden_dim, KV = c.kv_dim(), V = c.vocab_size,
                 HS = c.head_size();
  const uint64_t sizes[] = {V * D,     L * D,     L * D * D, L * KV * D, L * KV * D, L * D * D, L * D,
                            L * H * D, L * D * H, L * H * D, D,          uint64_t(c.seq_len) * HS / 2,
                            uint64_t(c.seq_len) * HS / 2, c.shared_classifier ? 0 : V * D};
  uint64_t floats = 0;
  for (uint64_t s : sizes) floats += s;
  const uint64_t expected = kHeader + 4 * floats;
  if (bytes.size() < expected)
    throw InputError(name + ": truncated llama2.c checkpoint: the header (dim " + std::to_string(c.dim) + ", " +
                     std::to_string(c.n_layers) + " layers, vocab " + std::to_string(c.vocab_size) + ") implies " +
                     std::to_string(expected) + " bytes, the file has " + std::to_string(bytes.size()));
  if (bytes.size() > expected)
    throw InputError(name + ": inconsistent llama2.c checkpoint: the header implies " + std::to_string(expected) +
                     " bytes but the file has " + std::to_string(bytes.size()) +
                     " (not a legacy v0 checkpoint, or a header that does not match the weights)");

  const uint8_t* p = bytes.data() + kHeader;
  auto take = [&](uint64_t n) {
    std::vector<float> v(n);
    std::memcpy(v.data(), p, n * 4);
    p += n * 4;
    return v;
  };
  Weights& w = ck.weights;
  w.token_embedding = take(sizes[0]);
  w.rms_att = take(sizes[1]);
  w.wq = take(sizes[2]);
  w.wk = take(sizes[3]);
  w.wv = take(sizes[4]);
  w.wo = take(sizes[5]);
  w.rms_ffn = take(sizes[6]);
  w.w1 = take(sizes[7]);
  w.w2 = take(sizes[8]);
  w.w3 = take(sizes[9]);
  w.rms_final = take(sizes[10]);
  p += 4 * (sizes[11] + sizes[12]);  // legacy freq_cis_real / freq_cis_imag: RoPE is recomputed
  if (!c.shared_classifier) w.wcls = take(sizes[13]);
  return ck;
}

Checkpoint load_checkpoint(const std::string& path) { return parse_checkpoint(read_file_bytes(path), path); }

Tokenizer Tokenizer::parse(const std::vector<uint8_t>& bytes, int vocab_size, const std::string& name) {
  if (vocab_size <= 0) throw InputError(name + ": tokenizer needs a positive vocabulary size");
  Tokenizer t;
  size_t off = 0;
  auto need = [&](size_t n, const std::string& what) {
    if (bytes.size() - off < n)
      throw InputError(name + ": truncated llama2.c tokenizer (" + what + " at byte " + std::to_string(off) +
                       ", file has " + std::to_string(bytes.size()) + " bytes)");
  };
  need(4, "max_token_length");
  t.max_token_length_ = read_i32(bytes.data());
  off = 4;
  if (t.max_token_length_ <= 0 || t.max_token_length_ > 65536)
    throw InputError(name + ": not a llama2.c tokenizer (max_token_length " + std::to_string(t.max_token_length_) +
                     "; older files without that field are not supported)");
  t.vocab_.resize(vocab_size);
  t.scores_.resize(vocab_size);
  for (int i = 0; i < vocab_size; ++i) {
    need(8, "token " + std::to_string(i));
    std::memcpy(&t.scores_[i], bytes.data() + off, 4);
    const int32_t len = read_i32(bytes.data() + off + 4);
    off += 8;
    if (len < 0 || len > t.max_token_length_)
      throw InputError(name + ": bad llama2.c tokenizer: token " + std::to_string(i) + " has length " +
                       std::to_string(len) + " (max_token_length " + std::to_string(t.max_token_length_) + ")");
    need(static_cast<size_t>(len), "token " + std::to_string(i) + " bytes");
    t.vocab_[i].assign(reinterpret_cast<const char*>(bytes.data() + off), len);
    off += len;
  }
  if (off != bytes.size())
    throw InputError(name + ": llama2.c tokenizer has " + std::to_string(bytes.size() - off) +
                     " trailing bytes after " + std::to_string(vocab_size) +
                     " tokens (a tokenizer for a different vocabulary size?)");
  t.sorted_.reserve(vocab_size);
  for (int i = 0; i < vocab_size; ++i) t.sorted_.emplace_back(t.vocab_[i], i);
  std::sort(t.sorted_.begin(), t.sorted_.end());
  return t;
}

Tokenizer Tokenizer::load(const std::string& path, int vocab_size) {
  return parse(read_file_bytes(path), vocab_size, path);
}

int Tokenizer::lookup(const std::string& s) const {
  auto it = std::lower_bound(sorted_.begin(), sorted_.end(), std::make_pair(s, -1));
  if (it != sorted_.end() && it->first == s) return it->second;
  return -1;
}

std::vector<int> Tokenizer::encode(const std::string& text, bool bos, bool eos) const {
  // Every id pushed below must be a token of this vocabulary: BOS/EOS (1, 2) and the byte
  // fallback ids (byte + 3, up to 258) are llama2.c conventions a small vocabulary may not have.
  const int n = vocab_size();
  auto need = [&](int id, const std::string& what) {
    if (id >= n)
      throw InputError("tokenizer has " + std::to_string(n) + " tokens, too few for " + what + " (id " + std::to_string(id) + ")");
    return id;
  };
  std::vector<int> tokens;
  if (bos) tokens.push_back(need(kBos, "BOS"));
  if (!text.empty()) {
    const int sp = lookup(" ");
    if (sp >= 0) tokens.push_back(sp);
  }
  // UTF-8 code points (at most 4 bytes each), byte fallback for anything not in the vocabulary.
  std::string buf;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(text[i]);
    if ((ch & 0xC0) != 0x80) buf.clear();
    buf.push_back(static_cast<char>(ch));
    const bool next_is_cont = i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80;
    if (next_is_cont && buf.size() < 4) continue;
    const int id = lookup(buf);
    if (id >= 0) {
      tokens.push_back(id);
    } else {
      for (unsigned char b : buf) tokens.push_back(need(static_cast<int>(b) + 3, "the byte fallback of byte " + std::to_string(b)));
    }
    buf.clear();
  }
  // Merge the best-scoring adjacent pair until none merges.
  for (;;) {
    float best = -1e10f;
    int best_id = -1, best_idx = -1;
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      const int id = lookup(vocab_[tokens[i]] + vocab_[tokens[i + 1]]);
      if (id >= 0 && scores_[id] > best) {
        best = scores_[id];
        best_id = id;
        best_idx = static_cast<int>(i);
      }
    }
    if (best_idx < 0) break;
    tokens[best_idx] = best_id;
    tokens.erase(tokens.begin() + best_idx + 1);
  }
  if (eos) tokens.push_back(need(kEos, "EOS"));
  return tokens;
}

std::string Tokenizer::decode(int prev, int token) const {
  std::string piece = vocab_.at(token);
  if (prev == kBos && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
  unsigned int byte = 0;
  char tail = 0;
  if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X%c", &byte, &tail) == 2 && tail == '>')
    return std::string(1, static_cast<char>(byte));
  return piece;
}

std::string default_tokenizer_path(const std::string& checkpoint_path, int vocab_size) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(checkpoint_path).parent_path();
  std::error_code ec;
  for (const std::string& n : {"tok" + std::to_string(vocab_size) + ".bin", std::string("tokenizer.bin")}) {
    const fs::path p = dir / n;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

}  // namespace nqkv::llama
