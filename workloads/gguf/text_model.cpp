#include "workloads/gguf/text_model.hpp"

#include <chrono>
#include <memory>

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "workloads/gguf/gguf_model.hpp"
#include "workloads/llama/cli_common.hpp"
#include "workloads/llama/model.hpp"
#include "workloads/llama/texts.hpp"

namespace nqkv::gguf {

TextModel load_text_model(const std::string& checkpoint, const std::string& tokenizer, const std::string& gguf) {
  if (checkpoint.empty() == gguf.empty()) throw InputError("give exactly one of --checkpoint and --gguf");
  TextModel m;
  if (!gguf.empty()) {
    if (!tokenizer.empty()) throw InputError("--tokenizer is for llama2.c checkpoints; a GGUF file holds its tokenizer");
    GgufModel g = load_gguf_model(gguf);
    auto tok = std::make_shared<BpeTokenizer>(std::move(g.tokenizer));
    m.checkpoint = std::move(g.checkpoint);
    m.encode = [tok](const std::string& s) { return tok->encode(s, false); };
    m.encode_chat = [tok](const std::string& s) { return tok->encode(s, true); };
    m.decode = [tok](const std::vector<int>& ids) { return tok->decode(ids); };
    m.label = "GGUF " + gguf;
    m.inputs = {gguf};
    m.is_gguf = true;
    m.default_context = std::min(m.checkpoint.config.seq_len, 512);
    m.load_seconds = g.load_seconds;
    return m;
  }
  const auto t0 = std::chrono::steady_clock::now();
  llama::check_model_inputs(checkpoint, tokenizer, "");
  llama::LoadedModel lm = llama::load_model(checkpoint, tokenizer);
  auto tok = std::make_shared<llama::Tokenizer>(std::move(lm.tokenizer));
  m.checkpoint = std::move(lm.checkpoint);
  m.encode = [tok](const std::string& s) { return llama::text_tokens(*tok, s); };
  m.encode_chat = m.encode;
  m.decode = [tok](const std::vector<int>& ids) { return llama::decode_tokens(*tok, ids); };
  m.label = "llama2.c " + checkpoint;
  m.inputs = {checkpoint, lm.tokenizer_path};
  m.default_context = m.checkpoint.config.seq_len;
  m.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

int resolve_context(const TextModel& m, int requested) {
  if (requested == 0) return m.default_context;
  if (requested < 2 || requested > m.checkpoint.config.seq_len)
    throw InputError("--context " + std::to_string(requested) + " must be in 2.." +
                     std::to_string(m.checkpoint.config.seq_len) + " (the model's context)");
  return requested;
}

std::vector<std::vector<int>> text_windows(const TextModel& m, const std::vector<std::string>& files,
                                           const std::string& builtin, int context) {
  std::vector<std::vector<int>> out;
  const int bos = m.checkpoint.config.bos_id;
  if (files.empty()) return llama::split_windows(m.encode(builtin), context, bos);
  for (const std::string& f : files) {
    const auto w = llama::split_windows(m.encode(llama::read_text_file(f)), context, bos);
    out.insert(out.end(), w.begin(), w.end());
  }
  return out;
}

}  // namespace nqkv::gguf
