// Harness: llama2.c checkpoints (workloads/llama/checkpoint: parse_checkpoint), then one forward
// step of the float model on what was accepted (every weight matrix is read).
#include "fuzz/common.hpp"
#include "workloads/llama/kv_store.hpp"
#include "workloads/llama/model.hpp"

using namespace nqkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llama::Checkpoint ck;
  if (!fuzz::accepts([&] { ck = llama::parse_checkpoint(std::vector<uint8_t>(data, data + size), "fuzz.bin"); })) return 0;
  const llama::Config c = ck.config;
  NQKV_FUZZ_CHECK(c.dim > 0 && c.n_heads > 0 && c.n_kv_heads > 0 && c.vocab_size > 0 && c.seq_len > 0);
  NQKV_FUZZ_CHECK(ck.weights.token_embedding.size() == static_cast<size_t>(c.vocab_size) * c.dim);
  fuzz::accepts([&] {
    llama::Model m(std::move(ck));
    llama::FloatKVStore kv(m.config());
    const auto& logits = m.forward(0, 0, kv);
    NQKV_FUZZ_CHECK(logits.size() == static_cast<size_t>(c.vocab_size));
  });
  return 0;
}
