// Quantize-append into the paged cache, cache dequantization, and the generic row quantizer of the
// golden `quantize` cases (docs/numerics.md sections 4-6), bit-exact with golden/quantize.cpp.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "golden/attention.hpp"
#include "golden/rng.hpp"
#include "kernels/cuda/common.cuh"

namespace nqkv::cuda {
namespace detail {

DevCodebook make_dev_codebook(golden::CodebookId id) {
  const golden::Codebook& cb = golden::codebook(id);
  DevCodebook d{};
  d.bits = cb.bits;
  d.affine = cb.affine ? 1 : 0;
  d.n = cb.affine ? 16 : static_cast<int>(cb.values.size());
  d.zero_code = cb.zero_code;
  for (int i = 0; i < 16; ++i) {
    d.values[i] = i < static_cast<int>(cb.values.size()) ? cb.values[i] : 0.0f;
    d.thr[i] = i < static_cast<int>(cb.thresholds.size()) ? cb.thresholds[i] : INFINITY;
    d.mac[i] = i < static_cast<int>(cb.mac.size()) ? cb.mac[i] : 0;
  }
  for (int w = 0; w < 4; ++w) {
    uint32_t v = 0;
    for (int j = 0; j < 4; ++j) v |= uint32_t(uint8_t(d.mac[4 * w + j])) << (8 * j);
    d.lut[w] = v;
  }
  return d;
}

// A constant table in a __device__ array, uploaded once per (device, table, key) and its device
// address cached: these lookups sit on the launch path of small calls. `fill(host)` writes the
// table's `bytes` (called only on the first use); the table lands at byte `offset` of `symbol`.
template <class Fill>
const void* device_table(const void* symbol, int key, size_t bytes, size_t offset, Fill&& fill, const char* what,
                         Result* err) {
  static std::mutex mu;
  static std::map<std::tuple<int, const void*, int>, const void*> cache;
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e != cudaSuccess) {
    *err = cuda_result(e, (std::string(what) + ": current device").c_str());
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu);
  const auto it = cache.find({dev, symbol, key});
  if (it != cache.end()) return it->second;
  std::vector<uint8_t> host(bytes);
  fill(host.data());
  e = cudaMemcpyToSymbol(symbol, host.data(), bytes, offset);
  void* base = nullptr;
  if (e == cudaSuccess) e = cudaGetSymbolAddress(&base, symbol);
  if (e != cudaSuccess) {
    *err = cuda_result(e, (std::string(what) + " upload").c_str());
    return nullptr;
  }
  const void* p = static_cast<const uint8_t*>(base) + offset;
  cache[{dev, symbol, key}] = p;
  return p;
}

__device__ __align__(16) uint32_t g_exp2_table[1024];

const uint32_t* exp2_table_device(Result* err) {
  const auto& t = golden::exp2_table();
  return static_cast<const uint32_t*>(device_table(
      reinterpret_cast<const void*>(&g_exp2_table), 0, sizeof(g_exp2_table), 0,
      [&](void* host) { std::memcpy(host, t.data(), sizeof(g_exp2_table)); }, "exp2 table", err));
}

// Number of thresholds below xn (strict), by binary search over 15 sorted entries (+inf padded).
__device__ __forceinline__ int encode_code(const float* thr, float xn) {
  int c = 0;
  if (xn > thr[c + 7]) c += 8;
  if (xn > thr[c + 3]) c += 4;
  if (xn > thr[c + 1]) c += 2;
  if (xn > thr[c]) c += 1;
  return c;
}

// fp16 -> fp32 exactly as golden/float_formats.hpp (a NaN keeps its payload; __half2float would
// return the canonical 0x7fffffff).
__device__ __forceinline__ float f16_widen(uint32_t h) {
  if (((h >> 10) & 31) == 31) return __uint_as_float(((h & 0x8000u) << 16) | 0x7f800000u | ((h & 0x3ffu) << 13));
  return __half2float(__ushort_as_half(static_cast<unsigned short>(h)));
}
__device__ __forceinline__ float widen(int is_bf16, uint32_t bits) {
  return is_bf16 ? __uint_as_float(bits << 16) : f16_widen(bits);
}

// ---------------------------------------------------------------------------------------------
// Quantize-append. A lane quantizes 16 elements of one block of one (sequence, token, kv head, K|V)
// row: 16-byte chunks s and s + block/16 of the block (so each warp-wide load instruction reads whole
// 32-byte sectors); head_dim/16 consecutive lanes hold a row, block/16 a block. A thread keeps its
// (sequence, kv head, K|V, lane of the row) and walks IT consecutive tokens (all loads issued before
// the first is used), so its index math, sequence length, block maximum, reciprocal and scale store
// are paid per 16 elements, not per 8. Every size is a power of two (validate_cache), so rows, blocks
// and pages are shifts and masks: no integer division on the device.
//
// Code search by a bucket table (built on the host when valid for the codebook, `gtab`): one fp32
// add y = fl(xn + 32770) rounds xn to the 2^-8 grid of [2^15, 2^16), so the low mantissa bits of y are
// m = RNE(256 xn + 512) and (bits(y) & 0x3f8) = 8 k is directly the byte offset of bucket k = m >> 3
// (|xn| < 2). Bucket k holds exactly the xn in [lo_k, lo_k + 1/32) with lo_k = (k - 64)/32 - 2^-9 (ties
// of the rounding go to even m, i.e. into the bucket, at lo_k; out of it at the upper end). The entry
// is c0 = number of thresholds below lo_k - 2^-20 and t = thr[c0]; code = c0 + (xn > t). Exact when no
// other threshold lies below lo_k + 1/32 (host check append_table_ok). Otherwise the 4-step binary
// search over the thresholds.
constexpr int kAppendIters = 2;      // tokens per thread for appends of >= kAppendItersMin tokens
constexpr int kAppendItersMin = 4;
constexpr int kAppendThreads = 256;
constexpr float kTabSlop = 9.5367431640625e-07f;  // 2^-20

struct FastDiv {  // n / d for n < 2^31 by multiply-high (CUTLASS FastDivmod)
  uint32_t d = 1, mul = 1, shift = 0;
};
inline FastDiv make_fastdiv(uint32_t d) {
  FastDiv f;
  f.d = d;
  uint32_t s = 0;
  while (s < 32 && (uint32_t(1) << s) < d) ++s;
  f.shift = s;
  f.mul = static_cast<uint32_t>(((uint64_t(1) << 32) * ((uint64_t(1) << s) - d)) / d + 1);
  return f;
}
__device__ __forceinline__ uint32_t fdiv(uint32_t n, const FastDiv& f) { return (__umulhi(n, f.mul) + n) >> f.shift; }

constexpr float kTabRound = 32770.0f;  // 2^15 + 2: fl(xn + kTabRound) = 2^15 + RNE(256 xn + 512) 2^-8

__host__ __device__ inline int tab_c0(const float* thr, int k) {
  const float lim = float(k - 64) * 0.03125f - 0.001953125f - kTabSlop;  // lo_k - 2^-20, exact in fp32
  int c0 = 0;
  for (int i = 0; i < 15; ++i) c0 += thr[i] < lim ? 1 : 0;
  return c0;
}
bool append_table_ok(const DevCodebook& cb) {
  for (int k = 0; k < 128; ++k) {
    const int c0 = tab_c0(cb.thr, k);
    const float hi = float(k - 63) * 0.03125f - 0.001953125f;  // lo_k + 1/32 (exclusive)
    if (c0 + 1 < 16 && !(cb.thr[c0 + 1] >= hi)) return false;
  }
  return true;
}

// The bucket table of a codebook, (thr[c0], c0 as float bits) per bucket, uploaded once per (device,
// codebook); nullptr when the table is not exact for the codebook (append_table_ok), so the kernel
// takes the binary search.
__device__ __align__(16) float2 g_append_tab[16][128];
const float2* append_table_device(golden::CodebookId id, const DevCodebook& cb, Result* err) {
  static std::mutex mu;
  static int valid[16] = {};  // 0 unknown, 1 valid, 2 not exact
  const int cid = static_cast<int>(id) & 15;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!valid[cid]) valid[cid] = append_table_ok(cb) ? 1 : 2;
    if (valid[cid] != 1) return nullptr;
  }
  constexpr size_t kBytes = sizeof(g_append_tab[0]);
  return static_cast<const float2*>(device_table(
      reinterpret_cast<const void*>(&g_append_tab), cid, kBytes, cid * kBytes,
      [&](void* host) {
        float2* t = static_cast<float2*>(host);
        for (int k = 0; k < 128; ++k) {
          const int c0 = tab_c0(cb.thr, k);
          float c0f;
          std::memcpy(&c0f, &c0, 4);
          t[k] = make_float2(cb.thr[c0], c0f);
        }
      },
      "append table", err));
}

