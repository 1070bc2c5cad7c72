#include "workloads/model_zoo.hpp"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/error.hpp"

namespace nqkv::workloads {
namespace {

ModelConfig opt(const char* name, const char* repo, int64_t layers, int64_t heads, int64_t hidden, int64_t ffn) {
  ModelConfig m;
  m.name = name;
  m.source = std::string("https://huggingface.co/") + repo + "/blob/main/config.json";
  m.arch = Arch::OPT;
  m.layers = layers;
  m.heads = heads;
  m.kv_heads = heads;
  m.hidden = hidden;
  m.head_dim = hidden / heads;
  m.intermediate = ffn;
  m.vocab = 50272;
  m.max_positions = 2048;
  m.dtype = "float16";
  m.weight_bytes = 2;
  m.tied_embeddings = true;
  return m;
}

ModelConfig llama(const char* name, const char* repo, int64_t layers, int64_t heads, int64_t kv_heads, int64_t hidden,
                  int64_t inter, int64_t vocab, int64_t max_pos, const char* dtype) {
  ModelConfig m;
  m.name = name;
  m.source = std::string("https://huggingface.co/") + repo + "/blob/main/config.json";
  m.arch = Arch::Llama;
  m.layers = layers;
  m.heads = heads;
  m.kv_heads = kv_heads;
  m.hidden = hidden;
  m.head_dim = hidden / heads;
  m.intermediate = inter;
  m.vocab = vocab;
  m.max_positions = max_pos;
  m.dtype = dtype;
  m.weight_bytes = 2;
  m.tied_embeddings = false;
  return m;
}

std::vector<ModelConfig> build_zoo() {
  std::vector<ModelConfig> z;
  // OPT (Zhang et al. 2022, Table 1) as published in facebook/opt-*/config.json: vocab 50272,
  // max_position_embeddings 2048, torch_dtype float16, tied LM head. opt-350m is left out: its
  // word_embed_proj_dim 512 projection makes it an odd one out and the NQKV paper does not use it.
  z.push_back(opt("opt-125m", "facebook/opt-125m", 12, 12, 768, 3072));
  z.push_back(opt("opt-1.3b", "facebook/opt-1.3b", 24, 32, 2048, 8192));
  z.push_back(opt("opt-2.7b", "facebook/opt-2.7b", 32, 32, 2560, 10240));
  z.push_back(opt("opt-6.7b", "facebook/opt-6.7b", 32, 32, 4096, 16384));
  z.push_back(opt("opt-13b", "facebook/opt-13b", 40, 40, 5120, 20480));
  z.push_back(opt("opt-30b", "facebook/opt-30b", 48, 56, 7168, 28672));
  z.push_back(opt("opt-66b", "facebook/opt-66b", 64, 72, 9216, 36864));
  // Llama 2 (meta-llama/Llama-2-*-hf config.json): vocab 32000, max_position_embeddings 4096, float16.
  z.push_back(llama("llama-2-7b", "meta-llama/Llama-2-7b-hf", 32, 32, 32, 4096, 11008, 32000, 4096, "float16"));
  z.push_back(llama("llama-2-13b", "meta-llama/Llama-2-13b-hf", 40, 40, 40, 5120, 13824, 32000, 4096, "float16"));
  z.push_back(llama("llama-2-70b", "meta-llama/Llama-2-70b-hf", 80, 64, 8, 8192, 28672, 32000, 4096, "float16"));
  // Llama 3 (meta-llama/Meta-Llama-3-*/config.json): vocab 128256, max_position_embeddings 8192, bfloat16.
  z.push_back(llama("llama-3-8b", "meta-llama/Meta-Llama-3-8B", 32, 32, 8, 4096, 14336, 128256, 8192, "bfloat16"));
  z.push_back(llama("llama-3-70b", "meta-llama/Meta-Llama-3-70B", 80, 64, 8, 8192, 28672, 128256, 8192, "bfloat16"));
  // Mistral-7B-v0.1 config.json: max_position_embeddings 32768 (its sliding_window of 4096 is not
  // modeled: capacity figures assume every token stays in the cache, as vLLM allocates it).
  z.push_back(llama("mistral-7b", "mistralai/Mistral-7B-v0.1", 32, 32, 8, 4096, 14336, 32000, 32768, "bfloat16"));
  // Qwen2.5 (Qwen/Qwen2.5-*/config.json): vocab 152064, max_position_embeddings 131072, bfloat16,
  // untied LM head, biases on q/k/v.
  z.push_back(llama("qwen2.5-7b", "Qwen/Qwen2.5-7B", 28, 28, 4, 3584, 18944, 152064, 131072, "bfloat16"));
  z.push_back(llama("qwen2.5-72b", "Qwen/Qwen2.5-72B", 80, 64, 8, 8192, 29568, 152064, 131072, "bfloat16"));
  for (auto& m : z)
    if (m.name.rfind("qwen", 0) == 0) m.qkv_bias = true;
  return z;
}

// Numbers in config.json must be integers in the field's range (model_zoo.hpp lists them);
// anything else is a user error naming the field. A float is accepted only when it is integral
// and in range (it is never cast out of range).
int64_t positive_int(const nlohmann::json& j, const char* field, const std::string& origin, bool required,
                     int64_t fallback, int64_t max) {
  if (!j.contains(field) || j.at(field).is_null()) {
    if (required) throw InputError(origin + ": missing field '" + field + "'");
    return fallback;
  }
  const auto& v = j.at(field);
  const std::string what = origin + ": field '" + field + "'";
  const std::string range = what + " must be an integer in 1.." + std::to_string(max) + ", got " + v.dump();
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() < 1 || v.get<uint64_t>() > static_cast<uint64_t>(max)) throw InputError(range);
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    if (x < 1 || x > max) throw InputError(range);
    return x;
  }
  if (v.is_number_float()) {
    const double x = v.get<double>();
    if (!(x >= 1) || !(x <= static_cast<double>(max)) || std::floor(x) != x) throw InputError(range);
    return static_cast<int64_t>(x);
  }
  throw InputError(range);
}

