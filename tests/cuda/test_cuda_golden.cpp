// The GPU golden-reference suite: every golden case and a seeded random sweep of shapes run on the
// GPU and compared bit for bit with the CPU golden library (docs/numerics.md). Without a GPU the
// device tests skip with the reason; the argument-validation tests run everywhere.
#include <gtest/gtest.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>
#include <sstream>

#include "golden/attention.hpp"
#include "golden/rng.hpp"
#include "golden/vectors.hpp"
#include "kernels/cuda/heuristics.hpp"
#include "kernels/cuda/nqkv_cuda.hpp"

namespace nc = nqkv::cuda;
namespace ng = nqkv::golden;

namespace {

#define REQUIRE_GPU()                                     \
  do {                                                    \
    std::string why_;                                     \
    if (!nc::device_available(&why_)) GTEST_SKIP() << why_; \
  } while (0)

#define CK(expr)                                          \
  do {                                                    \
    const nc::Result r_ = (expr);                         \
    ASSERT_TRUE(r_.ok()) << #expr << ": " << r_.message;  \
  } while (0)

template <class T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  explicit Dev(size_t count) : n(count) { cudaMalloc(&p, std::max<size_t>(count, 1) * sizeof(T)); }
  Dev(const std::vector<T>& h) : Dev(h.size()) { cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice); }
  ~Dev() { cudaFree(p); }
  std::vector<T> get() const {
    std::vector<T> h(n);
    cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
  }
};

// Collects bit mismatches: index and both values in hex.
struct Mism {
  int64_t count = 0, compared = 0;
  std::string text;
  template <class T>
  void eq(const std::string& what, size_t i, T gpu, T cpu) {
    ++compared;
    uint64_t a = 0, b = 0;
    std::memcpy(&a, &gpu, sizeof(T));
    std::memcpy(&b, &cpu, sizeof(T));
    if (a == b) return;
    if (++count <= 10) {
      std::ostringstream os;
      os << what << "[" << i << "]: gpu=0x" << std::hex << a << " cpu=0x" << b << "\n";
      text += os.str();
    }
  }
};

uint32_t rand_elem(ng::SplitMix64& rng, ng::ElemType t, double scale) {
  return ng::f32_to_elem(t, static_cast<float>(scale * rng.normal()));
}

TEST(CudaGolden, AllGeneratedGoldenCases) {
  REQUIRE_GPU();
  const auto cases = ng::generate_golden_cases(20241122);
  ASSERT_FALSE(cases.empty());
  int run = 0;
  for (const auto& gc : cases) {
    const nqkv::backend::Result r = nc::cuda_check_case(gc.data);
    if (r.skipped) {
      ADD_FAILURE() << gc.name << " skipped: " << r.skip_reason;
      continue;
    }
    ++run;
    EXPECT_EQ(r.mismatches, 0) << gc.name << ": " << r.mismatches << " of " << r.compared << " differ\n"
                               << r.report;
    EXPECT_GT(r.compared, 0) << gc.name;
  }
  std::printf("golden cases checked on the GPU: %d\n", run);
}

TEST(CudaGolden, GoldenCaseDirectory) {
  const char* dir = std::getenv("NQKV_GOLDEN_DIR");
  if (!dir) GTEST_SKIP() << "NQKV_GOLDEN_DIR not set (directory written by `nqkv golden gen --out DIR`)";
  REQUIRE_GPU();
  int run = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".safetensors") continue;
    const auto st = nqkv::io::SafeTensors::load(e.path().string());
    const nqkv::backend::Result r = nc::cuda_check_case(st);
    if (r.skipped) continue;
    ++run;
    EXPECT_EQ(r.mismatches, 0) << e.path() << "\n" << r.report;
  }
  EXPECT_GT(run, 0);
}

// ---------------------------------------------------------------------------------------------
struct SweepShape {
  ng::CodebookId cb;
  ng::ElemType type;
  int D, block, hkv, group, page_size;
  std::vector<int> lens;
};