// Host replica of the kernel's table decision, checked against the definition (number of thresholds
// strictly below xn) at every bucket edge, every threshold and its fp32 neighbours, and seeded random
// points: the exactness argument above, tested rather than trusted (tests/cuda, no GPU needed).
static int tab_code_host(const DevCodebook& cb, float xn) {
  const float y = xn + kTabRound;  // one fp32 add, RNE (host SSE arithmetic, no contraction here)
  uint32_t bits;
  std::memcpy(&bits, &y, 4);
  const int k = int((bits & 0x3f8u) >> 3);
  const int c0 = tab_c0(cb.thr, k);
  return c0 + (xn > cb.thr[c0] ? 1 : 0);
}
static int strict_count(const DevCodebook& cb, float xn) {
  int c = 0;
  for (int i = 0; i < 15; ++i) c += cb.thr[i] < xn ? 1 : 0;
  return c;
}

inline int log2_pow2(int v) {
  int s = 0;
  while ((1 << s) < v) ++s;
  return s;
}

// Launch geometry of one append, computed on the host (every size a power of two).
struct AppendGeom {
  int lshift;   // log2(lanes per row) = log2(head_dim / 16)
  int bshift;   // log2(lanes per block) = log2(block / 16)
  int nbshift;  // log2(blocks per row)
  int pshift;   // log2(page_size)
  int n_new, ngroups;  // tokens appended, token groups of IT per sequence
  uint32_t lanes;      // batch * ngroups * kv_heads * 2 * lanes per row (< 2^31)
  FastDiv divH, divG;  // by kv_heads, by ngroups
  uint32_t pf_ctas;    // L2 prefetch distance in CTAs (0: none), see append_prefetch_l2
  uint32_t pf_slice;   // prefetch slice: bytes of K (and of V) per CTA, a multiple of 16
  uint32_t in16;       // 16-byte words of the K (= of the V) new tokens (< 2^32: lanes < 2^31)
};

// L2 prefetch of later CTAs' new tokens (4-bit appends of >= kAppendItersMin tokens): the K and the V
// input are each cut into `grid` equal slices of pf_slice bytes, and CTA i prefetches slice i + pf_ctas
// (cp.async.bulk.prefetch.L2), issued by thread 0 once its first data has arrived: DRAM then streams
// the input while the resident CTAs compute, and a later CTA's loads find their lines in L2 or on the
// way. A hint only (slice i is about what CTA i reads; the slices cover the input once; results do
// not depend on it). Measured (reports/archive/gpu-rounds-2026-11-22.md round 16, same-run A/Bs on two machines): 512-token
// 4-bit appends 0.958-0.991, 2048 tokens 0.977-0.981; issued before the CTA's data arrived it was neutral at
// 512 tokens (the first wave's loads waited behind it), and 3-bit appends were 4-8% slower, so the
// other kernels do not prefetch.
__device__ __forceinline__ void append_prefetch_l2(const uint16_t* k_new, const uint16_t* v_new, const AppendGeom& ag,
                                                   uint32_t zero_after_data) {
  const uint64_t off = uint64_t(blockIdx.x + ag.pf_ctas) * ag.pf_slice + zero_after_data;
  const uint64_t in_bytes = uint64_t(ag.in16) * 16;
  const uint32_t go = threadIdx.x == 0 && ag.pf_ctas && off < in_bytes;
  const uint32_t bytes = go ? uint32_t(min(uint64_t(ag.pf_slice), in_bytes - off)) : 16u;
  const char* kp = reinterpret_cast<const char*>(k_new) + (go ? off : 0);
  const char* vp = reinterpret_cast<const char*>(v_new) + (go ? off : 0);
  asm volatile("{\n .reg .pred p;\n setp.ne.u32 p, %2, 0;\n @p cp.async.bulk.prefetch.L2.global [%0], %3;\n"
               " @p cp.async.bulk.prefetch.L2.global [%1], %3;\n}\n" ::"l"(kp), "l"(vp), "r"(go), "r"(bytes));
}

