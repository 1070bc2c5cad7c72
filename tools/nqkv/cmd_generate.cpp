// nqkv generate: greedy decoding from a prompt with a llama2.c checkpoint or a GGUF model (float
// or quantized KV cache), and --dump-logits, the logits of every prompt position as JSON (for the
// independent check scripts/gguf_logits_check.py).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "tools/nqkv/commands.hpp"
#include "workloads/gguf/text_model.hpp"
#include "workloads/llama/cli_common.hpp"
#include "workloads/llama/kv_store.hpp"
#include "workloads/llama/model.hpp"

namespace {

struct GenerateOptions {
  std::string checkpoint, tokenizer, gguf, prompt, dump_logits, kv = "f32", type = "f16", path = "dequant";
  std::vector<int> tokens;
  int steps = 64, block = 64;
  bool chat = false, single = false;
};

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run_generate(const GenerateOptions& o) {
  using namespace nqkv;
  if (!o.gguf.empty()) io::check_input_file(o.gguf, "--gguf", io::kMaxTensorFileBytes);
  if (!o.dump_logits.empty()) io::check_output_file(o.dump_logits, "--dump-logits", {o.checkpoint, o.tokenizer, o.gguf});
  if (!o.tokens.empty() && (!o.prompt.empty() || o.chat))
    throw InputError("give either --tokens or --prompt (with --chat), not both");
  llama::KVFormat f;
  f.name = o.kv;
  f.type = llama::parse_elem_type(o.type);
  if (o.kv != "f32" && o.kv != "f16" && o.kv != "bf16") {
    f.block = o.block;
    f.path = o.path;
  }
  gguf::TextModel tm = gguf::load_text_model(o.checkpoint, o.tokenizer, o.gguf);
  if (o.chat && !tm.is_gguf) throw InputError("--chat needs a --gguf model (SmolLM2's chat template)");
  const llama::Config& c = tm.checkpoint.config;
  std::unique_ptr<llama::KVStore> kv = llama::make_kv_store(c, f);  // an unusable format fails before the work
  std::vector<int> prompt = o.tokens;
  if (prompt.empty()) {
    if (o.chat) {
      prompt = tm.encode_chat("<|im_start|>user\n" + o.prompt + "<|im_end|>\n<|im_start|>assistant\n");
    } else {
      prompt = {c.bos_id};
      const std::vector<int> t = tm.encode(o.prompt);
      prompt.insert(prompt.end(), t.begin(), t.end());
    }
  }
  for (int t : prompt)
    if (t < 0 || t >= c.vocab_size)
      throw InputError(fmt::format("--tokens: id {} is outside the vocabulary 0..{}", t, c.vocab_size - 1));
  if (static_cast<int64_t>(prompt.size()) + o.steps > c.seq_len)
    throw InputError(fmt::format("prompt ({} tokens) plus --steps {} exceed the model's context of {}", prompt.size(),
                                 o.steps, c.seq_len));
  llama::Model model(std::move(tm.checkpoint));
  std::fprintf(stderr, "generate: %s loaded in %.2f s; prompt of %zu tokens; KV cache %s\n", tm.label.c_str(),
               tm.load_seconds, prompt.size(), f.label().c_str());
  if (!o.dump_logits.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    const int V = c.vocab_size, T = static_cast<int>(prompt.size());
    std::vector<float> all;
    kv->reset();
    if (o.single) {
      for (int p = 0; p < T; ++p) {
        const std::vector<float>& l = model.forward(prompt[p], p, *kv);
        all.insert(all.end(), l.begin(), l.end());
      }
    } else {
      all = model.forward_window(prompt.data(), T, 0, *kv);
    }
    nlohmann::json j;
    j["model"] = tm.label;
    j["path"] = o.single ? "token-at-a-time" : "batched";
    j["kv"] = f.label();
    j["tokens"] = prompt;
    j["vocab_size"] = V;
    j["logits"] = nlohmann::json::array();
    for (int p = 0; p < T; ++p) j["logits"].push_back(std::vector<float>(all.begin() + static_cast<size_t>(p) * V,
                                                                          all.begin() + static_cast<size_t>(p + 1) * V));
    io::write_text_atomically(o.dump_logits, j.dump());
    std::fprintf(stderr, "generate: logits of %d position(s) (%s) in %.2f s -> %s\n", T,
                 o.single ? "token-at-a-time" : "batched", since(t0), o.dump_logits.c_str());
  }
  if (o.steps == 0) return;
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<int> out = llama::generate_from_prompt(model, *kv, prompt, o.steps);
  const double s = since(t0);
  std::printf("%s\n", tm.decode(out).c_str());
  std::fprintf(stderr, "generate: %zu token(s) in %.2f s (prompt prefill included)\n", out.size(), s);
}

}  // namespace

NQKV_COMMAND(generate) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* sub = app.add_subcommand("generate", "Greedy decoding from a prompt (llama2.c checkpoint or GGUF model), "
                                                 "or the logits of a token sequence as JSON");
  sub->add_option("--gguf", o->gguf, "llama-architecture GGUF model (e.g. SmolLM2-135M-Instruct)");
  sub->add_option("--checkpoint", o->checkpoint, "llama2.c checkpoint (legacy v0 format)");
  sub->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer (default: beside the checkpoint)");
  sub->add_option("--prompt", o->prompt, "prompt text (BOS added; with --chat, wrapped in the chat template)");
  sub->add_flag("--chat", o->chat, "wrap the prompt as <|im_start|>user\\n...<|im_end|>\\n<|im_start|>assistant\\n");
  sub->add_option("--tokens", o->tokens, "prompt as token ids instead of text (comma-separated)")
      ->delimiter(',')
      ->check(nqkv::cli::int_range(0, 1 << 24));
  sub->add_option("--steps", o->steps, "tokens to generate (0: none)")->check(nqkv::cli::int_range(0, 1 << 16));
  sub->add_option("--kv", o->kv, "KV cache: f32 (default), f16, bf16 or a codebook name");
  sub->add_option("--block", o->block, "block size of a quantized KV cache")->check(nqkv::cli::int_range(1, 1 << 20));
  sub->add_option("--type", o->type, "element type the quantizer sees: f16 or bf16");
  sub->add_option("--path", o->path, "quantized cache path: dequant (default) or golden")
      ->check(CLI::IsMember({"dequant", "golden"}));
  sub->add_option("--dump-logits", o->dump_logits, "write the logits of every prompt position as JSON");
  sub->add_flag("--single", o->single, "--dump-logits with the token-at-a-time forward pass instead of the batched one");
  sub->callback([o] { run_generate(*o); });
}
