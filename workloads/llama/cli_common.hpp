// Helpers shared by the `nqkv kvstats` and `nqkv eval` commands: loading a checkpoint with its
// tokenizer, parsing element types, and checking output paths before long runs.
#pragma once
#include <string>
#include <utility>
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

// The files of a kvstats/eval run, checked before any work: exactly one of --checkpoint and --gguf,
// every input a regular file within its size cap, every non-empty output writable, distinct from
// the others and none of the inputs. check_outputs_against runs the output check again once more
// inputs are known (the default tokenizer beside a checkpoint).
struct RunFiles {
  std::vector<std::string> inputs;
  std::vector<std::pair<std::string, std::string>> outputs;  // (path, flag); empty paths are unused
  void check_outputs_against(const std::vector<std::string>& inputs) const;
};
RunFiles check_run_files(const std::string& checkpoint, const std::string& tokenizer, const std::string& gguf,
                         const std::vector<std::string>& text_files,
                         std::vector<std::pair<std::string, std::string>> outputs);

// "built-in" without text files, else the files comma-separated (the reports' text label).
std::string text_label(const std::vector<std::string>& text_files);

// Tokens of `text` for analysis: run.c's encoding without BOS (windows add it).
std::vector<int> text_tokens(const Tokenizer& tok, const std::string& text);

}  // namespace nqkv::llama