void run_sweep_case(const SweepShape& s, uint64_t seed, Mism& mm) {
  ng::SplitMix64 rng(seed);
  const ng::Codebook& cb = ng::codebook(s.cb);
  const int B = static_cast<int>(s.lens.size()), H = s.hkv, D = s.D, Hq = H * s.group;
  const int maxlen = *std::max_element(s.lens.begin(), s.lens.end());
  // Tokens appended: a first chunk, three single-token appends, then the rest up to appended.
  const int first = std::max(1, maxlen / 2), appended = first + 3 + std::max(0, maxlen - first - 3);
  const int maxp = (appended + s.page_size - 1) / s.page_size;
  const int pages = B * maxp + 3;
  std::vector<int32_t> perm(pages);
  std::iota(perm.begin(), perm.end(), 0);
  for (int i = pages - 1; i > 0; --i) std::swap(perm[i], perm[rng.next() % (i + 1)]);
  std::vector<int32_t> table(size_t(B) * maxp);
  for (size_t i = 0; i < table.size(); ++i) table[i] = perm[i];
  nc::PagedCache shape;
  shape.codebook = s.cb;
  shape.type = s.type;
  shape.kv_heads = H;
  shape.head_dim = D;
  shape.block = s.block;
  shape.page_size = s.page_size;
  shape.num_pages = pages;
  shape.batch = B;
  shape.max_pages_per_seq = maxp;
  nc::DeviceCache cache;
  CK(cache.allocate(shape, table, std::vector<int32_t>(B, 0)));
  const nc::PagedCache& c = cache.desc();

  // Host tokens [B][appended][H][D]; keys with outlier channels, some zero / tiny blocks.
  std::vector<uint16_t> k(size_t(B) * appended * H * D), v(k.size());
  for (size_t i = 0; i < k.size(); ++i) {
    const int ch = int(i % D);
    k[i] = uint16_t(rand_elem(rng, s.type, (ch % 37 == 5) ? 20.0 : 1.0));
    v[i] = uint16_t(rand_elem(rng, s.type, 1.0));
  }
  for (int z = 0; z < 4; ++z) {  // an all-zero block and a subnormal-scale block here and there
    const size_t row = rng.next() % (size_t(B) * appended * H);
    const int blk = int(rng.next() % (D / s.block));
    for (int j = 0; j < s.block; ++j) {
      const size_t idx = row * D + blk * s.block + j;
      (z & 1 ? v : k)[idx] = z < 2 ? 0 : uint16_t(j % 3);  // +0, or tiny fp16 subnormals / bf16 denormals
    }
  }
  auto append = [&](int t0, int n) {
    std::vector<uint16_t> kk(size_t(B) * n * H * D), vv(kk.size());
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < n; ++j) {
        const size_t src = ((size_t(b) * appended + t0 + j) * H) * D, dst = ((size_t(b) * n + j) * H) * D;
        std::copy_n(k.begin() + src, H * D, kk.begin() + dst);
        std::copy_n(v.begin() + src, H * D, vv.begin() + dst);
      }
    Dev<uint16_t> dk(kk), dv(vv);
    CK(nc::quantize_append(c, dk.p, dv.p, n, true, cache.error_word(), nullptr));
    CK(nc::read_device_errors(cache.error_word()));
  };
  append(0, first);
  for (int i = 0; i < 3; ++i) append(first + i, 1);
  if (appended > first + 3) append(first + 3, appended - first - 3);
  CK(cache.set_seq_lens(std::vector<int32_t>(s.lens.begin(), s.lens.end())));

  // CPU golden per sequence.
  std::vector<float> q(size_t(B) * Hq * D);
  for (auto& x : q) x = static_cast<float>(1.5 * rng.normal());
  if (rng.next() % 4 == 0) std::fill_n(q.begin(), D, 0.0f);  // an all-zero query head
  const int rb = c.row_bytes(), nb = c.blocks_per_row();
  std::vector<uint8_t> kpool(c.code_pool_bytes()), vpool(kpool.size());
  std::vector<uint16_t> kspool(c.scale_pool_elems()), vspool(kspool.size());
  cudaMemcpy(kpool.data(), c.k_codes, kpool.size(), cudaMemcpyDeviceToHost);
  cudaMemcpy(vpool.data(), c.v_codes, vpool.size(), cudaMemcpyDeviceToHost);
  cudaMemcpy(kspool.data(), c.k_scales, kspool.size() * 2, cudaMemcpyDeviceToHost);
  cudaMemcpy(vspool.data(), c.v_scales, vspool.size() * 2, cudaMemcpyDeviceToHost);

  Dev<float> dq(q), dout(q.size());
  cudaMemset(dout.p, 0xff, dout.n * 4);  // poison
  const int T = maxlen;
  Dev<int64_t> dS(size_t(B) * Hq * T), dU(size_t(B) * Hq * T);
  Dev<int32_t> dX(size_t(B) * Hq * T), dqs(size_t(B) * Hq);
  Dev<int16_t> dqf(size_t(B) * Hq * D);
  nc::DecodeWorkspace ws;
  CK(ws.allocate(B, Hq, H, D, maxlen));
  nc::DecodeTrace tr;
  tr.q_fixed = dqf.p;
  tr.q_shift = dqs.p;
  tr.scores_S = dS.p;
  tr.scores_x = dX.p;
  tr.logits = dU.p;
  tr.trace_tokens = T;
  CK(nc::decode_attention(c, dq.p, Hq, 0.0f, maxlen, dout.p, ws, cache.error_word(), &tr));
  CK(nc::read_device_errors(cache.error_word()));
  // Second launch without trace: counters must have been reset and the result must not change.
  Dev<float> dout2(q.size());
  CK(nc::decode_attention(c, dq.p, Hq, 0.0f, maxlen, dout2.p, ws, cache.error_word(), nullptr));
  CK(nc::read_device_errors(cache.error_word()));
  const auto out = dout.get(), out2 = dout2.get();
  const auto S = dS.get(), U = dU.get();
  const auto X = dX.get();
  const auto QF = dqf.get();
  const auto QS = dqs.get();
  std::vector<int64_t> pM(size_t(B) * Hq * ws.max_parts), pO(pM.size() * D);
  std::vector<uint64_t> pL(pM.size());
  std::vector<int32_t> pe(pM.size());
  cudaMemcpy(pM.data(), ws.part_M, pM.size() * 8, cudaMemcpyDeviceToHost);
  cudaMemcpy(pL.data(), ws.part_L, pL.size() * 8, cudaMemcpyDeviceToHost);
  cudaMemcpy(pe.data(), ws.part_e, pe.size() * 4, cudaMemcpyDeviceToHost);
  CK(ws.download_part_O(pO.size(), pO));

  for (int b = 0; b < B; ++b) {
    const int len = s.lens[b];
    ng::QuantKVCache gc(cb, s.type, H, D, s.block);
    std::vector<float> kf(size_t(H) * D), vf(kf.size());
    for (int t = 0; t < len; ++t) {
      for (int i = 0; i < H * D; ++i) {
        const size_t idx = (size_t(b) * appended + t) * H * D + i;
        kf[i] = ng::elem_to_f32(s.type, k[idx]);
        vf[i] = ng::elem_to_f32(s.type, v[idx]);
      }
      gc.append(kf.data(), vf.data());
      // the stored codes and scales of this token
      for (int h = 0; h < H; ++h) {
        const size_t row = (size_t(table[size_t(b) * maxp + t / s.page_size]) * H + h) * s.page_size + t % s.page_size;
        for (int is_v = 0; is_v < 2; ++is_v) {
          const auto packed = ng::pack_codes(cb.bits, gc.codes(is_v, t, h), D);
          const auto& pool = is_v ? vpool : kpool;
          for (int i = 0; i < rb; ++i) mm.eq(is_v ? "v_codes" : "k_codes", row * rb + i, pool[row * rb + i], packed[i]);
          for (int i = 0; i < nb; ++i)
            mm.eq(is_v ? "v_scale" : "k_scale", row * nb + i, (is_v ? vspool : kspool)[row * nb + i],
                  uint16_t(gc.scales(is_v, t, h)[i].absmax_bits));
        }
      }
    }
    ng::AttentionConfig cfg;
    cfg.q_heads = Hq;
    ng::AttentionTrace trace;
    const auto ref = ng::decode_attention(gc, q.data() + size_t(b) * Hq * D, cfg, &trace);
    const int P = (len + 511) / 512;
    for (int h = 0; h < Hq; ++h) {
      const auto fq = ng::quantize_query(q.data() + (size_t(b) * Hq + h) * D, D);
      mm.eq("q_shift", size_t(b) * Hq + h, QS[size_t(b) * Hq + h], fq.shift);
      for (int i = 0; i < D; ++i) mm.eq("q_fixed", (size_t(b) * Hq + h) * D + i, QF[(size_t(b) * Hq + h) * D + i], fq.q[i]);
      for (int t = 0; t < len; ++t) {
        const size_t gi = (size_t(b) * Hq + h) * T + t, ci = size_t(h) * len + t;
        mm.eq("scores_S", gi, S[gi], trace.scores[ci].S);
        mm.eq("scores_x", gi, X[gi], trace.scores[ci].x);
        mm.eq("logits", gi, U[gi], trace.logits[ci]);
      }
      for (int p = 0; p < P; ++p) {
        const size_t wi = (size_t(b) * Hq + h) * ws.max_parts + p;
        const auto& gp = trace.parts[size_t(h) * P + p];
        mm.eq("part_M", wi, pM[wi], gp.M);
        mm.eq("part_L", wi, pL[wi], gp.L);
        mm.eq("part_e", wi, pe[wi], gp.e);
        for (int i = 0; i < D; ++i) mm.eq("part_O", wi * D + i, pO[wi * D + i], gp.O[i]);
      }
      for (int i = 0; i < D; ++i) {
        const size_t oi = (size_t(b) * Hq + h) * D + i;
        mm.eq("out", oi, ng::f32_bits(out[oi]), ng::f32_bits(ref[size_t(h) * D + i]));
        mm.eq("out(2nd launch)", oi, ng::f32_bits(out2[oi]), ng::f32_bits(ref[size_t(h) * D + i]));
      }
    }
  }
}

