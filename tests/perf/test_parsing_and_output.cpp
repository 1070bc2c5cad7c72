// Config parsing errors (they must name the field), output formats, and the CLI contract: bad
// input prints one line and exits with status 2, leaving no output file.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/wait.h>

#include "io/error.hpp"
#include "models/perf/hardware.hpp"
#include "workloads/model_zoo.hpp"
#include "models/perf/projection.hpp"

using namespace nqkv::perf;

namespace {
const char* kLlamaLike = R"({
  "model_type": "llama", "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
  "hidden_size": 4096, "intermediate_size": 14336, "vocab_size": 128256, "max_position_embeddings": 8192,
  "torch_dtype": "bfloat16", "tie_word_embeddings": false })";

std::string error_of(const std::string& json) {
  try {
    parse_hf_config(json, "cfg.json");
  } catch (const nqkv::InputError& e) {
    return e.what();
  }
  return "";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

struct CliResult {
  int status;
  std::string out;
};
CliResult run_cli(const std::string& args) {
  const std::string cmd = std::string(NQKV_EXE_PATH) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

std::filesystem::path temp_dir() {
  auto d = std::filesystem::temp_directory_path() / ("nqkv_perf_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}
}  // namespace

TEST(HfConfig, ParsesLlama3) {
  const ModelConfig m = parse_hf_config(kLlamaLike, "cfg.json");
  EXPECT_EQ(m.layers, 32);
  EXPECT_EQ(m.kv_heads, 8);
  EXPECT_EQ(m.head_dim, 128);  // 4096 / 32, as transformers derives it
  EXPECT_EQ(m.weight_bytes, 2);
  // The same parameter count as the zoo entry: the file and the zoo describe the same model.
  EXPECT_EQ(parameter_count(m), parameter_count(zoo_model("llama-3-8b")));
}

TEST(HfConfig, KvHeadsDefaultToHeads) {
  std::string j = replace(kLlamaLike, R"("num_key_value_heads": 8,)", "");
  EXPECT_EQ(parse_hf_config(j, "cfg.json").kv_heads, 32);
}

TEST(HfConfig, MissingFieldNamesIt) {
  const std::string e = error_of(replace(kLlamaLike, R"("hidden_size": 4096,)", ""));
  EXPECT_NE(e.find("missing field 'hidden_size'"), std::string::npos) << e;
  EXPECT_NE(e.find("cfg.json"), std::string::npos) << e;
}

TEST(HfConfig, NegativeSizeNamesIt) {
  const std::string e = error_of(replace(kLlamaLike, R"("intermediate_size": 14336)", R"("intermediate_size": -5)"));
  EXPECT_NE(e.find("'intermediate_size'"), std::string::npos) << e;
  EXPECT_NE(e.find("-5"), std::string::npos) << e;
}

TEST(HfConfig, NonNumericNamesIt) {
  const std::string e = error_of(replace(kLlamaLike, R"("num_hidden_layers": 32)", R"("num_hidden_layers": "many")"));
  EXPECT_NE(e.find("'num_hidden_layers'"), std::string::npos) << e;
  EXPECT_NE(e.find("many"), std::string::npos) << e;
}

TEST(HfConfig, BadJsonAndDtype) {
  EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(replace(kLlamaLike, "bfloat16", "float7")).find("torch_dtype"), std::string::npos);
}

TEST(Zoo, UnknownModelListsKnown) {
  try {
    zoo_model("gpt-5");
    FAIL();
  } catch (const nqkv::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown model 'gpt-5'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("opt-6.7b"), std::string::npos);
  }
}

TEST(HardwareFile, ParsesAndNamesBadFields) {
  auto v = parse_hardware_json(R"({"hardware":[{"name":"x","memory_gib":48,"bandwidth_gb_s":960,"fp16_tflops":181}]})", "hw.json");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_DOUBLE_EQ(v[0].mem_bytes, 48.0 * 1073741824.0);
  EXPECT_DOUBLE_EQ(v[0].mem_bw, 960e9);
  try {
    parse_hardware_json(R"({"name":"x","memory_gib":-1,"bandwidth_gb_s":960,"fp16_tflops":181})", "hw.json");
    FAIL();
  } catch (const nqkv::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'memory_gib'"), std::string::npos) << e.what();
  }
  try {
    parse_hardware_json(R"({"name":"x","memory_gib":8,"fp16_tflops":181})", "hw.json");
    FAIL();
  } catch (const nqkv::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing field 'bandwidth_gb_s'"), std::string::npos) << e.what();
  }
}

TEST(Output, JsonCsvTable) {
  ProjectionInput in;
  in.model = zoo_model("opt-6.7b");
  in.hw = find_hardware("a100-40gb");
  in.formats = {parse_kv_format("nf4", 64, 32, 128), parse_kv_format("kivi2", 64, 32, 128)};
  const Projection p = project(in);
  ASSERT_EQ(p.rows.size(), 3u);  // fp16 baseline added in front
  EXPECT_EQ(p.rows[0].format.label(), "fp16");
  EXPECT_DOUBLE_EQ(p.rows[0].batch_ratio, 1.0);
  const auto j = nlohmann::json::parse(to_json(p).dump());
  EXPECT_EQ(j["formats"][1]["format"], "nf4/b64");
  EXPECT_DOUBLE_EQ(j["formats"][1]["bits_per_element"].get<double>(), 4.25);
  EXPECT_DOUBLE_EQ(j["formats"][0]["kv_bytes_per_token"].get<double>(), 524288.0);
  EXPECT_TRUE(j.contains("no_kv_cache"));
  const std::string csv = to_csv(p);
  std::istringstream ss(csv);
  std::string line;
  int lines = 0;
  std::getline(ss, line);
  EXPECT_EQ(line.rfind("model,hardware,context,gen,format,", 0), 0u);
  const size_t columns = std::count(line.begin(), line.end(), ',');
  while (std::getline(ss, line)) {
    ++lines;
    EXPECT_EQ(static_cast<size_t>(std::count(line.begin(), line.end(), ',')), columns) << line;
  }
  EXPECT_EQ(lines, 4);  // fp16, nf4, kivi2, none
  const std::string table = render_table(p);
  EXPECT_NE(table.find("nf4/b64"), std::string::npos);
  EXPECT_NE(table.find("x fp16"), std::string::npos);
}

TEST(Cli, DoneWhenCommand) {
  const auto r = run_cli("project --model opt-6.7b --gpu a100-40gb --kv nf4 --block 64 --context 2048");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("nf4/b64"), std::string::npos);
  EXPECT_NE(r.out.find("fp16"), std::string::npos);
}