// w += inc when x > t: a compare and a predicated add (left to itself the compiler forms both sums
// and selects, one instruction more per element).
__device__ __forceinline__ void add_if_greater(uint32_t& w, float x, float t, uint32_t inc) {
  asm("{\n .reg .pred p;\n setp.gt.f32 p, %1, %2;\n @p add.u32 %0, %0, %3;\n}\n" : "+r"(w) : "f"(x), "f"(t), "r"(inc));
}

// Bit position of code i (of 8) in the packed word that store_codes writes (docs/numerics.md 4.2,
// MSB-first within each byte): 4 bytes (4 bits), 2 bytes (2 bits), 3 bytes big-endian in the low 24
// (3 bits). Codes are added in at their positions (a code never carries into its neighbour).
template <int BITS>
__device__ __forceinline__ constexpr int code_shift(int i) {
  return BITS == 4 ? 8 * (i / 2) + ((i & 1) ? 0 : 4) : BITS == 2 ? 8 * (i / 4) + 6 - 2 * (i & 3) : 21 - 3 * i;
}
template <int BITS>
__device__ __forceinline__ void store_codes(uint8_t* dst, uint32_t w) {
  if constexpr (BITS == 4) {
    *reinterpret_cast<uint32_t*>(dst) = w;
  } else if constexpr (BITS == 2) {
    *reinterpret_cast<uint16_t*>(dst) = static_cast<uint16_t>(w);
  } else {
    dst[0] = uint8_t(w >> 16);
    dst[1] = uint8_t(w >> 8);
    dst[2] = uint8_t(w);
  }
}

template <int BITS, bool BF16, int IT>
__global__ void __launch_bounds__(kAppendThreads, 5) append_kernel(PagedCache c, DevCodebook cb, const uint16_t* __restrict__ k_new,
                                                     const uint16_t* __restrict__ v_new, AppendGeom ag,
                                                     const float2* __restrict__ gtab, int32_t* err, int64_t* stats) {
  __shared__ float thr[16];
  __shared__ float2 tab[128];  // (t, c0 as float bits), built once per codebook on the host
  const bool use_tab = gtab != nullptr;
  if (threadIdx.x < 16) thr[threadIdx.x] = cb.thr[threadIdx.x];
  if (use_tab && threadIdx.x < 128) tab[threadIdx.x] = gtab[threadIdx.x];
  const int D = c.head_dim, H = c.kv_heads;
  const uint32_t f = blockIdx.x * kAppendThreads + threadIdx.x;
  const bool lane_ok = f < ag.lanes;
  const int sub = int(f & ((1u << ag.lshift) - 1u));  // lane of the row
  const int lpb = 1 << ag.bshift;                     // lanes per block
  const int s = sub & (lpb - 1), blk = sub >> ag.bshift;
  const int e0 = (2 * blk * lpb + s) * 8;  // first element of chunk 0; chunk 1 starts 8 lpb later
  const uint32_t r = f >> ag.lshift;       // ((b * ngroups + g) * H + h) * 2 + is_v
  const int is_v = int(r & 1u);
  const uint32_t bgh = r >> 1, bg = fdiv(bgh, ag.divH), b = fdiv(bg, ag.divG);
  const int h = int(bgh - bg * uint32_t(H)), j0 = int(bg - b * uint32_t(ag.ngroups)) * IT;
  const uint16_t* src = (is_v ? v_new : k_new) + ((int64_t(b) * ag.n_new + j0) * H + h) * D + e0;
  const int64_t tok_stride = int64_t(H) * D;
  const int len = lane_ok ? c.seq_lens[b] : 0;
  const int32_t* ptab = c.page_table + int64_t(b) * c.max_pages_per_seq;
  // Phase 1: the 2 IT loads in flight, then the destination rows, then the table barrier.
  uint4 raw[IT][2];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const bool ld = lane_ok && j0 + it < ag.n_new;
    raw[it][0] = ld ? __ldcs(reinterpret_cast<const uint4*>(src + it * tok_stride)) : make_uint4(0, 0, 0, 0);
    raw[it][1] = ld ? __ldcs(reinterpret_cast<const uint4*>(src + it * tok_stride + 8 * lpb)) : make_uint4(0, 0, 0, 0);
  }
  int64_t dst_row[IT];
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    dst_row[it] = -1;
    if (!lane_ok || j0 + it >= ag.n_new) continue;
    const int64_t pos = int64_t(len) + j0 + it;
    const int64_t pg = pos >> ag.pshift;
    if (len < 0 || pg >= c.max_pages_per_seq) {
      if (sub == 0) atomicOr(err, kErrSeqLenOutOfRange);
      continue;
    }
    const int page = ptab[pg];
    if (page < 0 || page >= c.num_pages) {
      if (sub == 0) atomicOr(err, kErrPageOutOfRange);
      continue;
    }
    dst_row[it] = ((int64_t(page) * H + h) << ag.pshift) + (pos & ((1 << ag.pshift) - 1));
  }
  uint32_t zero_word = 0;
