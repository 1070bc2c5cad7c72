// cuda_check_case: one golden case file (written by `nqkv golden gen`) run on the GPU and compared
// bit for bit, tensor by tensor. Host code only.
#include <cuda_runtime.h>

#include <cstring>
#include <sstream>

#include "golden/backend.hpp"
#include "golden/tensor_io.hpp"
#include "golden/vectors.hpp"
#include "io/error.hpp"
#include "kernels/cuda/nqkv_cuda.hpp"

namespace nqkv::cuda {
namespace {

struct DevBuf {
  void* p = nullptr;
  size_t n = 0;
  explicit DevBuf(size_t bytes) : n(bytes) {
    if (cudaMalloc(&p, bytes ? bytes : 16) != cudaSuccess) p = nullptr;
  }
  ~DevBuf() { cudaFree(p); }
  template <class T>
  T* as() const { return static_cast<T*>(p); }
  bool upload(const void* h, size_t bytes) { return cudaMemcpy(p, h, bytes, cudaMemcpyHostToDevice) == cudaSuccess; }
  std::vector<uint8_t> download(size_t bytes) const {
    std::vector<uint8_t> v(bytes);
    if (bytes && cudaMemcpy(v.data(), p, bytes, cudaMemcpyDeviceToHost) != cudaSuccess) v.clear();
    return v;
  }
};

// Element-by-element bit comparison of a downloaded GPU tensor with the golden one, through the
// backend's one mismatch collector.
struct Comparer {
  backend::Mismatches& m;
  // gpu holds elements of the same width as ref's dtype, in the same order.
  void compare(const std::string& name, const std::vector<uint8_t>& gpu, const io::Tensor& ref) {
    const size_t es = io::dtype_size(ref.dtype);
    if (gpu.size() != ref.data.size()) {
      m.error(name + ": size " + std::to_string(gpu.size()) + " bytes on the GPU vs " + std::to_string(ref.data.size()) +
              " in the golden file");
      return;
    }
    const size_t n = ref.data.size() / es;
    for (size_t i = 0; i < n; ++i) {
      uint64_t got = 0, want = 0;
      std::memcpy(&got, gpu.data() + i * es, es);
      std::memcpy(&want, ref.data.data() + i * es, es);
      m.cmp(name, static_cast<int64_t>(i), want, got, static_cast<int>(2 * es));
    }
  }
};

using golden::case_meta;
using golden::case_meta_int;

#define NQKV_CK(expr)                                              \
  do {                                                             \
    Result rr_ = (expr);                                           \
    if (!rr_.ok()) throw std::runtime_error(#expr ": " + rr_.message); \
  } while (0)

void check_quantize(const io::SafeTensors& st, backend::Mismatches& m) {
  const golden::Codebook& cb = golden::codebook_by_name(case_meta(st, "codebook"));
  const golden::ElemType type = golden::elem_type_from_name(case_meta(st, "dtype"));
  const int block = case_meta_int(st, "block");
  const io::Tensor& x = st.get("x");
  const int64_t rows = x.dim(0), cols = x.dim(1);
  const size_t es = type == golden::ElemType::F32 ? 4 : 2;
  const int64_t nblk = rows * (cols / block);
  DevBuf dx(x.data.size()), dcodes(size_t(rows) * cols * cb.bits / 8), ds0(nblk * es), ds1(nblk * es), dst(nblk),
      dout(size_t(rows) * cols * 4);
  if (!dx.p || !dcodes.p || !ds0.p || !ds1.p || !dst.p || !dout.p) throw std::runtime_error("cudaMalloc failed");
  dx.upload(x.data.data(), x.data.size());
  NQKV_CK(quantize_rows(cb.id, type, block, rows, cols, dx.p, dcodes.as<uint8_t>(), ds0.p, ds1.p, dst.as<uint8_t>()));
  NQKV_CK(dequantize_rows(cb.id, type, block, rows, cols, dcodes.as<uint8_t>(), ds0.p, ds1.p, dout.as<float>()));
  if (cudaDeviceSynchronize() != cudaSuccess) throw std::runtime_error("kernel failed");
  Comparer cmp{m};
  const auto s0 = ds0.download(nblk * es), s1 = ds1.download(nblk * es);
  cmp.compare("codes", dcodes.download(dcodes.n), st.get("codes"));
  if (!cb.affine) {
    cmp.compare("absmax", s0, st.get("absmax"));
  } else if (st.has("minimum") || st.has("min")) {
    cmp.compare("minimum", s0, st.get(st.has("minimum") ? "minimum" : "min"));
    cmp.compare("step", s1, st.get("step"));
  } else {
    const io::Tensor& a = st.get("absmax");
    if (a.data.size() == 2 * s0.size()) {  // [rows, cols/block, 2]: (minimum, step) pairs
      std::vector<uint8_t> inter(2 * s0.size());
      for (int64_t i = 0; i < nblk; ++i) {
        std::memcpy(inter.data() + (2 * i) * es, s0.data() + i * es, es);
        std::memcpy(inter.data() + (2 * i + 1) * es, s1.data() + i * es, es);
      }
      cmp.compare("absmax(min,step)", inter, a);
    } else {
      cmp.compare("absmax(min)", s0, a);
      if (st.has("step")) cmp.compare("step", s1, st.get("step"));
    }
  }
  if (st.has("status")) cmp.compare("status", dst.download(nblk), st.get("status"));
  if (st.has("dequant")) cmp.compare("dequant", dout.download(dout.n), st.get("dequant"));
}

void check_attention(const io::SafeTensors& st, backend::Result& res, backend::Mismatches& m) {
  const golden::Codebook& cb = golden::codebook_by_name(case_meta(st, "codebook"));
  const golden::ElemType type = golden::elem_type_from_name(case_meta(st, "dtype"));
  const int block = case_meta_int(st, "block");
  const int Hq = case_meta_int(st, "q_heads"), Hkv = case_meta_int(st, "kv_heads");
  const int D = case_meta_int(st, "head_dim");
  const int T = case_meta_int(st, "tokens");
  const uint32_t smb = static_cast<uint32_t>(std::stoul(case_meta(st, "sm_scale_bits")));
  const float sm_scale = golden::f32_from_bits(smb);
  if (cb.affine || cb.bits < 2 || cb.bits > 4) {
    res.skipped = true;
    res.skip_reason = "codebook " + cb.name + " has no CUDA decode path";
    return;
  }
  const int ps = 16, pages = (T + ps - 1) / ps;
  PagedCache shape;
  shape.codebook = cb.id;
  shape.type = type;
  shape.kv_heads = Hkv;
  shape.head_dim = D;
  shape.block = block;
  shape.page_size = ps;
  shape.num_pages = pages;
  shape.batch = 1;
  shape.max_pages_per_seq = pages;
  std::vector<int32_t> table(pages);
  for (int i = 0; i < pages; ++i) table[i] = pages - 1 - i;  // reversed: exercises the page table
  DeviceCache cache;
  NQKV_CK(cache.allocate(shape, table, {0}));
  const PagedCache& c = cache.desc();
  const io::Tensor& k = st.get("k");
  const io::Tensor& v = st.get("v");
  DevBuf dk(k.data.size()), dv(v.data.size());
  dk.upload(k.data.data(), k.data.size());
  dv.upload(v.data.data(), v.data.size());
  NQKV_CK(quantize_append(c, dk.as<uint16_t>(), dv.as<uint16_t>(), T, true, cache.error_word(), nullptr));
  Comparer cmp{m};
  {
    Result dr = read_device_errors(cache.error_word());
    if (!dr.ok()) {
      m.error("quantize_append: " + dr.message);
    }
  }
  // Codes and scales back in the golden's [T, Hkv, ...] order.
  const int rb = c.row_bytes(), nb = c.blocks_per_row();
  std::vector<uint8_t> kc(c.code_pool_bytes()), vc(c.code_pool_bytes()), ksc(c.scale_pool_elems() * 2),
      vsc(c.scale_pool_elems() * 2);
  cudaMemcpy(kc.data(), c.k_codes, kc.size(), cudaMemcpyDeviceToHost);
  cudaMemcpy(vc.data(), c.v_codes, vc.size(), cudaMemcpyDeviceToHost);
  cudaMemcpy(ksc.data(), c.k_scales, ksc.size(), cudaMemcpyDeviceToHost);
  cudaMemcpy(vsc.data(), c.v_scales, vsc.size(), cudaMemcpyDeviceToHost);
  std::vector<uint8_t> kco(size_t(T) * Hkv * rb), vco(kco.size()), kso(size_t(T) * Hkv * nb * 2), vso(kso.size());
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < Hkv; ++h) {
      const size_t row = (size_t(table[t / ps]) * Hkv + h) * ps + t % ps;
      const size_t o = size_t(t) * Hkv + h;
      std::memcpy(kco.data() + o * rb, kc.data() + row * rb, rb);
      std::memcpy(vco.data() + o * rb, vc.data() + row * rb, rb);
      std::memcpy(kso.data() + o * nb * 2, ksc.data() + row * nb * 2, nb * 2);
      std::memcpy(vso.data() + o * nb * 2, vsc.data() + row * nb * 2, nb * 2);
    }
  if (st.has("k_codes")) cmp.compare("k_codes", kco, st.get("k_codes"));
  if (st.has("v_codes")) cmp.compare("v_codes", vco, st.get("v_codes"));
  if (st.has("k_absmax")) cmp.compare("k_absmax", kso, st.get("k_absmax"));
  if (st.has("v_absmax")) cmp.compare("v_absmax", vso, st.get("v_absmax"));

  const io::Tensor& q = st.get("q");
  DevBuf dq(q.data.size()), dout(size_t(Hq) * D * 4), dqf(size_t(Hq) * D * 2), dqs(size_t(Hq) * 4),
      dS(size_t(Hq) * T * 8), dx(size_t(Hq) * T * 4), dU(size_t(Hq) * T * 8);
  dq.upload(q.data.data(), q.data.size());
  DecodeWorkspace ws;
  NQKV_CK(ws.allocate(1, Hq, Hkv, D, T));
  DecodeTrace tr;
  tr.q_fixed = dqf.as<int16_t>();
  tr.q_shift = dqs.as<int32_t>();
  tr.scores_S = dS.as<int64_t>();
  tr.scores_x = dx.as<int32_t>();
  tr.logits = dU.as<int64_t>();
  tr.trace_tokens = T;
  NQKV_CK(decode_attention(c, dq.as<float>(), Hq, sm_scale, T, dout.as<float>(), ws, cache.error_word(), &tr));
  {
    Result dr = read_device_errors(cache.error_word());
    if (!dr.ok()) {
      m.error("decode_attention: " + dr.message);
    }
  }
  const size_t P = ws.max_parts;
  auto dl = [](const void* p, size_t n) {
    std::vector<uint8_t> v(n);
    cudaMemcpy(v.data(), p, n, cudaMemcpyDeviceToHost);
    return v;
  };
  if (st.has("q_fixed")) cmp.compare("q_fixed", dqf.download(dqf.n), st.get("q_fixed"));
  if (st.has("q_shift")) cmp.compare("q_shift", dqs.download(dqs.n), st.get("q_shift"));
  if (st.has("scores_S")) cmp.compare("scores_S", dS.download(dS.n), st.get("scores_S"));
  if (st.has("scores_x")) cmp.compare("scores_x", dx.download(dx.n), st.get("scores_x"));
  if (st.has("logits")) cmp.compare("logits", dU.download(dU.n), st.get("logits"));
  if (st.has("part_M")) cmp.compare("part_M", dl(ws.part_M, size_t(Hq) * P * 8), st.get("part_M"));
  if (st.has("part_L")) cmp.compare("part_L", dl(ws.part_L, size_t(Hq) * P * 8), st.get("part_L"));
  if (st.has("part_e")) cmp.compare("part_e", dl(ws.part_e, size_t(Hq) * P * 4), st.get("part_e"));
  if (st.has("part_O")) {
    std::vector<int64_t> o;
    NQKV_CK(ws.download_part_O(size_t(Hq) * P * D, o));
    std::vector<uint8_t> bytes(o.size() * 8);
    std::memcpy(bytes.data(), o.data(), bytes.size());
    cmp.compare("part_O", bytes, st.get("part_O"));
  }
  cmp.compare("out", dout.download(dout.n), st.get("out"));
}

}  // namespace

backend::Result cuda_check_case(const nqkv::io::SafeTensors& golden_case) {
  backend::Result res;
  std::string why;
  if (!device_available(&why)) {
    res.skipped = true;
    res.skip_reason = why;
    return res;
  }
  auto it = golden_case.metadata.find("kind");
  const std::string kind = it == golden_case.metadata.end() ? "" : it->second;
  backend::Mismatches m(12);
  try {
    if (kind == "quantize") {
      check_quantize(golden_case, m);
    } else if (kind == "attention") {
      check_attention(golden_case, res, m);
    } else {
      res.skipped = true;
      res.skip_reason = "unknown golden case kind '" + kind + "'";
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    m.error(std::string("CUDA error: ") + e.what());
  }
  res.take(m);
  return res;
}

}  // namespace nqkv::cuda
