// The llama2.c checkpoint and tokenizer readers: good files parse to the documented header, bad
// files (truncated, inconsistent, trailing bytes) raise InputError with a message saying so.
#include <gtest/gtest.h>

#include <cstring>

#include "io/error.hpp"
#include "test_util.hpp"
#include "workloads/llama/checkpoint.hpp"
#include "workloads/llama/model.hpp"

namespace nqkv::llama {
namespace {

// A synthetic legacy-v0 checkpoint: header + the float count implied by the header (all 0.25).
std::vector<uint8_t> synthetic_checkpoint(std::vector<int32_t> h, int64_t float_delta = 0) {
  const int64_t dim = h[0], hidden = h[1], L = h[2], nh = h[3], nkv = h[4], V = std::abs(h[5]), S = h[6];
  const int64_t hs = dim / nh, kv = nkv * hs;
  int64_t floats = V * dim + L * dim + 2 * L * dim * dim + 2 * L * kv * dim + L * dim + 3 * L * hidden * dim + dim +
                   S * hs;  // both freq_cis tables
  if (h[5] < 0) floats += V * dim;
  floats += float_delta;
  std::vector<uint8_t> b(28 + 4 * floats);
  std::memcpy(b.data(), h.data(), 28);
  const float q = 0.25f;
  for (int64_t i = 0; i < floats; ++i) std::memcpy(b.data() + 28 + 4 * i, &q, 4);
  return b;
}

template <class F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(CheckpointReader, SyntheticGoodFileParses) {
  const auto b = synthetic_checkpoint({16, 24, 2, 4, 2, 10, 8});
  const Checkpoint ck = parse_checkpoint(b, "synthetic.bin");
  EXPECT_EQ(ck.config.dim, 16);
  EXPECT_EQ(ck.config.head_size(), 4);
  EXPECT_EQ(ck.config.kv_dim(), 8);
  EXPECT_TRUE(ck.config.shared_classifier);
  EXPECT_EQ(ck.weights.wk.size(), 2u * 8 * 16);
  EXPECT_EQ(ck.weights.w2.size(), 2u * 16 * 24);
  EXPECT_TRUE(ck.weights.wcls.empty());
}

TEST(CheckpointReader, UnsharedClassifierReadsWcls) {
  const auto b = synthetic_checkpoint({16, 24, 2, 4, 2, -10, 8});
  const Checkpoint ck = parse_checkpoint(b, "synthetic.bin");
  EXPECT_FALSE(ck.config.shared_classifier);
  EXPECT_EQ(ck.config.vocab_size, 10);
  EXPECT_EQ(ck.weights.wcls.size(), 10u * 16);
}

TEST(CheckpointReader, TruncatedFilesAreRejected) {
  auto b = synthetic_checkpoint({16, 24, 2, 4, 2, 10, 8});
  b.resize(b.size() - 4);
  EXPECT_NE(input_error_of([&] { parse_checkpoint(b, "t.bin"); }).find("truncated"), std::string::npos);
  b.resize(20);  // not even a header
  EXPECT_NE(input_error_of([&] { parse_checkpoint(b, "t.bin"); }).find("truncated"), std::string::npos);
  b.clear();
  EXPECT_NE(input_error_of([&] { parse_checkpoint(b, "t.bin"); }).find("truncated"), std::string::npos);
}

TEST(CheckpointReader, TrailingBytesAreRejected) {
  const auto b = synthetic_checkpoint({16, 24, 2, 4, 2, 10, 8}, 3);
  EXPECT_NE(input_error_of([&] { parse_checkpoint(b, "t.bin"); }).find("inconsistent"), std::string::npos);
}

TEST(CheckpointReader, InconsistentHeadersAreRejected) {
  // n_heads does not divide dim; kv heads do not divide heads; more kv heads than heads; odd head
  // size; zero/negative fields.
  const std::vector<std::vector<int32_t>> bad = {
      {16, 24, 2, 5, 1, 10, 8}, {16, 24, 2, 4, 3, 10, 8}, {16, 24, 2, 4, 8, 10, 8}, {12, 24, 2, 4, 2, 10, 8},
      {0, 24, 2, 4, 2, 10, 8},  {16, 24, 0, 4, 2, 10, 8}, {16, 24, 2, 4, 2, 0, 8},  {16, 24, 2, 4, 2, 10, -1},
      {16, -3, 2, 4, 2, 10, 8}};
  for (const auto& h : bad) {
    std::vector<uint8_t> b(4096, 0);
    std::memcpy(b.data(), h.data(), 28);
    const std::string msg = input_error_of([&] { parse_checkpoint(b, "h.bin"); });
    EXPECT_NE(msg.find("bad header"), std::string::npos) << msg;
  }
}

TEST(CheckpointReader, MissingFileIsAnInputError) {
  EXPECT_THROW(load_checkpoint("/nonexistent/dir/model.bin"), InputError);
}

TEST(CheckpointReader, SharedStories260KHeader) {
  NQKV_REQUIRE_TINYLLAMAS();
  const Checkpoint ck = load_checkpoint(test::data_file("stories260K.bin"));
  // The values PROVENANCE.md lists for this file.
  const Config& c = ck.config;
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.seq_len, 512);
  EXPECT_TRUE(c.shared_classifier);
  EXPECT_EQ(c.kv_dim(), 32);
}

TEST(CheckpointReader, SharedStories260KTruncatedAndWrongVocab) {
  NQKV_REQUIRE_TINYLLAMAS();
  auto b = read_file_bytes(test::data_file("stories260K.bin"));
  auto cut = b;
  cut.resize(b.size() / 2);
  EXPECT_NE(input_error_of([&] { parse_checkpoint(cut, "cut.bin"); }).find("truncated"), std::string::npos);
  // A negative vocab_size claims an extra classifier matrix the file does not have.
  auto neg = b;
  const int32_t v = -512;
  std::memcpy(neg.data() + 20, &v, 4);
  EXPECT_NE(input_error_of([&] { parse_checkpoint(neg, "neg.bin"); }).find("truncated"), std::string::npos);
}

TEST(TokenizerReader, SharedTok512) {
  NQKV_REQUIRE_TINYLLAMAS();
  const Tokenizer t = Tokenizer::load(test::data_file("tok512.bin"), 512);
  // PROVENANCE.md: tokens 0-2 are <unk>, "\n<s>\n", "\n</s>\n"; 3..258 are byte tokens; 259 is " t".
  EXPECT_EQ(t.piece(0), "<unk>");
  EXPECT_EQ(t.piece(1), "\n<s>\n");
  EXPECT_EQ(t.piece(2), "\n</s>\n");
  EXPECT_EQ(t.piece(3), "<0x00>");
  EXPECT_EQ(t.piece(258), "<0xFF>");
  EXPECT_EQ(t.piece(259), " t");
  EXPECT_EQ(t.score(511), -252.0f);
  EXPECT_EQ(t.decode(5, 3 + '\n'), "\n");      // byte token -> the byte
  EXPECT_EQ(t.decode(Tokenizer::kBos, 259), "t");  // leading space dropped after BOS
  EXPECT_EQ(t.decode(5, 259), " t");
}

TEST(TokenizerReader, EncodeDecodeRoundTrip) {
  NQKV_REQUIRE_TINYLLAMAS();
  const Tokenizer t = Tokenizer::load(test::data_file("tok512.bin"), 512);
  const std::string text = "Once upon a time, a cat named Tom sat on a mat.\nHe said: \"Hi!\" {ok} \xc3\xa9";
  const std::vector<int> ids = t.encode(text, true, false);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[0], Tokenizer::kBos);
  EXPECT_LT(ids.size(), text.size());  // merges happened
  // BOS, then the dummy-prefix space merged into the first word; decode drops it again.
  EXPECT_EQ(decode_tokens(t, std::vector<int>(ids.begin() + 1, ids.end())), text);
}

