// Block quantization, dequantization and packing (docs/numerics.md sections 4-6), plain scalar
// code. A "row" is one token's vector for one head (or any last-dimension slice); rows are cut
// into contiguous blocks of `block` elements.
#pragma once
#include <cstdint>
#include <vector>

#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"

namespace nqkv::golden {

// One quantized block's metadata: raw bits of the stored scale(s) in the input's element type.
struct BlockScale {
  uint32_t absmax_bits = 0;  // symmetric codebooks: the block absmax (exact); NaN if non-finite
  uint32_t min_bits = 0;     // INT4 affine only: the block minimum (exact)
  uint32_t step_bits = 0;    // INT4 affine only: (max - min) / 15 rounded to the element type
};

enum class BlockStatus : uint8_t { Ok = 0, Zero = 1, Flushed = 2, NonFinite = 3 };

struct QuantStats {
  int64_t blocks = 0, zero_blocks = 0, flushed_blocks = 0, nonfinite_blocks = 0;
};

// Quantizes one block of fp32 values (already widened exactly from `type`). Writes `n` codes
// (unpacked, one per byte) and returns the scale; `status` says which rule of section 5 applied.
BlockScale quantize_block(const Codebook& cb, ElemType type, const float* x, int n, uint8_t* codes,
                          BlockStatus* status = nullptr);
// Dequantizes one block into fp32 (section 6): values[code] * absmax in fp32, or min + code*step.
void dequantize_block(const Codebook& cb, ElemType type, const BlockScale& s, const uint8_t* codes, int n, float* out);

// The encoder's two steps for symmetric codebooks, exposed for backends and tests:
// the reciprocal (0 for zero/flushed/non-finite blocks) and the code of one normalised value.
float block_inverse(ElemType type, float absmax, BlockStatus* status);
uint8_t encode_normalized(const Codebook& cb, float xn);

// Packing (section 4.4): codes MSB-first, first element in the most significant bits.
// 4-bit: two per byte (high nibble first); 2-bit: four per byte; 3-bit: a big-endian bit stream,
// 8 codes in 3 bytes. n must be a multiple of 8 for 3-bit, of 8/bits otherwise.
std::vector<uint8_t> pack_codes(int bits, const uint8_t* codes, size_t n);
std::vector<uint8_t> unpack_codes(int bits, const uint8_t* packed, size_t n);
size_t packed_bytes(int bits, size_t n);

// A whole tensor viewed as rows x cols (cols = last dimension, a multiple of block).
struct QuantizedTensor {
  CodebookId codebook = CodebookId::NF4;
  ElemType type = ElemType::F16;
  int block = 64;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> codes;        // packed, rows * packed_bytes(bits, cols)
  std::vector<BlockScale> scales;    // rows * cols / block
  QuantStats stats;
};

// x holds rows*cols raw element bits of `type` (low 16 bits used for fp16/bf16).
QuantizedTensor quantize_tensor(const Codebook& cb, ElemType type, int block, int64_t rows, int64_t cols,
                                const std::vector<uint32_t>& x_bits);
std::vector<float> dequantize_tensor(const QuantizedTensor& q);

}  // namespace nqkv::golden
