// A SystemC simulation cannot restart in one process (errors E529/E546): every test of a SystemC
// test binary that elaborates and runs a simulation starts with NQKV_NEEDS_SIMULATION(), which
// skips it when an earlier test of the same process already used the simulation. CTest runs each
// test in its own process (gtest_discover_tests), so there every test runs.
#pragma once
#include <gtest/gtest.h>

namespace nqkv::test {

inline bool claim_simulation() {
  static bool used = false;
  const bool ok = !used;
  used = true;
  return ok;
}

}  // namespace nqkv::test

#define NQKV_NEEDS_SIMULATION()            \
  if (!::nqkv::test::claim_simulation()) \
  GTEST_SKIP() << "a SystemC simulation cannot restart in one process: run one test per process (ctest does)"