TEST(TokenizerReader, BadTokenizerFiles) {
  NQKV_REQUIRE_TINYLLAMAS();
  const auto b = read_file_bytes(test::data_file("tok512.bin"));
  // Wrong vocabulary size: too small leaves trailing bytes, too large runs off the end.
  EXPECT_NE(input_error_of([&] { Tokenizer::parse(b, 511, "tok.bin"); }).find("trailing"), std::string::npos);
  EXPECT_NE(input_error_of([&] { Tokenizer::parse(b, 513, "tok.bin"); }).find("truncated"), std::string::npos);
  auto cut = b;
  cut.resize(b.size() - 1);
  EXPECT_NE(input_error_of([&] { Tokenizer::parse(cut, 512, "tok.bin"); }).find("truncated"), std::string::npos);
  auto neg = b;
  const int32_t len = -7;
  std::memcpy(neg.data() + 4 + 4, &len, 4);  // token 0's length
  EXPECT_NE(input_error_of([&] { Tokenizer::parse(neg, 512, "tok.bin"); }).find("length"), std::string::npos);
  auto old = b;
  const int32_t zero = 0;
  std::memcpy(old.data(), &zero, 4);  // max_token_length 0: the old schema / not a tokenizer
  EXPECT_THROW(Tokenizer::parse(old, 512, "tok.bin"), InputError);
}

}  // namespace
}  // namespace nqkv::llama
