#include "models/dse/mpi_pool.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include "io/error.hpp"

#ifdef NQKV_HAVE_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only (OpenMPI would pull in its deprecated C++ bindings)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace nqkv::dse {

namespace {

bool g_active = false;  // an MpiSession called MPI_Init
int g_rank = 0, g_size = 1;
#ifdef NQKV_HAVE_MPI
enum class PoolState { NotStarted, Running, Done };
PoolState g_pool_state = PoolState::NotStarted;
void stop_workers(int size);  // rank 0: tells every worker that there is no work (defined below)
#endif

// One task's outcome: the record and whether evaluate returned it (false: on_error's record).
struct Outcome {
  bool ok = true;
  std::string record;
};

Outcome run_one(int64_t i, const PoolEvaluate& evaluate, const PoolOnError& on_error) {
  try {
    return {true, evaluate(i)};
  } catch (const std::exception& e) {
    return {false, on_error(i, e.what())};
  } catch (...) {
    return {false, on_error(i, "unknown exception")};
  }
}

// Sleeps between polls: 50 us, doubling up to max_us while nothing arrives; reset() after a message.
class Backoff {
 public:
  explicit Backoff(int max_us) : max_us_(std::max(50, max_us)) {}
  void wait() {
    std::this_thread::sleep_for(std::chrono::microseconds(us_));
    us_ = std::min(us_ * 2, max_us_);
  }
  void reset() { us_ = 50; }

 private:
  int max_us_, us_ = 50;
};

}  // namespace

bool mpi_compiled() {
#ifdef NQKV_HAVE_MPI
  return true;
#else
  return false;
#endif
}

int mpi_rank() { return g_active ? g_rank : 0; }
int mpi_size() { return g_active ? g_size : 1; }

bool launched_by_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

MpiSession::MpiSession() { init(nullptr, nullptr); }
MpiSession::MpiSession(int& argc, char**& argv) { init(&argc, &argv); }

void MpiSession::init(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  if (!launched_by_mpirun()) return;
#ifdef NQKV_HAVE_MPI
  int inited = 0;
  MPI_Initialized(&inited);
  if (inited) throw std::logic_error("MpiSession: MPI is already initialised (one session per process)");
  MPI_Init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  active_ = true;
  g_active = true;
  g_rank = rank_;
  g_size = size_;
  g_pool_state = PoolState::NotStarted;
  uncaught_ = std::uncaught_exceptions();
#else
  throw InputError(
      "this nqkv was built without MPI (OpenMPI was not found at configure time: install libopenmpi-dev and "
      "reconfigure); run it without mpirun (--jobs N), or split the sweep with nqkv dse shard + merge");
#endif
}

void MpiSession::finalize() {
#ifdef NQKV_HAVE_MPI
  if (!active_) return;
  active_ = false;
  g_active = false;
  MPI_Finalize();
#endif
}

MpiSession::~MpiSession() {
#ifdef NQKV_HAVE_MPI
  if (!active_) return;
  if (std::uncaught_exceptions() > uncaught_ && size_ > 1 && rank_ == 0) {
    if (g_pool_state == PoolState::Running) {
      std::cerr.flush();
      MPI_Abort(MPI_COMM_WORLD, 1);  // workers may be waiting on a send to this rank
    }
    if (g_pool_state == PoolState::NotStarted) stop_workers(size_);
  }
  finalize();
#endif
}

void MpiSession::abort(int code) const {
#ifdef NQKV_HAVE_MPI
  if (active_) {
    std::cerr.flush();
    MPI_Abort(MPI_COMM_WORLD, code);
  }
#endif
  std::exit(code);
}

