// Harness: llama2.c tokenizers (workloads/llama/checkpoint: Tokenizer::parse, encode, decode).
// Input layout: u16 little-endian vocabulary size, u8 text length, the text, then the tokenizer
// file's bytes. Every id encode returns must be a token of the vocabulary.
#include "fuzz/common.hpp"
#include "workloads/llama/checkpoint.hpp"

using namespace nqkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int vocab = data[0] | (data[1] << 8);
  const size_t text_len = std::min<size_t>(data[2], size - 3);
  const std::string text(reinterpret_cast<const char*>(data + 3), text_len);
  const std::vector<uint8_t> file(data + 3 + text_len, data + size);
  llama::Tokenizer tok;
  if (!fuzz::accepts([&] { tok = llama::Tokenizer::parse(file, vocab, "fuzz.tok"); })) return 0;
  NQKV_FUZZ_CHECK(tok.vocab_size() == vocab);
  for (int flags = 0; flags < 4; ++flags) {
    fuzz::accepts([&] {
      const std::vector<int> ids = tok.encode(text, flags & 1, flags & 2);
      int prev = llama::Tokenizer::kBos;
      for (int id : ids) {
        NQKV_FUZZ_CHECK(id >= 0 && id < tok.vocab_size());
        (void)tok.decode(prev, id);
        (void)tok.score(id);
        prev = id;
      }
    });
  }
  return 0;
}