#pragma unroll
  for (int i = 0; i < 8; ++i) zero_word += uint32_t(cb.zero_code) << code_shift<BITS>(i);
  __syncthreads();
  uint8_t* const dcodes = (is_v ? c.v_codes : c.k_codes) + (e0 / 8) * BITS;  // chunk 1 at + lpb * BITS
  uint16_t* const dscales = (is_v ? c.v_scales : c.k_scales) + blk;
#pragma unroll
  for (int it = 0; it < IT; ++it) {
    const uint32_t words[8] = {raw[it][0].x, raw[it][0].y, raw[it][0].z, raw[it][0].w,
                               raw[it][1].x, raw[it][1].y, raw[it][1].z, raw[it][1].w};
    // Largest magnitude bits of the block: a non-finite element is one whose magnitude bits reach
    // the infinity pattern, so the same max also tells non-finiteness.
    uint32_t m2 = 0;
#pragma unroll
    for (int i = 0; i < 8; ++i) m2 = __vmaxu2(m2, words[i] & 0x7fff7fffu);
    uint32_t amax = max(m2 & 0xffffu, m2 >> 16);
#pragma unroll
    for (int o = 1; o < 16; o <<= 1)
      if (o < lpb) amax = max(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    if constexpr (BITS == 4 && IT > 1) {
      if (it == 0 && threadIdx.x < 32) {
        uint32_t z;
        asm("and.b32 %0, %1, 0;" : "=r"(z) : "r"(amax));  // an opaque zero: the prefetch waits for the data
        append_prefetch_l2(k_new, v_new, ag, z);
      }
    }
    const uint32_t inf_bits = BF16 ? 0x7f80u : 0x7c00u;
    const float a = BF16 ? __uint_as_float(amax << 16) : __half2float(__ushort_as_half(static_cast<unsigned short>(amax)));
    int st = 0;  // 0 ok, 1 zero, 2 flushed, 3 non-finite
    uint32_t scale_bits = amax;
    if (amax >= inf_bits) {
      st = 3;
      scale_bits = BF16 ? golden::kBF16QuietNaN : golden::kF16QuietNaN;
    } else if (amax == 0) {
      st = 1;
    } else if (a < FLT_MIN) {
      st = 2;
      scale_bits = 0;
    }
    // Codes are computed for every block (branch-free); blocks with st != 0 store the zero code.
    const float inv = __fdiv_rn(1.0f, a);
    uint32_t pk[2];
#pragma unroll
    for (int q = 0; q < 2; ++q) {
      float xs[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) {  // every element is finite when st == 0: plain widening is exact
        const uint32_t e = (words[4 * q + i / 2] >> (16 * (i & 1))) & 0xffffu;
        const float x = BF16 ? __uint_as_float(e << 16) : __half2float(__ushort_as_half(static_cast<unsigned short>(e)));
        xs[i] = __fmul_rn(x, inv);
      }
      uint32_t w = 0;
      if (use_tab) {
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const uint32_t y = __float_as_uint(__fadd_rn(xs[i], kTabRound));
          const float2 te = *reinterpret_cast<const float2*>(reinterpret_cast<const char*>(tab) + (y & 0x3f8u));
          w += uint32_t(__float_as_int(te.y)) << code_shift<BITS>(i);
          add_if_greater(w, xs[i], te.x, 1u << code_shift<BITS>(i));
        }
      } else {
#pragma unroll
        for (int i = 0; i < 8; ++i) w += uint32_t(encode_code(thr, xs[i])) << code_shift<BITS>(i);
      }
      pk[q] = st ? zero_word : w;
    }
    if (dst_row[it] < 0) continue;
    uint8_t* dst = dcodes + dst_row[it] * (D * BITS / 8);
    store_codes<BITS>(dst, pk[0]);
    store_codes<BITS>(dst + lpb * BITS, pk[1]);
    if (s == 0) {
      dscales[dst_row[it] << ag.nbshift] = static_cast<uint16_t>(scale_bits);
      if (stats && st) atomicAdd(reinterpret_cast<unsigned long long*>(stats + (st - 1)), 1ull);
    }
  }
}

__global__ void advance_lens_kernel(int32_t* lens, int batch, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < batch) lens[i] += n;
}

// Cache dequantization: one thread per (sequence, token, kv head, K|V, element group of 8).
template <int BITS>
__global__ void dequant_cache_kernel(PagedCache c, DevCodebook cb, int max_tokens, float* out_k, float* out_v,
                                     int32_t* err) {
  const int D = c.head_dim, H = c.kv_heads, groups = D / 8;
  const int64_t total = int64_t(c.batch) * max_tokens * H * 2 * groups;
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const int g = int(i % groups);
  int64_t r = i / groups;
  const int is_v = int(r & 1);
  r >>= 1;
  const int h = int(r % H);
  r /= H;
  const int t = int(r % max_tokens), b = int(r / max_tokens);
  const int len = c.seq_lens[b];
  if (t >= len) return;
  if (int64_t(len) > int64_t(c.max_pages_per_seq) * c.page_size) {
    atomicOr(err, kErrSeqLenOutOfRange);
    return;
  }
  const int page = c.page_table[int64_t(b) * c.max_pages_per_seq + t / c.page_size];
  if (page < 0 || page >= c.num_pages) {
    atomicOr(err, kErrPageOutOfRange);
    return;
  }
  const int64_t row = (int64_t(page) * H + h) * c.page_size + t % c.page_size;
  const uint8_t* codes = (is_v ? c.v_codes : c.k_codes) + row * (D * BITS / 8) + g * BITS;
  const uint32_t sb = (is_v ? c.v_scales : c.k_scales)[row * (D / c.block) + (g * 8) / c.block];
  const int is_bf16 = c.type == golden::ElemType::BF16;
  const float a = widen(is_bf16, sb);
  const uint32_t w = spread8<BITS>(codes);
  float* out = (is_v ? out_v : out_k) + ((int64_t(b) * max_tokens + t) * H + h) * D + g * 8;
#pragma unroll
  for (int n = 0; n < 8; ++n) {
    const float v = cb.values[(w >> (4 * n)) & 15u];
    // x86 semantics of the golden's v * a: a NaN operand comes back quieted.
    out[perm8(BITS, n)] = isnan(a) ? __uint_as_float(__float_as_uint(a) | 0x400000u) : __fmul_rn(v, a);
  }
}

