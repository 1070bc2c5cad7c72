#include "workloads/llama/eval.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/sha256.hpp"

namespace nqkv::llama {

namespace {

double nll_of(const std::vector<float>& logits, int target) {
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double s = 0;
  for (float v : logits) s += std::exp(static_cast<double>(v) - mx);
  return -(static_cast<double>(logits[target]) - mx - std::log(s));
}

}  // namespace

EvalReference make_reference(Model& m, std::vector<std::vector<int>> windows, int greedy_steps) {
  EvalReference r;
  r.windows = std::move(windows);
  FloatKVStore kv(m.config());
  const int V = m.config().vocab_size;
  for (const auto& w : r.windows) {
    kv.reset();
    if (w.size() < 2) continue;
    const std::vector<float>& logits = m.forward_window(w.data(), static_cast<int>(w.size()) - 1, 0, kv);
    for (size_t pos = 0; pos + 1 < w.size(); ++pos)
      r.text_argmax.push_back(static_cast<int>(
          std::max_element(logits.begin() + pos * V, logits.begin() + (pos + 1) * V) - (logits.begin() + pos * V)));
  }
  r.greedy = generate_greedy(m, kv, greedy_steps);
  return r;
}

std::string reference_key(const std::string& model_identity, const std::vector<std::vector<int>>& windows,
                          int greedy_steps) {
  std::string tokens;
  for (const auto& w : windows) {
    const uint32_t n = static_cast<uint32_t>(w.size());
    tokens.append(reinterpret_cast<const char*>(&n), sizeof n);
    tokens.append(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(int));
  }
  return "nqkv-eval-reference-1 model " + model_identity + " gen " + std::to_string(greedy_steps) + " windows " +
         std::to_string(windows.size()) + " tokens-sha256 " + io::sha256_hex(tokens);
}

bool load_reference(const std::string& path, const std::string& key, EvalReference& ref) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    if (j.at("key").get<std::string>() != key) return false;
    EvalReference r;
    r.windows = j.at("windows").get<std::vector<std::vector<int>>>();
    r.greedy = j.at("greedy").get<std::vector<int>>();
    r.text_argmax = j.at("text_argmax").get<std::vector<int>>();
    size_t scored = 0;
    for (const auto& w : r.windows) scored += w.size() >= 2 ? w.size() - 1 : 0;
    if (r.text_argmax.size() != scored)
      throw InputError(path + ": --reference holds " + std::to_string(r.text_argmax.size()) + " argmax entries for " +
                       std::to_string(scored) + " scored tokens");
    ref = std::move(r);
    return true;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": not an nqkv eval reference (" + std::string(e.what()) + ")");
  }
}

void save_reference(const std::string& path, const std::string& key, const EvalReference& ref) {
  nlohmann::json j;
  j["key"] = key;
  j["windows"] = ref.windows;
  j["greedy"] = ref.greedy;
  j["text_argmax"] = ref.text_argmax;
  io::write_text_atomically(path, j.dump() + "\n");
}

EvalResult evaluate_format(Model& m, const KVFormat& f, const EvalReference& ref, const Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  EvalResult res;
  res.format = f;
  res.bits_per_element = f.bits_per_element();
  std::unique_ptr<KVStore> kv = make_kv_store(m.config(), f);
  int64_t total = static_cast<int64_t>(ref.text_argmax.size() + 2 * ref.greedy.size()), done = 0;
  auto tick = [&](const char* stage) {
    ++done;
    if (progress && (done % 64 == 0 || done == total)) progress(stage, done, total);
  };
  // Perplexity and top-1 agreement on the held-out text.
  double nll = 0;
  int64_t agree = 0, idx = 0;
  const int V = m.config().vocab_size;
  std::vector<float> row(V);
  for (const auto& w : ref.windows) {
    kv->reset();
    if (w.size() < 2) continue;
    // The whole window in one batched pass (teacher forcing): row pos predicts w[pos + 1].
    const std::vector<float>& logits = m.forward_window(w.data(), static_cast<int>(w.size()) - 1, 0, *kv);
    for (size_t pos = 0; pos + 1 < w.size(); ++pos, ++idx) {
      std::copy_n(logits.begin() + pos * V, V, row.begin());
      nll += nll_of(row, w[pos + 1]);
      agree += argmax(row) == ref.text_argmax[idx];
      tick("text");
    }
  }
  res.predicted = idx;
  res.mean_nll = idx ? nll / idx : 0;
  res.ppl = std::exp(res.mean_nll);
  res.text_top1_agreement = idx ? static_cast<double>(agree) / idx : 0;
  // Teacher-forced agreement on the float continuation: feed BOS, g0, g1, ... and compare the
  // argmax at each step with the next float-greedy token.
  const int64_t G = static_cast<int64_t>(ref.greedy.size());
  res.greedy_tokens = G;
  kv->reset();
  int64_t tf = 0;
  const int bos = m.config().bos_id, eos = m.config().eos_id;
  int token = bos;
  for (int64_t i = 0; i < G; ++i) {
    tf += argmax(m.forward(token, static_cast<int>(i), *kv)) == ref.greedy[i];
    token = ref.greedy[i];
    tick("teacher-forced");
  }
  res.greedy_tf_agreement = G ? static_cast<double>(tf) / G : 0;
  // Free-running greedy generation with this cache.
  kv->reset();
  std::vector<int> gen;
  token = bos;
  for (int64_t i = 0; i < G; ++i) {
    const int next = argmax(m.forward(token, static_cast<int>(i), *kv));
    tick("free-running");
    if (next == bos || next == eos) break;
    gen.push_back(next);
    token = next;
  }
  res.first_divergence = G;
  int64_t same = 0;
  for (int64_t i = 0; i < G; ++i) {
    const bool eq = i < static_cast<int64_t>(gen.size()) && gen[i] == ref.greedy[i];
    same += eq;
    if (!eq && res.first_divergence == G) res.first_divergence = i;
  }
  res.free_run_match = G ? static_cast<double>(same) / G : 0;
  if (auto* g = dynamic_cast<GoldenKVStore*>(kv.get())) res.golden_attention_calls = g->decode_attention_calls();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace nqkv::llama
