#include "models/dse/child.hpp"

#include "io/sanitizers.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "io/error.hpp"

namespace nqkv::dse {
namespace {

// An ASan build (whose children are often the same binary) cannot run under RLIMIT_AS, so the
// budget is not applied there (io/sanitizers.hpp).
constexpr bool kSanitized = io::kAddressSanitizer;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string tail(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(s.size() - n); }

}  // namespace

ChildResult run_child(const std::vector<std::string>& argv, double timeout_s, double memory_mib) {
  if (argv.empty()) throw std::logic_error("run_child: empty argv");
  char out_tmpl[] = "/tmp/nqkv-dse-child-XXXXXX";
  char err_tmpl[] = "/tmp/nqkv-dse-child-XXXXXX";
  const int out_fd = mkstemp(out_tmpl);
  const int err_fd = mkstemp(err_tmpl);
  if (out_fd < 0 || err_fd < 0) throw InputError("cannot create a temporary file in /tmp for a child process");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    close(out_fd), close(err_fd), unlink(out_tmpl), unlink(err_tmpl);
    throw InputError(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (memory_mib > 0 && !kSanitized) {
      const rlim_t bytes = static_cast<rlim_t>(memory_mib * 1048576.0);
      const struct rlimit rl = {bytes, bytes};
      setrlimit(RLIMIT_AS, &rl);
    }
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before any kill
  close(out_fd);
  close(err_fd);
  ChildResult r;
  int st = 0;
  bool timed_out = false;
  for (int sleep_us = 200;;) {
    const pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (el > timeout_s) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
    sleep_us = std::min(sleep_us * 2, 20000);
  }
  r.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.out = slurp(out_tmpl);
  const std::string err = slurp(err_tmpl);
  unlink(out_tmpl);
  unlink(err_tmpl);
  if (timed_out) {
    r.status = "timeout";
    r.exit_code = 128 + SIGKILL;
    r.err_tail = tail(err, 2000) + "\n[killed after " + std::to_string(timeout_s) + " s]";
    return r;
  }
  if (WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  else if (WIFSIGNALED(st)) r.exit_code = 128 + WTERMSIG(st);
  r.status = r.exit_code == 0 ? "ok" : "failed";
  if (r.exit_code != 0) r.err_tail = tail(tail(r.out, 1000) + err, 2000);
  return r;
}

}  // namespace nqkv::dse
