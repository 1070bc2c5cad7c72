// Built-in English text (written for this project, in the simple style of children's stories the
// tiny models were trained on; not taken from any training set) and token windowing.
#pragma once
#include <string>
#include <vector>

namespace nqkv::llama {

// A few paragraphs for `nqkv kvstats` (KV capture).
const std::string& builtin_kvstats_text();
// Different paragraphs for `nqkv eval` (held-out perplexity).
const std::string& builtin_eval_text();

// Cuts a token sequence (without BOS) into windows that each start with `bos` (llama2.c: 1) and
// hold at most seq_len tokens in all, so every window fits the model's context.
std::vector<std::vector<int>> split_windows(const std::vector<int>& tokens, int seq_len, int bos = 1);

// Reads a UTF-8 text file; InputError if it cannot be read or is empty.
std::string read_text_file(const std::string& path);

}  // namespace nqkv::llama
