#include "workloads/llama/cli_common.hpp"

#include <filesystem>

#include "io/atomic_file.hpp"
#include "io/error.hpp"

namespace nqkv::llama {

LoadedModel load_model(const std::string& checkpoint_path, const std::string& tokenizer_path) {
  LoadedModel lm{load_checkpoint(checkpoint_path), Tokenizer{}, tokenizer_path};
  if (lm.tokenizer_path.empty()) {
    lm.tokenizer_path = default_tokenizer_path(checkpoint_path, lm.checkpoint.config.vocab_size);
    if (lm.tokenizer_path.empty())
      throw InputError("no tokenizer beside " + checkpoint_path + " (looked for tok" +
                       std::to_string(lm.checkpoint.config.vocab_size) + ".bin and tokenizer.bin); pass --tokenizer");
  }
  lm.tokenizer = Tokenizer::load(lm.tokenizer_path, lm.checkpoint.config.vocab_size);
  return lm;
}

golden::ElemType parse_elem_type(const std::string& s) {
  if (s == "f16") return golden::ElemType::F16;
  if (s == "bf16") return golden::ElemType::BF16;
  if (s == "f32") return golden::ElemType::F32;
  throw InputError("unknown element type '" + s + "' (f16, bf16 or f32)");
}

void check_output_path(const std::string& path, const std::string& flag, const std::vector<std::string>& inputs) {
  io::check_output_file(path, flag, inputs);
}

void check_model_inputs(const std::string& checkpoint, const std::string& tokenizer, const std::string& text) {
  io::check_input_file(checkpoint, "--checkpoint", io::kMaxTensorFileBytes);
  if (!tokenizer.empty()) io::check_input_file(tokenizer, "--tokenizer", io::kMaxTextFileBytes);
  if (!text.empty()) io::check_input_file(text, "--text", io::kMaxTextFileBytes);
}

void RunFiles::check_outputs_against(const std::vector<std::string>& more_inputs) const {
  for (const auto& [path, flag] : outputs)
    if (!path.empty()) check_output_path(path, flag, more_inputs);
}

RunFiles check_run_files(const std::string& checkpoint, const std::string& tokenizer, const std::string& gguf,
                         const std::vector<std::string>& text_files,
                         std::vector<std::pair<std::string, std::string>> outputs) {
  if (checkpoint.empty() == gguf.empty()) throw InputError("give exactly one of --checkpoint and --gguf");
  if (gguf.empty()) check_model_inputs(checkpoint, tokenizer, "");
  else io::check_input_file(gguf, "--gguf", io::kMaxTensorFileBytes);
  for (const std::string& t : text_files) io::check_input_file(t, "--text", io::kMaxTextFileBytes);
  RunFiles f{{checkpoint, tokenizer, gguf}, std::move(outputs)};
  f.inputs.insert(f.inputs.end(), text_files.begin(), text_files.end());
  f.check_outputs_against(f.inputs);
  io::check_distinct_outputs(f.outputs);
  return f;
}

std::string text_label(const std::vector<std::string>& text_files) {
  std::string label = text_files.empty() ? "built-in" : "";
  for (const std::string& t : text_files) label += (label.empty() ? "" : ", ") + t;
  return label;
}

std::vector<int> text_tokens(const Tokenizer& tok, const std::string& text) { return tok.encode(text, false, false); }

}  // namespace nqkv::llama