std::string describe(const SweepShape& s) {
  std::ostringstream os;
  os << ng::codebook(s.cb).name << " " << ng::elem_type_name(s.type) << " D=" << s.D << " B=" << s.block
     << " Hkv=" << s.hkv << " G=" << s.group << " page=" << s.page_size << " lens=";
  for (int l : s.lens) os << l << ",";
  return os.str();
}

TEST(CudaRandom, SeededShapeSweep) {
  REQUIRE_GPU();
  const char* env = std::getenv("NQKV_CUDA_SWEEP");
  const int n = env ? std::atoi(env) : 24;
  ng::SplitMix64 rng(0x6e716b76);
  const ng::CodebookId cbs[] = {ng::CodebookId::NF4, ng::CodebookId::NF4, ng::CodebookId::NF3, ng::CodebookId::NF2,
                                ng::CodebookId::FP4, ng::CodebookId::LLOYD4};
  const int dims[] = {64, 128, 256};
  const int groups[] = {1, 4, 8, 2, 5};
  for (int it = 0; it < n; ++it) {
    SweepShape s;
    s.cb = cbs[rng.next() % 6];
    s.type = rng.next() % 3 == 0 ? ng::ElemType::BF16 : ng::ElemType::F16;
    s.D = dims[rng.next() % 3];
    std::vector<int> blocks;
    for (int bl = 32; bl <= s.D; bl *= 2) blocks.push_back(bl);
    s.block = blocks[rng.next() % blocks.size()];
    s.hkv = 1 + int(rng.next() % 3);
    s.group = groups[rng.next() % 5];
    s.page_size = rng.next() % 2 ? 16 : 64;
    const int B = 1 + int(rng.next() % 4);
    const int edges[] = {1, 2, 15, 16, 17, 511, 512, 513, 1024, 1500, 2100};
    for (int b = 0; b < B; ++b)
      s.lens.push_back(rng.next() % 2 ? edges[rng.next() % 11] : 1 + int(rng.next() % 2600));
    Mism mm;
    run_sweep_case(s, 1000 + it, mm);
    if (HasFatalFailure()) return;
    EXPECT_EQ(mm.count, 0) << describe(s) << ": " << mm.count << " of " << mm.compared << " differ\n" << mm.text;
    std::printf("sweep %2d: %s compared %lld, mismatches %lld\n", it, describe(s).c_str(), (long long)mm.compared,
                (long long)mm.count);
  }
}

