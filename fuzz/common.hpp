// Shared by every harness: the one expected rejection is nqkv::InputError; anything else (another
// exception, a crash, a sanitizer report, a failed invariant) is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "io/error.hpp"

namespace nqkv::fuzz {

// Runs f; an InputError is the reader saying "bad input": expected, swallowed. Everything else
// propagates (libFuzzer reports an uncaught exception as a crash; replay_main as a failure).
template <class F>
bool accepts(F&& f) {
  try {
    f();
    return true;
  } catch (const InputError&) {
    return false;
  }
}

// An invariant of the harness itself (round trips, sizes); a violation is a finding.
[[noreturn]] inline void violated(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", file, line, what);
  std::abort();
}
#define NQKV_FUZZ_CHECK(cond) \
  do {                        \
    if (!(cond)) ::nqkv::fuzz::violated(#cond, __FILE__, __LINE__); \
  } while (0)

inline std::string bytes_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace nqkv::fuzz