// ---------------------------------------------------------------------------------------------
// Generic rows (golden `quantize` cases): one thread per block, scalar.
__device__ __forceinline__ uint32_t load_elem(const void* x, int esize, int64_t i) {
  return esize == 2 ? uint32_t(static_cast<const uint16_t*>(x)[i]) : static_cast<const uint32_t*>(x)[i];
}
__device__ __forceinline__ float elem_to_f32(int type, uint32_t b) {
  return type == 0 ? f16_widen(b)
                   : type == 1 ? __uint_as_float(b << 16) : __uint_as_float(b);
}
__device__ __forceinline__ uint32_t f32_to_elem(int type, float v) {
  return type == 0 ? uint32_t(__half_as_ushort(__float2half_rn(v)))
                   : type == 1 ? uint32_t(__bfloat16_as_ushort(__float2bfloat16_rn(v))) : __float_as_uint(v);
}
__device__ __forceinline__ void store_elem(void* p, int esize, int64_t i, uint32_t v) {
  if (esize == 2) static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(v);
  else static_cast<uint32_t*>(p)[i] = v;
}
// x86 SSE results of the golden's float arithmetic: NaN operands propagate quieted (first wins),
// an invalid operation gives the default NaN 0xffc00000.
__device__ __forceinline__ float x86_fix(float a, float b, float r) {
  if (isnan(a)) return __uint_as_float(__float_as_uint(a) | 0x400000u);
  if (isnan(b)) return __uint_as_float(__float_as_uint(b) | 0x400000u);
  if (isnan(r)) return __uint_as_float(0xffc00000u);
  return r;
}

__global__ void quantize_rows_kernel(DevCodebook cb, int type, int block, int64_t rows, int64_t cols, const void* x,
                                     uint8_t* codes, void* s0, void* s1, uint8_t* status) {
  const int64_t nbr = cols / block;
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * nbr) return;
  const int64_t r = i / nbr, bk = i % nbr;
  const int esize = type == 2 ? 4 : 2;
  const int64_t base = r * cols + bk * block;
  const uint32_t qnan = type == 0 ? golden::kF16QuietNaN : type == 1 ? golden::kBF16QuietNaN : golden::kF32QuietNaN;
  uint8_t* out = codes + r * (cols * cb.bits / 8) + bk * block * cb.bits / 8;
  for (int k = 0; k < block * cb.bits / 8; ++k) out[k] = 0;
  auto put = [&](int idx, int code) {
    for (int bt = 0; bt < cb.bits; ++bt) {
      const int p = idx * cb.bits + bt;
      const int bit = (code >> (cb.bits - 1 - bt)) & 1;
      out[p >> 3] |= uint8_t(bit << (7 - (p & 7)));
    }
  };
  bool finite = true;
  int st = 0;
  if (cb.affine) {
    float mn = elem_to_f32(type, load_elem(x, esize, base)), mx = mn;
    for (int k = 0; k < block; ++k) {
      const float v = elem_to_f32(type, load_elem(x, esize, base + k));
      finite = finite && isfinite(v);
      if (v < mn) mn = v;
      if (mx < v) mx = v;
    }
    const float range = __fsub_rn(mx, mn);
    uint32_t minb, stepb;
    if (!finite || !isfinite(range)) {
      for (int k = 0; k < block; ++k) put(k, 0);
      minb = stepb = qnan;
      st = 3;
    } else if (range == 0.0f) {
      for (int k = 0; k < block; ++k) put(k, 0);
      minb = f32_to_elem(type, mn);
      stepb = f32_to_elem(type, 0.0f);
      st = (mn == 0.0f) ? 1 : 0;
    } else {
      minb = f32_to_elem(type, mn);
      const float inv = __fdiv_rn(15.0f, range);
      for (int k = 0; k < block; ++k) {
        const float v = elem_to_f32(type, load_elem(x, esize, base + k));
        const float t = rintf(__fmul_rn(__fsub_rn(v, mn), inv));
        put(k, int(fminf(fmaxf(t, 0.0f), 15.0f)));
      }
      stepb = f32_to_elem(type, __fdiv_rn(range, 15.0f));
    }
    store_elem(s0, esize, i, minb);
    store_elem(s1, esize, i, stepb);
  } else {
    uint32_t amaxb = 0;
    const uint32_t mask = esize == 2 ? 0x7fffu : 0x7fffffffu;
    const uint32_t infb = type == 0 ? 0x7c00u : type == 1 ? 0x7f80u : 0x7f800000u;
    for (int k = 0; k < block; ++k) {
      const uint32_t m = load_elem(x, esize, base + k) & mask;
      finite = finite && m < infb;
      amaxb = max(amaxb, m);
    }
    const float a = elem_to_f32(type, amaxb);
    uint32_t sb = amaxb;
    if (!finite) {
      st = 3;
      sb = qnan;
    } else if (amaxb == 0) {
      st = 1;
    } else if (a < FLT_MIN) {
      st = 2;
      sb = 0;
    }
    if (st != 0) {
      for (int k = 0; k < block; ++k) put(k, cb.zero_code);
    } else {
      const float inv = __fdiv_rn(1.0f, a);
      for (int k = 0; k < block; ++k)
        put(k, encode_code(cb.thr, __fmul_rn(elem_to_f32(type, load_elem(x, esize, base + k)), inv)));
    }
    store_elem(s0, esize, i, sb);
  }
  status[i] = uint8_t(st);
}

