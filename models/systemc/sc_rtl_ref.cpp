#include "models/systemc/sc_rtl_ref.hpp"

#include <mutex>

namespace nqkv::sysc {
namespace {

std::mutex g_mu;
std::string g_errors;

}  // namespace

std::string take_rtl_sc_errors() {
  std::lock_guard<std::mutex> lock(g_mu);
  std::string s;
  s.swap(g_errors);
  return s;
}

}  // namespace nqkv::sysc

// DPI import of rtl/nq_assert.svh.
extern "C" void nq_assert_fail(const char* msg) {
  std::lock_guard<std::mutex> lock(nqkv::sysc::g_mu);
  nqkv::sysc::g_errors += "RTL assertion failed: ";
  nqkv::sysc::g_errors += msg ? msg : "?";
  nqkv::sysc::g_errors += '\n';
}