TEST(CudaRandom, DequantizeCacheMatchesGolden) {
  REQUIRE_GPU();
  for (ng::CodebookId id : {ng::CodebookId::NF4, ng::CodebookId::NF3, ng::CodebookId::NF2}) {
    const ng::Codebook& cb = ng::codebook(id);
    const int H = 2, D = 128, blk = 64, T = 40, ps = 16, maxp = 3;
    nc::PagedCache shape;
    shape.codebook = id;
    shape.type = ng::ElemType::BF16;
    shape.kv_heads = H;
    shape.head_dim = D;
    shape.block = blk;
    shape.page_size = ps;
    shape.num_pages = 3;
    shape.batch = 1;
    shape.max_pages_per_seq = maxp;
    nc::DeviceCache cache;
    CK(cache.allocate(shape, {2, 0, 1}, {0}));
    ng::SplitMix64 rng(7);
    std::vector<uint16_t> k(size_t(T) * H * D), v(k.size());
    for (auto& x : k) x = uint16_t(rand_elem(rng, shape.type, 3.0));
    for (auto& x : v) x = uint16_t(rand_elem(rng, shape.type, 0.5));
    Dev<uint16_t> dk(k), dv(v);
    CK(nc::quantize_append(cache.desc(), dk.p, dv.p, T, true, cache.error_word(), nullptr));
    Dev<float> ok(size_t(T) * H * D), ov(ok.n);
    CK(nc::dequantize_cache(cache.desc(), T, ok.p, ov.p, cache.error_word()));
    CK(nc::read_device_errors(cache.error_word()));
    const auto gk = ok.get(), gv = ov.get();
    Mism mm;
    for (int is_v = 0; is_v < 2; ++is_v) {
      std::vector<uint32_t> bits(k.size());
      for (size_t i = 0; i < bits.size(); ++i) bits[i] = (is_v ? v : k)[i];
      const auto qt = ng::quantize_tensor(cb, shape.type, blk, int64_t(T) * H, D, bits);
      const auto ref = ng::dequantize_tensor(qt);
      for (size_t i = 0; i < ref.size(); ++i) mm.eq(is_v ? "v" : "k", i, ng::f32_bits((is_v ? gv : gk)[i]), ng::f32_bits(ref[i]));
    }
    EXPECT_EQ(mm.count, 0) << cb.name << "\n" << mm.text;
  }
}

