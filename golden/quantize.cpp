#include "golden/quantize.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>

namespace nqkv::golden {
namespace {

uint32_t quiet_nan_bits(ElemType t) {
  return t == ElemType::F16 ? kF16QuietNaN : t == ElemType::BF16 ? kBF16QuietNaN : kF32QuietNaN;
}

BlockScale quantize_affine(ElemType type, const float* x, int n, uint8_t* codes, BlockStatus* status) {
  BlockScale s;
  float mn = x[0], mx = x[0];
  bool finite = true;
  for (int i = 0; i < n; ++i) {
    finite = finite && std::isfinite(x[i]);
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
  }
  const float range = mx - mn;  // fp32, rounded to nearest even
  if (!finite || !std::isfinite(range)) {
    std::fill(codes, codes + n, uint8_t{0});
    s.min_bits = s.step_bits = quiet_nan_bits(type);
    if (status) *status = BlockStatus::NonFinite;
    return s;
  }
  s.min_bits = f32_to_elem(type, mn);  // exact: mn is one of the inputs
  if (range == 0.0f) {
    std::fill(codes, codes + n, uint8_t{0});
    s.step_bits = f32_to_elem(type, 0.0f);
    if (status) *status = (mn == 0.0f) ? BlockStatus::Zero : BlockStatus::Ok;
    return s;
  }
  const float inv = 15.0f / range;
  for (int i = 0; i < n; ++i) {
    // inv is +inf when r < 15/FLT_MAX (a subnormal range): 0 * inf would be NaN, so the minimum
    // itself is code 0 by definition (docs/numerics.md 4.3); every other element clamps to 15.
    const float t = x[i] == mn ? 0.0f : (x[i] - mn) * inv;
    const float r = std::nearbyint(t);  // default rounding mode: nearest, ties to even
    codes[i] = static_cast<uint8_t>(std::clamp(r, 0.0f, 15.0f));
  }
  s.step_bits = f32_to_elem(type, range / 15.0f);
  if (status) *status = BlockStatus::Ok;
  return s;
}

}  // namespace

float block_inverse(ElemType type, float absmax, BlockStatus* status) {
  (void)type;
  if (!std::isfinite(absmax)) {
    if (status) *status = BlockStatus::NonFinite;
    return 0.0f;
  }
  if (absmax == 0.0f) {
    if (status) *status = BlockStatus::Zero;
    return 0.0f;
  }
  // Section 5.3: a block whose absmax is below the smallest normal fp32 (only possible for bf16
  // and fp32 inputs) would overflow 1/absmax; it is flushed to a zero block and counted.
  if (absmax < FLT_MIN) {
    if (status) *status = BlockStatus::Flushed;
    return 0.0f;
  }
  if (status) *status = BlockStatus::Ok;
  return 1.0f / absmax;  // IEEE binary32 division: correctly rounded
}

uint8_t encode_normalized(const Codebook& cb, float xn) {
  uint8_t code = 0;
  for (float t : cb.thresholds) code += (xn > t) ? 1 : 0;  // strict: on a threshold -> lower code
  return code;
}

BlockScale quantize_block(const Codebook& cb, ElemType type, const float* x, int n, uint8_t* codes,
                          BlockStatus* status) {
  if (cb.affine) return quantize_affine(type, x, n, codes, status);
  BlockScale s;
  float absmax = 0.0f;
  bool finite = true;
  for (int i = 0; i < n; ++i) {
    finite = finite && std::isfinite(x[i]);
    absmax = std::max(absmax, std::fabs(x[i]));
  }
  BlockStatus st;
  const float inv = block_inverse(type, finite ? absmax : NAN, &st);
  if (status) *status = st;
  if (st != BlockStatus::Ok) {
    std::fill(codes, codes + n, static_cast<uint8_t>(cb.zero_code));
    s.absmax_bits = (st == BlockStatus::NonFinite) ? quiet_nan_bits(type) : f32_to_elem(type, 0.0f);
    return s;
  }
  for (int i = 0; i < n; ++i) codes[i] = encode_normalized(cb, x[i] * inv);
  s.absmax_bits = f32_to_elem(type, absmax);  // exact: absmax is the magnitude of one input
  return s;
}

void dequantize_block(const Codebook& cb, ElemType type, const BlockScale& s, const uint8_t* codes, int n,
                      float* out) {
  if (cb.affine) {
    const float mn = elem_to_f32(type, s.min_bits), step = elem_to_f32(type, s.step_bits);
    for (int i = 0; i < n; ++i) out[i] = mn + static_cast<float>(codes[i]) * step;
    return;
  }
  const float absmax = elem_to_f32(type, s.absmax_bits);
  for (int i = 0; i < n; ++i) out[i] = cb.values.at(codes[i]) * absmax;
}

size_t packed_bytes(int bits, size_t n) { return (n * static_cast<size_t>(bits) + 7) / 8; }

std::vector<uint8_t> pack_codes(int bits, const uint8_t* codes, size_t n) {
  if ((n * bits) % 8 != 0) throw std::invalid_argument("pack_codes: n * bits must be a whole number of bytes");
  std::vector<uint8_t> out(packed_bytes(bits, n), 0);
  const unsigned mask = (1u << bits) - 1u;
  for (size_t i = 0; i < n; ++i) {
    for (int b = 0; b < bits; ++b) {
      // Bit b of the code, counted from its most significant bit, goes to stream position p.
      const size_t p = i * bits + b;
      const unsigned bit = ((codes[i] & mask) >> (bits - 1 - b)) & 1u;
      out[p / 8] |= static_cast<uint8_t>(bit << (7 - p % 8));
    }
  }
  return out;
}

std::vector<uint8_t> unpack_codes(int bits, const uint8_t* packed, size_t n) {
  std::vector<uint8_t> out(n, 0);
  for (size_t i = 0; i < n; ++i) {
    unsigned c = 0;
    for (int b = 0; b < bits; ++b) {
      const size_t p = i * bits + b;
      c = (c << 1) | ((packed[p / 8] >> (7 - p % 8)) & 1u);
    }
    out[i] = static_cast<uint8_t>(c);
  }
  return out;
}

QuantizedTensor quantize_tensor(const Codebook& cb, ElemType type, int block, int64_t rows, int64_t cols,
                                const std::vector<uint32_t>& x_bits) {
  if (block <= 0 || cols % block != 0) throw std::invalid_argument("quantize_tensor: block must divide cols");
  if (static_cast<int64_t>(x_bits.size()) != rows * cols) throw std::invalid_argument("quantize_tensor: size");
  QuantizedTensor q;
  q.codebook = cb.id;
  q.type = type;
  q.block = block;
  q.rows = rows;
  q.cols = cols;
  const size_t row_bytes = packed_bytes(cb.bits, static_cast<size_t>(cols));
  q.codes.resize(static_cast<size_t>(rows) * row_bytes);
  q.scales.resize(static_cast<size_t>(rows * (cols / block)));
  std::vector<float> x(static_cast<size_t>(block));
  std::vector<uint8_t> codes(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < cols / block; ++b) {
      for (int i = 0; i < block; ++i) x[i] = elem_to_f32(type, x_bits[static_cast<size_t>(r * cols + b * block + i)]);
      BlockStatus st;
      q.scales[static_cast<size_t>(r * (cols / block) + b)] =
          quantize_block(cb, type, x.data(), block, codes.data() + b * block, &st);
      ++q.stats.blocks;
      q.stats.zero_blocks += st == BlockStatus::Zero;
      q.stats.flushed_blocks += st == BlockStatus::Flushed;
      q.stats.nonfinite_blocks += st == BlockStatus::NonFinite;
    }
    auto packed = pack_codes(cb.bits, codes.data(), static_cast<size_t>(cols));
    std::copy(packed.begin(), packed.end(), q.codes.begin() + static_cast<std::ptrdiff_t>(r * row_bytes));
  }
  return q;
}

std::vector<float> dequantize_tensor(const QuantizedTensor& q) {
  const Codebook& cb = codebook(q.codebook);
  const size_t row_bytes = packed_bytes(cb.bits, static_cast<size_t>(q.cols));
  std::vector<float> out(static_cast<size_t>(q.rows * q.cols));
  for (int64_t r = 0; r < q.rows; ++r) {
    auto codes = unpack_codes(cb.bits, q.codes.data() + r * row_bytes, static_cast<size_t>(q.cols));
    for (int64_t b = 0; b < q.cols / q.block; ++b)
      dequantize_block(cb, q.type, q.scales[static_cast<size_t>(r * (q.cols / q.block) + b)], codes.data() + b * q.block,
                       q.block, out.data() + r * q.cols + b * q.block);
  }
  return out;
}

}  // namespace nqkv::golden