TEST(Cli, BadInputExitsTwoWithOneLineAndNoFile) {
  const auto dir = temp_dir();
  const auto out = dir / "out.json";
  std::filesystem::remove(out);
  for (const std::string& args :
       {"project --model opt-6.7b --gpu a100-40gb --kv nf5 -o " + out.string(),
        "project --model no-such-model -o " + out.string(),
        "project --model opt-6.7b --gpu tpu-v9 -o " + out.string(),
        "project --model opt-6.7b --context 100 --gen 200 -o " + out.string()}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_EQ(r.out.rfind("nqkv: error: ", 0), 0u) << r.out;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
  }
  // A config.json with a non-numeric field, given on the command line.
  const auto cfg = dir / "config.json";
  std::ofstream(cfg) << replace(kLlamaLike, R"("vocab_size": 128256)", R"("vocab_size": "big")");
  const auto r = run_cli("project --model " + cfg.string() + " --json -o " + out.string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("'vocab_size'"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));
  std::filesystem::remove_all(dir);
}

TEST(Cli, WritesJsonFile) {
  const auto dir = temp_dir();
  const auto out = dir / "p.json";
  const auto r = run_cli("project --model llama-3-8b --gpu h100-80gb --kv nf4,kivi2,int8 --context 8192 --json -o " +
                         out.string());
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream in(out);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["formats"].size(), 4u);
  EXPECT_EQ(j["model"]["kv_heads"], 8);
  std::filesystem::remove_all(dir);
}
