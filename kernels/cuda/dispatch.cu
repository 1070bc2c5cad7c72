// Fused split-K decode attention over the paged quantized cache (docs/numerics.md sections 7-9):
// decode_attention validates the call, fills DecodeParams, launches the partition kernel that
// heuristics.cpp picks for the shape, then the combine (combine.cu).
//
// One CTA per (partition of 512 tokens, kv head, sequence) computes the integer partition partials
// (M_p, L_p, e_p, O_p) of all G = Hq/Hkv query heads of its kv head, so the codes are read once per
// group. The partials are integers, so how the work inside a partition is divided does not matter.
// A second kernel (combine_kernel, CTAs over slabs of outputs) runs the fixed-order float64 combine
// (section 9.2) with explicit __dmul_rn/__dadd_rn/__ddiv_rn. Bit-exact with golden/attention.cpp.
#include <cmath>
#include <map>
#include <mutex>
#include <utility>

#include <cudaTypedefs.h>

#include "golden/attention.hpp"
#include "kernels/cuda/combine.cuh"
#include "kernels/cuda/decode_generic.cuh"
#include "kernels/cuda/decode_mma.cuh"
#include "kernels/cuda/heuristics.hpp"

namespace nqkv::cuda {

using namespace detail;

// cudaFuncSetAttribute once per (kernel, device, size): decode calls of small batches are latency
// bound, and the attribute call costs host time on every launch otherwise.
static cudaError_t set_dynamic_smem(const void* kernel, int bytes) {
  static std::mutex mu;
  static std::map<std::pair<const void*, int>, int> done;  // (kernel, device) -> bytes set
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) return e;
  std::lock_guard<std::mutex> lock(mu);
  int& have = done[{kernel, dev}];
  if (have >= bytes) return cudaSuccess;
  e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (e == cudaSuccess) have = bytes;
  return e;
}

// The driver's tensor-map encoder (cuTensorMapEncodeTiled), fetched once through the runtime; null when
// the driver does not provide it (the fast path then copies with cp.async).
static PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
      f = nullptr;
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

// Tensor maps of the 4-bit, 128-dim code arrays for the fast path's TMA copies: rows of 64 bytes, one box =
// one page of one kv head, 64-byte swizzle. False when TMA cannot be used for this cache (alignment, row
// count, no encoder).
static bool encode_code_maps(const PagedCache& c, CodeMaps& maps) {
  const PFN_cuTensorMapEncodeTiled_v12000 encode = tensor_map_encoder();
  const int64_t rows = int64_t(c.num_pages) * c.kv_heads * c.page_size;
  auto a16 = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  if (!encode || rows >= (int64_t(1) << 31) || !a16(c.k_codes) || !a16(c.v_codes) || !a16(c.k_scales) ||
      !a16(c.v_scales))
    return false;
  auto one = [&](CUtensorMap* m, const void* base) {
    const cuuint64_t dims[2] = {64, static_cast<cuuint64_t>(rows)};
    const cuuint64_t strides[1] = {64};
    const cuuint32_t box[2] = {64, static_cast<cuuint32_t>(c.page_size)};
    const cuuint32_t estr[2] = {1, 1};
    return encode(m, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void*>(base), dims, strides, box, estr,
                  CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_64B, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                  CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
  };
  return one(&maps.k, c.k_codes) && one(&maps.v, c.v_codes);
}

// Multiprocessor count of a device, once per device.
static int sm_count(int dev) {
  static std::mutex mu;
  static std::map<int, int> n;
  std::lock_guard<std::mutex> lock(mu);
  auto it = n.find(dev);
  if (it != n.end()) return it->second;
  int v = 0;
  if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || v <= 0) v = 1;
  return n[dev] = v;
}

