// Test program of the MPI master/worker pool (models/dse/mpi_pool.hpp), run by CTest with and
// without mpirun (tests/dse/CMakeLists.txt).
//
//   mpi_pool_test order N [--chunk C] [--plant-fault]
//       N tasks with a deterministic callback (every 53rd task, from task 7, throws); workers sleep
//       a rank-dependent pseudo-random time per task so results come back out of order. Rank 0
//       checks that the sink saw every index once, in order, with bytes equal to a serial run, and
//       that exactly the throwing tasks came back as error records. --plant-fault swaps two
//       records before the comparison: the check must report MISMATCH (a test that the check works).
//   mpi_pool_test idle SECONDS [--blocking]
//       Phase 1: rank 0 is busy elsewhere for SECONDS (sleeping) while the workers wait in
//       run_pool for work; phase 2: one task sleeps SECONDS on a worker while rank 0 waits for its
//       result. Every rank prints the CPU time it used over both phases; a rank using more than
//       10% of one core fails (a spinning wait uses ~100%). --blocking makes the workers wait in a
//       blocking MPI_Recv instead of the pool (the fault the pool avoids): it must fail.
//   mpi_pool_test early-error N [--in-share]
//       Rank 0 throws before the pool while the workers wait in it (or in mpi_share): every rank
//       must end (exit 2).
// Exit status 0 = pass, 1 = fail.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#define OMPI_SKIP_MPICXX 1  // the C API only (OpenMPI would pull in its deprecated C++ bindings)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include "models/dse/mpi_pool.hpp"

using namespace nqkv::dse;

namespace {

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool fails(int64_t i) { return i % 53 == 7; }

// Set on rank 0 and sent to the workers with mpi_share; every record depends on it.
std::string g_salt;
uint64_t salt_hash() {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : g_salt) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string evaluate(int64_t i) {
  if (fails(i)) throw std::runtime_error("planted failure at task " + std::to_string(i));
  static const uint64_t salt = salt_hash();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld,%016llx\n", static_cast<long long>(i),
                static_cast<unsigned long long>(mix(static_cast<uint64_t>(i) ^ salt)));
  return buf;
}

std::string on_error(int64_t i, const std::string& what) {
  return std::to_string(i) + ",error," + what + "\n";
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int order_test(const MpiSession& mpi, int64_t n, int64_t chunk, bool plant_fault) {
  // Rank 0's 1 MB salt reaches every worker through mpi_share (a wrong copy changes every record).
  if (mpi.rank() == 0)
    for (int k = 0; k < (1 << 20); ++k) g_salt += static_cast<char>(mix(static_cast<uint64_t>(k)) & 0xff);
  if (!mpi_share(g_salt)) {
    std::fprintf(stderr, "mpi_pool_test: mpi_share returned false without a failure on rank 0\n");
    return 1;
  }
  // Scramble completion order: each worker sleeps a pseudo-random 0..200 us per task.
  const int rank = mpi.rank();
  auto slow_evaluate = [rank](int64_t i) {
    if (rank > 0) std::this_thread::sleep_for(std::chrono::microseconds(mix(i * 31 + rank) % 200));
    return evaluate(i);
  };
  std::vector<std::string> got;
  std::vector<int64_t> seen;
  int64_t error_records = 0;
  PoolOptions opt;
  opt.chunk = chunk;
  const PoolStats st = run_pool(
      n, slow_evaluate,
      [&](int64_t i, const std::string& rec, bool ok) {
        seen.push_back(i);
        got.push_back(rec);
        if (!ok) ++error_records;
      },
      on_error, opt);
  if (rank != 0) return 0;
  int bad = 0;
  auto fail = [&](const std::string& what) {
    if (bad++ < 5) std::fprintf(stderr, "mpi_pool_test: %s\n", what.c_str());
  };
  if (plant_fault && got.size() > 11) std::swap(got[10], got[11]);
  if (static_cast<int64_t>(got.size()) != n) fail("sink saw " + std::to_string(got.size()) + " records, expected " + std::to_string(n));
  int64_t expected_errors = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(got.size()); ++i) {
    if (seen[static_cast<size_t>(i)] != i) fail("sink index " + std::to_string(seen[static_cast<size_t>(i)]) + " at position " + std::to_string(i));
    // The serial route, computed here independently of the pool.
    std::string want;
    try {
      want = evaluate(i);
    } catch (const std::exception& e) {
      want = on_error(i, e.what());
    }
    if (fails(i)) ++expected_errors;
    if (got[static_cast<size_t>(i)] != want) fail("MISMATCH at index " + std::to_string(i) + ": got '" + got[static_cast<size_t>(i)] + "'");
  }
  if (error_records != expected_errors || st.errors != expected_errors)
    fail("error records " + std::to_string(error_records) + " (stats " + std::to_string(st.errors) + "), expected " +
         std::to_string(expected_errors));
  int64_t sum = 0;
  std::string per_rank;
  for (size_t r = 0; r < st.per_rank.size(); ++r) {
    sum += st.per_rank[r];
    per_rank += (r ? " " : "") + std::to_string(st.per_rank[r]);
  }
  if (sum != n) fail("per-rank counts sum to " + std::to_string(sum));
  if (mpi.size() > 1 && st.per_rank[0] != 0) fail("rank 0 evaluated tasks while coordinating");
  std::printf("mpi_pool_test order: %s ranks=%d tasks=%lld errors=%lld chunks=%lld per_rank=[%s]\n", bad ? "FAIL" : "ok",
              st.ranks, static_cast<long long>(st.tasks), static_cast<long long>(st.errors),
              static_cast<long long>(st.chunks), per_rank.c_str());
  return bad ? 1 : 0;
}

