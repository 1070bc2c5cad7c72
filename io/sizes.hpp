// Checked size arithmetic for readers: every element count, byte count and shape product that
// comes from a file or a flag goes through these, so that a hostile header can never wrap an
// integer (signed overflow is undefined behaviour; unsigned wrap makes a tiny buffer pass a size
// check). Counts are capped at kMaxElements (2^48): far beyond any tensor nqkv handles, and low
// enough that a count times an element size, a bit width or a block count still fits in int64.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/error.hpp"

namespace nqkv::io {

inline constexpr int64_t kMaxElements = int64_t{1} << 48;

// a * b for 0 <= a, b; InputError "WHAT: ..." when either is negative or the product exceeds
// kMaxElements.
inline int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  if (a < 0 || b < 0) throw InputError(what + ": negative size");
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || r > kMaxElements)
    throw InputError(what + ": size " + std::to_string(a) + " x " + std::to_string(b) + " is too large (over 2^48)");
  return r;
}

// The number of elements of a shape (1 for a scalar), checked as above.
inline int64_t shape_elements(const std::vector<int64_t>& shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape) n = checked_mul(n, d, what);
  return n;
}

// A JSON/text number that must be an integer in [lo, hi] (InputError "WHAT: ..." otherwise):
// never casts a double that does not fit (float-to-int overflow is undefined behaviour).
inline int64_t checked_integer(double x, int64_t lo, int64_t hi, const std::string& what) {
  const std::string range = what + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
  // [-2^63, 2^63) is where the cast is defined; the bounds are compared after it, exactly.
  if (!std::isfinite(x) || std::floor(x) != x || x < -9223372036854775808.0 || x >= 9223372036854775808.0)
    throw InputError(range);
  const auto r = static_cast<int64_t>(x);
  if (r < lo || r > hi) throw InputError(range);
  return r;
}

}  // namespace nqkv::io
