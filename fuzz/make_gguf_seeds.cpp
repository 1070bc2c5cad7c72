// Writes the GGUF seeds of fuzz/corpus/gguf/ with the tests' GGUF writer
// (tests/llama/gguf_fixtures.hpp): `fuzz_make_gguf_seeds fuzz/corpus`.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/llama/gguf_fixtures.hpp"

namespace {
std::filesystem::path root;
void write(const std::string& name, const std::vector<uint8_t>& b) {
  std::filesystem::create_directories(root / "gguf");
  std::ofstream(root / "gguf" / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_gguf_seeds CORPUS_DIR\n");
    return 2;
  }
  root = argv[1];
  using nqkv::test::GgufBuilder;
  {  // metadata of every value type, nested array, alignment 64
    GgufBuilder b;
    b.u32("general.alignment", 64);
    b.alignment = 64;
    b.key("u8", 0); GgufBuilder::put<uint8_t>(b.kv, 1);
    b.key("i8", 1); GgufBuilder::put<int8_t>(b.kv, -1);
    b.key("u16", 2); GgufBuilder::put<uint16_t>(b.kv, 2);
    b.key("i16", 3); GgufBuilder::put<int16_t>(b.kv, -2);
    b.key("i32", 5); GgufBuilder::put<int32_t>(b.kv, -3);
    b.f32("f32", 0.5f);
    b.key("bool", 7); GgufBuilder::put<uint8_t>(b.kv, 1);
    b.str("str", "text");
    b.key("u64", 10); GgufBuilder::put<uint64_t>(b.kv, 4);
    b.key("i64", 11); GgufBuilder::put<int64_t>(b.kv, -4);
    b.key("f64", 12); GgufBuilder::put<double>(b.kv, 0.25);
    b.str_array("strs", {"a", "bc"});
    b.i32_array("ints", {1, 2, 3});
    b.key("nested", 9);
    GgufBuilder::put<uint32_t>(b.kv, 9);
    GgufBuilder::put<uint64_t>(b.kv, 1);
    GgufBuilder::put<uint32_t>(b.kv, 0);
    GgufBuilder::put<uint64_t>(b.kv, 2);
    GgufBuilder::put<uint8_t>(b.kv, 7);
    GgufBuilder::put<uint8_t>(b.kv, 8);
    b.tensor_f32("f32", {2, 2}, {1, 2, 3, 4});
    write("metadata_all_types.gguf", b.bytes());
  }
  {  // one tensor of each supported type
    GgufBuilder b;
    std::vector<uint8_t> f16{0x00, 0x3c, 0x00, 0xc0};
    b.tensor("f16", {2}, 1, f16);
    b.tensor("bf16", {2}, 30, {0x80, 0x3f, 0xa0, 0xc0});
    std::vector<uint8_t> q40(18, 0x17), q41(20, 0x2a), q80(34, 0x81), q6k(210, 0x5c);
    b.tensor("q4_0", {32}, 2, q40);
    b.tensor("q4_1", {32}, 3, q41);
    b.tensor("q8_0", {32}, 8, q80);
    b.tensor("q6_k", {256}, 14, q6k);
    write("tensor_types.gguf", b.bytes());
  }
  {  // tokenizer metadata only
    GgufBuilder b;
    nqkv::test::add_tokenizer(b, "smollm");
    write("tokenizer.gguf", b.bytes());
  }
  // A whole (tiny) llama with its tokenizer: dim 16, 2 heads, 1 KV head, 1 layer, hidden 32.
  nqkv::test::TinyShape s;
  s.dim = 16, s.hidden = 32, s.layers = 1, s.heads = 2, s.kv_heads = 1;
  write("tiny_llama.gguf", nqkv::test::tiny_model(3, true, "gpt2", s).bytes);
  return 0;
}
