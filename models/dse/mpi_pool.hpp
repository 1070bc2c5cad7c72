// A master/worker task pool over MPI for `mpirun -n P nqkv dse run SPEC -o OUT`.
//
// Generic: N tasks with indices 0..N-1 and a pure callback `evaluate(index) -> record` (one result
// record, e.g. one JSON or CSV line). Rank 0 is the master: it hands out chunks of consecutive
// indices on demand (dynamic load balancing: a worker gets its next chunk when it returns the last),
// receives every result, and passes them to `sink` in index order 0, 1, ..., N-1, so what rank 0
// writes is byte-identical to a serial run. Only rank 0 calls `sink`; the other ranks never write.
// With P > 1 rank 0 only coordinates (it is mostly asleep: see below); with P == 1 (or without
// MPI) run_pool evaluates serially on the calling process, so callers have a single code path.
//
// Idle ranks do not spin: every wait is MPI_Iprobe / MPI_Test followed by a short sleep (50 us
// doubling to PoolOptions::max_sleep_us while nothing arrives), never a blocking MPI receive, which
// in OpenMPI busy-polls and burns most of a core.
//
// Failures: an exception thrown by `evaluate` on any rank is caught there and turned into the
// task's record by `on_error(index, what)`; the sink receives it with ok = false and the run goes
// on. Only MPI failures (a dead rank) end the run (MPI's default error handler aborts the job).
//
// Without OpenMPI at configure time (find_package(MPI) found nothing) the MPI part is compiled out:
// mpi_compiled() is false, run_pool is serial, and MpiSession refuses to start when the process was
// launched by mpirun (InputError: nqkv was built without MPI).
//
// Use (every rank runs the same code; all ranks must call run_pool with the same n):
//   dse::MpiSession mpi(argc, argv);          // MPI_Init when launched by mpirun, else nothing
//   auto stats = dse::run_pool(n, evaluate, [&](int64_t i, const std::string& rec, bool ok) {...},
//                              on_error);      // sink only runs on rank 0
//   if (mpi.rank() != 0) return 0;              // workers are done; rank 0 writes the outputs
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nqkv::dse {

// True when nqkv was built with MPI (NQKV_HAVE_MPI).
bool mpi_compiled();
// The active session's rank and size (0 and 1 without one).
int mpi_rank();
int mpi_size();

// True when this process was started by mpirun/mpiexec (OpenMPI's OMPI_COMM_WORLD_SIZE or a PMI
// variable is set), whether or not MPI is compiled in.
bool launched_by_mpirun();

// MPI_Init / MPI_Finalize around a scope. Constructed when launched_by_mpirun() (and MPI is
// compiled in); otherwise a no-op session of size 1, rank 0. Only one per process.
//
// Failures around the pool end the job cleanly (the destructor, while an exception unwinds):
//  - on rank 0 before run_pool (bad spec, OUT exists): the workers are told to stop (their
//    run_pool returns with no tasks), then MPI_Finalize; main prints the one-line error, exit 2;
//  - on rank 0 during run_pool (the sink threw): MPI_Abort(1), since workers may be mid-send;
//  - on a worker: MPI_Finalize; mpirun ends the job when a rank exits with a non-zero status.
class MpiSession {
 public:
  MpiSession();  // MPI_Init(nullptr, nullptr) when launched by mpirun
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  // MPI_Finalize now (idempotent); for a rank that leaves with std::exit.
  void finalize();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  bool active() const { return active_; }  // MPI_Init was called
  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ends every rank of the job with `code` (MPI_Abort); plain exit when not active.
  [[noreturn]] void abort(int code) const;

 private:
  void init(int* argc, char*** argv);
  bool active_ = false;
  int rank_ = 0, size_ = 1;
  int uncaught_ = 0;
};

struct PoolOptions {
  int64_t chunk = 0;         // indices per chunk; 0 = auto: clamp(n / (16 x workers), 1, 1024)
  int max_sleep_us = 1000;   // longest sleep between polls while idle (start 50 us, doubling)
};

struct PoolStats {
  int64_t tasks = 0;                 // results delivered to the sink (rank 0) / evaluated (worker)
  int64_t errors = 0;                // records produced by on_error
  int64_t chunks = 0;                // chunks handed out (rank 0) / processed (worker)
  std::vector<int64_t> per_rank;     // rank 0: tasks evaluated by each rank (index = rank)
  int ranks = 1;                     // MPI world size (1 when serial)
};

// Rank 0's `text` to every rank, before run_pool (collective: every rank calls it once, in the
// same place). Rank 0 sends and returns true; a worker waits (polling, as the pool does), stores
// the text and returns true, or returns false when rank 0 failed before sending (the session
// released the workers: return without work). Without a session of size > 1: returns true.
// Use: rank 0's results of work only it does (the engine's area syntheses), so that the workers
// never repeat it and rank 0 stays the only writer of the cache.
bool mpi_share(std::string& text);

using PoolEvaluate = std::function<std::string(int64_t index)>;
using PoolSink = std::function<void(int64_t index, const std::string& record, bool ok)>;
using PoolOnError = std::function<std::string(int64_t index, const std::string& what)>;

// Runs tasks 0..n-1. Serial when no MpiSession is active or its size is 1. Collective over
// MPI_COMM_WORLD when active: every rank must call it with the same n (and options). An exception
// thrown by `sink` on rank 0 propagates; the MpiSession's destructor then sees it unwinding and
// calls MPI_Abort, so the waiting workers end too (keep the sink to writing).
PoolStats run_pool(int64_t n, const PoolEvaluate& evaluate, const PoolSink& sink, const PoolOnError& on_error,
                   const PoolOptions& options = {});

}  // namespace nqkv::dse
