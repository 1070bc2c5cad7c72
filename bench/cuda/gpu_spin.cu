// A one-thread kernel that keeps the stream busy for a given time (the GPU's global nanosecond timer),
// so the host can queue the timed launches behind it and launch latency stays out of the timings.
#include "bench/cuda/gpu_spin.hpp"

#include <cuda_runtime.h>

namespace {
__global__ void spin_kernel(unsigned long long ns) {
  unsigned long long t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  } while (t - t0 < ns);
}
}  // namespace

void gpu_spin(double us) { spin_kernel<<<1, 1>>>(static_cast<unsigned long long>(us * 1e3)); }
