#include "golden/golden_dir.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/sha256.hpp"

namespace nqkv::golden {
namespace fs = std::filesystem;

namespace {

// Temporary and retired directories live beside the target under hidden names tagged with the
// pid, so a later run can tell stale ones (their process is gone) from a concurrent run's.
std::string tag(const fs::path& target, const char* kind, long pid) {
  return "." + target.filename().string() + "." + kind + "." + std::to_string(pid);
}

void remove_stale(const fs::path& target) {
  std::error_code ec;
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = "." + target.filename().string() + ".";
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0) continue;
    const size_t dot = n.find_last_of('.');
    long pid = 0;
    try {
      pid = std::stol(n.substr(dot + 1));
    } catch (const std::exception&) {
      continue;
    }
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0) fs::remove_all(e.path(), ec);
  }
}

bool is_golden_directory(const fs::path& dir) { return fs::is_regular_file(dir / kGoldenManifest); }

}  // namespace

GoldenDirectory write_golden_directory(const std::string& out, uint64_t seed, const std::vector<GoldenCase>& cases) {
  const fs::path target = fs::path(out).lexically_normal();
  if (target.filename().empty()) throw InputError("golden gen --out " + out + ": give a directory name");
  std::error_code ec;
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  if (!fs::is_directory(parent, ec)) throw InputError("golden gen --out " + out + ": directory " + parent.string() + " does not exist");
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec)) throw InputError("golden gen --out " + out + ": exists and is not a directory");
    if (!fs::is_empty(target, ec) && !is_golden_directory(target))
      throw InputError("golden gen --out " + out + ": the directory is not empty and holds no golden manifest (not replaced)");
  }
  remove_stale(target);
  const long pid = static_cast<long>(::getpid());
  const fs::path tmp = parent / tag(target, "tmp", pid), old = parent / tag(target, "old", pid);
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec)) throw InputError("cannot create " + tmp.string() + ": " + ec.message());
  GoldenDirectory gd;
  gd.dir = target.string();
  gd.seed = seed;
  try {
    nlohmann::json m;
    m["format"] = kGoldenFormat;
    m["seed"] = seed;
    m["cases"] = nlohmann::json::array();
    for (const auto& c : cases) {
      const std::string file = c.name + ".safetensors";
      const fs::path p = tmp / file;
      c.data.save(p.string());
      const auto size = static_cast<int64_t>(fs::file_size(p));
      m["cases"].push_back({{"name", c.name}, {"file", file}, {"bytes", size}, {"sha256", io::sha256_file(p.string())}});
      gd.files.push_back((target / file).string());
      gd.bytes += size;
    }
    io::write_text_atomically((tmp / kGoldenManifest).string(), m.dump(1) + "\n");
    // Swap into place: the previous set (if any) is retired first, then removed.
    if (fs::exists(target, ec)) {
      fs::rename(target, old, ec);
      if (ec) throw InputError("cannot replace " + target.string() + ": " + ec.message());
    }
    fs::rename(tmp, target, ec);
    if (ec) {
      std::error_code ec2;
      if (fs::exists(old, ec2)) fs::rename(old, target, ec2);
      throw InputError("cannot move the golden set into " + target.string() + ": " + ec.message());
    }
    fs::remove_all(old, ec);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  std::sort(gd.files.begin(), gd.files.end());
  return gd;
}

GoldenDirectory open_golden_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError("golden directory not found: " + dir);
  const fs::path mp = fs::path(dir) / kGoldenManifest;
  if (!fs::is_regular_file(mp, ec))
    throw InputError(dir + " has no " + kGoldenManifest + " (not written by `nqkv golden gen`, or incomplete); regenerate it");
  std::ifstream in(mp);
  nlohmann::json m;
  try {
    in >> m;
  } catch (const nlohmann::json::exception&) {
    throw InputError(mp.string() + ": not valid JSON");
  }
  GoldenDirectory gd;
  gd.dir = dir;
  std::set<std::string> listed;
  try {
    if (m.at("format").get<std::string>() != kGoldenFormat)
      throw InputError(mp.string() + ": unknown format '" + m.at("format").get<std::string>() + "'");
    if (!m.at("seed").is_number_unsigned()) throw InputError(mp.string() + ": 'seed' must be a non-negative integer");
    gd.seed = m.at("seed").get<uint64_t>();
    for (const auto& c : m.at("cases")) {
      const std::string file = c.at("file").get<std::string>();
      if (file.empty() || file.find('/') != std::string::npos || file[0] == '.')
        throw InputError(mp.string() + ": bad case file name '" + file + "'");
      if (listed.count(file)) throw InputError(mp.string() + ": case " + file + " is listed twice");
      if (!c.at("bytes").is_number_unsigned() || !c.at("sha256").is_string())
        throw InputError(mp.string() + ": case " + file + ": 'bytes' must be a non-negative integer and 'sha256' a string");
      const fs::path p = fs::path(dir) / file;
      if (!fs::is_regular_file(p, ec)) throw InputError(dir + ": case " + file + " listed in the manifest is missing");
      if (static_cast<int64_t>(fs::file_size(p, ec)) != c.at("bytes").get<int64_t>() ||
          io::sha256_file(p.string()) != c.at("sha256").get<std::string>())
        throw InputError(dir + ": case " + file + " does not match the manifest (changed after `nqkv golden gen`)");
      listed.insert(file);
      gd.files.push_back(p.string());
      gd.bytes += c.at("bytes").get<int64_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(mp.string() + ": malformed manifest (" + std::string(e.what()) + ")");
  }
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors" && !listed.count(e.path().filename().string()))
      throw InputError(dir + ": " + e.path().filename().string() + " is not in the manifest (a mixed or modified set)");
  if (gd.files.empty()) throw InputError(mp.string() + ": lists no cases");
  std::sort(gd.files.begin(), gd.files.end());
  return gd;
}

}  // namespace nqkv::golden
