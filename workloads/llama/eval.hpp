// End-to-end quality of a KV-cache format for `nqkv eval`: perplexity on held-out text (teacher
// forcing, every token after BOS predicted from its window prefix) and agreement with the float
// cache's greedy generation, both teacher-forced (top-1 at every step of the float continuation)
// and free-running (greedy decoding with the format's cache, compared position by position).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "workloads/llama/kv_store.hpp"

namespace nqkv::llama {

struct EvalReference {
  std::vector<std::vector<int>> windows;  // held-out text, BOS-started windows
  std::vector<int> greedy;                // float-cache greedy continuation from BOS
  std::vector<int> text_argmax;           // float-cache argmax after each text position
};

// A content key for a reference: the model's identity (e.g. its file's sha256), the greedy steps
// and the sha256 of every window's tokens. Two references with the same key are the same
// computation, so one can stand for the other.
std::string reference_key(const std::string& model_identity, const std::vector<std::vector<int>>& windows,
                          int greedy_steps);
// `nqkv eval --reference FILE`: the float reference of a long text is one full model pass; jobs that
// evaluate different formats on the same text share it through this file (JSON, written atomically).
// load_reference returns false when the file is absent or holds another key; a file that is not a
// reference is an InputError.
bool load_reference(const std::string& path, const std::string& key, EvalReference& ref);
void save_reference(const std::string& path, const std::string& key, const EvalReference& ref);

struct EvalResult {
  KVFormat format;
  double bits_per_element = 0;
  int64_t predicted = 0;      // tokens scored for perplexity
  double mean_nll = 0, ppl = 0;
  double text_top1_agreement = 0;   // argmax on the held-out text equal to the float cache's
  double greedy_tf_agreement = 0;   // teacher-forced top-1 on the float greedy continuation
  int64_t greedy_tokens = 0;
  int64_t first_divergence = 0;     // free-running: index of the first differing token (= length if none)
  double free_run_match = 0;        // free-running: share of positions holding the same token
  double seconds = 0;
  int64_t golden_attention_calls = 0;  // decode_attention calls made (golden path)
};

using Progress = std::function<void(const std::string& stage, int64_t done, int64_t total)>;

// Float (f32) cache results and the reference sequences the other formats are compared with.
EvalReference make_reference(Model& m, std::vector<std::vector<int>> windows, int greedy_steps);
EvalResult evaluate_format(Model& m, const KVFormat& f, const EvalReference& ref, const Progress& progress = {});

}  // namespace nqkv::llama
