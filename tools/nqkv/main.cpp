// nqkv: one binary, one subcommand per job. User mistakes (bad flags, bad files) print one line
// "nqkv: error: ..." and exit with status 2; nothing else may leave main by exception.
#include <algorithm>
#include <cstdio>
#include <exception>

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
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help and friends
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "nqkv: error: %s (see --help)\n", e.what());
    return nqkv::kExitBadInput;
  } catch (const nqkv::InputError& e) {
    std::fprintf(stderr, "nqkv: error: %s\n", e.what());
    return nqkv::kExitBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nqkv: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
