// Shared helpers for the llama tests: where the shared checkpoint lives, and a skip when absent.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace nqkv::llama::test {

// NQKV_TINYLLAMAS_DIR (environment) overrides the compile-time location.
inline std::string data_dir() {
  if (const char* e = std::getenv("NQKV_TINYLLAMAS_DIR")) return e;
  return NQKV_TINYLLAMAS_DIR;
}
inline std::string data_file(const std::string& name) { return data_dir() + "/" + name; }
inline bool have_data() {
  std::error_code ec;
  return std::filesystem::is_regular_file(data_file("stories260K.bin"), ec) &&
         std::filesystem::is_regular_file(data_file("tok512.bin"), ec) &&
         std::filesystem::is_regular_file(data_file("greedy_256.txt"), ec);
}

}  // namespace nqkv::llama::test

#define NQKV_REQUIRE_TINYLLAMAS()                                                                     \
  do {                                                                                                \
    if (!::nqkv::llama::test::have_data())                                                            \
      GTEST_SKIP() << "stories260K.bin / tok512.bin / greedy_256.txt not found in "                   \
                   << ::nqkv::llama::test::data_dir() << " (set NQKV_TINYLLAMAS_DIR to run this test)"; \
  } while (0)
