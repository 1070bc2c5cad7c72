// Harness: GGUF files (io/gguf: File::parse and dequantization of every tensor), then what the
// text commands build from an accepted file: the byte-level BPE tokenizer (encode of a fixed text
// with special tokens, digits, UTF-8 and whitespace; ids in range; decode gives the text back) and
// the llama checkpoint (workloads/gguf), with one float forward step when the model is small.
#include "fuzz/common.hpp"
#include "io/gguf.hpp"
#include "workloads/gguf/bpe_tokenizer.hpp"
#include "workloads/gguf/gguf_model.hpp"
#include "workloads/llama/kv_store.hpp"
#include "workloads/llama/model.hpp"

using namespace nqkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  io::gguf::File f;
  if (!fuzz::accepts([&] { f = io::gguf::File::parse(std::vector<uint8_t>(data, data + size), "fuzz.gguf"); })) return 0;
  int64_t total = 0;
  for (const io::gguf::TensorInfo& t : f.tensors()) {
    NQKV_FUZZ_CHECK(t.offset + static_cast<uint64_t>(t.bytes) <= size - f.data_offset());
    total += t.elements;
    if (total > (int64_t{1} << 22)) break;  // bounded work per input
    const std::vector<float> v = f.dequantize(t);
    NQKV_FUZZ_CHECK(static_cast<int64_t>(v.size()) == t.elements);
  }
  fuzz::accepts([&] {
    const gguf::BpeTokenizer tok = gguf::BpeTokenizer::from_gguf(f);
    const std::string text = "Hello <|im_start|>user\n 123 wörld\t\t<|im_end|> it's  ok";
    std::vector<int> ids;
    if (!fuzz::accepts([&] { ids = tok.encode(text); })) return;  // a vocabulary without every byte
    for (int id : ids) NQKV_FUZZ_CHECK(id >= 0 && id < tok.vocab_size());
    NQKV_FUZZ_CHECK(tok.decode(ids) == text);
  });
  fuzz::accepts([&] {
    llama::Checkpoint ck = gguf::checkpoint_from_gguf(f);
    const llama::Config c = ck.config;
    NQKV_FUZZ_CHECK(ck.weights.token_embedding.size() == static_cast<size_t>(c.vocab_size) * c.dim);
    if (static_cast<int64_t>(c.dim) * (c.vocab_size + 4 * c.hidden_dim) * c.n_layers > (int64_t{1} << 22)) return;
    llama::Model m(std::move(ck));
    llama::FloatKVStore kv(m.config());
    const int tokens[2] = {0, c.vocab_size - 1};
    const int T = c.seq_len >= 2 ? 2 : 1;
    const std::vector<float>& logits = m.forward_window(tokens, T, 0, kv);
    NQKV_FUZZ_CHECK(logits.size() == static_cast<size_t>(T) * c.vocab_size);
  });
  return 0;
}