__global__ void dequantize_rows_kernel(DevCodebook cb, int type, int block, int64_t rows, int64_t cols,
                                       const uint8_t* codes, const void* s0, const void* s1, float* out) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * cols) return;
  const int64_t r = i / cols, k = i % cols;
  const uint8_t* row = codes + r * (cols * cb.bits / 8);
  int code = 0;
  for (int bt = 0; bt < cb.bits; ++bt) {
    const int64_t p = k * cb.bits + bt;
    code = (code << 1) | ((row[p >> 3] >> (7 - (p & 7))) & 1);
  }
  const int esize = type == 2 ? 4 : 2;
  const int64_t si = r * (cols / block) + k / block;
  if (cb.affine) {
    const float mn = elem_to_f32(type, load_elem(s0, esize, si)), step = elem_to_f32(type, load_elem(s1, esize, si));
    const float cf = float(code);
    const float prod = x86_fix(cf, step, __fmul_rn(cf, step));
    out[i] = x86_fix(mn, prod, __fadd_rn(mn, prod));
  } else {
    const float a = elem_to_f32(type, load_elem(s0, esize, si));
    const float v = cb.values[code];
    out[i] = x86_fix(v, a, __fmul_rn(v, a));
  }
}

}  // namespace detail

using namespace detail;

// ---------------------------------------------------------------------------------------------
bool device_available(std::string* why) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (why) *why = std::string("no CUDA device: cudaGetDeviceCount failed: ") + cudaGetErrorString(e);
    cudaGetLastError();
    return false;
  }
  if (n == 0) {
    if (why) *why = "no CUDA device: cudaGetDeviceCount returned 0";
    return false;
  }
  return true;
}

int PagedCache::bits() const { return golden::codebook(codebook).bits; }

Result validate_cache(const PagedCache& c) {
  const golden::Codebook& cb = golden::codebook(c.codebook);
  if (cb.affine) return invalid("paged cache: the affine int4 codebook is not a KV-cache codebook");
  if (cb.bits != 2 && cb.bits != 3 && cb.bits != 4) return invalid("paged cache: codebook bits must be 2, 3 or 4");
  if (c.type != golden::ElemType::F16 && c.type != golden::ElemType::BF16)
    return invalid("paged cache: element type must be f16 or bf16");
  if (c.head_dim != 64 && c.head_dim != 128 && c.head_dim != 256)
    return invalid("paged cache: head_dim must be 64, 128 or 256 (got " + std::to_string(c.head_dim) + ")");
  if (c.block != 32 && c.block != 64 && c.block != 128 && c.block != 256)
    return invalid("paged cache: block must be 32, 64, 128 or 256");
  if (c.head_dim % c.block != 0) return invalid("paged cache: block must divide head_dim");
  if (c.page_size != 16 && c.page_size != 64) return invalid("paged cache: page_size must be 16 or 64");
  if (c.kv_heads <= 0 || c.num_pages <= 0 || c.batch <= 0 || c.max_pages_per_seq <= 0)
    return invalid("paged cache: kv_heads, num_pages, batch and max_pages_per_seq must be positive");
  if (!c.k_codes || !c.v_codes || !c.k_scales || !c.v_scales || !c.page_table || !c.seq_lens)
    return invalid("paged cache: null device pointer");
  auto al = [](const void* p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; };
  if (!al(c.k_codes, 16) || !al(c.v_codes, 16) || !al(c.k_scales, 16) || !al(c.v_scales, 16) || !al(c.page_table, 4) ||
      !al(c.seq_lens, 4))
    return invalid("paged cache: pools must be 16-byte aligned");
  if (double(c.num_pages) * c.kv_heads * c.page_size * c.row_bytes() > 9.0e18)
    return invalid("paged cache: pool too large");
  return Result::success();
}

void DeviceCache::release() {
  cudaFree(c_.k_codes);
  cudaFree(c_.v_codes);
  cudaFree(c_.k_scales);
  cudaFree(c_.v_scales);
  cudaFree(c_.page_table);
  cudaFree(c_.seq_lens);
  cudaFree(err_);
  c_.k_codes = c_.v_codes = nullptr;
  c_.k_scales = c_.v_scales = nullptr;
  c_.page_table = c_.seq_lens = nullptr;
  err_ = nullptr;
}
DeviceCache::~DeviceCache() { release(); }

Result DeviceCache::allocate(const PagedCache& shape, const std::vector<int32_t>& page_table,
                             const std::vector<int32_t>& seq_lens) {
  release();
  c_ = shape;
  if (page_table.size() != size_t(shape.batch) * shape.max_pages_per_seq) return invalid("DeviceCache: page table size");
  if (seq_lens.size() != size_t(shape.batch)) return invalid("DeviceCache: seq_lens size");
  auto alloc = [](void** p, size_t n) { return cudaMalloc(p, n ? n : 16); };
  cudaError_t e = cudaSuccess;
  if (!e) e = alloc(reinterpret_cast<void**>(&c_.k_codes), c_.code_pool_bytes());
  if (!e) e = alloc(reinterpret_cast<void**>(&c_.v_codes), c_.code_pool_bytes());
  if (!e) e = alloc(reinterpret_cast<void**>(&c_.k_scales), c_.scale_pool_elems() * 2);
  if (!e) e = alloc(reinterpret_cast<void**>(&c_.v_scales), c_.scale_pool_elems() * 2);
  if (!e) e = alloc(reinterpret_cast<void**>(&c_.page_table), page_table.size() * 4);
  if (!e) e = alloc(reinterpret_cast<void**>(&c_.seq_lens), seq_lens.size() * 4);
  if (!e) e = alloc(reinterpret_cast<void**>(&err_), 4);
  if (!e) e = cudaMemset(c_.k_codes, 0, c_.code_pool_bytes());
  if (!e) e = cudaMemset(c_.v_codes, 0, c_.code_pool_bytes());
  if (!e) e = cudaMemset(c_.k_scales, 0, c_.scale_pool_elems() * 2);
  if (!e) e = cudaMemset(c_.v_scales, 0, c_.scale_pool_elems() * 2);
  if (!e) e = cudaMemset(err_, 0, 4);
  if (!e) e = cudaMemcpy(c_.page_table, page_table.data(), page_table.size() * 4, cudaMemcpyHostToDevice);
  if (!e) e = cudaMemcpy(c_.seq_lens, seq_lens.data(), seq_lens.size() * 4, cudaMemcpyHostToDevice);
  if (e) {
    release();
    return cuda_result(e, "DeviceCache::allocate");
  }
  return validate_cache(c_);
}