namespace {

// Launches one partition kernel over grid with bytes of dynamic shared memory; with partition_uses_pdl()
// as a programmatic dependent of the previous kernel in the stream (wait_for_previous_kernel, partials.cuh).
template <class Kernel, class... Args>
Result launch_partition(Kernel kernel, dim3 grid, int bytes, cudaStream_t s, const Args&... args) {
  cudaError_t e = set_dynamic_smem(reinterpret_cast<const void*>(kernel), bytes);
  if (e) return cuda_result(e, "decode_attention: shared memory attribute");
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = dim3(kThreads);
  cfg.dynamicSmemBytes = bytes;
  cfg.stream = s;
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at;
  cfg.numAttrs = partition_uses_pdl() ? 1 : 0;
  e = cudaLaunchKernelEx(&cfg, kernel, args...);
  if (e) return cuda_result(e, "decode_attention launch");
  return cuda_result(cudaGetLastError(), "decode_attention launch");
}

// The fast-path kernels of one (NB, G): split / select-based LUT, cp.async / TMA (G = 1 only).
template <int NB, int G>
Result launch_mma(const DecodeVariant& v, const DecodeSchedule& sc, const DecodeParams& p, const CodeMaps& maps, dim3 grid,
                  cudaStream_t s) {
#if NQKV_CUDA_PERSISTENT
  if (sc.pipe == 2)
    return launch_partition(decode_mma_persistent_kernel<NB, G, 2>, dim3(sc.ctas), fast_smem_bytes(NB, G, true) + (G == 1 ? 1024 : 0),
                            s, p, maps);
  if (sc.pipe == 1)
    return launch_partition(decode_mma_persistent_kernel<NB, G, 1>, dim3(sc.ctas), fast_smem_bytes(NB, G) + (G == 1 ? 1024 : 0), s, p,
                            maps);
#else
  (void)sc;
#endif
  const int bytes = fast_smem_bytes(NB, G);
  if constexpr (G == 1)
    if (v.kind == DecodeVariant::MmaTma)
      return launch_partition(decode_mma_tma_kernel<NB, 1>, grid, bytes + 1024, s, p, maps);
  if (!v.split) return launch_partition(decode_mma_kernel<NB, G, false>, grid, bytes, s, p);
  return launch_partition(decode_mma_kernel<NB, G>, grid, bytes, s, p);
}

Result launch_variant(const DecodeVariant& v, const DecodeSchedule& sc, const DecodeParams& p, const CodeMaps& maps, dim3 grid,
                      int generic_bytes, cudaStream_t s) {
  if (v.kind == DecodeVariant::Generic) switch (v.bits) {
      case 4: return launch_partition(decode_kernel<4>, grid, generic_bytes, s, p);
      case 3: return launch_partition(decode_kernel<3>, grid, generic_bytes, s, p);
      default: return launch_partition(decode_kernel<2>, grid, generic_bytes, s, p);
    }
  switch (v.nb * 8 + v.G) {
    case 9: return launch_mma<1, 1>(v, sc, p, maps, grid, s);
    case 10: return launch_mma<1, 2>(v, sc, p, maps, grid, s);
    case 12: return launch_mma<1, 4>(v, sc, p, maps, grid, s);
    case 17: return launch_mma<2, 1>(v, sc, p, maps, grid, s);
    case 18: return launch_mma<2, 2>(v, sc, p, maps, grid, s);
    case 20: return launch_mma<2, 4>(v, sc, p, maps, grid, s);
    case 33: return launch_mma<4, 1>(v, sc, p, maps, grid, s);
    case 34: return launch_mma<4, 2>(v, sc, p, maps, grid, s);
    default: return launch_mma<4, 4>(v, sc, p, maps, grid, s);
  }
}

}  // namespace

