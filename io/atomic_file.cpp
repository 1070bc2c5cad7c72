#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
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
  // Renaming over a device, FIFO or directory would replace it (as root: /dev/null itself).
  const auto st = fs::status(target, ec);
  if (fs::exists(st) && !fs::is_regular_file(st))
    throw InputError(path + ": exists and is not a regular file (not replaced)");
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

namespace {

namespace fs = std::filesystem;

fs::path parent_of(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? p.parent_path() : fs::path(".");
}

// Creates and removes a uniquely named empty file in `dir`, named like write_file_atomically's
// temporary file for `filename` (so a name too long fails here too); "" when that works, else why not.
std::string probe_writable(const fs::path& dir, const std::string& filename = "nqkv-probe") {
  std::random_device rd;
  const fs::path probe = dir / (".tmp." + filename + "." + std::to_string(::getpid()) + "." + std::to_string(rd()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return "";
}

}  // namespace

void check_input_file(const std::string& path, const std::string& flag, uint64_t max_bytes) {
  struct stat st {};
  if (path.empty()) throw InputError(flag + ": no file given");
  if (::stat(path.c_str(), &st) != 0) throw InputError(flag + " " + path + ": cannot open file: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw InputError(flag + " " + path + ": is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw InputError(flag + " " + path + ": not a regular file (a device, FIFO or socket is not read)");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    throw InputError(flag + " " + path + ": file of " + std::to_string(st.st_size) + " bytes exceeds the limit of " +
                     std::to_string(max_bytes) + " bytes");
  // The whole file is read into memory and parsed beside itself: refuse at once what cannot fit
  // in the address space this process may use (ulimit -v) or in physical memory.
  uint64_t room = UINT64_MAX;
  rlimit lim{};
  if (::getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) room = static_cast<uint64_t>(lim.rlim_cur) / 2;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) room = std::min<uint64_t>(room, static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 2);
  if (static_cast<uint64_t>(st.st_size) > room)
    throw InputError(flag + " " + path + ": file of " + std::to_string(st.st_size) + " bytes exceeds the limit of " +
                     std::to_string(room) + " bytes (half the memory available to nqkv)");
  if (::access(path.c_str(), R_OK) != 0) throw InputError(flag + " " + path + ": cannot read file: " + std::strerror(errno));
}

void check_output_file(const std::string& path, const std::string& flag, const std::vector<std::string>& inputs) {
  if (path.empty()) throw InputError(flag + ": no output path given");
  const fs::path dir = parent_of(path);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(flag + " " + path + ": output directory does not exist: " + dir.string());
  const auto st = fs::status(path, ec);
  if (fs::exists(st)) {
    if (fs::is_directory(st)) throw InputError(flag + " " + path + ": is a directory");
    if (!fs::is_regular_file(st)) throw InputError(flag + " " + path + ": exists and is not a regular file (not replaced)");
    for (const auto& in : inputs) {
      std::error_code e2;
      if (!in.empty() && fs::equivalent(path, in, e2))
        throw InputError(flag + " " + path + ": is an input of this command (" + in + "); writing it would destroy it");
    }
  }
  const std::string why = probe_writable(dir, fs::path(path).filename().string());
  if (!why.empty()) throw InputError(flag + " " + path + ": cannot create files in " + dir.string() + ": " + why);
}

void check_output_dir(const std::string& path, const std::string& flag) {
  if (path.empty()) throw InputError(flag + ": no output directory given");
  std::error_code ec;
  fs::path where = fs::absolute(fs::path(path), ec).lexically_normal();
  if (!where.empty() && !where.has_filename()) where = where.parent_path();  // a trailing '/'
  // The directory itself when it exists, else its nearest existing ancestor (created below it).
  while (!fs::exists(fs::symlink_status(where, ec)) && where.has_relative_path()) where = where.parent_path();
  if (!fs::is_directory(where, ec))
    throw InputError(flag + " " + path + ": " + where.string() + " exists and is not a directory");
  const std::string why = probe_writable(where);
  if (!why.empty()) throw InputError(flag + " " + path + ": cannot create files in " + where.string() + ": " + why);
}

void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i)
    for (size_t j = i + 1; j < outputs.size(); ++j) {
      const auto& [a, fa] = outputs[i];
      const auto& [b, fb] = outputs[j];
      if (a.empty() || b.empty()) continue;
      std::error_code ea, eb, ee;
      const fs::path ca = fs::weakly_canonical(a, ea), cb = fs::weakly_canonical(b, eb);
      const bool same = (!ea && !eb && ca == cb) || fs::equivalent(a, b, ee);
      if (same) throw InputError(fa + " and " + fb + " name the same file " + a + "; give each output its own path");
    }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace nqkv::io
