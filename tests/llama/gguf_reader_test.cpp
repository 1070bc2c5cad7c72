// GGUF reader (io/gguf.hpp): metadata of every type, tensor table, and dequantization of every
// supported type against values derived by hand from the block layouts; every malformed file
// (each truncation, wrong magic, offsets past the end, huge counts, bad types) is an InputError.
// Independent route: the Q4_1 and Q6_K blocks below, dequantized by the `gguf` Python package
// (gguf.quants.dequantize, gguf 0.19.0 from PyPI), give the same float32 values bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "io/error.hpp"
#include "io/gguf.hpp"
#include "tests/llama/gguf_builder.hpp"

namespace {

using nqkv::InputError;
using nqkv::test::GgufBuilder;
namespace g = nqkv::io::gguf;

std::string error_of(const std::vector<uint8_t>& b) {
  try {
    g::File::parse(b, "t.gguf");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v & 0xff));
  b.push_back(static_cast<uint8_t>(v >> 8));
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Compares bit patterns (the dequantized values are exact products of small integers and powers
// of two, so the expected floats are exact too).
void expect_bits(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(bits(got[i]), bits(want[i])) << "element " << i << ": " << got[i] << " vs " << want[i];
}

TEST(GgufReader, MetadataOfEveryType) {
  GgufBuilder b;
  b.key("u8", 0); GgufBuilder::put<uint8_t>(b.kv, 200);
  b.key("i8", 1); GgufBuilder::put<int8_t>(b.kv, -100);
  b.key("u16", 2); GgufBuilder::put<uint16_t>(b.kv, 65000);
  b.key("i16", 3); GgufBuilder::put<int16_t>(b.kv, -30000);
  b.u32("u32", 4000000000u);
  b.key("i32", 5); GgufBuilder::put<int32_t>(b.kv, -2000000000);
  b.f32("f32", 0.15625f);
  b.key("bool", 7); GgufBuilder::put<uint8_t>(b.kv, 1);
  b.str("str", "héllo");
  b.key("u64", 10); GgufBuilder::put<uint64_t>(b.kv, 1ull << 40);
  b.key("i64", 11); GgufBuilder::put<int64_t>(b.kv, -(1ll << 40));
  b.key("f64", 12); GgufBuilder::put<double>(b.kv, -2.5e-300);
  b.str_array("strs", {"a", "", "bc"});
  b.i32_array("ints", {3, -4});
  // An array of two arrays of u8.
  b.key("nested", 9);
  GgufBuilder::put<uint32_t>(b.kv, 9);
  GgufBuilder::put<uint64_t>(b.kv, 2);
  for (int k = 0; k < 2; ++k) {
    GgufBuilder::put<uint32_t>(b.kv, 0);
    GgufBuilder::put<uint64_t>(b.kv, 1);
    GgufBuilder::put<uint8_t>(b.kv, static_cast<uint8_t>(7 + k));
  }
  const g::File f = g::File::parse(b.bytes(), "t.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.get_uint("u8"), 200u);
  EXPECT_EQ(f.get_int("i8"), -100);
  EXPECT_EQ(f.get_uint("u16"), 65000u);
  EXPECT_EQ(f.get_int("i16"), -30000);
  EXPECT_EQ(f.get_uint("u32"), 4000000000u);
  EXPECT_EQ(f.get_int("i32"), -2000000000);
  EXPECT_EQ(f.get_float("f32"), 0.15625);
  EXPECT_TRUE(f.get_bool("bool"));
  EXPECT_EQ(f.get_string("str"), "héllo");
  EXPECT_EQ(f.get_uint("u64"), 1ull << 40);
  EXPECT_EQ(f.get_int("i64"), -(1ll << 40));
  EXPECT_EQ(f.get_float("f64"), -2.5e-300);
  EXPECT_EQ(f.get_string_array("strs"), (std::vector<std::string>{"a", "", "bc"}));
  EXPECT_EQ(f.get_int_array("ints"), (std::vector<int64_t>{3, -4}));
  const g::Value& n = f.get("nested");
  ASSERT_EQ(n.items.size(), 2u);
  EXPECT_EQ(n.items[1].items.at(0).u, 8u);
  EXPECT_THROW(f.get_string("u8"), InputError);
  EXPECT_THROW(f.get_uint("i8"), InputError);  // negative
  EXPECT_THROW(f.get("missing"), InputError);
  EXPECT_TRUE(f.tensors().empty());
}

TEST(GgufReader, DequantizesEachTypeToHandDerivedValues) {
  GgufBuilder b;
  b.u32("general.alignment", 64);
  b.alignment = 64;
  std::vector<float> want_f32{1.5f, -2.25f, 0.0f, 1e-30f};
  b.tensor_f32("f32", {4}, want_f32);
  // F16: 1, -2, the smallest subnormal 2^-24, the largest finite 65504, -0.
  std::vector<uint8_t> f16;
  for (uint16_t h : {0x3c00, 0xc000, 0x0001, 0x7bff, 0x8000}) put16(f16, h);
  b.tensor("f16", {5}, 1, f16);
  std::vector<uint8_t> bf16;
  for (uint16_t h : {0x3f80, 0xc0a0}) put16(bf16, h);  // 1, -5
  b.tensor("bf16", {2}, 30, bf16);
  // Q4_0, d = 0.5: x[j] = ((qs[j] & 15) - 8) d, x[j + 16] = ((qs[j] >> 4) - 8) d.
  std::vector<uint8_t> q40;
  put16(q40, 0x3800);
  for (int j = 0; j < 16; ++j) q40.push_back(static_cast<uint8_t>(j | ((15 - j) << 4)));
  std::vector<float> want_q40(32);
  for (int j = 0; j < 16; ++j) {
    want_q40[j] = static_cast<float>(j - 8) * 0.5f;
    want_q40[j + 16] = static_cast<float>(7 - j) * 0.5f;
  }
  b.tensor("q4_0", {32}, 2, q40);
  // Q4_1, d = 0.25, m = -1: x[j] = (qs[j] & 15) d + m, x[j + 16] = (qs[j] >> 4) d + m.
  std::vector<uint8_t> q41;
  put16(q41, 0x3400);
  put16(q41, 0xbc00);
  for (int j = 0; j < 16; ++j) q41.push_back(static_cast<uint8_t>(j | ((15 - j) << 4)));
  std::vector<float> want_q41(32);
  for (int j = 0; j < 16; ++j) {
    want_q41[j] = static_cast<float>(j) * 0.25f - 1.0f;
    want_q41[j + 16] = static_cast<float>(15 - j) * 0.25f - 1.0f;
  }
  b.tensor("q4_1", {32}, 3, q41);
  // Q8_0, two blocks: d = 2 with codes j - 16, d = -0.125 with codes 127 - 8j.
  std::vector<uint8_t> q80;
  std::vector<float> want_q80;
  put16(q80, 0x4000);
  for (int j = 0; j < 32; ++j) {
    q80.push_back(static_cast<uint8_t>(static_cast<int8_t>(j - 16)));
    want_q80.push_back(static_cast<float>(j - 16) * 2.0f);
  }
  put16(q80, 0xb000);
  for (int j = 0; j < 32; ++j) {
    q80.push_back(static_cast<uint8_t>(static_cast<int8_t>(127 - 8 * j)));
    want_q80.push_back(static_cast<float>(127 - 8 * j) * -0.125f);
  }
  b.tensor("q8_0", {32, 2}, 8, q80);
  // Q6_K, d = 0.5, scales sc[i] = i - 7 (int8), element e has the 6-bit code e % 64, value
  // d sc[e / 16] (code - 32). Packing (the format definition): in half h and l = 0..31, element
  // 128h + l + 32k (k = 0..3) keeps its low 4 bits in ql[64h + l + 32 (k & 1)] (low nibble for
  // k < 2, high for k >= 2) and its high 2 bits in bits 2k..2k+1 of qh[32h + l].
  std::vector<uint8_t> ql(128, 0), qh(64, 0);
  std::vector<float> want_q6k(256);
  for (int e = 0; e < 256; ++e) {
    const int code = e % 64, h = e / 128, i = e % 128, k = i / 32, l = i % 32;
    uint8_t& lo = ql[64 * h + l + 32 * (k & 1)];
    lo = static_cast<uint8_t>(lo | ((code & 15) << (k >= 2 ? 4 : 0)));
    qh[32 * h + l] = static_cast<uint8_t>(qh[32 * h + l] | ((code >> 4) << (2 * k)));
    want_q6k[e] = 0.5f * static_cast<float>(e / 16 - 7) * static_cast<float>(code - 32);
  }
  std::vector<uint8_t> q6k(ql);
  q6k.insert(q6k.end(), qh.begin(), qh.end());
  for (int i = 0; i < 16; ++i) q6k.push_back(static_cast<uint8_t>(static_cast<int8_t>(i - 7)));
  put16(q6k, 0x3800);
  ASSERT_EQ(q6k.size(), 210u);
  b.tensor("q6_k", {256}, 14, q6k);

  const g::File f = g::File::parse(b.bytes(), "t.gguf");
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  ASSERT_EQ(f.tensors().size(), 7u);
  expect_bits(f.dequantize(f.tensor("f32")), want_f32);
  const std::vector<float> h = f.dequantize(f.tensor("f16"));
  expect_bits(h, {1.0f, -2.0f, std::ldexp(1.0f, -24), 65504.0f, -0.0f});
  expect_bits(f.dequantize(f.tensor("bf16")), {1.0f, -5.0f});
  expect_bits(f.dequantize(f.tensor("q4_0")), want_q40);
  expect_bits(f.dequantize(f.tensor("q4_1")), want_q41);
  expect_bits(f.dequantize(f.tensor("q8_0")), want_q80);
  EXPECT_EQ(f.tensor("q8_0").ne, (std::vector<int64_t>{32, 2}));
  EXPECT_EQ(f.tensor("q8_0").bytes, 68);
  expect_bits(f.dequantize(f.tensor("q6_k")), want_q6k);
}

std::vector<uint8_t> small_valid_file() {
  GgufBuilder b;
  b.str("general.architecture", "llama");
  b.str_array("tokenizer.ggml.tokens", {"a", "b"});
  b.tensor_f32("w", {2, 2}, {1, 2, 3, 4});
  std::vector<uint8_t> q80(34, 0);
  b.tensor("q", {32}, 8, q80);
  return b.bytes();
}

TEST(GgufReader, EveryTruncationIsAnInputError) {
  const std::vector<uint8_t> ok = small_valid_file();
  ASSERT_EQ(error_of(ok), "");
  // The last tensor's data ends at the end of the file: every shorter prefix is malformed.
  for (size_t n = 0; n < ok.size(); ++n) {
    const std::vector<uint8_t> cut(ok.begin(), ok.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(error_of(cut), "") << "prefix of " << n << " bytes accepted";
  }
}

// Offsets of fields in small_valid_file() found by searching for known bytes.
size_t find(const std::vector<uint8_t>& b, const std::string& s) {
  for (size_t i = 0; i + s.size() <= b.size(); ++i)
    if (std::memcmp(b.data() + i, s.data(), s.size()) == 0) return i;
  return std::string::npos;
}

template <class V>
std::vector<uint8_t> patched(std::vector<uint8_t> b, size_t at, V v) {
  std::memcpy(b.data() + at, &v, sizeof(V));
  return b;
}

TEST(GgufReader, CorruptFieldsAreOneLineErrors) {
  const std::vector<uint8_t> ok = small_valid_file();
  auto has = [](const std::string& err, const std::string& part) {
    EXPECT_NE(err.find(part), std::string::npos) << "error '" << err << "' lacks '" << part << "'";
    EXPECT_EQ(err.find('\n'), std::string::npos);
  };
  has(error_of(patched(ok, 0, uint8_t{'X'})), "not a GGUF file");
  has(error_of(patched(ok, 4, uint32_t{2})), "version 2");
  has(error_of(patched(ok, 8, uint64_t{1} << 60)), "tensor count");
  has(error_of(patched(ok, 16, uint64_t{1} << 60)), "metadata count");
  // Key length of the first key (at 24): huge.
  has(error_of(patched(ok, 24, uint64_t{1} << 62)), "too large");
  has(error_of(patched(ok, 24, uint64_t{100000})), "truncated");
  // Value type of the first key: unknown.
  const size_t t0 = 24 + 8 + std::string("general.architecture").size();
  has(error_of(patched(ok, t0, uint32_t{13})), "unknown value type 13");
  // The token array's count: huge.
  const size_t arr = find(ok, "tokenizer.ggml.tokens") + std::string("tokenizer.ggml.tokens").size() + 4 + 4;
  has(error_of(patched(ok, arr, uint64_t{1} << 40)), "does not fit");
  // Tensor 'w': dims, then type, then offset.
  const size_t w = find(ok, std::string("\x01\0\0\0\0\0\0\0w", 9)) + 9;
  has(error_of(patched(ok, w, uint32_t{5})), "5 dimensions");
  has(error_of(patched(ok, w + 4, uint64_t{0})), "dimension 0");
  has(error_of(patched(ok, w + 4, uint64_t{1} << 62)), "over 2^48");
  has(error_of(patched(ok, w + 4 + 16, uint32_t{99})), "type 99");
  has(error_of(patched(ok, w + 4 + 16, uint32_t{12})), "Q4_K");  // a real type this reader lacks
  has(error_of(patched(ok, w + 4 + 16 + 4, uint64_t{1} << 40)), "past the end");
  has(error_of(patched(ok, w + 4 + 16 + 4, uint64_t{8})), "alignment");
  has(error_of(patched(ok, w + 4 + 16 + 4, ~uint64_t{0} - 31)), "past the end");
  // Q8_0 tensor 'q' with a first dimension that is not a multiple of 32.
  const size_t q = find(ok, std::string("\x01\0\0\0\0\0\0\0q", 9)) + 9;
  has(error_of(patched(ok, q + 4, uint64_t{33})), "multiple of");
}

TEST(GgufReader, HostileArraysAndAlignment) {
  {
    GgufBuilder b;
    b.key("deep", 9);
    for (int d = 0; d < 9; ++d) {
      GgufBuilder::put<uint32_t>(b.kv, 9);
      GgufBuilder::put<uint64_t>(b.kv, 1);
    }
    GgufBuilder::put<uint32_t>(b.kv, 0);
    GgufBuilder::put<uint64_t>(b.kv, 0);
    EXPECT_NE(error_of(b.bytes()).find("nested deeper"), std::string::npos);
  }
  {
    GgufBuilder b;
    b.u32("general.alignment", 24);
    EXPECT_NE(error_of(b.bytes()).find("power of two"), std::string::npos);
  }
  {
    GgufBuilder b;
    b.key("b", 7);
    GgufBuilder::put<uint8_t>(b.kv, 2);
    EXPECT_NE(error_of(b.bytes()).find("bool"), std::string::npos);
  }
  {
    GgufBuilder b;
    b.u32("x", 1);
    b.u32("x", 2);
    EXPECT_NE(error_of(b.bytes()).find("twice"), std::string::npos);
  }
}

}  // namespace
