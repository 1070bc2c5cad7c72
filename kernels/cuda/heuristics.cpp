// Kernel selection of the decode (heuristics.hpp). Measured reasons for each rule: reports/archive/cuda-kernel-history-2026-12-06.md.
#include "kernels/cuda/heuristics.hpp"

#include <algorithm>
#include <cstdlib>

namespace nqkv::cuda::detail {

namespace {
bool env_is(const char* name, char c) {
  const char* e = std::getenv(name);
  return e && e[0] == c;
}
}  // namespace

DecodeVariant choose_decode_variant(int bits, int head_dim, int block, int G, int64_t page_rows, bool split_ok) {
  static const bool force_generic = env_is("NQKV_CUDA_GENERIC", '1');
  static const bool tma_off = env_is("NQKV_CUDA_TMA", '0');
  DecodeVariant v;
  v.bits = bits;
  // Tensor-core fast path (decode_mma.cuh): 4-bit codes, head_dim 128, G in {1, 2, 4}, block 32/64/128.
  if (force_generic || bits != 4 || head_dim != 128 || !(G == 1 || G == 2 || G == 4) ||
      !(block == 32 || block == 64 || block == 128) || page_rows >= (int64_t(1) << 31))
    return v;
  v.nb = 128 / block;
  v.G = G;
  v.split = split_ok;
  // TMA copies for G = 1 only (measured: faster at G = 1, slower at G = 2/4; history file above, TMA).
  // Codebooks without a split table (fp4, e2m1, int4sym) keep cp.async.
  v.kind = G == 1 && split_ok && !tma_off ? DecodeVariant::MmaTma : DecodeVariant::Mma;
  return v;
}

// One CTA per item unless the build has NQKV_CUDA_PERSISTENT and NQKV_CUDA_PERSIST asks for the persistent
// kernel (slower on every measured shape, with and without the fused combine: reports/gpu.md).
DecodeSchedule choose_decode_schedule(const DecodeVariant& v, int64_t items, int sms) {
  DecodeSchedule s;
#if NQKV_CUDA_PERSISTENT
  static const char* persist_env = std::getenv("NQKV_CUDA_PERSIST");
  static const bool fuse = env_is("NQKV_CUDA_FUSE", '1');
  static const int max_ctas = [] {
    const char* e = std::getenv("NQKV_CUDA_PERSIST_CTAS");
    return e ? std::atoi(e) : 0;
  }();
  if (v.kind == DecodeVariant::Generic || !v.split || !persist_env) return s;
  if (persist_env[0] == '1') s.pipe = 2;
  if (persist_env[0] == '3') s.pipe = 1;
  if (!s.pipe) return s;
  int64_t ctas = std::min<int64_t>(items, (s.pipe == 2 ? 2 : 3) * int64_t(sms));
  if (max_ctas > 0) ctas = std::min<int64_t>(ctas, max_ctas);
  s.ctas = static_cast<int>(std::max<int64_t>(ctas, 1));
  s.fuse = fuse;
#else
  (void)v, (void)items, (void)sms;
#endif
  return s;
}

// The partition kernel as a programmatic dependent of the previous kernel (issue 18): in CUDA graphs of
// back-to-back calls 0.5-1.6 us less per call at B 1 / B 8 (3-5%), neutral at the large shapes; the wait
// it adds costs nothing when off (same-lease A/B, reports/gpu.md).
bool partition_uses_pdl() {
  static const bool pdl = !env_is("NQKV_CUDA_PDL_PARTITION", '0');
  return pdl;
}

bool combine_uses_pdl() {
  static const bool pdl = !env_is("NQKV_CUDA_PDL", '0');
  return pdl;
}

// Split MAC table of the fast path: C[c] = X[c] + Y[c] with X from prmt(A, selector c) and Y from
// prmt(B, selector c ^ 8). prmt returns the byte for a selector nibble < 8 and the byte's sign
// replicated (0 or -1) for a nibble >= 8, so for j = 0..7: A[j] + sgn(B[j]) = C[j] and
// sgn(A[j]) + B[j] = C[j + 8] (sgn(v) = v < 0 ? -1 : 0). Two IMMAs (X and Y fragments) then add up to
// the C fragment's product exactly. Solved per j over the 4 sign choices; false if some j has none.
bool split_mac_table(const int8_t (&mac)[16], uint32_t (&out)[4]) {
  int A[8], B[8];
  for (int j = 0; j < 8; ++j) {
    bool found = false;
    for (int sa = 0; sa >= -1 && !found; --sa)
      for (int sb = 0; sb >= -1 && !found; --sb) {
        const int a = mac[j] - sb, bb = mac[j + 8] - sa;
        if (a < -128 || a > 127 || bb < -128 || bb > 127) continue;
        if ((a < 0 ? -1 : 0) != sa || (bb < 0 ? -1 : 0) != sb) continue;
        A[j] = a;
        B[j] = bb;
        found = true;
      }
    if (!found) return false;
  }
  for (int w = 0; w < 2; ++w) {
    uint32_t va = 0, vb = 0;
    for (int j = 0; j < 4; ++j) {
      va |= uint32_t(uint8_t(int8_t(A[4 * w + j]))) << (8 * j);
      vb |= uint32_t(uint8_t(int8_t(B[4 * w + j]))) << (8 * j);
    }
    out[w] = va;
    out[2 + w] = vb;
  }
  return true;
}

}  // namespace nqkv::cuda::detail
