// Bit-level conversions between binary16 (fp16), bfloat16 (bf16) and binary32 (fp32), as
// docs/numerics.md section 1 defines them: widening is exact; narrowing rounds to nearest even,
// overflows to infinity and keeps NaN a (quiet) NaN. Header-only so every backend can share it.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace nqkv::golden {

enum class ElemType { F16, BF16, F32 };

inline const char* elem_type_name(ElemType t) {
  return t == ElemType::F16 ? "f16" : t == ElemType::BF16 ? "bf16" : "f32";
}
inline int elem_bits(ElemType t) { return t == ElemType::F32 ? 32 : 16; }

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint64_t f64_bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}

// fp16 -> fp32, exact (subnormals become normal fp32 numbers).
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (mant << 13));  // inf / nan (payload kept)
  if (exp == 0) {
    if (mant == 0) return f32_from_bits(sign);
    // Subnormal: value = mant * 2^-24, exact in fp32.
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

// fp32 -> fp16 with round-to-nearest-even; overflow gives +-inf; NaN gives a quiet NaN.
inline uint16_t f32_to_f16(float f) {
  const uint32_t u = f32_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7e00u | static_cast<uint16_t>((abs >> 13) & 0x1ffu);
  if (abs == 0x7f800000u) return sign | 0x7c00u;
  // Work on the exact value as an integer count of 2^-24 units (fp16's smallest subnormal),
  // shifted left 13 bits of headroom, so rounding is done once on an exact integer.
  const int e = static_cast<int>(abs >> 23);
  if (e < 102) return sign;  // below half of the smallest subnormal: rounds to zero (ties cannot occur)
  const uint32_t m = (abs & 0x7fffffu) | (e ? 0x800000u : 0);
  // value = m * 2^(e-150). fp16 quantum for this magnitude:
  int unbiased = e - 127;
  int q_exp = (unbiased < -14) ? -24 : unbiased - 10;  // exponent of fp16's ulp at this value
  int shift = q_exp - (e - 150);                         // bits of m below the fp16 ulp
  uint32_t r;
  if (shift <= 0) {
    r = m << (-shift);
  } else {
    const uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    r = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
  }
  // r counts ulps of 2^q_exp; rebuild fields (a carry into the next binade is handled naturally).
  if (q_exp == -24) {  // subnormal range (r <= 1024; r == 1024 is the smallest normal)
    return sign | static_cast<uint16_t>(r);
  }
  // normal: r in [1024, 2048]; exponent field = unbiased + 15
  uint32_t exp_field = static_cast<uint32_t>(unbiased + 15);
  if (r == 2048) {
    r = 1024;
    ++exp_field;
  }
  if (exp_field >= 31) return sign | 0x7c00u;
  return sign | static_cast<uint16_t>((exp_field << 10) | (r - 1024));
}

// bf16 -> fp32, exact.
inline float bf16_to_f32(uint16_t b) { return f32_from_bits(static_cast<uint32_t>(b) << 16); }

// fp32 -> bf16 with round-to-nearest-even; NaN stays a quiet NaN.
inline uint16_t f32_to_bf16(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  const uint32_t lsb = (u >> 16) & 1u;
  return static_cast<uint16_t>((u + 0x7fffu + lsb) >> 16);
}

// Canonical quiet NaNs used when a block is non-finite (docs/numerics.md section 5).
inline constexpr uint16_t kF16QuietNaN = 0x7e00u;
inline constexpr uint16_t kBF16QuietNaN = 0x7fc0u;
inline constexpr uint32_t kF32QuietNaN = 0x7fc00000u;

// Decode one element stored in `t` (raw bits in the low 16 or 32 bits of `bits`) to fp32.
inline float elem_to_f32(ElemType t, uint32_t bits) {
  switch (t) {
    case ElemType::F16: return f16_to_f32(static_cast<uint16_t>(bits));
    case ElemType::BF16: return bf16_to_f32(static_cast<uint16_t>(bits));
    default: return f32_from_bits(bits);
  }
}
// Encode an fp32 value into `t` (RNE); returns raw bits.
inline uint32_t f32_to_elem(ElemType t, float v) {
  switch (t) {
    case ElemType::F16: return f32_to_f16(v);
    case ElemType::BF16: return f32_to_bf16(v);
    default: return f32_bits(v);
  }
}

}  // namespace nqkv::golden