// ---------------------------------------------------------------------------------------------
// The NF4 fp16 paged-cache shape of the error tests (pointers are filled in by DeviceCache::allocate).
nc::PagedCache nf4_f16_shape(int kv_heads, int head_dim, int block, int page_size, int num_pages, int batch,
                             int max_pages_per_seq) {
  nc::PagedCache shape;
  shape.codebook = ng::CodebookId::NF4;
  shape.type = ng::ElemType::F16;
  shape.kv_heads = kv_heads;
  shape.head_dim = head_dim;
  shape.block = block;
  shape.page_size = page_size;
  shape.num_pages = num_pages;
  shape.batch = batch;
  shape.max_pages_per_seq = max_pages_per_seq;
  return shape;
}

// Device-reported errors: out-of-range page, sequence length beyond the table, non-finite input.
TEST(CudaErrors, DeviceReportsBadInputsWithoutOutOfBoundsAccess) {
  REQUIRE_GPU();
  const int H = 1, D = 64, ps = 16;
  const nc::PagedCache shape = nf4_f16_shape(H, D, 32, ps, 2, 2, 2);
  nc::DeviceCache cache;
  CK(cache.allocate(shape, {0, 1, 7, -1}, {0, 0}));  // sequence 1's pages are out of range
  std::vector<uint16_t> k(size_t(2) * 20 * H * D, 0x3c00), v(k.size(), 0x3800);
  Dev<uint16_t> dk(k), dv(v);
  CK(nc::quantize_append(cache.desc(), dk.p, dv.p, 20, true, cache.error_word(), nullptr));
  nc::Result r = nc::read_device_errors(cache.error_word());
  EXPECT_EQ(r.status, nc::Status::DeviceError);
  EXPECT_NE(r.message.find("page table"), std::string::npos) << r.message;

  Dev<float> q(std::vector<float>(size_t(2) * D, 0.5f)), out(size_t(2) * D);
  nc::DecodeWorkspace ws;
  CK(ws.allocate(2, 1, H, D, 32));
  CK(nc::decode_attention(cache.desc(), q.p, 1, 0.0f, 32, out.p, ws, cache.error_word()));
  r = nc::read_device_errors(cache.error_word());
  EXPECT_EQ(r.status, nc::Status::DeviceError);
  auto o = out.get();
  EXPECT_FALSE(std::isnan(o[0])) << "sequence 0 is valid";
  EXPECT_TRUE(std::isnan(o[D])) << "sequence 1 reads bad pages: NaN output";

  // Sequence length beyond max_seq_len / the page table.
  CK(cache.set_seq_lens({20, 40}));
  CK(nc::decode_attention(cache.desc(), q.p, 1, 0.0f, 32, out.p, ws, cache.error_word()));
  r = nc::read_device_errors(cache.error_word());
  EXPECT_EQ(r.status, nc::Status::DeviceError);
  EXPECT_NE(r.message.find("sequence length"), std::string::npos) << r.message;

  // Non-finite query.
  CK(cache.set_seq_lens({20, 0}));
  std::vector<float> qh(size_t(2) * D, 0.25f);
  qh[3] = NAN;
  Dev<float> qn(qh);
  nc::DecodeWorkspace ws1;
  {
    nc::PagedCache one = cache.desc();
    one.batch = 1;
    CK(ws1.allocate(1, 1, H, D, 32));
    CK(nc::decode_attention(one, qn.p, 1, 0.0f, 32, out.p, ws1, cache.error_word()));
    r = nc::read_device_errors(cache.error_word());
    EXPECT_EQ(r.status, nc::Status::DeviceError);
    EXPECT_NE(r.message.find("query"), std::string::npos) << r.message;
    // Non-finite cache block: append an Inf key to sequence 0.
    std::vector<uint16_t> kinf(size_t(H) * D, 0x3c00), vfin(kinf.size(), 0x3c00);
    kinf[5] = 0x7c00;
    Dev<uint16_t> dki(kinf), dvf(vfin);
    CK(nc::quantize_append(one, dki.p, dvf.p, 1, true, cache.error_word(), nullptr));
    CK(nc::read_device_errors(cache.error_word()));
    CK(nc::decode_attention(one, q.p, 1, 0.0f, 32, out.p, ws1, cache.error_word()));
    r = nc::read_device_errors(cache.error_word());
    EXPECT_EQ(r.status, nc::Status::DeviceError);
    EXPECT_NE(r.message.find("non-finite block"), std::string::npos) << r.message;
  }
}

