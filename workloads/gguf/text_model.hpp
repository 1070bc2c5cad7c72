// One model for the text commands (`nqkv kvstats`, `nqkv eval`, `nqkv generate`): a llama2.c
// checkpoint with its tokenizer, or a llama GGUF file with its byte-level BPE tokenizer, behind the
// same Checkpoint (workloads/llama) and one encode/decode pair. Token windows over one or more
// text files: each file is tokenized on its own (special-token text is NOT parsed in prose) and
// cut into windows of at most `context` tokens that start with the model's BOS, so no window spans
// two files.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "workloads/llama/checkpoint.hpp"

namespace nqkv::gguf {

struct TextModel {
  llama::Checkpoint checkpoint;
  std::function<std::vector<int>(const std::string&)> encode;      // plain text, no BOS, no specials
  std::function<std::vector<int>(const std::string&)> encode_chat; // special-token text parsed (GGUF)
  std::function<std::string(const std::vector<int>&)> decode;
  std::string label;                // "llama2.c PATH" / "GGUF PATH (general.name)"
  std::vector<std::string> inputs;  // every file read (for output-path checks)
  bool is_gguf = false;
  int default_context = 0;          // llama2.c: seq_len; GGUF: min(seq_len, 512)
  double load_seconds = 0;
};

// Exactly one of checkpoint / gguf is non-empty (InputError otherwise). Input files are checked
// (regular, within size caps) before reading.
TextModel load_text_model(const std::string& checkpoint, const std::string& tokenizer, const std::string& gguf);

// Windows of every text file (or of `builtin` when files is empty), in order.
std::vector<std::vector<int>> text_windows(const TextModel& m, const std::vector<std::string>& files,
                                           const std::string& builtin, int context);
// The context a command runs at: `requested` (0 = the model's default), InputError above seq_len.
int resolve_context(const TextModel& m, int requested);

}  // namespace nqkv::gguf
