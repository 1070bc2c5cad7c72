// A llama-architecture GGUF file (general.architecture = "llama", e.g. SmolLM2-135M-Instruct)
// as a nqkv::llama::Checkpoint: hyper-parameters from the llama.* metadata (head count, KV head
// count, RoPE base, RMSNorm epsilon, context length), every weight dequantized to float32 at load
// (io/gguf.hpp), the output matrix tied to token_embd when output.weight is absent, and the
// tokenizer's BOS/EOS ids. GGUF stores a 2-D weight with ne = [in, out], i.e. row-major out x in:
// exactly the llama2.c layout the forward pass uses. llama.cpp's converter stores attn_q/attn_k
// rows permuted for adjacent-pair RoPE, which is the rotation workloads/llama/model.cpp applies.
#pragma once
#include <string>

#include "io/gguf.hpp"
#include "workloads/gguf/bpe_tokenizer.hpp"
#include "workloads/llama/checkpoint.hpp"

namespace nqkv::gguf {

// InputError for another architecture, missing or inconsistent metadata, missing tensors or
// tensors of the wrong shape.
llama::Checkpoint checkpoint_from_gguf(const io::gguf::File& f);

struct GgufModel {
  llama::Checkpoint checkpoint;
  BpeTokenizer tokenizer;
  double load_seconds = 0;
};
GgufModel load_gguf_model(const std::string& path);

// Where the SmolLM2 GGUF of scripts/setup.sh lives: $NQKV_SMOLLM2_GGUF if set, else
// ${NQKV_DATA_DIR:-$HOME/.cache/nqkv}/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf. "" if absent.
std::string default_smollm2_path();

}  // namespace nqkv::gguf