// A workspace that carried an error is clean for the next call: the combine resets the (sequence, kv head)
// error slot it read. The expected outputs come from a fresh workspace (an independent route) and are
// compared bit for bit; G = 1 and G = 4 take different partition kernels (TMA and cp.async copies).
TEST(CudaErrors, WorkspaceIsCleanAfterAnError) {
  REQUIRE_GPU();
  const int H = 2, D = 128, ps = 16, T = 1100;  // 3 partitions, a partial last page
  const uint64_t seed = 0x77736571;
  for (const int G : {1, 4}) {
    SCOPED_TRACE("G=" + std::to_string(G) + " seed=" + std::to_string(seed));
    ng::SplitMix64 rng(seed + G);
    const int pages = (T + ps - 1) / ps;
    const nc::PagedCache shape = nf4_f16_shape(H, D, 64, ps, pages, 1, pages);
    std::vector<int32_t> table(shape.max_pages_per_seq);
    std::iota(table.begin(), table.end(), 0);
    nc::DeviceCache cache;
    CK(cache.allocate(shape, table, {0}));
    std::vector<uint16_t> k(size_t(T) * H * D), v(k.size());
    for (auto& x : k) x = static_cast<uint16_t>(rand_elem(rng, ng::ElemType::F16, 1.0));
    for (auto& x : v) x = static_cast<uint16_t>(rand_elem(rng, ng::ElemType::F16, 1.0));
    Dev<uint16_t> dk(k), dv(v);
    CK(nc::quantize_append(cache.desc(), dk.p, dv.p, T, true, cache.error_word(), nullptr));
    CK(nc::read_device_errors(cache.error_word()));
    const int Hq = H * G;
    std::vector<float> qh(size_t(Hq) * D);
    for (auto& x : qh) x = static_cast<float>(rng.normal());
    std::vector<float> qbad = qh;
    qbad[D + 7] = NAN;  // query head 1: kv head 0 for G = 4, kv head 1 for G = 1
    Dev<float> q(qh), qn(qbad), out(size_t(Hq) * D), fresh(size_t(Hq) * D);
    nc::DecodeWorkspace ws, ws_fresh;
    CK(ws.allocate(1, Hq, H, D, T));
    CK(ws_fresh.allocate(1, Hq, H, D, T));
    CK(nc::decode_attention(cache.desc(), qn.p, Hq, 0.0f, T, out.p, ws, cache.error_word()));
    EXPECT_EQ(nc::read_device_errors(cache.error_word()).status, nc::Status::DeviceError);
    const auto with_error = out.get();
    EXPECT_TRUE(std::isnan(with_error[D])) << "the head with the NaN query";
    CK(nc::decode_attention(cache.desc(), q.p, Hq, 0.0f, T, out.p, ws, cache.error_word()));
    CK(nc::read_device_errors(cache.error_word()));
    CK(nc::decode_attention(cache.desc(), q.p, Hq, 0.0f, T, fresh.p, ws_fresh, cache.error_word()));
    CK(nc::read_device_errors(cache.error_word()));
    const auto a = out.get(), b = fresh.get();
    for (size_t i = 0; i < a.size(); ++i) {
      uint32_t ua, ub;
      std::memcpy(&ua, &a[i], 4);
      std::memcpy(&ub, &b[i], 4);
      ASSERT_EQ(ua, ub) << "output " << i << " after the error differs from a fresh workspace";
      ASSERT_FALSE(std::isnan(a[i])) << "output " << i;
    }
  }
}

// The append kernel's bucket-table code search (one fp32 add puts the bucket at address bits) against
// the definition of the code, the number of thresholds strictly below xn: every bucket edge, every
// threshold and its fp32 neighbours, and fresh seeded random points. Host arithmetic; no GPU needed.
TEST(CudaAppendTable, BucketSearchEqualsThresholdCount) {
  const uint64_t seed = std::random_device{}() * 0x9E3779B97F4A7C15ull + 1;
  int used = 0;
  for (auto id : ng::all_codebooks()) {
    const nc::AppendTableCheck r = nc::check_append_table(id, seed, 200000);
    if (!r.table_used) continue;
    ++used;
    EXPECT_GT(r.points, 200000) << ng::codebook(id).name;
    EXPECT_EQ(r.mismatches, 0) << ng::codebook(id).name << " seed " << seed << ": " << r.first;
  }
  EXPECT_GE(used, 1);  // NF4 at least takes the table (its thresholds are > 1/32 apart)
  EXPECT_TRUE(nc::check_append_table(ng::CodebookId::NF4, seed, 0).table_used);
}

