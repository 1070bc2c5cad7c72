#include "io/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/error.hpp"

namespace nqkv::io {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError("output directory does not exist: " + dir.string());
  // A unique temporary name in the same directory keeps the final rename atomic (same filesystem).
  std::random_device rd;
  const fs::path tmp = dir / (".tmp." + target.filename().string() + "." + std::to_string(::getpid()) + "." +
                              std::to_string(rd()));
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw InputError("cannot create output file in " + dir.string() + ": " + std::strerror(errno));
      write(out);
      out.flush();
      if (!out) throw InputError("write failed for " + path);
    }
    fs::rename(tmp, target, ec);
    if (ec) throw InputError("cannot rename temporary file to " + path + ": " + ec.message());
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace nqkv::io
