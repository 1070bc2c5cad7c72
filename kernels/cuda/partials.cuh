// The end of a partition CTA, both kernels: its error bits go to the workspace's (sequence, kv head) slot
// and the caller's error word, and the combine may be scheduled (section 9.1; the partials themselves
// are written by each kernel, O_p as its low word and its sign-extending high byte, workspace.hpp).
#pragma once
#include "kernels/cuda/decode_params.cuh"

namespace nqkv::cuda::detail {

// End of a partition CTA: its error bits go to the (sequence, kv head)'s slot, which combine_kernel
// reads (NaN outputs) and resets, and to the caller's error word.
__device__ __forceinline__ void publish_partition_errors(const DecodeParams& p, int b, int kvh, int s_err) {
  __syncthreads();  // s_err is final
  if (threadIdx.x == 0 && s_err) {
    atomicOr(&p.seq_err[b * p.c.kv_heads + kvh], s_err);
    atomicOr(p.err, s_err);
  }
}
// End of a partition CTA (after its last item): the next kernel (the combine, or the next call's partition
// kernel when the combine is fused) may be scheduled once every partition CTA is here (programmatic
// dependent launch; its griddepcontrol.wait still waits for this grid's completion and memory flush).
__device__ __forceinline__ void trigger_dependents() { asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory"); }

// Start of a partition CTA: the partition kernel is a programmatic dependent (unless NQKV_CUDA_PDL_PARTITION=0)
// of the previous kernel in the stream (the previous call's combine, an append, ...), so it may be scheduled
// while that kernel runs; it reads and writes nothing in global memory before this wait, which returns once
// that kernel has completed and its writes are visible (and at once for a plain launch).
__device__ __forceinline__ void wait_for_previous_kernel() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }

}  // namespace nqkv::cuda::detail
