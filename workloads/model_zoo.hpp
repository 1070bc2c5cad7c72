// Transformer decoder configurations: the built-in zoo (exact published configs) and any
// Hugging Face config.json. Every command that takes --model (project, run, sim, dse) resolves it
// here; the performance model reads the shapes and parameter counts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nqkv::workloads {

// OPT uses fc1/fc2 with ReLU and biases everywhere, LayerNorm and learned positions; the
// Llama family (Llama, Mistral, Qwen2) uses gate/up/down (SwiGLU), RMSNorm and RoPE.
enum class Arch { OPT, Llama };

struct ModelConfig {
  std::string name;
  std::string source;  // where the numbers come from (HF repo config.json or a file path)
  Arch arch = Arch::Llama;
  int64_t layers = 0, heads = 0, kv_heads = 0, hidden = 0, head_dim = 0, intermediate = 0, vocab = 0,
          max_positions = 0;
  std::string dtype = "float16";  // torch_dtype of the published weights
  double weight_bytes = 2.0;      // bytes per parameter as served (overridable: 1 for int8, 0.5 for 4-bit)
  bool tied_embeddings = false;
  bool qkv_bias = false;  // Qwen2 has biases on q/k/v only; OPT has biases on every linear
};

// Parameter counts by role; the time model needs them apart (the input embedding table is not
// streamed during decode, the LM head is).
struct ParamCounts {
  int64_t embedding = 0;   // token embedding table
  int64_t positions = 0;   // OPT's learned positional table (max_positions + 2 rows)
  int64_t per_layer = 0;   // all weights and biases of one decoder layer
  int64_t matmul_per_layer = 0;  // weights that take part in a matmul (FLOPs = 2 x this per token)
  int64_t final_norm = 0;
  int64_t lm_head = 0;     // 0 when tied to the embedding
  int64_t layers = 0;
  int64_t total() const { return embedding + positions + per_layer * layers + final_norm + lm_head; }
};

ParamCounts parameter_counts(const ModelConfig& m);
int64_t parameter_count(const ModelConfig& m);

// Throws nqkv::InputError listing the known names.
const ModelConfig& zoo_model(const std::string& name);
const std::vector<ModelConfig>& model_zoo();

// Reads a Hugging Face config.json. Required: num_hidden_layers, num_attention_heads, hidden_size,
// intermediate_size (ffn_dim for OPT), vocab_size, max_position_embeddings. Optional with the
// defaults transformers itself applies: num_key_value_heads (= heads), head_dim (= hidden/heads),
// torch_dtype (float16), tie_word_embeddings (true). Errors name the file and the field.
// Ranges (wide enough for every published model, narrow enough that every parameter count fits
// in int64): layers 1..4096, heads and kv heads 1..65536, hidden_size 1..2^20, intermediate
// 1..2^22, vocab 1..2^24, max_position_embeddings 1..2^30, head_dim 1..65536 with
// heads x head_dim <= 2^20.
inline constexpr int64_t kMaxLayers = 4096, kMaxHeads = 65536, kMaxHidden = int64_t{1} << 20,
                         kMaxIntermediate = int64_t{1} << 22, kMaxVocab = int64_t{1} << 24,
                         kMaxPositions = int64_t{1} << 30, kMaxHeadDim = 65536;
ModelConfig load_hf_config(const std::string& path);
ModelConfig parse_hf_config(const std::string& json_text, const std::string& origin);

// --model accepts a zoo name or a path to a config.json.
ModelConfig resolve_model(const std::string& name_or_path);

// Bytes per parameter of a torch_dtype string; throws InputError for unknown types.
double dtype_bytes(const std::string& dtype, const std::string& field);

}  // namespace nqkv::workloads

// The performance model (models/perf) uses these names unqualified.
namespace nqkv::perf {
using namespace nqkv::workloads;
}  // namespace nqkv::perf