Result DeviceCache::set_seq_lens(const std::vector<int32_t>& seq_lens) {
  if (seq_lens.size() != size_t(c_.batch)) return invalid("DeviceCache: seq_lens size");
  return cuda_result(cudaMemcpy(c_.seq_lens, seq_lens.data(), seq_lens.size() * 4, cudaMemcpyHostToDevice),
                     "set_seq_lens");
}

std::string describe_error_bits(int32_t bits) {
  std::string s;
  auto add = [&](int32_t b, const char* m) {
    if (bits & b) s += (s.empty() ? "" : "; ") + std::string(m);
  };
  add(kErrNonFiniteQuery, "non-finite query element");
  add(kErrNonFiniteCache, "cache holds a non-finite block");
  add(kErrPageOutOfRange, "page table entry out of range");
  add(kErrSeqLenOutOfRange, "sequence length out of range of the page table or max_seq_len");
  return s.empty() ? "no error" : s;
}

Result read_device_errors(int32_t* err_word) {
  if (!err_word) return invalid("read_device_errors: null error word");
  int32_t v = 0;
  cudaError_t e = cudaDeviceSynchronize();
  if (!e) e = cudaMemcpy(&v, err_word, 4, cudaMemcpyDeviceToHost);
  if (!e) e = cudaMemset(err_word, 0, 4);
  if (e) return cuda_result(e, "read_device_errors");
  if (v) return Result{Status::DeviceError, describe_error_bits(v)};
  return Result::success();
}

AppendTableCheck check_append_table(golden::CodebookId id, uint64_t seed, int random_points) {
  AppendTableCheck r;
  const golden::Codebook& gcb = golden::codebook(id);
  if (gcb.affine) return r;
  const DevCodebook cb = make_dev_codebook(id);
  r.table_used = append_table_ok(cb);
  if (!r.table_used) return r;
  auto probe = [&](float xn) {
    if (!(xn > -1.5f && xn < 1.5f)) return;  // normalized values satisfy |xn| <= 1 (+ one rounding)
    ++r.points;
    const int want = strict_count(cb, xn), got = tab_code_host(cb, xn);
    if (want != got && r.mismatches++ == 0)
      r.first = "xn = " + std::to_string(xn) + " (" + std::to_string(double(xn)) + "): table code " + std::to_string(got) +
                ", definition " + std::to_string(want);
  };
  auto around = [&](float v) {
    float lo = v, hi = v;
    probe(v);
    for (int i = 0; i < 4; ++i) {
      lo = std::nextafter(lo, -INFINITY);
      hi = std::nextafter(hi, INFINITY);
      probe(lo);
      probe(hi);
    }
  };
  for (int k = 0; k <= 128; ++k) around(float(k - 64) * 0.03125f - 0.001953125f);  // bucket edges
  for (int i = 0; i < 15; ++i)
    if (std::isfinite(cb.thr[i])) around(cb.thr[i]);
  golden::SplitMix64 rng(seed);
  for (int i = 0; i < random_points; ++i) probe(float(rng.uniform() * 2.2 - 1.1));
  return r;
}

// L2 prefetch distance of the append (append_prefetch_l2): 3 CTAs per SM, the best of 0/2/3/4/5/8 in
// the round-16 A/Bs. NQKV_CUDA_APPEND_PF=N sets N CTAs per SM (0: no prefetch), for same-run A/Bs.
static Result append_prefetch_distance(uint32_t* out) {
  static const int per_sm = [] {
    const char* e = std::getenv("NQKV_CUDA_APPEND_PF");
    return e ? std::max(0, std::atoi(e)) : 3;
  }();
  int dev = 0, sms = 0;
  Result r = cuda_result(cudaGetDevice(&dev), "quantize_append: device");
  if (r.ok()) r = cuda_result(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "quantize_append: device attribute");
  *out = r.ok() ? uint32_t(per_sm * sms) : 0;
  return r;
}

