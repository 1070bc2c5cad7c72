// Shared helpers for the golden tests: seeded randomness whose seed is printed on failure.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "golden/rng.hpp"

namespace nqkv::test {

// Fresh seed per run unless NQKV_TEST_SEED pins it; SCOPED_TRACE prints it with any failure.
inline uint64_t test_seed() {
  if (const char* s = std::getenv("NQKV_TEST_SEED")) return std::strtoull(s, nullptr, 0);
  static const uint64_t seed = std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32);
  return seed;
}
#define NQKV_SEEDED(var)                                                                              \
  const uint64_t var = ::nqkv::test::test_seed();                                                     \
  SCOPED_TRACE("seed " + std::to_string(var) + " (rerun with NQKV_TEST_SEED=" + std::to_string(var) + ")")

}  // namespace nqkv::test
