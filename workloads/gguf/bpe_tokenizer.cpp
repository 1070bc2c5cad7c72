#include "workloads/gguf/bpe_tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <limits>
#include <memory>

#include "io/error.hpp"

namespace nqkv::gguf {

namespace {

// GPT-2's reversible map from bytes to printable code points: the printable Latin-1 bytes
// ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for themselves, the other 68 bytes become U+0100
// onwards in byte order.
struct ByteMap {
  std::string to_utf8[256];
  std::unordered_map<uint32_t, uint8_t> from_cp;
  ByteMap() {
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(next++);
      from_cp[cp] = static_cast<uint8_t>(b);
      std::string s;
      if (cp < 0x80) s += static_cast<char>(cp);
      else {
        s += static_cast<char>(0xc0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3f));
      }
      to_utf8[b] = s;
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

// Length of the UTF-8 sequence starting at s[i] (1 for a stray byte; the input is validated).
size_t utf8_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 0x6) return 2;
  if ((c >> 4) == 0xe) return 3;
  if ((c >> 3) == 0x1e) return 4;
  return 1;
}

struct Pcre2Code {
  pcre2_code* code = nullptr;
  explicit Pcre2Code(const char* pattern) {
    int err = 0;
    PCRE2_SIZE off = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err,
                         &off, nullptr);
    if (!code) throw std::logic_error("bpe_tokenizer: a built-in pattern does not compile");
  }
  ~Pcre2Code() { pcre2_code_free(code); }
};

const char* kGpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char* kDigitPattern = "\\p{N}";

// Splits `text` into the matches of `re` and the unmatched stretches between them, in order
// (the "isolated" split of Hugging Face tokenizers; nothing of the text is dropped).
std::vector<std::string> split_isolated(const pcre2_code* re, const std::string& text) {
  std::vector<std::string> out;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create_from_pattern(re, nullptr), pcre2_match_data_free);
  size_t start = 0, last = 0;
  while (start < text.size()) {
    const int rc = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                               start == 0 ? 0 : PCRE2_NO_UTF_CHECK, md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw InputError("tokenizer: text is not valid UTF-8 (PCRE2 error " + std::to_string(rc) + ")");
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    const size_t b = ov[0], e = ov[1];
    if (b > last) out.push_back(text.substr(last, b - last));
    if (e > b) out.push_back(text.substr(b, e - b));
    last = e;
    start = e > b ? e : b + utf8_len(static_cast<unsigned char>(text[b]));  // never loop on an empty match
  }
  if (last < text.size()) out.push_back(text.substr(last));
  return out;
}

void check_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) { n = 1; cp = c; }
    else if ((c >> 5) == 0x6) { n = 2; cp = c & 0x1f; }
    else if ((c >> 4) == 0xe) { n = 3; cp = c & 0x0f; }
    else if ((c >> 3) == 0x1e) { n = 4; cp = c & 0x07; }
    else throw InputError("tokenizer: text is not valid UTF-8 (byte " + std::to_string(i) + ")");
    if (i + n > s.size()) throw InputError("tokenizer: text is not valid UTF-8 (truncated sequence at the end)");
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 0x2) throw InputError("tokenizer: text is not valid UTF-8 (byte " + std::to_string(i + k) + ")");
      cp = (cp << 6) | (d & 0x3f);
    }
    const bool overlong = (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw InputError("tokenizer: text is not valid UTF-8 (byte " + std::to_string(i) + ")");
    i += n;
  }
}

}  // namespace

BpeTokenizer BpeTokenizer::from_gguf(const io::gguf::File& f) {
  const std::string& src = f.source();
  BpeTokenizer t;
  const std::string model = f.get_string("tokenizer.ggml.model");
  if (model != "gpt2")
    throw InputError(src + ": tokenizer.ggml.model is '" + model + "'; only byte-level BPE ('gpt2') is supported");
  t.pre_ = f.has("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : "default";
  if (t.pre_ == "smollm" || t.pre_ == "starcoder" || t.pre_ == "refact") t.split_digits_ = true;
  else if (t.pre_ != "gpt2" && t.pre_ != "default")
    throw InputError(src + ": tokenizer.ggml.pre '" + t.pre_ + "' is not supported (smollm, starcoder, refact, gpt2, default)");
  t.tokens_ = f.get_string_array("tokenizer.ggml.tokens");
  const int64_t n = static_cast<int64_t>(t.tokens_.size());
  if (n == 0 || n > std::numeric_limits<int>::max() / 2)
    throw InputError(src + ": tokenizer.ggml.tokens has " + std::to_string(n) + " entries");
  if (f.has("tokenizer.ggml.token_type")) {
    const std::vector<int64_t> ty = f.get_int_array("tokenizer.ggml.token_type");
    if (static_cast<int64_t>(ty.size()) != n)
      throw InputError(src + ": tokenizer.ggml.token_type has " + std::to_string(ty.size()) + " entries for " +
                       std::to_string(n) + " tokens");
    for (int64_t v : ty) t.types_.push_back(v >= 0 && v <= 6 ? static_cast<int>(v) : 0);
  } else {
    t.types_.assign(static_cast<size_t>(n), 1);
  }
  t.ids_.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (t.tokens_[i].empty()) throw InputError(src + ": token " + std::to_string(i) + " is empty");
    t.ids_.emplace(t.tokens_[i], static_cast<int>(i));  // the first of duplicates wins
    // A special token is only ever matched whole in text, never produced by merges (its text is
    // not byte-alphabet text: decoding it gives the text itself).
    if (t.types_[i] != 3 && t.types_[i] != 4) t.normal_ids_.emplace(t.tokens_[i], static_cast<int>(i));
  }
  const std::vector<std::string> merges = f.get_string_array("tokenizer.ggml.merges");
  t.merge_rank_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string& m = merges[r];
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos || sp + 1 >= m.size())
      throw InputError(src + ": merge " + std::to_string(r) + " is not 'left right'");
    t.merge_rank_.emplace(m, static_cast<int>(r));
  }
  auto special_id = [&](const char* key) -> int {
    if (!f.has(key)) return -1;
    const uint64_t id = f.get_uint(key);
    if (id >= static_cast<uint64_t>(n))
      throw InputError(src + ": " + key + " = " + std::to_string(id) + " is not a token id (vocabulary of " +
                       std::to_string(n) + ")");
    return static_cast<int>(id);
  };
  t.bos_ = special_id("tokenizer.ggml.bos_token_id");
  t.eos_ = special_id("tokenizer.ggml.eos_token_id");
  for (int64_t i = 0; i < n; ++i)
    if (t.types_[i] == 3 || t.types_[i] == 4) t.specials_.push_back(static_cast<int>(i));
  std::stable_sort(t.specials_.begin(), t.specials_.end(),
                   [&](int a, int b) { return t.tokens_[a].size() > t.tokens_[b].size(); });
  return t;
}

