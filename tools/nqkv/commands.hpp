// Every `nqkv` subcommand lives in its own cmd_*.cpp in this folder and registers itself with
// NQKV_COMMAND(name) { ... set up the CLI11 subcommand on `app` ... }. Commands stay thin: they
// parse flags, call a library, print. Throw nqkv::InputError for anything the user got wrong.
#pragma once
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"

namespace nqkv::cli {

using Registrar = std::function<void(CLI::App& app)>;

// Registrars in name order, so `nqkv --help` lists subcommands predictably.
std::vector<std::pair<std::string, Registrar>>& registry();

struct RegisterCommand {
  RegisterCommand(const std::string& name, Registrar r) { registry().emplace_back(name, std::move(r)); }
};

// Ranges of numeric flags, checked by CLI11 while the command line is parsed: before any work,
// one line, exit status 2; the range is shown in --help. Give every numeric flag one.

// An integer in [lo, hi] (and a multiple of `multiple`); overflowing text such as 1e400 or
// 99999999999999999999 is refused, never saturated or wrapped.
inline CLI::Validator int_range(int64_t lo, int64_t hi, int64_t multiple = 1) {
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi) +
                            (multiple > 1 ? " (a multiple of " + std::to_string(multiple) + ")" : std::string());
  return CLI::Validator(
      [lo, hi, multiple, range](std::string& s) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long v = s.empty() ? 0 : std::strtoll(s.c_str(), &end, 0);
        if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || v < lo || v > hi || v % multiple != 0)
          return "must be an integer in " + range + ", got '" + s + "'";
        return std::string();
      },
      "in " + range);
}

// A finite number in [lo, hi], or in (lo, hi] when lo_open: NaN, inf and 1e400 are refused.
inline CLI::Validator real_range(double lo, double hi, bool lo_open = false) {
  auto num = [](double x) {
    std::string t = std::to_string(x);
    t.erase(t.find_last_not_of('0') + 1);
    if (!t.empty() && t.back() == '.') t.pop_back();
    return t;
  };
  const std::string range = (lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + "]";
  return CLI::Validator(
      [lo, hi, lo_open, range](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
          return "must be a finite number in " + range + ", got '" + s + "'";
        return std::string();
      },
      "in " + range);
}

// A seed: an integer in 0..2^64-1 (a negative or larger number is refused, not wrapped).
inline CLI::Validator seed_range() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        errno = 0;
        // Decimal digits only: CLI11 would read 010 as octal 8 and 0x10 as 16.
        const bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos &&
                            (s.size() == 1 || s[0] != '0');
        if (!s.empty() && s[0] == '-') return "must not be negative, got '" + s + "'";
        if (digits) std::strtoull(s.c_str(), nullptr, 10);
        if (!digits || errno == ERANGE) return "must be a decimal integer in 0..18446744073709551615, got '" + s + "'";
        return std::string();
      },
      "in 0..2^64-1");
}

// --model as a path (it holds a '/' or ends in .json; zoo names do neither): a regular file within
// the JSON size cap, checked before it is read.
inline bool is_model_file(const std::string& model) {
  const bool json_suffix = model.size() > 5 && model.compare(model.size() - 5, 5, ".json") == 0;
  return model.find('/') != std::string::npos || json_suffix;
}
inline void check_model_file(const std::string& model) {
  if (is_model_file(model)) io::check_input_file(model, "--model", io::kMaxJsonFileBytes);
}

}  // namespace nqkv::cli

#define NQKV_COMMAND(name)                                                                  \
  static void nqkv_register_##name(CLI::App& app);                                          \
  static const ::nqkv::cli::RegisterCommand nqkv_registrar_##name(#name, nqkv_register_##name); \
  static void nqkv_register_##name(CLI::App& app)
