// GGUF llama models (workloads/gguf): a seeded random tiny llama written as a GGUF file checks
// the loader (layout, tied classifier, metadata), the batched forward pass against the
// token-at-a-time one and causality; a tiny hand-made BPE vocabulary checks the tokenizer on
// tokenizations derived by hand. The SmolLM2 tests run when scripts/setup.sh fetched the model
// (else they skip with the reason).
#include <gtest/gtest.h>

#include "io/sanitizers.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <random>

#include "io/error.hpp"
#include "io/gguf.hpp"
#include "tests/llama/gguf_builder.hpp"
#include "tests/llama/gguf_fixtures.hpp"
#include "workloads/gguf/bpe_tokenizer.hpp"
#include "workloads/gguf/gguf_model.hpp"
#include "workloads/llama/kv_store.hpp"
#include "workloads/llama/model.hpp"

namespace {

using nqkv::InputError;
using nqkv::test::GgufBuilder;
using nqkv::test::add_tokenizer;
using nqkv::test::byte_alphabet;
using nqkv::test::Tiny;
using nqkv::test::tiny_model;
namespace g = nqkv::io::gguf;
using namespace nqkv;

gguf::BpeTokenizer tiny_tokenizer(const std::string& pre) {
  GgufBuilder b;
  add_tokenizer(b, pre);
  return gguf::BpeTokenizer::from_gguf(g::File::parse(b.bytes(), "tok.gguf"));
}

TEST(GgufTokenizer, HandDerivedTokenizations) {
  const gguf::BpeTokenizer t = tiny_tokenizer("smollm");
  const int base = 3;  // ids of the byte alphabet start after the 3 special tokens
  auto id = [&](const std::string& s) { return t.find(s); };
  // "hello world": pieces "hello", " world"; "hello" merges h e -> he, l l -> ll, he ll -> hell,
  // hell o -> hello; " world" = Ġ w o r l d: Ġ w -> Ġw, o r -> or, Ġw or -> Ġwor; l d has no merge.
  EXPECT_EQ(t.encode("hello world"), (std::vector<int>{id("hello"), id("Ġwor"), id("l"), id("d")}));
  EXPECT_EQ(id("l"), base + 'l');
  // Special tokens are matched whole only when parse_special is set.
  EXPECT_EQ(t.encode("<|im_start|>he"), (std::vector<int>{1, id("he")}));
  EXPECT_EQ(t.encode("<|im_start|>", false).size(), 12u);  // 12 bytes, no merges among them
  // A newline byte (0x0a) is the byte alphabet's U+010A.
  EXPECT_EQ(t.encode("\n"), (std::vector<int>{id("Ċ")}));
  // smollm splits every digit; gpt2 keeps " 123" as one piece.
  EXPECT_EQ(t.pre_tokenize("a 123"), (std::vector<std::string>{"a", " ", "1", "2", "3"}));
  EXPECT_EQ(tiny_tokenizer("gpt2").pre_tokenize("a 123"), (std::vector<std::string>{"a", " 123"}));
  EXPECT_EQ(t.pre_tokenize("it's  ok\n"), (std::vector<std::string>{"it", "'s", " ", " ok", "\n"}));
  // Round trip of arbitrary UTF-8 through bytes.
  for (const std::string s : {"hello world", "naïve café — 日本語 🎉", "  \t\n x", "<|im_end|>x"})
    EXPECT_EQ(t.decode(t.encode(s)), s);
  EXPECT_THROW(t.encode(std::string("bad \xff utf8")), InputError);
  EXPECT_THROW(t.encode(std::string("\xc0\x80")), InputError);  // overlong
}

TEST(GgufTokenizer, BadMetadataIsAnInputError) {
  auto err = [](const std::function<void(GgufBuilder&)>& edit) -> std::string {
    GgufBuilder b;
    edit(b);
    try {
      gguf::BpeTokenizer::from_gguf(g::File::parse(b.bytes(), "tok.gguf"));
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(err([](GgufBuilder&) {}).find("missing"), std::string::npos);
  EXPECT_NE(err([](GgufBuilder& b) { b.str("tokenizer.ggml.model", "llama"); }).find("only byte-level"), std::string::npos);
  EXPECT_NE(err([](GgufBuilder& b) {
              b.str("tokenizer.ggml.model", "gpt2");
              b.str("tokenizer.ggml.pre", "qwen2");
            }).find("not supported"),
            std::string::npos);
  EXPECT_NE(err([](GgufBuilder& b) {
              b.str("tokenizer.ggml.model", "gpt2");
              b.str_array("tokenizer.ggml.tokens", {"a", "b"});
              b.i32_array("tokenizer.ggml.token_type", {1});
            }).find("token_type"),
            std::string::npos);
  EXPECT_NE(err([](GgufBuilder& b) {
              b.str("tokenizer.ggml.model", "gpt2");
              b.str_array("tokenizer.ggml.tokens", {"a", "b"});
              b.str_array("tokenizer.ggml.merges", {"ab"});
            }).find("merge 0"),
            std::string::npos);
  EXPECT_NE(err([](GgufBuilder& b) {
              b.str("tokenizer.ggml.model", "gpt2");
              b.str_array("tokenizer.ggml.tokens", {"a", "b"});
              b.str_array("tokenizer.ggml.merges", {});
              b.u32("tokenizer.ggml.bos_token_id", 2);
            }).find("not a token id"),
            std::string::npos);
}

TEST(GgufModel, LoaderReadsMetadataAndLayout) {
  const Tiny t = tiny_model(7, true);
  const g::File f = g::File::parse(t.bytes, "tiny.gguf");
  const llama::Checkpoint ck = gguf::checkpoint_from_gguf(f);
  const llama::Config& c = ck.config;
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_size(), 16);
  EXPECT_EQ(c.kv_dim(), 32);
  EXPECT_EQ(c.vocab_size, t.vocab);
  EXPECT_EQ(c.seq_len, 64);
  EXPECT_EQ(c.rope_theta, 100000.0f);
  EXPECT_EQ(c.norm_eps, 1e-5f);
  EXPECT_TRUE(c.shared_classifier);
  EXPECT_EQ(ck.weights.classifier(), ck.weights.token_embedding.data());
  // Row r of token_embd is the r-th run of dim values in the file (ne = [dim, vocab]).
  const std::vector<float> emb = f.dequantize(f.tensor("token_embd.weight"));
  EXPECT_EQ(std::memcmp(emb.data(), ck.weights.token_embedding.data(), emb.size() * 4), 0);
  const llama::Checkpoint untied = gguf::checkpoint_from_gguf(g::File::parse(tiny_model(7, false).bytes, "u.gguf"));
  EXPECT_FALSE(untied.config.shared_classifier);
  EXPECT_NE(untied.weights.classifier(), untied.weights.token_embedding.data());
}

TEST(GgufModel, BatchedForwardMatchesTokenAtATimeAndIsCausal) {
  const uint64_t seed = 20261206;
  const Tiny t = tiny_model(seed, true);
  llama::Checkpoint ck = gguf::checkpoint_from_gguf(g::File::parse(t.bytes, "tiny.gguf"));
  const llama::Config c = ck.config;
  llama::Model m(std::move(ck));
  std::mt19937_64 rng(seed);
  std::vector<int> toks(40);
  for (int& x : toks) x = static_cast<int>(rng() % c.vocab_size);
  llama::FloatKVStore kv(c);
  const std::vector<float> batched = m.forward_window(toks.data(), 40, 0, kv);
  const std::vector<float> kb = kv.keys(1);
  kv.reset();
  std::vector<float> single;
  for (int p = 0; p < 40; ++p) {
    const std::vector<float>& l = m.forward(toks[p], p, kv);
    single.insert(single.end(), l.begin(), l.end());
  }
  // GEMM and matrix-vector products round differently: a tolerance, not equality. A wrong
  // mask, RoPE position or KV order would give differences of order 1.
  double max_abs = 0, max_diff = 0;
  for (size_t i = 0; i < single.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(double(single[i])));
    max_diff = std::max(max_diff, std::fabs(double(single[i]) - batched[i]));
  }
  EXPECT_LT(max_diff / max_abs, 1e-5) << "seed " << seed;
  double kdiff = 0;
  for (size_t i = 0; i < kb.size(); ++i) kdiff = std::max(kdiff, std::fabs(double(kb[i]) - kv.keys(1)[i]));
  EXPECT_LT(kdiff, 1e-4) << "seed " << seed;
  // Causality, bit for bit: changing tokens after position p leaves rows 0..p unchanged (same T,
  // so the GEMMs sum every row in the same order).
  std::vector<int> other = toks;
  for (int p = 25; p < 40; ++p) other[p] = (other[p] + 1 + p) % c.vocab_size;
  kv.reset();
  const std::vector<float> b2 = m.forward_window(other.data(), 40, 0, kv);
  const size_t keep = size_t(25) * c.vocab_size;
  EXPECT_EQ(std::memcmp(b2.data(), batched.data(), keep * 4), 0) << "seed " << seed;
  EXPECT_NE(std::memcmp(b2.data() + keep, batched.data() + keep, c.vocab_size * 4), 0);
  // A window continuing a stored prefix (pos > 0) sees the prefix: [0, 20) then [20, 40).
  kv.reset();
  m.forward_window(toks.data(), 20, 0, kv);
  const std::vector<float> tail = m.forward_window(toks.data() + 20, 20, 20, kv);
  double tdiff = 0;
  for (size_t i = 0; i < tail.size(); ++i)
    tdiff = std::max(tdiff, std::fabs(double(tail[i]) - single[size_t(20) * c.vocab_size + i]));
  EXPECT_LT(tdiff / max_abs, 1e-5) << "seed " << seed;
}

TEST(GgufModel, BadModelMetadataIsAnInputError) {
  auto err = [](const std::vector<uint8_t>& b) -> std::string {
    try {
      gguf::checkpoint_from_gguf(g::File::parse(b, "m.gguf"));
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  GgufBuilder b;
  b.str("general.architecture", "gpt2");
  EXPECT_NE(err(b.bytes()).find("only 'llama'"), std::string::npos);
  // A tensor of the wrong shape: the tiny model with attn_k declared [64, 16].
  Tiny t = tiny_model(1, true);
  std::vector<uint8_t> bad = t.bytes;
  const std::string name = "blk.0.attn_k.weight";
  for (size_t i = 0; i + name.size() < bad.size(); ++i)
    if (std::memcmp(bad.data() + i, name.data(), name.size()) == 0) {
      const uint64_t sixteen = 16;
      std::memcpy(bad.data() + i + name.size() + 4 + 8, &sixteen, 8);
      break;
    }
  EXPECT_NE(err(bad).find("shape"), std::string::npos);
}

// ---- SmolLM2-135M-Instruct (fetched by scripts/setup.sh) ----

#define NQKV_REQUIRE_SMOLLM2(path)                                                                         \
  const std::string path = gguf::default_smollm2_path();                                                   \
  if (path.empty())                                                                                        \
  GTEST_SKIP() << "SmolLM2-135M-Instruct.Q4_1.gguf not found (run scripts/setup.sh, or set "               \
                  "NQKV_SMOLLM2_GGUF or NQKV_DATA_DIR)"

// The 135M-parameter forward pass at -O1 under ASan/UBSan (scripts/sanitize.sh) would take minutes of
// CI time; there the tiny-model tests above and the fuzz harness cover the same code.
#define NQKV_SKIP_UNDER_SANITIZERS() \
  if (::nqkv::io::kAddressSanitizer)  \
  GTEST_SKIP() << "SmolLM2 forward passes are skipped in sanitizer builds (CI time)"

TEST(SmolLM2, ConfigAndGreedyChatAnswer) {
  NQKV_REQUIRE_SMOLLM2(path);
  NQKV_SKIP_UNDER_SANITIZERS();
  gguf::GgufModel g = gguf::load_gguf_model(path);
  const llama::Config c = g.checkpoint.config;
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_EQ(c.dim, 576);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.head_size(), 64);
  EXPECT_EQ(c.hidden_dim, 1536);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.rope_theta, 100000.0f);
  EXPECT_TRUE(c.shared_classifier);
  EXPECT_EQ(g.tokenizer.pre(), "smollm");
  const std::vector<int> prompt =
      g.tokenizer.encode("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n");
  // Recorded from this implementation and checked against transformers' tokenizer (see
  // SmolLM2.TokenizationsMatchTransformers for the independent route).
  EXPECT_EQ(prompt, (std::vector<int>{1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198}));
  llama::Model m(std::move(g.checkpoint));
  llama::FloatKVStore kv(c);
  const std::vector<int> out = llama::generate_from_prompt(m, kv, prompt, 12);
  EXPECT_EQ(g.tokenizer.decode(out), "The capital of France is Paris.");
}

// Known tokenizations from an independent route: transformers 5.x AutoTokenizer.from_pretrained(
// dir, gguf_file=...) (its GGUF converter builds a Hugging Face fast tokenizer from the same
// metadata; scripts/gguf_logits_check.py's environment), tok.encode(text, add_special_tokens=False).
TEST(SmolLM2, TokenizationsMatchTransformers) {
  NQKV_REQUIRE_SMOLLM2(path);
  const gguf::BpeTokenizer t = gguf::BpeTokenizer::from_gguf(io::gguf::File::load(path));
  const std::vector<std::pair<std::string, std::vector<int>>> cases = {
      {"Hello world", {19556, 905}},
      {"The quick brown fox jumps over the lazy dog.", {504, 2365, 6354, 16438, 27003, 690, 260, 23790, 2767, 30}},
      {"  leading spaces and\ttabs\n\nnew lines", {216, 2899, 5600, 284, 197, 100, 7366, 198, 198, 2241, 3204}},
      {"numbers 12345 and 3.14", {28707, 216, 33, 34, 35, 36, 37, 284, 216, 35, 30, 33, 36}},
      {"Ünïcödé naïve café — “quotes” 日本語",
       {142, 246, 94, 25972, 83, 7466, 84, 2756, 15486, 46494, 37366, 1841, 619, 385, 2346, 573, 17097, 241, 115, 40993,
        179, 120, 248}},
      {"don't won't I'm we've they'll", {12420, 982, 3763, 982, 339, 5248, 392, 3543, 502, 3060}},
      {"<|im_start|>user\nHi<|im_end|>\n", {1, 4093, 198, 26843, 2, 198}},
  };
  for (const auto& [text, ids] : cases) {
    EXPECT_EQ(t.encode(text), ids) << text;
    EXPECT_EQ(t.decode(ids), text);
  }
  // encode(decode(ids)) on prose round trips, and decode(encode(text)) gives the text back.
  const std::string prose = "Everyone is permitted to copy and distribute verbatim copies of this license document.";
  const std::vector<int> ids = t.encode(prose);
  EXPECT_EQ(t.encode(t.decode(ids)), ids);
  EXPECT_EQ(t.decode(ids), prose);
}

#ifdef NQKV_EXE_PATH
// The CI part of `nqkv eval --gguf` and `nqkv kvstats --gguf`: the first 800 bytes of the GPL-3
// text Debian's base-files installs (about 170 tokens), context 128; the report runs the full texts
// (workloads/gguf/texts.md).
TEST(SmolLM2, CliEvalAndKvstatsOnShortText) {
  NQKV_REQUIRE_SMOLLM2(path);
  NQKV_SKIP_UNDER_SANITIZERS();
  std::ifstream gpl("/usr/share/common-licenses/GPL-3", std::ios::binary);
  if (!gpl) GTEST_SKIP() << "/usr/share/common-licenses/GPL-3 not found";
  std::string text(800, '\0');
  gpl.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(gpl.gcount()));
  const std::filesystem::path d = std::filesystem::temp_directory_path() / ("nqkv_gguf_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  std::ofstream(d / "text.txt", std::ios::binary) << text;
  auto run = [&](const std::string& args) {
    const std::string cmd = std::string(NQKV_EXE_PATH) + " " + args + " > " + (d / "out.txt").string() + " 2> " +
                            (d / "err.txt").string();
    const int rc = std::system(cmd.c_str());
    std::ifstream e(d / "err.txt");
    const std::string err((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << args << "\n" << err;
  };
  run("eval --gguf " + path + " --text " + (d / "text.txt").string() +
      " --kv nf4 --block 64 --path dequant --gen 4 --context 128 --csv " + (d / "eval.csv").string());
  std::ifstream csv(d / "eval.csv");
  const std::string c((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  EXPECT_NE(c.find("\nf32,0,float,32,"), std::string::npos) << c;
  EXPECT_NE(c.find("\nnf4,64,dequant,"), std::string::npos) << c;
  run("kvstats --gguf " + path + " --text " + (d / "text.txt").string() + " --blocks 32,64 --codebooks nf4 --context 128 --md " +
      (d / "kv.md").string());
  std::ifstream md(d / "kv.md");
  const std::string m((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(m.find("head_dim 64"), std::string::npos);
  std::filesystem::remove_all(d);
}
#endif

}  // namespace