// A field that must be a string (or absent/null: `fallback`).
std::string string_field(const nlohmann::json& j, const char* field, const std::string& origin, const std::string& fallback) {
  if (!j.contains(field) || j.at(field).is_null()) return fallback;
  if (!j.at(field).is_string())
    throw InputError(origin + ": field '" + field + "' must be a string, got " + j.at(field).dump());
  return j.at(field).get<std::string>();
}

// A field that must be true or false (or absent/null: `fallback`).
bool bool_field(const nlohmann::json& j, const char* field, const std::string& origin, bool fallback) {
  if (!j.contains(field) || j.at(field).is_null()) return fallback;
  if (!j.at(field).is_boolean()) throw InputError(origin + ": field '" + field + "' must be true or false");
  return j.at(field).get<bool>();
}

}  // namespace

double dtype_bytes(const std::string& dtype, const std::string& field) {
  if (dtype == "float16" || dtype == "bfloat16" || dtype == "fp16" || dtype == "bf16") return 2;
  if (dtype == "float32" || dtype == "fp32") return 4;
  if (dtype == "float8" || dtype == "fp8" || dtype == "int8") return 1;
  throw InputError(field + ": unknown dtype '" + dtype + "' (expected float16, bfloat16 or float32)");
}

ParamCounts parameter_counts(const ModelConfig& m) {
  ParamCounts p;
  const int64_t h = m.hidden, qd = m.heads * m.head_dim, kvd = m.kv_heads * m.head_dim, I = m.intermediate;
  p.embedding = m.vocab * h;
  p.lm_head = m.tied_embeddings ? 0 : m.vocab * h;
  p.layers = m.layers;
  const int64_t attn = h * qd + 2 * h * kvd + qd * h;
  if (m.arch == Arch::OPT) {
    // HF OPTLearnedPositionalEmbedding keeps an offset of 2 rows.
    p.positions = (m.max_positions + 2) * h;
    const int64_t mlp = 2 * h * I;
    p.matmul_per_layer = attn + mlp;
    const int64_t biases = qd + 2 * kvd + h + I + h;
    const int64_t norms = 2 * 2 * h;  // two LayerNorms, weight and bias
    p.per_layer = attn + mlp + biases + norms;
    p.final_norm = 2 * h;
  } else {
    const int64_t mlp = 3 * h * I;
    p.matmul_per_layer = attn + mlp;
    const int64_t biases = m.qkv_bias ? qd + 2 * kvd : 0;
    p.per_layer = attn + mlp + biases + 2 * h;  // two RMSNorm weights
    p.final_norm = h;
  }
  return p;
}

