// A golden directory (`nqkv golden gen`) is a unit: it is written whole or not at all, and read
// only when it is whole. The cases go to a temporary directory beside the target together with
// manifest.json (format, seed, and each case's file, size and SHA-256, written last); the
// temporary directory is then renamed into place, so a killed, failing or concurrent `gen` never
// leaves a partial or mixed set under the target name. `open_golden_directory` refuses a
// directory whose manifest is missing or does not match its files (missing, extra, changed).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "golden/vectors.hpp"

namespace nqkv::golden {

inline constexpr const char* kGoldenManifest = "manifest.json";
inline constexpr const char* kGoldenFormat = "nqkv-golden-v1";

struct GoldenDirectory {
  std::string dir;
  uint64_t seed = 0;
  std::vector<std::string> files;  // case files, sorted, each verified against the manifest
  int64_t bytes = 0;
};

// Writes every case and the manifest, then moves the set to `dir`, replacing a previous golden
// directory there. InputError when `dir` exists and is not a golden directory (nothing of the
// user's is replaced), or when the write fails (the target is then unchanged).
GoldenDirectory write_golden_directory(const std::string& dir, uint64_t seed, const std::vector<GoldenCase>& cases);

// Verifies the manifest against the files; InputError naming the first problem otherwise.
GoldenDirectory open_golden_directory(const std::string& dir);

}  // namespace nqkv::golden
