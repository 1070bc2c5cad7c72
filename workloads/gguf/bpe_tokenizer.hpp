// The byte-level BPE tokenizer of a GGUF file whose tokenizer.ggml.model is "gpt2" (GPT-2 style,
// as SmolLM2, StarCoder and Llama 3 use): the vocabulary (tokenizer.ggml.tokens), the merge ranks
// (tokenizer.ggml.merges, "left right" with the lower index merged first), token types
// (tokenizer.ggml.token_type; CONTROL = 3 and USER_DEFINED = 4 are special tokens matched whole
// in text when parse_special is set) and the pre-tokenizer named by tokenizer.ggml.pre:
//   "smollm" / "starcoder" / "refact": every \p{N} code point is its own piece, then the GPT-2
//   split  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   "gpt2" / "default": the GPT-2 split alone.
// Pieces are matched with PCRE2 (UTF + Unicode properties), mapped byte by byte to GPT-2's
// printable byte alphabet, merged by rank and looked up. Text must be valid UTF-8 (InputError).
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/gguf.hpp"

namespace nqkv::gguf {

class BpeTokenizer {
 public:
  // InputError when the metadata is missing, of the wrong type, inconsistent (token_type length,
  // merges naming unknown tokens, out-of-range special ids) or names an unsupported model/pre.
  static BpeTokenizer from_gguf(const io::gguf::File& f);

  int vocab_size() const { return static_cast<int>(tokens_.size()); }
  int bos() const { return bos_; }
  int eos() const { return eos_; }
  const std::string& pre() const { return pre_; }
  const std::string& token(int id) const { return tokens_.at(id); }
  bool is_special(int id) const;
  // Token id of an exact vocabulary string, or -1.
  int find(const std::string& piece) const;

  std::vector<int> encode(const std::string& text, bool parse_special = true) const;
  // Bytes of a token sequence (special tokens as their text).
  std::string decode(const std::vector<int>& ids) const;
  std::string decode_one(int id) const;

  // The pre-tokenizer's pieces of text (no special-token handling); exposed for tests.
  std::vector<std::string> pre_tokenize(const std::string& text) const;

 private:
  void bpe_piece(const std::string& piece, std::vector<int>& out) const;
  std::vector<std::string> tokens_;
  std::vector<int> types_;
  std::unordered_map<std::string, int> ids_;         // every token (the first of duplicates)
  std::unordered_map<std::string, int> normal_ids_;  // tokens BPE may produce: special ones excluded
  std::unordered_map<std::string, int> merge_rank_;  // "left right" -> rank
  std::vector<int> specials_;                        // ids of special tokens, longest text first
  std::string pre_;
  bool split_digits_ = false;
  int bos_ = -1, eos_ = -1;
};

}  // namespace nqkv::gguf
