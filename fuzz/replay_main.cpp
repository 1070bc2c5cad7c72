// Replays inputs through one harness's LLVMFuzzerTestOneInput without libFuzzer: built with the
// normal compiler and registered as the CTest tests fuzz_replay_<harness> (fuzz/CMakeLists.txt),
// so every seed and every regression input runs on every test run.
// Usage: fuzz_replay_<harness> PATH...   (files, or directories whose regular files are replayed
// in name order; a missing directory counts as empty). Exit 0 when every input ran, 1 when an
// exception other than InputError escaped (the harness lets only those through); a crash or a
// sanitizer report ends the process, naming the input on stderr first.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path p = argv[i];
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') in_dir.push_back(e.path());
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else if (fs::exists(p, ec)) {
      std::fprintf(stderr, "fuzz replay: %s is neither a file nor a directory\n", p.c_str());
      return 1;
    }
  }
  int failed = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "fuzz replay: cannot read %s\n", f.c_str());
      return 1;
    }
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay %s (%zu bytes)\n", f.c_str(), bytes.size());
    std::fflush(stderr);
    try {
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "FAIL %s: uncaught exception: %s\n", f.c_str(), e.what());
      ++failed;
    } catch (...) {
      std::fprintf(stderr, "FAIL %s: uncaught non-standard exception\n", f.c_str());
      ++failed;
    }
  }
  std::printf("fuzz replay: %zu inputs, %d failed\n", files.size(), failed);
  return failed ? 1 : 0;
}