// Kernel selection (heuristics.cpp), host only: which partition kernel each shape takes, by the rules of
// kernels/cuda/README.md (fast path: 4 bits, head_dim 128, G in {1, 2, 4}, block 32/64/128, page rows < 2^31;
// TMA at G = 1 with a split table). Skipped when an environment switch would change the answers.
TEST(CudaHeuristics, VariantForShape) {
  for (const char* e : {"NQKV_CUDA_GENERIC", "NQKV_CUDA_TMA"})
    if (std::getenv(e)) GTEST_SKIP() << e << " is set";
  namespace d = nc::detail;
  using K = d::DecodeVariant::Kind;
  const int64_t rows = 1000;
  auto v = d::choose_decode_variant(4, 128, 64, 4, rows, true);
  EXPECT_EQ(v.kind, K::Mma);
  EXPECT_EQ(v.nb, 2);
  EXPECT_EQ(v.G, 4);
  EXPECT_TRUE(v.split);
  v = d::choose_decode_variant(4, 128, 32, 1, rows, true);
  EXPECT_EQ(v.kind, K::MmaTma);
  EXPECT_EQ(v.nb, 4);
  v = d::choose_decode_variant(4, 128, 128, 1, rows, false);  // no split table: cp.async, select LUT
  EXPECT_EQ(v.kind, K::Mma);
  EXPECT_EQ(v.nb, 1);
  EXPECT_FALSE(v.split);
  v = d::choose_decode_variant(4, 128, 64, 2, rows, true);
  EXPECT_EQ(v.kind, K::Mma);
  // Generic: other bits, head_dims, groups, blocks, and page rows that need more than 31 bits.
  EXPECT_EQ(d::choose_decode_variant(3, 128, 64, 4, rows, true).kind, K::Generic);
  EXPECT_EQ(d::choose_decode_variant(3, 128, 64, 4, rows, true).bits, 3);
  EXPECT_EQ(d::choose_decode_variant(4, 64, 64, 4, rows, true).kind, K::Generic);
  EXPECT_EQ(d::choose_decode_variant(4, 256, 64, 1, rows, true).kind, K::Generic);
  EXPECT_EQ(d::choose_decode_variant(4, 128, 64, 8, rows, true).kind, K::Generic);
  EXPECT_EQ(d::choose_decode_variant(4, 128, 64, 3, rows, true).kind, K::Generic);
  EXPECT_EQ(d::choose_decode_variant(4, 128, 256, 4, rows, true).kind, K::Generic);
  EXPECT_EQ(d::choose_decode_variant(4, 128, 64, 4, int64_t(1) << 31, true).kind, K::Generic);
  EXPECT_EQ(d::choose_decode_variant(4, 128, 64, 4, (int64_t(1) << 31) - 1, true).kind, K::Mma);
}

// The decode schedule: one CTA per item (the persistent kernel and the fused combine exist only in a build with
// NQKV_CUDA_PERSISTENT and are chosen there only by NQKV_CUDA_PERSIST, reports/gpu.md).
TEST(CudaHeuristics, ScheduleIsOneCtaPerItemByDefault) {
  if (std::getenv("NQKV_CUDA_PERSIST")) GTEST_SKIP() << "NQKV_CUDA_PERSIST is set";
  namespace d = nc::detail;
  for (const int64_t items : {int64_t(1), int64_t(128), int64_t(16384)}) {
    const auto s = d::choose_decode_schedule(d::choose_decode_variant(4, 128, 64, 4, 1000, true), items, 132);
    EXPECT_EQ(s.pipe, 0) << items;
    EXPECT_EQ(s.ctas, 0) << items;
    EXPECT_FALSE(s.fuse) << items;
  }
  EXPECT_EQ(d::choose_decode_schedule(d::choose_decode_variant(3, 128, 64, 4, 1000, true), 128, 132).pipe, 0);
}

