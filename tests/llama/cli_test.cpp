// `nqkv kvstats` / `nqkv eval` as a user sees them: bad files give one line and exit status 2
// with no output file left behind; --dump writes a safetensors capture with the model's shapes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "io/safetensors.hpp"
#include "test_util.hpp"

#ifdef NQKV_EXE_PATH
namespace nqkv::llama {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int status = -1;
  std::string err;
};
CliRun run(const std::string& args, const fs::path& dir) {
  const fs::path errf = dir / "stderr.txt";
  const std::string cmd = std::string(NQKV_EXE_PATH) + " " + args + " > /dev/null 2> " + errf.string();
  const int rc = std::system(cmd.c_str());
  CliRun r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::ifstream in(errf);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("nqkv_llama_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(LlamaCli, TruncatedCheckpointExitsTwoWithOneLineAndNoOutput) {
  NQKV_REQUIRE_TINYLLAMAS();
  const fs::path d = temp_dir("trunc");
  {  // the first 100000 bytes of the real checkpoint
    std::ifstream in(test::data_file("stories260K.bin"), std::ios::binary);
    std::string b(100000, '\0');
    in.read(b.data(), b.size());
    std::ofstream(d / "cut.bin", std::ios::binary).write(b.data(), b.size());
  }
  for (const std::string cmd : {"kvstats", "eval"}) {
    const CliRun r = run(cmd + " --checkpoint " + (d / "cut.bin").string() + " --tokenizer " +
                          test::data_file("tok512.bin") + " --csv " + (d / "out.csv").string(),
                      d);
    EXPECT_EQ(r.status, 2) << cmd;
    EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(d / "out.csv"));
  }
  fs::remove_all(d);
}

TEST(LlamaCli, BadFlagsExitTwo) {
  NQKV_REQUIRE_TINYLLAMAS();
  const fs::path d = temp_dir("flags");
  const std::string ck = " --checkpoint " + test::data_file("stories260K.bin");
  for (const std::string& args : {"kvstats" + ck + " --blocks 12", "kvstats" + ck + " --blocks 4",
                                 "eval" + ck + " --kv nf5", "eval" + ck + " --block 24",
                                 "eval" + ck + " --kv int4 --path golden", "kvstats" + ck + " --dump /nonexistent/x.st",
                                 "eval" + ck + " --tokenizer " + test::data_file("stories260K.bin")}) {
    const CliRun r = run(args, d);
    EXPECT_EQ(r.status, 2) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
  fs::remove_all(d);
}

TEST(LlamaCli, KvstatsDumpHoldsTheCapture) {
  NQKV_REQUIRE_TINYLLAMAS();
  const fs::path d = temp_dir("dump");
  std::ofstream(d / "text.txt") << "Lily had a red ball. She liked to play with it in the park.";
  const CliRun r = run("kvstats --checkpoint " + test::data_file("stories260K.bin") + " --text " +
                        (d / "text.txt").string() + " --blocks 8,32 --codebooks nf4 --dump " +
                        (d / "kv.safetensors").string(),
                    d);
  ASSERT_EQ(r.status, 0) << r.err;
  const io::SafeTensors st = io::SafeTensors::load((d / "kv.safetensors").string());
  const io::Tensor& k = st.get("k");
  ASSERT_EQ(k.shape.size(), 4u);
  EXPECT_EQ(k.shape[0], 5);
  EXPECT_EQ(k.shape[2], 4);
  EXPECT_EQ(k.shape[3], 8);
  const int64_t T = k.shape[1];
  EXPECT_GT(T, 10);
  EXPECT_EQ(st.get("v").shape, k.shape);
  EXPECT_EQ(st.get("q").shape, (std::vector<int64_t>{5, T, 8, 8}));
  const std::vector<int32_t> tokens = st.get("tokens").values<int32_t>();
  ASSERT_EQ(static_cast<int64_t>(tokens.size()), T);
  EXPECT_EQ(tokens[0], 1);  // BOS
  EXPECT_EQ(st.metadata.at("n_kv_heads"), "4");
  fs::remove_all(d);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// --reference: the first run computes and writes the float reference, a second run with the same
// model, text and --gen reads it and gives the same CSV (bar the seconds column); a reference for
// another --gen is recomputed, not trusted; a file that is not a reference is exit 2, no output.
TEST(LlamaCli, EvalReferenceIsSharedOnlyForTheSameInputs) {
  NQKV_REQUIRE_TINYLLAMAS();
  const fs::path d = temp_dir("reference");
  std::ofstream(d / "text.txt") << "Lily had a red ball. She liked to play with it in the park. One day it rolled away.";
  const std::string base = "eval --checkpoint " + test::data_file("stories260K.bin") + " --text " +
                           (d / "text.txt").string() + " --kv nf4 --block 32 --no-baselines --reference " +
                           (d / "ref.json").string();
  auto without_seconds = [](std::string csv) {  // drop the last column (wall time) of each row
    std::string out;
    size_t pos = 0;
    while (pos < csv.size()) {
      size_t nl = csv.find('\n', pos);
      if (nl == std::string::npos) nl = csv.size();
      const std::string line = csv.substr(pos, nl - pos);
      out += line.substr(0, line.rfind(',')) + "\n";
      pos = nl + 1;
    }
    return out;
  };
  CliRun r = run(base + " --gen 8 --csv " + (d / "a.csv").string(), d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("eval: float reference ("), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(d / "ref.json"));
  r = run(base + " --gen 8 --csv " + (d / "b.csv").string(), d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("float reference from"), std::string::npos) << r.err;
  EXPECT_EQ(without_seconds(slurp(d / "a.csv")), without_seconds(slurp(d / "b.csv")));
  r = run(base + " --gen 6 --csv " + (d / "c.csv").string(), d);  // another key: recomputed
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("eval: float reference ("), std::string::npos) << r.err;
  std::ofstream(d / "ref.json") << "{\"key\": 3}";
  r = run(base + " --gen 6 --csv " + (d / "d.csv").string(), d);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(d / "d.csv"));
  fs::remove_all(d);
}

}  // namespace
}  // namespace nqkv::llama
#endif
