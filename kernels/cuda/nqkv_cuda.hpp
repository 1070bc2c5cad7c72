// nqkv CUDA backend: host API of the kernels in kernels/cuda (docs/numerics.md, bit-exact with the
// golden library). Plain C++: no CUDA header is needed to include this; device pointers are void*
// or typed pointers into device memory, streams are passed as void* (a cudaStream_t, or nullptr).
//
// The paged quantized KV cache (one pool per K and V, vLLM/QServe-style pages):
//   codes  [num_pages][kv_heads][page_size][head_dim*bits/8]  packed as docs/numerics.md 4.2
//   scales [num_pages][kv_heads][page_size][head_dim/block]   raw fp16/bf16 bits (uint16)
//   page_table [batch][max_pages_per_seq] int32 page indices, seq_lens [batch] int32 (device).
// Token t of sequence b lives in page page_table[b][t / page_size], slot t % page_size.
//
// Every entry point validates its arguments on the host (shapes, alignment, null pointers) and
// returns an error instead of launching; what only the device can see (a page index out of range,
// a sequence length beyond the page table, a non-finite query or cache block) is reported through
// a device error word (ErrorBits, read with read_device_errors): the kernel never touches memory
// out of bounds and writes NaN outputs for the affected sequence.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "golden/backend.hpp"
#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"
#include "io/safetensors.hpp"

namespace nqkv::cuda {

enum class Status { Ok = 0, InvalidArgument, NoDevice, CudaError, DeviceError };

struct Result {
  Status status = Status::Ok;
  std::string message;
  bool ok() const { return status == Status::Ok; }
  static Result success() { return {}; }
};

// Bits of the device error word.
enum ErrorBits : int32_t {
  kErrNonFiniteQuery = 1,
  kErrNonFiniteCache = 2,
  kErrPageOutOfRange = 4,
  kErrSeqLenOutOfRange = 8,
};

bool device_available(std::string* why);

// The paged cache: device pointers plus its shape. Not owning (see DeviceCache).
struct PagedCache {
  golden::CodebookId codebook = golden::CodebookId::NF4;  // any symmetric codebook of 2, 3 or 4 bits
  golden::ElemType type = golden::ElemType::F16;          // F16 or BF16
  int kv_heads = 0, head_dim = 0, block = 0, page_size = 16, num_pages = 0;
  int batch = 0, max_pages_per_seq = 0;
  uint8_t* k_codes = nullptr;
  uint8_t* v_codes = nullptr;
  uint16_t* k_scales = nullptr;
  uint16_t* v_scales = nullptr;
  int32_t* page_table = nullptr;  // [batch][max_pages_per_seq]
  int32_t* seq_lens = nullptr;    // [batch], tokens currently in each sequence

  int bits() const;
  int row_bytes() const { return head_dim * bits() / 8; }
  int blocks_per_row() const { return head_dim / block; }
  size_t code_pool_bytes() const { return size_t(num_pages) * kv_heads * page_size * row_bytes(); }
  size_t scale_pool_elems() const { return size_t(num_pages) * kv_heads * page_size * blocks_per_row(); }
};
Result validate_cache(const PagedCache& c);

// Owns the device memory of a PagedCache (pools, page table, lengths) and a device error word.
class DeviceCache {
 public:
  DeviceCache() = default;
  DeviceCache(const DeviceCache&) = delete;
  DeviceCache& operator=(const DeviceCache&) = delete;
  ~DeviceCache();
  // Allocates pools of num_pages pages and a page table of max_pages_per_seq per sequence.
  // page_table (batch*max_pages_per_seq entries) and seq_lens (batch) are copied to the device.
  Result allocate(const PagedCache& shape, const std::vector<int32_t>& page_table, const std::vector<int32_t>& seq_lens);
  Result set_seq_lens(const std::vector<int32_t>& seq_lens);
  const PagedCache& desc() const { return c_; }
  int32_t* error_word() const { return err_; }