// split_mac_table: known answers (all-zero table; a table with no split: C[j] = -128 and C[j + 8] = 127 leave
// no sign choice in range), then the defining identities A[j] + sgn(B[j]) = C[j], sgn(A[j]) + B[j] = C[j + 8]
// on seeded random tables.
TEST(CudaHeuristics, SplitMacTable) {
  namespace d = nc::detail;
  int8_t mac[16] = {};
  uint32_t out[4] = {1, 1, 1, 1};
  ASSERT_TRUE(d::split_mac_table(mac, out));
  for (uint32_t w : out) EXPECT_EQ(w, 0u);
  mac[3] = -128;
  mac[11] = 127;
  EXPECT_FALSE(d::split_mac_table(mac, out));
  const uint64_t seed = 0x5eed18;
  ng::SplitMix64 rng(seed);
  int found = 0;
  for (int it = 0; it < 200; ++it) {
    for (auto& m : mac) m = int8_t(int(rng.next() % 201) - 100);
    if (!d::split_mac_table(mac, out)) continue;
    ++found;
    auto byte = [&](int w, int j) { return int(int8_t((out[w] >> (8 * (j % 4))) & 255)); };
    for (int j = 0; j < 8; ++j) {
      const int a = byte(j / 4, j), b = byte(2 + j / 4, j);
      EXPECT_EQ(a + (b < 0 ? -1 : 0), mac[j]) << "seed " << seed << " iteration " << it << " j " << j;
      EXPECT_EQ((a < 0 ? -1 : 0) + b, mac[j + 8]) << "seed " << seed << " iteration " << it << " j " << j;
    }
  }
  EXPECT_EQ(found, 200) << "seed " << seed;  // |C| <= 100 always has a split (sign choice 0 / -1 stays in range)
}

// Host-side validation needs no GPU: bad shapes and alignment are refused before any launch.
TEST(CudaValidation, RejectsBadArgumentsOnTheHost) {
  alignas(16) static uint8_t fake[64];
  nc::PagedCache c;
  c.codebook = ng::CodebookId::NF4;
  c.type = ng::ElemType::F16;
  c.kv_heads = 2;
  c.head_dim = 128;
  c.block = 64;
  c.page_size = 16;
  c.num_pages = 4;
  c.batch = 1;
  c.max_pages_per_seq = 4;
  c.k_codes = c.v_codes = fake;
  c.k_scales = c.v_scales = reinterpret_cast<uint16_t*>(fake);
  c.page_table = c.seq_lens = reinterpret_cast<int32_t*>(fake);
  EXPECT_TRUE(nc::validate_cache(c).ok()) << nc::validate_cache(c).message;
  auto bad = [&](auto mutate) {
    nc::PagedCache d = c;
    mutate(d);
    return nc::validate_cache(d).status == nc::Status::InvalidArgument;
  };
  EXPECT_TRUE(bad([](nc::PagedCache& d) { d.head_dim = 96; }));
  EXPECT_TRUE(bad([](nc::PagedCache& d) { d.block = 256; }));
  EXPECT_TRUE(bad([](nc::PagedCache& d) { d.block = 48; }));
  EXPECT_TRUE(bad([](nc::PagedCache& d) { d.page_size = 32; }));
  EXPECT_TRUE(bad([](nc::PagedCache& d) { d.codebook = ng::CodebookId::INT4; }));
  EXPECT_TRUE(bad([](nc::PagedCache& d) { d.type = ng::ElemType::F32; }));
  EXPECT_TRUE(bad([](nc::PagedCache& d) { d.k_codes = fake + 1; }));
  EXPECT_TRUE(bad([](nc::PagedCache& d) { d.page_table = nullptr; }));
  nc::DecodeWorkspace ws;  // unallocated
  const float* q = reinterpret_cast<const float*>(fake);
  float* out = reinterpret_cast<float*>(fake);
  int32_t* err = reinterpret_cast<int32_t*>(fake);
  EXPECT_EQ(nc::decode_attention(c, q, 3, 0.0f, 64, out, ws, err).status, nc::Status::InvalidArgument);  // 3 % 2
  EXPECT_EQ(nc::decode_attention(c, q, 4, 0.0f, 65, out, ws, err).status, nc::Status::InvalidArgument);  // > capacity
  EXPECT_EQ(nc::decode_attention(c, q, 4, 0.0f, 64, out, ws, err).status, nc::Status::InvalidArgument);  // workspace
  EXPECT_EQ(nc::decode_attention(c, q, 4, -1.0f, 64, out, ws, err).status, nc::Status::InvalidArgument);
  const uint16_t* misaligned = reinterpret_cast<const uint16_t*>(fake + 2);
  EXPECT_EQ(nc::quantize_append(c, misaligned, misaligned, 1, false, err, nullptr).status, nc::Status::InvalidArgument);
  EXPECT_EQ(nc::quantize_rows(ng::CodebookId::NF4, ng::ElemType::F16, 12, 1, 24, fake, fake, fake, nullptr, fake).status,
            nc::Status::InvalidArgument);
}

}  // namespace
