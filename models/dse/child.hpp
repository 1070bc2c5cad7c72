// Expensive DSE stages (synthesis, RTL/SystemC validation) run in a child process (fork + exec)
// with a wall-clock timeout and an address-space budget (setrlimit RLIMIT_AS), so a crash, a hang
// or a memory blow-up of one point is recorded as that point's status and never ends the sweep.
#pragma once
#include <string>
#include <vector>

namespace nqkv::dse {

struct ChildResult {
  std::string status;       // "ok" (exit 0), "failed" (non-zero exit or a signal), "timeout"
  int exit_code = 0;        // exit status, or 128 + signal number
  double elapsed_s = 0;
  std::string out;          // everything the child wrote to stdout
  std::string err_tail;     // the last 2000 bytes of its stderr (and of its stdout when it failed)
};

// Runs argv[0] (searched in PATH) with argv, in its own process group (the whole group is killed on
// timeout), stdin from /dev/null. memory_mib <= 0: no address-space limit (nor in an AddressSanitizer
// build, whose shadow memory needs terabytes of address space).
ChildResult run_child(const std::vector<std::string>& argv, double timeout_s, double memory_mib);

}  // namespace nqkv::dse
