// GGUF llama models (workloads/gguf): a seeded random tiny llama written as a GGUF file checks
// the loader (layout, tied classifier, metadata), the batched forward pass against the
// token-at-a-time one and causality; a tiny hand-made BPE vocabulary checks the tokenizer on
// tokenizations derived by hand. The SmolLM2 tests run when scripts/setup.sh fetched the model
// (else they skip with the reason).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "io/error.hpp"
#include "io/gguf.hpp"
#include "tests/llama/gguf_builder.hpp"
#include "workloads/gguf/bpe_tokenizer.hpp"
#include "workloads/gguf/gguf_model.hpp"
#include "workloads/llama/kv_store.hpp"
#include "workloads/llama/model.hpp"

namespace {

using nqkv::InputError;
using nqkv::test::GgufBuilder;
namespace g = nqkv::io::gguf;
using namespace nqkv;

// GPT-2's byte alphabet as UTF-8 strings (the tokenizer's own table is private; this is the
// definition: printable Latin-1 bytes are themselves, the other 68 map to U+0100.. in order).
std::vector<std::string> byte_alphabet() {
  std::vector<std::string> v;
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const int cp = printable ? b : next++;
    std::string s;
    if (cp < 0x80) s += static_cast<char>(cp);
    else {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
    v.push_back(s);
  }
  return v;
}

void add_tokenizer(GgufBuilder& b, const std::string& pre, int vocab_pad_to = 0) {
  std::vector<std::string> toks{"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  const auto bytes = byte_alphabet();
  toks.insert(toks.end(), bytes.begin(), bytes.end());
  for (const char* t : {"he", "ll", "hell", "hello", "Ġw", "or", "Ġwor"}) toks.push_back(t);
  while (static_cast<int>(toks.size()) < vocab_pad_to) toks.push_back("<pad" + std::to_string(toks.size()) + ">");
  std::vector<int32_t> types(toks.size(), 1);
  types[0] = types[1] = types[2] = 3;
  b.str("tokenizer.ggml.model", "gpt2");
  b.str("tokenizer.ggml.pre", pre);
  b.str_array("tokenizer.ggml.tokens", toks);
  b.i32_array("tokenizer.ggml.token_type", types);
  b.str_array("tokenizer.ggml.merges", {"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or"});
  b.u32("tokenizer.ggml.bos_token_id", 1);
  b.u32("tokenizer.ggml.eos_token_id", 2);
}

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

// A seeded random llama (dim 64, 4 heads of 16, 2 KV heads, 2 layers, hidden 96) as GGUF, with
// F32 weights except attn_q (F16) and ffn_down (Q8_0, codes and scale random).
struct Tiny {
  std::vector<uint8_t> bytes;
  int vocab = 0;
};
Tiny tiny_model(uint64_t seed, bool tied) {
  const int dim = 64, hidden = 96, layers = 2, heads = 4, kv_heads = 2, kv = 32;
  GgufBuilder b;
  b.str("general.architecture", "llama");
  b.u32("llama.block_count", layers);
  b.u32("llama.context_length", 64);
  b.u32("llama.embedding_length", dim);
  b.u32("llama.feed_forward_length", hidden);
  b.u32("llama.attention.head_count", heads);
  b.u32("llama.attention.head_count_kv", kv_heads);
  b.f32("llama.rope.freq_base", 100000.0f);
  b.f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  add_tokenizer(b, "smollm", 270);
  const int vocab = 270;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.2f);
  auto rnd = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = nd(rng);
    return v;
  };
  auto ones = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = 1.0f + 0.1f * nd(rng);
    return v;
  };
  b.tensor_f32("token_embd.weight", {uint64_t(dim), uint64_t(vocab)}, rnd(size_t(dim) * vocab));
  for (int l = 0; l < layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    b.tensor_f32(p + "attn_norm.weight", {uint64_t(dim)}, ones(dim));
    std::vector<uint8_t> q16;
    for (float x : rnd(size_t(dim) * dim)) {
      // fp16 of x by truncating a float's mantissa (any value will do; the reader converts back).
      uint32_t u;
      std::memcpy(&u, &x, 4);
      const uint16_t h = static_cast<uint16_t>(((u >> 16) & 0x8000) | ((((u >> 23) & 0xff) - 112) << 10) | ((u >> 13) & 0x3ff));
      q16.push_back(static_cast<uint8_t>(h & 0xff));
      q16.push_back(static_cast<uint8_t>(h >> 8));
    }
    b.tensor(p + "attn_q.weight", {uint64_t(dim), uint64_t(dim)}, 1, q16);
    b.tensor_f32(p + "attn_k.weight", {uint64_t(dim), uint64_t(kv)}, rnd(size_t(dim) * kv));
    b.tensor_f32(p + "attn_v.weight", {uint64_t(dim), uint64_t(kv)}, rnd(size_t(dim) * kv));
    b.tensor_f32(p + "attn_output.weight", {uint64_t(dim), uint64_t(dim)}, rnd(size_t(dim) * dim));
    b.tensor_f32(p + "ffn_norm.weight", {uint64_t(dim)}, ones(dim));
    b.tensor_f32(p + "ffn_gate.weight", {uint64_t(dim), uint64_t(hidden)}, rnd(size_t(dim) * hidden));
    b.tensor_f32(p + "ffn_up.weight", {uint64_t(dim), uint64_t(hidden)}, rnd(size_t(dim) * hidden));
    std::vector<uint8_t> q8;
    for (int blk = 0; blk < hidden * dim / 32; ++blk) {
      q8.push_back(0x00);
      q8.push_back(0x24);  // d = 2^-6 (fp16 0x2400)
      for (int j = 0; j < 32; ++j) q8.push_back(static_cast<uint8_t>(rng() & 0xff));
    }
    b.tensor(p + "ffn_down.weight", {uint64_t(hidden), uint64_t(dim)}, 8, q8);
  }
  b.tensor_f32("output_norm.weight", {uint64_t(dim)}, ones(dim));
  if (!tied) b.tensor_f32("output.weight", {uint64_t(dim), uint64_t(vocab)}, rnd(size_t(dim) * vocab));
  return {b.bytes(), vocab};
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

TEST(SmolLM2, ConfigAndGreedyChatAnswer) {
  NQKV_REQUIRE_SMOLLM2(path);
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

}  // namespace