bool BpeTokenizer::is_special(int id) const {
  return id >= 0 && id < vocab_size() && (types_[id] == 3 || types_[id] == 4);
}

int BpeTokenizer::find(const std::string& piece) const {
  auto it = ids_.find(piece);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<std::string> BpeTokenizer::pre_tokenize(const std::string& text) const {
  static const Pcre2Code gpt2(kGpt2Pattern), digit(kDigitPattern);
  check_utf8(text);
  std::vector<std::string> pieces;
  if (split_digits_) {
    for (const std::string& p : split_isolated(digit.code, text)) {
      const std::vector<std::string> sub = split_isolated(gpt2.code, p);
      pieces.insert(pieces.end(), sub.begin(), sub.end());
    }
  } else {
    pieces = split_isolated(gpt2.code, text);
  }
  return pieces;
}

void BpeTokenizer::bpe_piece(const std::string& piece, std::vector<int>& out) const {
  const ByteMap& bm = byte_map();
  std::vector<std::string> sym;
  for (unsigned char c : piece) sym.push_back(bm.to_utf8[c]);
  // Merge the adjacent pair of lowest rank (the leftmost on ties) until none is in the table.
  while (sym.size() > 1) {
    int best = std::numeric_limits<int>::max();
    size_t at = 0;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      auto it = merge_rank_.find(sym[i] + " " + sym[i + 1]);
      if (it != merge_rank_.end() && it->second < best) {
        best = it->second;
        at = i;
      }
    }
    if (best == std::numeric_limits<int>::max()) break;
    sym[at] += sym[at + 1];
    sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  auto normal = [&](const std::string& s) {
    auto it = normal_ids_.find(s);
    return it == normal_ids_.end() ? -1 : it->second;
  };
  for (const std::string& s : sym) {
    const int id = normal(s);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // A symbol the vocabulary lacks (merged, but its result is no token): fall back to its bytes.
    for (size_t k = 0; k < s.size();) {
      const size_t len = std::min(s.size() - k, utf8_len(static_cast<unsigned char>(s[k])));
      const int b = normal(s.substr(k, len));
      if (b < 0) throw InputError("tokenizer: the vocabulary has no token for a byte of the text");
      out.push_back(b);
      k += len;
    }
  }
}

std::vector<int> BpeTokenizer::encode(const std::string& text, bool parse_special) const {
  std::vector<int> out;
  size_t i = 0, plain = 0;
  auto flush = [&](size_t end) {
    if (end > plain)
      for (const std::string& p : pre_tokenize(text.substr(plain, end - plain))) bpe_piece(p, out);
  };
  if (parse_special && !specials_.empty()) {
    while (i < text.size()) {
      int hit = -1;
      if (text[i] == '<' || text[i] == '[')  // every special token of these vocabularies starts so
        for (int id : specials_)
          if (text.compare(i, tokens_[id].size(), tokens_[id]) == 0) {
            hit = id;
            break;
          }
      if (hit < 0) {
        ++i;
        continue;
      }
      flush(i);
      out.push_back(hit);
      i += tokens_[hit].size();
      plain = i;
    }
  }
  flush(text.size());
  return out;
}

std::string BpeTokenizer::decode_one(int id) const {
  if (id < 0 || id >= vocab_size()) throw InputError("tokenizer: token id " + std::to_string(id) + " out of range");
  const std::string& s = tokens_[id];
  if (is_special(id)) return s;
  const ByteMap& bm = byte_map();
  std::string out;
  for (size_t k = 0; k < s.size();) {
    const auto c = static_cast<unsigned char>(s[k]);
    const size_t len = std::min(s.size() - k, utf8_len(c));
    uint32_t cp = c;
    if (len == 2) cp = ((c & 0x1fu) << 6) | (static_cast<unsigned char>(s[k + 1]) & 0x3fu);
    auto it = len <= 2 ? bm.from_cp.find(cp) : bm.from_cp.end();
    if (it != bm.from_cp.end()) out += static_cast<char>(it->second);
    else out += s.substr(k, len);  // not a byte-alphabet character: kept as is
    k += len;
  }
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int>& ids) const {
  std::string s;
  for (int id : ids) s += decode_one(id);
  return s;
}

}  // namespace nqkv::gguf