Result decode_attention(const PagedCache& c, const float* q, int q_heads, float sm_scale, int max_seq_len, float* out,
                        DecodeWorkspace& ws, int32_t* err_word, const DecodeTrace* trace, void* stream) {
  Result r = validate_cache(c);
  if (!r.ok()) return r;
  if (!q || !out || !err_word) return invalid("decode_attention: null pointer");
  if (reinterpret_cast<uintptr_t>(q) % 4 || reinterpret_cast<uintptr_t>(out) % 4)
    return invalid("decode_attention: q and out must be 4-byte aligned");
  if (q_heads <= 0 || q_heads % c.kv_heads != 0)
    return invalid("q_heads (" + std::to_string(q_heads) + ") must be a multiple of kv_heads (" +
                   std::to_string(c.kv_heads) + ")");
  const int G = q_heads / c.kv_heads;
  if (G > 64) return invalid("decode_attention: at most 64 query heads per kv head");
  if (max_seq_len <= 0 || int64_t(max_seq_len) > int64_t(c.max_pages_per_seq) * c.page_size)
    return invalid("decode_attention: max_seq_len must be in [1, max_pages_per_seq * page_size]");
  const int max_parts = (max_seq_len + kPartTokens - 1) / kPartTokens;
  if (ws.batch != c.batch || ws.q_heads != q_heads || ws.kv_heads != c.kv_heads || ws.head_dim != c.head_dim ||
      ws.max_parts < max_parts || !ws.part_M)
    return invalid("decode_attention: workspace does not match (allocate it for this batch, heads and max_seq_len)");
  if (c.batch > 65535 || c.kv_heads > 65535) return invalid("decode_attention: batch and kv_heads must be <= 65535");
  if (trace && (trace->trace_tokens < 0)) return invalid("decode_attention: trace_tokens must be >= 0");
  const float scale = sm_scale > 0.0f ? sm_scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.head_dim)));
  int64_t cfix = 0;
  try {
    cfix = golden::softmax_scale_fixed(scale);
  } catch (const std::exception& e) {
    return invalid(std::string("decode_attention: ") + e.what());
  }
  const uint32_t* exp2 = exp2_table_device(&r);
  if (!exp2) return r;
  const DevCodebook cb = make_dev_codebook(c.codebook);
  const Layout L = make_layout(c.head_dim, cb.bits, c.head_dim / c.block, G);
  int dev = 0, max_smem = 0;
  cudaGetDevice(&dev);
  r = cuda_result(cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "device attribute");
  if (!r.ok()) return r;
  if (L.total + 4096 > max_smem)
    return invalid("decode_attention: this shape needs " + std::to_string(L.total) + " bytes of shared memory (device has " +
                   std::to_string(max_smem) + ")");
  DecodeParams p{};
  p.c = c;
  for (int i = 0; i < 4; ++i) p.lut[i] = cb.lut[i];
  const bool split_ok = split_mac_table(cb.mac, p.lutx);
  p.q = q;
  p.out = out;
  p.q_heads = q_heads;
  p.group = G;
  p.max_parts = ws.max_parts;
  p.max_seq_len = max_seq_len;
  p.cfix = cfix;
  p.exp2 = exp2;
  p.err = err_word;
  p.part_M = ws.part_M;
  p.part_L = ws.part_L;
  p.part_e = ws.part_e;
  p.part_Olo = ws.part_Olo;
  p.part_Ohi = ws.part_Ohi;
  p.counters = ws.counters;
  p.seq_err = ws.seq_err;
  if (trace) p.tr = *trace;
  const dim3 grid(max_parts, c.kv_heads, c.batch);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  DecodeVariant v =
      choose_decode_variant(cb.bits, c.head_dim, c.block, G, int64_t(c.num_pages) * c.kv_heads, split_ok);
  CodeMaps maps{};
  if (v.kind == DecodeVariant::MmaTma && !encode_code_maps(c, maps)) v.kind = DecodeVariant::Mma;
  DecodeSchedule sc = choose_decode_schedule(v, int64_t(max_parts) * c.kv_heads * c.batch, sm_count(dev));
  if (G == 1 && v.kind != DecodeVariant::MmaTma) sc = DecodeSchedule{};  // the persistent G = 1 kernel copies by TMA
  p.fuse_combine = sc.fuse ? 1 : 0;
  r = launch_variant(v, sc, p, maps, grid, L.total, s);
  if (!r.ok() || sc.fuse) return r;
  return launch_combine(p, G, c.head_dim, c.kv_heads, c.batch, s, combine_uses_pdl());
}

}  // namespace nqkv::cuda
