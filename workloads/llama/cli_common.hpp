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

// InputError unless `path` can be written and is none of `inputs` (io::check_output_file;
// checked before long runs so a bad output path fails at once; the write itself is atomic).
void check_output_path(const std::string& path, const std::string& flag, const std::vector<std::string>& inputs = {});

// The input files of kvstats/eval checked before any work (io::check_input_file): the checkpoint,
// the tokenizer and the text file when given (regular files within their size caps).
void check_model_inputs(const std::string& checkpoint, const std::string& tokenizer, const std::string& text);

// Tokens of `text` for analysis: run.c's encoding without BOS (windows add it).
std::vector<int> text_tokens(const Tokenizer& tok, const std::string& text);

}  // namespace nqkv::llama