int idle_test(const MpiSession& mpi, double seconds, bool blocking) {
  const double c0 = cpu_seconds(), t0 = now();
  const auto pause = std::chrono::duration<double>(seconds);
  if (blocking) {
    // The fault: workers wait in a blocking receive while rank 0 is busy, then rank 0 releases them.
    if (mpi.rank() == 0) {
      std::this_thread::sleep_for(pause);
      for (int r = 1; r < mpi.size(); ++r) {
        int x = 0;
        MPI_Send(&x, 1, MPI_INT, r, 7, MPI_COMM_WORLD);
      }
    } else {
      int x = 0;
      MPI_Recv(&x, 1, MPI_INT, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  } else {
    if (mpi.rank() == 0) std::this_thread::sleep_for(pause);  // phase 1: rank 0 busy, workers idle in run_pool
    run_pool(
        1,
        [&](int64_t) {
          std::this_thread::sleep_for(pause);  // phase 2: the only task is slow; rank 0 idles
          return std::string("done\n");
        },
        [](int64_t, const std::string&, bool) {}, on_error);
  }
  const double cpu = cpu_seconds() - c0, wall = now() - t0;
  const double share = wall > 0 ? cpu / wall : 0;
  const bool ok = share <= 0.10;
  std::printf("mpi_pool_test idle%s: rank %d cpu %.3f s over %.3f s wall = %.1f%% of a core %s\n",
              blocking ? " (blocking receive)" : "", mpi.rank(), cpu, wall, 100 * share, ok ? "ok" : "FAIL (spinning)");
  std::fflush(stdout);
  // Every rank's verdict counts: the job fails when any rank spun.
  int mine = ok ? 0 : 1, any = mine;
  if (mpi.active()) MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}

}  // namespace

int run(int argc, char** argv) {
  MpiSession mpi(argc, argv);
  if (argc < 3) {
    std::fprintf(stderr, "usage: mpi_pool_test order N [--chunk C] [--plant-fault] | idle SECONDS [--blocking] | early-error N\n");
    return 2;
  }
  const std::string mode = argv[1];
  bool plant = false, blocking = false;
  int64_t chunk = 0;
  for (int i = 3; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--plant-fault")) plant = true;
    else if (!std::strcmp(argv[i], "--blocking")) blocking = true;
    else if (!std::strcmp(argv[i], "--chunk") && i + 1 < argc) chunk = std::atoll(argv[++i]);
  }
  if (mode == "order") return order_test(mpi, std::atoll(argv[2]), chunk, plant);
  if (mode == "idle") {
    if (blocking && !mpi.active()) {
      std::fprintf(stderr, "mpi_pool_test: --blocking needs mpirun\n");
      return 2;
    }
    return idle_test(mpi, std::atof(argv[2]), blocking);
  }
  if (mode == "early-error") {
    // Rank 0 fails before the pool (as `nqkv dse run` does when OUT exists) while the workers
    // wait in run_pool: the session must release them (no hang) and the job must fail.
    if (mpi.rank() == 0) throw std::runtime_error("planted error on rank 0 before the pool");
    if (std::string(argv[3 < argc ? 3 : 2]) == "--in-share") {  // the workers wait in mpi_share instead
      std::string text;
      const bool got = mpi_share(text);
      std::printf("mpi_pool_test early-error: rank %d released from mpi_share (%s)\n", mpi.rank(), got ? "true" : "false");
      return got ? 1 : 0;
    }
    const PoolStats st = run_pool(std::atoll(argv[2]), evaluate, [](int64_t, const std::string&, bool) {}, on_error);
    std::printf("mpi_pool_test early-error: rank %d released after %lld tasks\n", mpi.rank(),
                static_cast<long long>(st.tasks));
    return 0;
  }
  std::fprintf(stderr, "mpi_pool_test: unknown mode %s\n", mode.c_str());
  return 2;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);  // the MpiSession ends inside, also while an exception unwinds
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpi_pool_test: %s\n", e.what());
    return 2;
  }
}