Result quantize_append(const PagedCache& c, const uint16_t* k_new, const uint16_t* v_new, int n_new, bool advance_lens,
                       int32_t* err_word, int64_t* stats, void* stream) {
  Result r = validate_cache(c);
  if (!r.ok()) return r;
  if (n_new <= 0) return invalid("quantize_append: n_new must be positive");
  if (!k_new || !v_new || !err_word) return invalid("quantize_append: null pointer");
  if (reinterpret_cast<uintptr_t>(k_new) % 16 || reinterpret_cast<uintptr_t>(v_new) % 16)
    return invalid("quantize_append: inputs must be 16-byte aligned");
  // A thread walks IT consecutive tokens of one (sequence, kv head, K|V, 16 elements of a block).
  const int iters = n_new >= kAppendItersMin ? kAppendIters : 1;
  AppendGeom ag{};
  ag.lshift = log2_pow2(c.head_dim / 16);
  ag.bshift = log2_pow2(c.block / 16);
  ag.nbshift = log2_pow2(c.head_dim / c.block);
  ag.pshift = log2_pow2(c.page_size);
  ag.n_new = n_new;
  ag.ngroups = (n_new + iters - 1) / iters;
  const int64_t lanes = int64_t(c.batch) * ag.ngroups * c.kv_heads * 2 * (c.head_dim / 16);
  if (lanes >= (int64_t(1) << 31)) return invalid("quantize_append: too many tokens for one launch (split the append)");
  ag.lanes = uint32_t(lanes);
  ag.divH = make_fastdiv(uint32_t(c.kv_heads));
  ag.divG = make_fastdiv(uint32_t(ag.ngroups));
  const int64_t grid = (lanes + kAppendThreads - 1) / kAppendThreads;
  const DevCodebook cb = make_dev_codebook(c.codebook);
  if (cb.bits == 4 && iters > 1) {  // the kernels that prefetch (append_prefetch_l2)
    r = append_prefetch_distance(&ag.pf_ctas);
    if (!r.ok()) return r;
    const uint64_t in_bytes = uint64_t(c.batch) * n_new * c.kv_heads * c.head_dim * 2;
    ag.in16 = uint32_t(in_bytes / 16);
    ag.pf_slice = uint32_t((in_bytes / uint64_t(grid) + 15) / 16 * 16);
  }
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  // NQKV_CUDA_APPEND_SEARCH=1 forces the binary search (the bucket table is used when valid).
  static const bool force_search = [] {
    const char* e = std::getenv("NQKV_CUDA_APPEND_SEARCH");
    return e && e[0] == '1';
  }();
  // The bucket table, once per (device, codebook); nullptr (binary search) when it is not exact.
  const float2* gtab = nullptr;
  if (!force_search) {
    gtab = append_table_device(c.codebook, cb, &r);
    if (!r.ok()) return r;
  }
  const bool bf = c.type == golden::ElemType::BF16;
  const unsigned g = unsigned(grid);
#define NQKV_APPEND(BITS, BF)                                                                                      \
  (iters == 1 ? append_kernel<BITS, BF, 1><<<g, kAppendThreads, 0, s>>>(c, cb, k_new, v_new, ag, gtab, err_word, stats) \
              : append_kernel<BITS, BF, kAppendIters><<<g, kAppendThreads, 0, s>>>(c, cb, k_new, v_new, ag, gtab, err_word, stats))
  switch (cb.bits) {
    case 4: if (bf) NQKV_APPEND(4, true); else NQKV_APPEND(4, false); break;
    case 3: if (bf) NQKV_APPEND(3, true); else NQKV_APPEND(3, false); break;
    default: if (bf) NQKV_APPEND(2, true); else NQKV_APPEND(2, false); break;
  }
#undef NQKV_APPEND
  r = cuda_result(cudaGetLastError(), "quantize_append launch");
  if (!r.ok() || !advance_lens) return r;
  advance_lens_kernel<<<(c.batch + 255) / 256, 256, 0, s>>>(c.seq_lens, c.batch, n_new);
  return cuda_result(cudaGetLastError(), "advance_lens launch");
}

Result dequantize_cache(const PagedCache& c, int max_tokens, float* out_k, float* out_v, int32_t* err_word,
                        void* stream) {
  Result r = validate_cache(c);
  if (!r.ok()) return r;
  if (max_tokens <= 0 || !out_k || !out_v || !err_word) return invalid("dequantize_cache: bad arguments");
  const int64_t threads = int64_t(c.batch) * max_tokens * c.kv_heads * 2 * (c.head_dim / 8);
  const int64_t grid = (threads + 255) / 256;
  if (grid > 0x7fffffff) return invalid("dequantize_cache: too large");
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const DevCodebook cb = make_dev_codebook(c.codebook);
  switch (cb.bits) {
    case 4: dequant_cache_kernel<4><<<unsigned(grid), 256, 0, s>>>(c, cb, max_tokens, out_k, out_v, err_word); break;
    case 3: dequant_cache_kernel<3><<<unsigned(grid), 256, 0, s>>>(c, cb, max_tokens, out_k, out_v, err_word); break;
    default: dequant_cache_kernel<2><<<unsigned(grid), 256, 0, s>>>(c, cb, max_tokens, out_k, out_v, err_word); break;
  }
  return cuda_result(cudaGetLastError(), "dequantize_cache launch");
}

static Result check_rows(golden::CodebookId cbid, golden::ElemType type, int block, int64_t rows, int64_t cols) {
  (void)cbid;
  (void)type;
  if (rows <= 0 || cols <= 0 || block <= 0 || block % 8 != 0 || cols % block != 0)
    return invalid("quantize_rows: block must be a positive multiple of 8 dividing cols");
  if (rows * (cols / block) > (int64_t(1) << 40)) return invalid("quantize_rows: too large");
  return Result::success();
}

Result quantize_rows(golden::CodebookId cbid, golden::ElemType type, int block, int64_t rows, int64_t cols,
                     const void* x, uint8_t* codes, void* scale0, void* scale1, uint8_t* status, void* stream) {
  Result r = check_rows(cbid, type, block, rows, cols);
  if (!r.ok()) return r;
  const DevCodebook cb = make_dev_codebook(cbid);
  if (!x || !codes || !scale0 || !status || (cb.affine && !scale1)) return invalid("quantize_rows: null pointer");
  const int64_t n = rows * (cols / block);
  quantize_rows_kernel<<<unsigned((n + 127) / 128), 128, 0, static_cast<cudaStream_t>(stream)>>>(
      cb, static_cast<int>(type), block, rows, cols, x, codes, scale0, scale1, status);
  return cuda_result(cudaGetLastError(), "quantize_rows launch");
}

Result dequantize_rows(golden::CodebookId cbid, golden::ElemType type, int block, int64_t rows, int64_t cols,
                       const uint8_t* codes, const void* scale0, const void* scale1, float* out, void* stream) {
  Result r = check_rows(cbid, type, block, rows, cols);
  if (!r.ok()) return r;
  const DevCodebook cb = make_dev_codebook(cbid);
  if (!codes || !scale0 || !out || (cb.affine && !scale1)) return invalid("dequantize_rows: null pointer");
  const int64_t n = rows * cols;
  dequantize_rows_kernel<<<unsigned((n + 255) / 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(
      cb, static_cast<int>(type), block, rows, cols, codes, scale0, scale1, out);
  return cuda_result(cudaGetLastError(), "dequantize_rows launch");
}

}  // namespace nqkv::cuda
