// A tiny byte-level BPE vocabulary and a seeded random tiny llama, as GGUF bytes (tests, CLI
// fixtures and fuzz seeds).
#pragma once
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/llama/gguf_builder.hpp"

namespace nqkv::test {

// GPT-2's byte alphabet as UTF-8 strings (the tokenizer's own table is private; this is the
// definition: printable Latin-1 bytes are themselves, the other 68 map to U+0100.. in order).
inline std::vector<std::string> byte_alphabet() {
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

inline void add_tokenizer(GgufBuilder& b, const std::string& pre, int vocab_pad_to = 0,
                          const std::string& model = "gpt2") {
  std::vector<std::string> toks{"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  const auto bytes = byte_alphabet();
  toks.insert(toks.end(), bytes.begin(), bytes.end());
  for (const char* t : {"he", "ll", "hell", "hello", "Ġw", "or", "Ġwor"}) toks.push_back(t);
  while (static_cast<int>(toks.size()) < vocab_pad_to) toks.push_back("<pad" + std::to_string(toks.size()) + ">");
  std::vector<int32_t> types(toks.size(), 1);
  types[0] = types[1] = types[2] = 3;
  b.str("tokenizer.ggml.model", model);
  b.str("tokenizer.ggml.pre", pre);
  b.str_array("tokenizer.ggml.tokens", toks);
  b.i32_array("tokenizer.ggml.token_type", types);
  b.str_array("tokenizer.ggml.merges", {"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or"});
  b.u32("tokenizer.ggml.bos_token_id", 1);
  b.u32("tokenizer.ggml.eos_token_id", 2);
}

// A seeded random llama (default: dim 64, 4 heads of 16, 2 KV heads, 2 layers, hidden 96) as GGUF, with
// F32 weights except attn_q (F16) and ffn_down (Q8_0, codes and scale random).
struct Tiny {
  std::vector<uint8_t> bytes;
  int vocab = 0;
};
struct TinyShape {
  int dim = 64, hidden = 96, layers = 2, heads = 4, kv_heads = 2;
};
inline Tiny tiny_model(uint64_t seed, bool tied, const std::string& tokenizer_model = "gpt2", TinyShape shape = {}) {
  const int dim = shape.dim, hidden = shape.hidden, layers = shape.layers, heads = shape.heads,
            kv_heads = shape.kv_heads, kv = dim / heads * kv_heads;
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
  add_tokenizer(b, "smollm", 270, tokenizer_model);
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

}  // namespace nqkv::test
