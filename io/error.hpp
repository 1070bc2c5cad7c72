// Errors a user can cause (bad files, bad flags, bad shapes). The CLI turns an InputError into
// one line on stderr and exit status 2; anything else escaping main is a bug in nqkv.
#pragma once
#include <stdexcept>
#include <string>

namespace nqkv {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

// Exit status for bad input, shared by every subcommand.
inline constexpr int kExitBadInput = 2;

}  // namespace nqkv
