// Helpers shared by the `nqkv kvstats` and `nqkv eval` commands: loading a checkpoint with its
// tokenizer, parsing element types, and checking output paths before long runs.
#pragma once
#include <string>
#include <vector>

#include "golden/float_formats.hpp"
#include "workloads/llama/checkpoint.hpp"

namespace nqkv::llama {

struct LoadedModel {
  Checkpoint checkpoint;
  Tokenizer tokenizer;
  std::string tokenizer_path;
};
// tokenizer_path "" means the default beside the checkpoint (InputError if there is none).
LoadedModel load_model(const std::string& checkpoint_path, const std::string& tokenizer_path);

// "f16" | "bf16" | "f32" (InputError otherwise).
golden::ElemType parse_elem_type(const std::string& s);

// InputError unless the directory that would hold `path` exists (checked before long runs so a
// bad output path fails at once; the write itself is atomic).
void check_output_path(const std::string& path, const std::string& flag);

// Tokens of `text` for analysis: run.c's encoding without BOS (windows add it).
std::vector<int> text_tokens(const Tokenizer& tok, const std::string& text);

}  // namespace nqkv::llama
