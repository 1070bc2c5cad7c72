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

// Numbers in config.json must be positive integers; anything else is a user error naming the field.
int64_t positive_int(const nlohmann::json& j, const char* field, const std::string& origin, bool required,
                     int64_t fallback) {
  if (!j.contains(field) || j.at(field).is_null()) {
    if (required) throw InputError(origin + ": missing field '" + field + "'");
    return fallback;
  }
  const auto& v = j.at(field);
  if (v.is_number_integer() || v.is_number_unsigned()) {
    const int64_t x = v.get<int64_t>();
    if (x <= 0)
      throw InputError(origin + ": field '" + field + "' must be a positive integer, got " + std::to_string(x));
    return x;
  }
  if (v.is_number_float()) {
    const double x = v.get<double>();
    if (x <= 0 || std::floor(x) != x)
      throw InputError(origin + ": field '" + field + "' must be a positive integer, got " + v.dump());
    return static_cast<int64_t>(x);
  }
  throw InputError(origin + ": field '" + field + "' must be a positive integer, got " + v.dump());
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
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(origin + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw InputError(origin + ": expected a JSON object");
  ModelConfig m;
  m.source = origin;
  const std::string type = j.value("model_type", std::string());
  m.arch = type == "opt" ? Arch::OPT : Arch::Llama;
  m.name = j.contains("_name_or_path") && j["_name_or_path"].is_string() ? j["_name_or_path"].get<std::string>() : origin;
  m.layers = positive_int(j, "num_hidden_layers", origin, true, 0);
  m.heads = positive_int(j, "num_attention_heads", origin, true, 0);
  m.hidden = positive_int(j, "hidden_size", origin, true, 0);
  m.intermediate = m.arch == Arch::OPT ? positive_int(j, "ffn_dim", origin, true, 0)
                                       : positive_int(j, "intermediate_size", origin, true, 0);
  m.vocab = positive_int(j, "vocab_size", origin, true, 0);
  m.max_positions = positive_int(j, "max_position_embeddings", origin, true, 0);
  m.kv_heads = positive_int(j, "num_key_value_heads", origin, false, m.heads);
  if (m.heads % m.kv_heads != 0)
    throw InputError(origin + ": field 'num_key_value_heads' (" + std::to_string(m.kv_heads) +
                     ") must divide num_attention_heads (" + std::to_string(m.heads) + ")");
  if (!j.contains("head_dim") && m.hidden % m.heads != 0)
    throw InputError(origin + ": field 'hidden_size' is not a multiple of num_attention_heads and 'head_dim' is missing");
  m.head_dim = positive_int(j, "head_dim", origin, false, m.hidden / m.heads);
  if (j.contains("torch_dtype") && !j["torch_dtype"].is_null()) {
    if (!j["torch_dtype"].is_string())
      throw InputError(origin + ": field 'torch_dtype' must be a string, got " + j["torch_dtype"].dump());
    m.dtype = j["torch_dtype"].get<std::string>();
  }
  m.weight_bytes = dtype_bytes(m.dtype, origin + ": field 'torch_dtype'");
  if (j.contains("tie_word_embeddings")) {
    if (!j["tie_word_embeddings"].is_boolean())
      throw InputError(origin + ": field 'tie_word_embeddings' must be true or false");
    m.tied_embeddings = j["tie_word_embeddings"].get<bool>();
  } else {
    m.tied_embeddings = true;  // PretrainedConfig's default
  }
  m.qkv_bias = type == "qwen2" || j.value("attention_bias", false);
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