#ifdef NQKV_HAVE_MPI
namespace {

constexpr int kTagWork = 101;    // master -> worker: int64 {begin, end}; begin < 0: stop
constexpr int kTagResult = 102;  // worker -> master: serialised chunk of outcomes
constexpr int kTagShare = 103;   // master -> worker: mpi_share's text

void put_u64(std::string& b, uint64_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
uint64_t get_u64(const char*& p, const char* end) {
  if (end - p < static_cast<ptrdiff_t>(sizeof(uint64_t))) throw std::runtime_error("mpi_pool: truncated result message");
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

// Waits for a request without a blocking MPI call (which busy-polls in OpenMPI).
void wait_request(MPI_Request& req, Backoff& backoff) {
  int done = 0;
  backoff.reset();
  for (;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    backoff.wait();
  }
}

void send_work(int worker, int64_t begin, int64_t end) {
  int64_t msg[2] = {begin, end};
  MPI_Send(msg, 2, MPI_INT64_T, worker, kTagWork, MPI_COMM_WORLD);  // 16 bytes: sent eagerly
}

void stop_workers(int size) {
  for (int w = 1; w < size; ++w) send_work(w, -1, -1);
}

PoolStats run_master(int64_t n, const PoolSink& sink, const PoolOptions& opt, int size) {
  PoolStats st;
  st.ranks = size;
  st.per_rank.assign(static_cast<size_t>(size), 0);
  const int workers = size - 1;
  const int64_t chunk = opt.chunk > 0 ? opt.chunk : std::clamp<int64_t>(n / (16 * workers), 1, 1024);
  int64_t next = 0;
  int live = 0;  // workers that have not been told to stop
  auto hand_out = [&](int w) {
    if (next < n) {
      const int64_t end = std::min(n, next + chunk);
      send_work(w, next, end);
      next = end;
      ++st.chunks;
    } else {
      send_work(w, -1, -1);
      --live;
    }
  };
  live = workers;
  for (int w = 1; w <= workers; ++w) hand_out(w);

  std::map<int64_t, std::vector<Outcome>> pending;  // by the chunk's first index
  int64_t delivered = 0;
  Backoff backoff(opt.max_sleep_us);
  std::string buf;
  while (delivered < n || live > 0) {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kTagResult, MPI_COMM_WORLD, &flag, &status);
    if (!flag) {
      backoff.wait();
      continue;
    }
    backoff.reset();
    int bytes = 0;
    MPI_Get_count(&status, MPI_BYTE, &bytes);
    buf.resize(static_cast<size_t>(bytes));
    // The message is there (probed): this receive completes at once.
    MPI_Recv(buf.data(), bytes, MPI_BYTE, status.MPI_SOURCE, kTagResult, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    const char* p = buf.data();
    const char* end = p + buf.size();
    const int64_t begin = static_cast<int64_t>(get_u64(p, end));
    const uint64_t count = get_u64(p, end);
    std::vector<Outcome> outs(count);
    for (auto& o : outs) {
      o.ok = get_u64(p, end) != 0;
      const uint64_t len = get_u64(p, end);
      if (static_cast<uint64_t>(end - p) < len) throw std::runtime_error("mpi_pool: truncated result message");
      o.record.assign(p, len);
      p += len;
    }
    st.per_rank[static_cast<size_t>(status.MPI_SOURCE)] += static_cast<int64_t>(count);
    pending.emplace(begin, std::move(outs));
    hand_out(status.MPI_SOURCE);
    // Deliver in index order.
    for (auto it = pending.find(delivered); it != pending.end(); it = pending.find(delivered)) {
      for (const auto& o : it->second) {
        if (!o.ok) ++st.errors;
        sink(delivered, o.record, o.ok);
        ++delivered;
        ++st.tasks;
      }
      pending.erase(it);
    }
  }
  return st;
}

PoolStats run_worker(const PoolEvaluate& evaluate, const PoolOnError& on_error, const PoolOptions& opt, int size) {
  PoolStats st;
  st.ranks = size;
  Backoff backoff(opt.max_sleep_us);
  std::string buf;
  for (;;) {
    int flag = 0;
    MPI_Iprobe(0, kTagWork, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    if (!flag) {
      backoff.wait();
      continue;
    }
    backoff.reset();
    int64_t msg[2];
    MPI_Recv(msg, 2, MPI_INT64_T, 0, kTagWork, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (msg[0] < 0) break;
    buf.clear();
    put_u64(buf, static_cast<uint64_t>(msg[0]));
    put_u64(buf, static_cast<uint64_t>(msg[1] - msg[0]));
    for (int64_t i = msg[0]; i < msg[1]; ++i) {
      const Outcome o = run_one(i, evaluate, on_error);
      if (!o.ok) ++st.errors;
      put_u64(buf, o.ok ? 1 : 0);
      put_u64(buf, o.record.size());
      buf += o.record;
      ++st.tasks;
    }
    ++st.chunks;
    if (buf.size() > static_cast<size_t>(INT_MAX))
      throw std::runtime_error("mpi_pool: a chunk's results exceed 2 GiB; use a smaller PoolOptions::chunk");
    MPI_Request req;
    MPI_Isend(buf.data(), static_cast<int>(buf.size()), MPI_BYTE, 0, kTagResult, MPI_COMM_WORLD, &req);
    wait_request(req, backoff);
  }
  return st;
}

}  // namespace
#endif

bool mpi_share(std::string& text) {
#ifdef NQKV_HAVE_MPI
  if (!g_active || g_size < 2) return true;
  if (g_rank == 0) {
    if (text.size() > static_cast<size_t>(INT_MAX)) throw std::runtime_error("mpi_share: text over 2 GiB");
    std::vector<MPI_Request> reqs(static_cast<size_t>(g_size - 1));
    for (int w = 1; w < g_size; ++w)
      MPI_Isend(text.data(), static_cast<int>(text.size()), MPI_BYTE, w, kTagShare, MPI_COMM_WORLD, &reqs[static_cast<size_t>(w - 1)]);
    Backoff backoff(1000);
    for (auto& r : reqs) wait_request(r, backoff);
    return true;
  }
  Backoff backoff(1000);
  auto take_share = [&]() {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(0, kTagShare, MPI_COMM_WORLD, &flag, &status);
    if (!flag) return false;
    int bytes = 0;
    MPI_Get_count(&status, MPI_BYTE, &bytes);
    text.resize(static_cast<size_t>(bytes));
    MPI_Recv(text.data(), bytes, MPI_BYTE, 0, kTagShare, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return true;
  };
  for (;;) {
    if (take_share()) return true;
    int flag = 0;
    MPI_Iprobe(0, kTagWork, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    if (flag) {
      // Messages from one sender arrive in order: if the share was sent before this work message
      // it is here now (it may have arrived between the two probes); the work message stays
      // queued for run_pool. Otherwise rank 0 never shared: this is the session's release.
      if (take_share()) return true;
      int64_t msg[2];
      MPI_Recv(msg, 2, MPI_INT64_T, 0, kTagWork, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (msg[0] >= 0) throw std::runtime_error("mpi_share: work arrived before rank 0's share");
      g_pool_state = PoolState::Done;
      return false;
    }
    backoff.wait();
  }
#else
  (void)text;
  return true;
#endif
}

PoolStats run_pool(int64_t n, const PoolEvaluate& evaluate, const PoolSink& sink, const PoolOnError& on_error,
                   const PoolOptions& options) {
  if (n < 0) throw std::invalid_argument("run_pool: negative task count");
#ifdef NQKV_HAVE_MPI
  if (g_active && g_size > 1) {
    g_pool_state = PoolState::Running;
    PoolStats st =
        g_rank == 0 ? run_master(n, sink, options, g_size) : run_worker(evaluate, on_error, options, g_size);
    g_pool_state = PoolState::Done;
    return st;
  }
#endif
  (void)options;
  PoolStats st;
  st.per_rank.assign(1, 0);
  for (int64_t i = 0; i < n; ++i) {
    const Outcome o = run_one(i, evaluate, on_error);
    if (!o.ok) ++st.errors;
    sink(i, o.record, o.ok);
    ++st.tasks;
  }
  st.per_rank[0] = n;
  st.chunks = n > 0 ? 1 : 0;
  return st;
}

}  // namespace nqkv::dse