 private:
  void release();
  PagedCache c_;
  int32_t* err_ = nullptr;
};

// Appends n_new tokens to every sequence: k_new, v_new hold [batch][n_new][kv_heads][head_dim] raw
// fp16/bf16 bits (device, 16-byte aligned). Token j of sequence b goes to position seq_lens[b] + j.
// If advance_lens, seq_lens is increased by n_new afterwards (same stream). stats (optional, device,
// 3 x int64 accumulated): zero, flushed, non-finite blocks written.
Result quantize_append(const PagedCache& c, const uint16_t* k_new, const uint16_t* v_new, int n_new, bool advance_lens,
                       int32_t* err_word, int64_t* stats, void* stream = nullptr);

// Quantize-append finds codes through a 128-bucket table when the codebook's thresholds allow it
// (kernels/cuda/quantize.cu). Host replica of that decision checked against the definition at every
// bucket edge, every threshold and its fp32 neighbours, and random_points seeded points (no GPU).
struct AppendTableCheck {
  bool table_used = false;  // false: the codebook takes the binary search (nothing to check)
  int64_t points = 0, mismatches = 0;
  std::string first;  // the first mismatch, if any
};
AppendTableCheck check_append_table(golden::CodebookId cb, uint64_t seed, int random_points);

// Dequantizes (section 6) every stored token of every sequence: out_k, out_v fp32
// [batch][max_tokens][kv_heads][head_dim] (tokens >= seq_lens[b] are left untouched).
Result dequantize_cache(const PagedCache& c, int max_tokens, float* out_k, float* out_v, int32_t* err_word,
                        void* stream = nullptr);

// Generic row quantization of the golden `quantize` cases: x [rows][cols] raw bits of type (u16 for
// fp16/bf16, u32 for f32), any codebook (int4 affine included), block a multiple of 8 dividing cols.
// codes [rows][cols*bits/8] packed; scale0 (absmax, or the minimum for int4) and scale1 (int4 step;
// may be null otherwise) [rows][cols/block] in x's element width (u16 or u32); status u8.
Result quantize_rows(golden::CodebookId cb, golden::ElemType type, int block, int64_t rows, int64_t cols, const void* x,
                     uint8_t* codes, void* scale0, void* scale1, uint8_t* status, void* stream = nullptr);
// Section 6 dequantization of quantize_rows' output into fp32 [rows][cols].
Result dequantize_rows(golden::CodebookId cb, golden::ElemType type, int block, int64_t rows, int64_t cols,
                       const uint8_t* codes, const void* scale0, const void* scale1, float* out, void* stream = nullptr);

// Workspace of the split-K decode: per (sequence, query head, partition) integer partials
// (section 9.1) and per (sequence, kv head) completion counters. Owns device memory.
struct DecodeWorkspace {
  int batch = 0, q_heads = 0, kv_heads = 0, head_dim = 0, max_parts = 0;
  int64_t* part_M = nullptr;   // [batch][q_heads][max_parts]
  uint64_t* part_L = nullptr;  // [batch][q_heads][max_parts]
  int32_t* part_e = nullptr;   // [batch][q_heads][max_parts]
  // O_p (section 9.1) as its low 32 bits and its sign-extending high byte, 5 bytes per value instead of
  // 8 (|O_p| < 512 x 65535 x 128 <= 2^32); download_part_O joins them.
  uint32_t* part_Olo = nullptr;  // [batch][q_heads][max_parts][head_dim]
  int8_t* part_Ohi = nullptr;    // [batch][q_heads][max_parts][head_dim]
  int32_t* counters = nullptr; // [batch][kv_heads], zero between launches
  int32_t* seq_err = nullptr;  // [batch][kv_heads], zero between launches
  DecodeWorkspace() = default;
  DecodeWorkspace(const DecodeWorkspace&) = delete;
  DecodeWorkspace& operator=(const DecodeWorkspace&) = delete;
  ~DecodeWorkspace();
  Result allocate(int batch, int q_heads, int kv_heads, int head_dim, int max_seq_len);
  void release();
  Result download_part_O(size_t n, std::vector<int64_t>& out) const;  // the first n O_p values, joined
};

// Optional intermediates for debugging and the golden comparison (device pointers, each may be null):
// q_fixed [batch][q_heads][head_dim] int16, q_shift [batch][q_heads], and per token
// scores_S/scores_x/logits [batch][q_heads][trace_tokens].
struct DecodeTrace {
  int16_t* q_fixed = nullptr;
  int32_t* q_shift = nullptr;
  int64_t* scores_S = nullptr;
  int32_t* scores_x = nullptr;
  int64_t* logits = nullptr;
  int trace_tokens = 0;
};

// Fused decode attention (sections 7-9): q fp32 [batch][q_heads][head_dim], out fp32 same shape.
// max_seq_len bounds seq_lens (sizes the split-K grid); sm_scale 0 means fp32(1/sqrt(head_dim)).
Result decode_attention(const PagedCache& c, const float* q, int q_heads, float sm_scale, int max_seq_len, float* out,
                        DecodeWorkspace& ws, int32_t* err_word, const DecodeTrace* trace = nullptr,
                        void* stream = nullptr);

// Synchronizes the device, reads and clears the error word; DeviceError with the decoded bits if set.
Result read_device_errors(int32_t* err_word);
std::string describe_error_bits(int32_t bits);

// `nqkv golden check --backend cuda`: runs one golden case file on the GPU and compares every
// tensor bit for bit. skipped (with a reason) when there is no GPU or the case kind is unknown.
nqkv::backend::Result cuda_check_case(const nqkv::io::SafeTensors& golden_case);

}  // namespace nqkv::cuda
