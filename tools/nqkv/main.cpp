// nqkv: one binary, one subcommand per job. User mistakes (bad flags, bad files) print one line
// "nqkv: error: ..." and exit with status 2; nothing else may leave main by exception. Errors of
// the libraries nqkv reads with (JSON, filesystem, streams, allocation) are the input's too: one
// line and status 2; any other exception is a bug ("internal error", status 1).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <ios>
#include <new>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <system_error>

#include "io/error.hpp"
#include "tools/nqkv/commands.hpp"

namespace nqkv::cli {
std::vector<std::pair<std::string, Registrar>>& registry() {
  static std::vector<std::pair<std::string, Registrar>> r;
  return r;
}
}  // namespace nqkv::cli

int main(int argc, char** argv) {
  CLI::App app{"nqkv: NQKV-style KV-cache quantization: golden numerics, RTL (Verilator), CUDA and performance models"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  auto& commands = nqkv::cli::registry();
  std::sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, reg] : commands) reg(app);
  // No option of any command means anything with an empty value (`--csv ''` would otherwise be
  // taken as "not given" and silently write nothing).
  const CLI::Validator non_empty([](std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); },
                                 "");
  std::function<void(CLI::App*)> refuse_empty = [&](CLI::App* a) {
    for (CLI::Option* o : a->get_options())
      if (o->get_type_size_max() > 0) o->check(non_empty);
    for (CLI::App* s : a->get_subcommands([](CLI::App*) { return true; })) refuse_empty(s);
  };
  refuse_empty(&app);
  // One line whatever the message holds.
  auto fail = [](const char* prefix, std::string msg, const char* suffix, int status) {
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    std::fprintf(stderr, "nqkv: %s%s%s\n", prefix, msg.c_str(), suffix);
    return status;
  };
  try {
    // A word where a subcommand must come that names none: say so (CLI11 would only say that a
    // subcommand is required).
    const CLI::App* level = &app;
    for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
      const auto subs = level->get_subcommands([&](const CLI::App* s) { return s->get_name() == argv[i]; });
      if (subs.empty()) {
        if (level->get_require_subcommand_min() == 0) break;
        std::string names;
        for (const auto* s : level->get_subcommands({})) names += (names.empty() ? "" : ", ") + s->get_name();
        throw CLI::ExtrasError("unknown subcommand '" + std::string(argv[i]) + "' (valid: " + names + ")",
                               CLI::ExitCodes::ExtrasError);
      }
      level = subs.front();
    }
    app.parse(argc, argv);
    // Output lost to a full disk or a closed pipe is an error, not a success.
    if (std::fflush(stdout) != 0 || std::ferror(stdout))
      return fail("error: ", std::string("cannot write to standard output: ") + std::strerror(errno), "", nqkv::kExitBadInput);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help and friends
  } catch (const CLI::ParseError& e) {
    return fail("error: ", e.what(), " (see --help)", nqkv::kExitBadInput);
  } catch (const nqkv::InputError& e) {
    return fail("error: ", e.what(), "", nqkv::kExitBadInput);
  } catch (const nlohmann::json::exception& e) {
    // A reader that let a JSON type or range error through: still the input's fault.
    return fail("error: invalid JSON input: ", e.what(), "", nqkv::kExitBadInput);
  } catch (const std::filesystem::filesystem_error& e) {
    return fail("error: ", e.what(), "", nqkv::kExitBadInput);
  } catch (const std::ios_base::failure& e) {
    return fail("error: I/O error: ", e.what(), "", nqkv::kExitBadInput);
  } catch (const std::system_error& e) {  // fmt::print on a full disk or closed pipe, among others
    return fail("error: ", e.what(), "", nqkv::kExitBadInput);
  } catch (const std::bad_alloc&) {
    return fail("error: ", "out of memory: the input or the requested sizes need more memory than is available", "",
                nqkv::kExitBadInput);
  } catch (const std::length_error& e) {
    return fail("error: requested size too large: ", e.what(), "", nqkv::kExitBadInput);
  } catch (const std::exception& e) {
    return fail("internal error: ", e.what(), "", 1);
  }
  return 0;
}