int64_t parameter_count(const ModelConfig& m) { return parameter_counts(m).total(); }

const std::vector<ModelConfig>& model_zoo() {
  static const std::vector<ModelConfig> z = build_zoo();
  return z;
}

const ModelConfig& zoo_model(const std::string& name) {
  std::string known;
  for (const auto& m : model_zoo()) {
    if (m.name == name) return m;
    known += (known.empty() ? "" : ", ") + m.name;
  }
  throw InputError("unknown model '" + name + "' (known: " + known + "; or give a path to a config.json)");
}

ModelConfig parse_hf_config(const std::string& text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    throw InputError(origin + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw InputError(origin + ": expected a JSON object");
  ModelConfig m;
  m.source = origin;
  const std::string type = string_field(j, "model_type", origin, "");
  m.arch = type == "opt" ? Arch::OPT : Arch::Llama;
  m.name = j.contains("_name_or_path") && j["_name_or_path"].is_string() ? j["_name_or_path"].get<std::string>() : origin;
  m.layers = positive_int(j, "num_hidden_layers", origin, true, 0, kMaxLayers);
  m.heads = positive_int(j, "num_attention_heads", origin, true, 0, kMaxHeads);
  m.hidden = positive_int(j, "hidden_size", origin, true, 0, kMaxHidden);
  m.intermediate = m.arch == Arch::OPT ? positive_int(j, "ffn_dim", origin, true, 0, kMaxIntermediate)
                                       : positive_int(j, "intermediate_size", origin, true, 0, kMaxIntermediate);
  m.vocab = positive_int(j, "vocab_size", origin, true, 0, kMaxVocab);
  m.max_positions = positive_int(j, "max_position_embeddings", origin, true, 0, kMaxPositions);
  m.kv_heads = positive_int(j, "num_key_value_heads", origin, false, m.heads, kMaxHeads);
  if (m.heads % m.kv_heads != 0)
    throw InputError(origin + ": field 'num_key_value_heads' (" + std::to_string(m.kv_heads) +
                     ") must divide num_attention_heads (" + std::to_string(m.heads) + ")");
  const bool has_head_dim = j.contains("head_dim") && !j["head_dim"].is_null();
  if (!has_head_dim && m.hidden % m.heads != 0)
    throw InputError(origin + ": field 'hidden_size' is not a multiple of num_attention_heads and 'head_dim' is missing");
  m.head_dim = positive_int(j, "head_dim", origin, false, m.hidden / m.heads, kMaxHeadDim);
  if (m.heads * m.head_dim > kMaxHidden)
    throw InputError(origin + ": num_attention_heads x head_dim (" + std::to_string(m.heads * m.head_dim) +
                     ") exceeds " + std::to_string(kMaxHidden));
  m.dtype = string_field(j, "torch_dtype", origin, m.dtype);
  m.weight_bytes = dtype_bytes(m.dtype, origin + ": field 'torch_dtype'");
  m.tied_embeddings = bool_field(j, "tie_word_embeddings", origin, true);  // PretrainedConfig's default
  m.qkv_bias = type == "qwen2" || bool_field(j, "attention_bias", origin, false);
  return m;
}

ModelConfig load_hf_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read model config '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_hf_config(ss.str(), path);
}

ModelConfig resolve_model(const std::string& name_or_path) {
  for (const auto& m : model_zoo())
    if (m.name == name_or_path) return m;
  const bool json_suffix = name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".json";
  if (name_or_path.find('/') != std::string::npos || json_suffix)
    return load_hf_config(name_or_path);
  return zoo_model(name_or_path);  // throws with the list of names
}

}  // namespace nqkv::workloads
