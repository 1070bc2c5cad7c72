// Writes the generated seed corpora of fuzz/corpus/ with the project's own writers (golden cases,
// quantized files, safetensors, llama2.c checkpoints and tokenizers); the JSON seeds are plain
// files kept by hand. Usage: fuzz_make_seeds DIR (normally fuzz/corpus). Deterministic.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz/small_cases.hpp"
#include "golden/tensor_io.hpp"
#include "io/safetensors.hpp"

using namespace nqkv;
namespace fs = std::filesystem;

namespace {

fs::path root;

void write(const std::string& harness, const std::string& name, const std::string& bytes) {
  fs::create_directories(root / harness);
  std::ofstream((root / harness / name), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <class T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::string quantized_file(const std::string& cb, golden::ElemType type, int block, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  const int64_t cols = shape.back();
  std::vector<uint32_t> x(static_cast<size_t>(n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = golden::f32_to_elem(type, static_cast<float>(std::sin(0.5 * double(i)) * (i % 5)));
  const auto q = golden::quantize_tensor(golden::codebook_by_name(cb), type, block, n / cols, cols, x);
  io::SafeTensors out;
  golden::store_quantized(q, shape, out);
  return out.to_bytes();
}

// A llama2.c v0 checkpoint with small sizes (vocab < 0: an unshared classifier follows).
std::string checkpoint(int dim, int hidden, int layers, int heads, int kv_heads, int vocab, int seq_len) {
  std::string s;
  for (int v : {dim, hidden, layers, heads, kv_heads, vocab, seq_len}) put<int32_t>(s, v);
  const int64_t V = std::abs(vocab), D = dim, H = hidden, L = layers, HS = dim / heads, KV = kv_heads * HS;
  const int64_t floats = V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + 3 * L * H * D + D +
                         seq_len * HS + (vocab < 0 ? V * D : 0);
  for (int64_t i = 0; i < floats; ++i) put<float>(s, static_cast<float>(0.05 * std::sin(0.3 * double(i))));
  return s;
}

// The tokenizer harness's input: u16 vocab, u8 text length, text, then the tokenizer file.
std::string tokenizer_input(const std::vector<std::string>& pieces, const std::string& text) {
  std::string s;
  put<uint16_t>(s, static_cast<uint16_t>(pieces.size()));
  put<uint8_t>(s, static_cast<uint8_t>(text.size()));
  s += text;
  size_t maxlen = 1;
  for (const auto& p : pieces) maxlen = std::max(maxlen, p.size());
  put<int32_t>(s, static_cast<int32_t>(maxlen));
  for (size_t i = 0; i < pieces.size(); ++i) {
    put<float>(s, static_cast<float>(i % 17) - 8.0f);
    put<int32_t>(s, static_cast<int32_t>(pieces[i].size()));
    s += pieces[i];
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
    return 2;
  }
  root = argv[1];
  using golden::ElemType;

  // safetensors: one tensor of every dtype width, metadata, a scalar, an empty tensor.
  {
    io::SafeTensors st;
    st.metadata["note"] = "seed";
    st.tensors["a"] = io::Tensor::from(io::DType::F32, {2, 3}, std::vector<float>{1, 2, 3, -4, 0.5f, 1e-3f});
    st.tensors["b"] = io::Tensor::from(io::DType::U8, {4}, std::vector<uint8_t>{0, 1, 254, 255});
    st.tensors["c"] = io::Tensor::from(io::DType::I64, {1, 2}, std::vector<int64_t>{-1, 1});
    st.tensors["d"] = io::Tensor::from(io::DType::BF16, {}, std::vector<uint16_t>{0x3f80});
    st.tensors["e"] = io::Tensor::from(io::DType::F16, {0, 8}, std::vector<uint16_t>{});
    write("safetensors", "mixed.safetensors", st.to_bytes());
    io::SafeTensors empty;
    write("safetensors", "empty.safetensors", empty.to_bytes());
  }
  // quantized files, as `nqkv quantize` writes them.
  write("quantized", "nf4_f16_b32.safetensors", quantized_file("nf4", ElemType::F16, 32, {2, 64}));
  write("quantized", "int4_bf16_b32.safetensors", quantized_file("int4", ElemType::BF16, 32, {1, 32}));
  write("quantized", "nf3_f32_b8.safetensors", quantized_file("nf3", ElemType::F32, 8, {3, 16}));
  write("quantized", "nf2_f16_b16_3d.safetensors", quantized_file("nf2", ElemType::F16, 16, {2, 2, 32}));
  // golden cases (the kinds `nqkv golden gen` writes, at small sizes).
  for (const auto& c : {fuzz::small_quantize_case("quantize_nf4_f16", "nf4", ElemType::F16, 32, 2, 64),
                        fuzz::small_quantize_case("quantize_int4_bf16", "int4", ElemType::BF16, 32, 1, 32),
                        fuzz::small_quantize_case("quantize_fp4_f32", "fp4", ElemType::F32, 8, 2, 16),
                        fuzz::small_attention_case("attn_nf4_f16", "nf4", ElemType::F16, 2, 1, 32, 32, 3),
                        fuzz::small_attention_case("attn_nf3_bf16", "nf3", ElemType::BF16, 4, 2, 64, 32, 2)})
    write("golden_case", c.name + ".safetensors", c.data.to_bytes());
  // results files for the results harness's fixed cases (fuzz_results.cpp: q, i, a).
  {
    const golden::GoldenCase cases[] = {fuzz::small_quantize_case("q", "nf4", ElemType::F16, 32, 2, 64),
                                        fuzz::small_quantize_case("i", "int4", ElemType::BF16, 32, 1, 32),
                                        fuzz::small_attention_case("a", "nf4", ElemType::F16, 2, 1, 32, 32, 3)};
    io::SafeTensors exact, off;
    for (const auto& c : cases)
      for (const auto& n : golden::output_tensor_names(c.data)) {
        exact.tensors[c.name + "/" + n] = c.data.get(n);
        io::Tensor t = c.data.get(n);
        if (!t.data.empty()) t.data[t.data.size() / 2] ^= 0x5a;
        off.tensors[c.name + "/" + n] = t;
      }
    write("results", "exact.safetensors", exact.to_bytes());
    write("results", "mismatches.safetensors", off.to_bytes());
    io::SafeTensors wrong;
    wrong.tensors["q/codes"] = io::Tensor::from(io::DType::U8, {4}, std::vector<uint8_t>{1, 2, 3, 4});
    wrong.tensors["a/out"] = io::Tensor::from(io::DType::F16, {2, 32}, std::vector<uint16_t>(64, 0x3c00));
    write("results", "wrong_shapes.safetensors", wrong.to_bytes());
  }
  // llama2.c checkpoints.
  write("checkpoint", "shared_classifier.bin", checkpoint(8, 16, 1, 2, 1, 8, 4));
  write("checkpoint", "own_classifier_gqa.bin", checkpoint(8, 12, 2, 4, 2, -6, 2));
  // llama2.c tokenizers: the llama2.c layout (<unk>, BOS, EOS, 256 byte tokens, merges) and a
  // tiny vocabulary without byte tokens.
  {
    std::vector<std::string> p = {"<unk>", "\n<s>\n", "\n</s>\n"};
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      p.push_back(buf);
    }
    for (const char* m : {" ", "a", "b", "ab", " a", " ab", "\xc3\xa9"}) p.push_back(m);
    write("tokenizer", "bytes_and_merges.bin", tokenizer_input(p, "ab ab\xc3\xa9z\x01"));
    write("tokenizer", "tiny_vocab.bin", tokenizer_input({"<unk>", "<s>", "</s>", " ", "a", "b", "ab"}, "abba"));
  }
  std::printf("seeds written to %s\n", root.c_str());
  return 0;
}
