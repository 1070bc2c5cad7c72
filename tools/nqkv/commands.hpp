// Every `nqkv` subcommand lives in its own cmd_*.cpp in this folder and registers itself with
// NQKV_COMMAND(name) { ... set up the CLI11 subcommand on `app` ... }. Commands stay thin: they
// parse flags, call a library, print. Throw nqkv::InputError for anything the user got wrong.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace nqkv::cli {

using Registrar = std::function<void(CLI::App& app)>;

// Registrars in name order, so `nqkv --help` lists subcommands predictably.
std::vector<std::pair<std::string, Registrar>>& registry();

struct RegisterCommand {
  RegisterCommand(const std::string& name, Registrar r) { registry().emplace_back(name, std::move(r)); }
};

}  // namespace nqkv::cli

#define NQKV_COMMAND(name)                                                                  \
  static void nqkv_register_##name(CLI::App& app);                                          \
  static const ::nqkv::cli::RegisterCommand nqkv_registrar_##name(#name, nqkv_register_##name); \
  static void nqkv_register_##name(CLI::App& app)
