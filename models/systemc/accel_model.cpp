// The cycle-exact model of nq_accel_top (see accel_model.hpp). Each clock_*() function computes
// its unit's combinational signals from the current state and inputs first, then updates the
// registers downstream-first, so that every register reads the values from before the edge
// (the two phases of the RTL's always_ff blocks). Comments name the RTL signal each line models.
#include "models/systemc/accel_model.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "golden/rng.hpp"
#include "models/accel/regmap.hpp"

NQKV_SYSC_BEGIN
namespace reg = accel::reg;
namespace {

constexpr uint32_t mask(int n) { return n >= 32 ? ~0u : ((1u << n) - 1u); }
constexpr int32_t sext(uint32_t v, int n) { return static_cast<int32_t>(v << (32 - n)) >> (32 - n); }
inline int64_t sext64(uint64_t v, int n) {
  return n >= 64 ? static_cast<int64_t>(v) : static_cast<int64_t>(v << (64 - n)) >> (64 - n);
}

// nq_scale_parts: scale = m * 2^x
inline void scale_parts(bool bf16, uint32_t s, uint32_t& m, int32_t& x) {
  if (!bf16) {
    const uint32_t e = (s >> 10) & 0x1f;
    if (e != 0) {
      m = 0x400u | (s & 0x3ff);
      x = static_cast<int32_t>(e) - 25;
    } else {
      m = s & 0x3ff;
      x = -24;
    }
  } else {
    const uint32_t e = (s >> 7) & 0xff;
    if (e != 0) {
      m = 0x80u | (s & 0x7f);
      x = static_cast<int32_t>(e) - 134;
    } else {
      m = s & 0x7f;
      x = -133;
    }
  }
}

// nq_widen: sign, zero, mant (24 bits, bit 23 set for non-zero), exp (unbiased).
inline void widen(bool bf16, uint32_t x, bool& sign, bool& zero, uint32_t& mant, int32_t& exp) {
  sign = (x >> 15) & 1u;
  if (!bf16) {
    const uint32_t e16 = (x >> 10) & 0x1f, f16 = x & 0x3ff;
    zero = e16 == 0 && f16 == 0;
    if (e16 != 0) {
      mant = 0x800000u | (f16 << 13);
      exp = static_cast<int32_t>(e16) - 15;
    } else {
      const int p16 = f16 ? 31 - __builtin_clz(f16) : 0;  // leading-one position (0 when f16 = 0)
      mant = (f16 << (23 - p16)) & 0xffffffu;
      exp = p16 - 24;
    }
  } else {
    const uint32_t eb = (x >> 7) & 0xff, fb = x & 0x7f;
    zero = eb == 0 && fb == 0;
    if (eb != 0) {
      mant = 0x800000u | (fb << 16);
      exp = static_cast<int32_t>(eb) - 127;
    } else {
      const int pb = fb ? 31 - __builtin_clz(fb) : 0;
      mant = (fb << (23 - pb)) & 0xffffffu;
      exp = pb - 133;
    }
  }
}

// nq_quant_lane without the threshold count: the ordered key of xn = fp32(x * inv).
inline int32_t lane_key(bool bf16, uint32_t x, uint32_t inv_m, int32_t inv_e) {
  bool sx, zx;
  uint32_t mx;
  int32_t ex;
  widen(bf16, x, sx, zx, mx, ex);
  if (zx) return 0;
  const uint64_t prod = static_cast<uint64_t>(mx) * inv_m;  // 48 bits
  const int lz = prod ? __builtin_clzll(prod) - 16 : 48;
  const int sh = lz < 3 ? lz : 3;  // prod[47] / [46] / [45] / else
  const uint64_t pn = (prod << sh) & 0xffffffffffffull;
  const int32_t e = sext(static_cast<uint32_t>(ex + inv_e + 1 - sh), 11);
  uint32_t mag;
  if (e >= -126) {
    const uint32_t hi = static_cast<uint32_t>(pn >> 24);  // pn[47:24]
    const uint32_t rb = static_cast<uint32_t>(pn >> 23) & 1u;
    const uint32_t st = (pn & 0x7fffffull) != 0 ? 1u : 0u;
    const uint32_t mr = hi + (rb & (st | (hi & 1u)));
    if (mr & 0x1000000u)
      mag = (static_cast<uint32_t>(e + 128) & 0xffu) << 23;
    else
      mag = ((static_cast<uint32_t>(e + 127) & 0xffu) << 23) | (mr & 0x7fffffu);
  } else if (e > -150 || (e == -150 && (pn & 0x7fffffffffffull) != 0)) {
    mag = 1;
  } else {
    mag = 0;
  }
  if (mag == 0) return 0;
  return sx ? -static_cast<int32_t>(mag) : static_cast<int32_t>(mag);
}

// lane_key for a whole beat. The common case (a normal element, a normal reciprocal, a normal
// result) is computed branch-free over all lanes, which the compiler vectorizes; any lane outside
// it (zero, subnormal, tiny result, subnormal reciprocal) is redone by lane_key.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NQKV_VEC_CLONES __attribute__((target_clones("avx2", "default"), noinline))
#else
#define NQKV_VEC_CLONES
#endif
NQKV_VEC_CLONES
void lane_keys(bool bf16, const uint16_t* x, int L, uint32_t inv_m, int32_t inv_e, int32_t* key) {
  uint32_t slow = 0;
  const uint32_t eshift = bf16 ? 7 : 10, emask = bf16 ? 0xffu : 0x1fu, fmask = bf16 ? 0x7fu : 0x3ffu;
  const uint32_t fshift = bf16 ? 16 : 13;
  const int32_t bias = bf16 ? 127 : 15;
  const bool inv_normal = inv_m >= 0x800000u;
  const uint32_t ih = inv_m >> 12, il = inv_m & 0xfffu;
  for (int i = 0; i < L; ++i) {
    const uint32_t xi = x[i];
    const uint32_t ee = (xi >> eshift) & emask, f = xi & fmask;
    const uint32_t mx = 0x800000u | (f << fshift);
    const int32_t ex = static_cast<int32_t>(ee) - bias;
    // prod = mx * inv_m in [2^46, 2^48), in 32-bit pieces (12-bit halves) so the loop vectorizes:
    // prod = high * 2^24 + low
    const uint32_t mh = mx >> 12, ml = mx & 0xfffu;
    const uint32_t p0 = ml * il, p1 = mh * il + ml * ih, p2 = mh * ih;
    const uint32_t low25 = p0 + ((p1 & 0xfffu) << 12);
    const uint32_t low = low25 & 0xffffffu;
    const uint32_t high = p2 + (p1 >> 12) + (low25 >> 24);
    const uint32_t top = high >> 23;  // 1: prod[47] set (sh 0), else prod[46] (sh 1)
    const uint32_t hi = top ? high : (((high << 1) | (low >> 23)) & 0xffffffu);  // pn[47:24]
    const uint32_t rb = top ? (low >> 23) & 1u : (low >> 22) & 1u;
    const uint32_t st = (top ? (low & 0x7fffffu) : (low & 0x3fffffu)) != 0 ? 1u : 0u;
    const uint32_t mr = hi + (rb & (st | (hi & 1u)));
    const int32_t e = ex + inv_e + static_cast<int32_t>(top);  // e + 1 - sh
    const uint32_t mag = ((static_cast<uint32_t>(e + 127) + (mr >> 24)) & 0xffu) << 23 | (mr & 0x7fffffu);
    key[i] = (xi & 0x8000u) ? -static_cast<int32_t>(mag) : static_cast<int32_t>(mag);
    slow |= (ee == 0) | (ee == emask) | (e < -126) | (e > 127);
  }
  if (slow || !inv_normal)
    for (int i = 0; i < L; ++i) {
      const uint32_t xi = x[i];
      const uint32_t ee = (xi >> eshift) & emask;
      const int32_t e1 = static_cast<int32_t>(ee) - bias + inv_e;  // e is e1 or e1 + 1
      if (!inv_normal || ee == 0 || ee == emask || e1 < -125 || e1 > 126)
        key[i] = lane_key(bf16, xi, inv_m, inv_e);
    }
}

// code[i] = the number of thresholds with key[i] > t[k] (t: NTHR keys, INT32_MAX where unused):
// threshold-outer, lane-inner, branch-free (vectorized).
NQKV_VEC_CLONES
void count_codes(const int32_t* key, int L, const int32_t* t, int nthr, uint32_t* code) {
  for (int i = 0; i < L; ++i) code[i] = 0;
  for (int k = 0; k < nthr; ++k) {
    const int32_t tk = t[k];
    if (tk == INT32_MAX) continue;  // nothing is greater
    for (int i = 0; i < L; ++i) code[i] += static_cast<uint32_t>(key[i] > tk);
  }
}

// LANES 16-bit elements (LANES a multiple of 4): 8-byte moves the compiler inlines.
inline void copy_lanes(uint16_t* d, const uint16_t* s, int L) {
  for (int i = 0; i < L; i += 4) std::memcpy(d + i, s + i, 8);
}

// Bits [pos, pos+n) of a little-endian array of 64-bit words (n <= 4, pos >= 0).
inline uint32_t get_bits(const uint64_t* w, int pos, int n) {
  const int wi = pos >> 6, bi = pos & 63;
  uint64_t v = w[wi] >> bi;
  if (bi + n > 64) v |= w[wi + 1] << (64 - bi);
  return static_cast<uint32_t>(v) & mask(n);
}
inline void put_bits(uint64_t* w, int pos, int n, uint32_t v) {
  const int wi = pos >> 6, bi = pos & 63;
  w[wi] |= static_cast<uint64_t>(v) << bi;
  if (bi + n > 64) w[wi + 1] |= static_cast<uint64_t>(v) >> (64 - bi);
}

}  // namespace

#ifdef NQKV_MUTANTS
int g_mutant = kMutNone;
const char* mutant_name(int k) {
  static const char* const names[] = {"none",         "efifo_short",       "inflight_ignored", "inflight_short",
                                      "recip_short",  "side_full_early",   "drain_late",       "od_last_early",
                                      "hold_early",   "clear_ignored",     "first_tok_stuck",  "wait_side_early",
                                      "s2_ignores_stall"};
  static_assert(sizeof(names) / sizeof(names[0]) == kMutCount, "one name per mutant");
  return k >= 0 && k < kMutCount ? names[k] : "?";
}
bool AccelModel::side_completes_mut() const {
  const uint32_t nb = t_.cfg_nblk & mask(nbw_);
  return in.ms_valid && ms_ready() && m_.sb_wbank == m_.sb_rbank && m_.sb_widx == ((nb - 1u) & mask(nbw_));
}
#endif

AccelModel::AccelModel(const accel::AccelConfig& cfg) : cfg_(cfg) {
  const std::string bad = cfg.validate();
  if (!bad.empty()) throw std::invalid_argument("AccelModel: " + bad);
  lanes_ = cfg.lanes;
  lw_ = accel::clog2(lanes_);
  bpbw_ = accel::clog2(cfg.block_max / lanes_) + 1;
  nbw_ = accel::clog2(cfg.nbmax()) + 1;
  dw_ = accel::clog2(cfg.dmax);
  rows_ = cfg.rows();
  rw_ = accel::clog2(rows_);
  nthr_ = cfg.nthr();
  nent_ = cfg.nent();
  sps_ = cfg.div_sps;
  nst_ = (24 + sps_ - 1) / sps_;
  ef_depth_ = static_cast<uint32_t>(cfg.ef_depth());
  sf_depth_ = static_cast<uint32_t>(cfg.sf_depth());
  sfaw_ = static_cast<uint32_t>(accel::clog2(sf_depth_));
  bus_bits_ = static_cast<uint32_t>(lanes_ * cfg.bits_max);
  if (nbw_ < 2 || rw_ < 1) throw std::invalid_argument("AccelModel: DMAX too small for the model (NBMAX >= 2)");
  q_.efifo_data.assign(static_cast<size_t>(ef_depth_) * lanes_, 0);
  q_.efifo_last.assign(ef_depth_, 0);
  q_.sfifo_mem.assign(sf_depth_, ScaleEntry{});
  ef_pk_.assign(ef_depth_, std::array<uint64_t, 4>{});
  ef_gen_.assign(ef_depth_, 0u);
  m_.lanes = lanes_;
  m_.qm.assign(static_cast<size_t>(rows_) * lanes_, 0);
  m_.am.assign(static_cast<size_t>(rows_) * lanes_, 0);
  reset_regs();
}

void AccelModel::randomize_unreset(uint64_t seed) {
  golden::SplitMix64 r(seed ^ 0x6d6f64656cull);
  auto u32 = [&] { return static_cast<uint32_t>(r.next()); };
  for (auto& v : t_.thr) v = u32();
  for (auto& v : t_.mac) v = static_cast<uint8_t>(u32());
  q_.be_max = u32() & 0x7fff;
  q_.be_nf = u32() & 1;
  for (auto& v : q_.efifo_data) v = static_cast<uint16_t>(u32());
  for (auto& v : q_.efifo_last) v = static_cast<uint8_t>(u32() & 1);
  for (auto& e : q_.sfifo_mem) e = ScaleEntry{u32() & 0xffffff, sext(u32(), 10), static_cast<uint16_t>(u32()),
                                              static_cast<uint8_t>(u32() & 3)};
  for (auto& v : m_.sb_mem) v = static_cast<uint16_t>(u32());
  for (auto& v : m_.sb_xt) v = sext(u32(), 10);
  for (auto& v : m_.qm) v = static_cast<int16_t>(u32());
  for (auto& v : m_.am) v = sext64(r.next(), cfg_.acc_w);
  m_.blk_acc = static_cast<int32_t>(u32());
  m_.s_acc = static_cast<int64_t>(r.next());
  m_.od_data = r.next();
  q_.out_codes = {r.next(), r.next(), r.next(), r.next()};
  derive();
}

void AccelModel::reset_regs() {
  // nq_accel_top
  t_.cfg_bf16 = false;
  t_.cfg_mode = false;
  t_.cfg_bits = 4;
  t_.cfg_block = 64;
  t_.cfg_nblk = 2;
  t_.cfg_cbn = 16;
  t_.cnt_blocks = t_.cnt_zero = t_.cnt_flushed = t_.cnt_nonfinite = 0;
  t_.err_nonfinite = false;
  // nq_quantizer
  q_.bcnt = 0;
  q_.run_max = 0;
  q_.run_nf = false;
  q_.be_valid = false;
  q_.u_efifo = Fifo{};
  q_.u_sfifo = Fifo{};
  for (auto& s : q_.g_stage) s.out_valid = false;
  q_.rc_valid = false;
  q_.pending = 0;
  q_.p1_valid = false;
  q_.out_valid = false;
  q_idle_ = true;
  // nq_dequant_mac
  m_.sb_full = 0;
  m_.sb_wbank = m_.sb_rbank = 0;
  m_.sb_widx = 0;
  m_.sb_any = 0;
  m_.bib = m_.blk = m_.row = 0;
  m_.first_tok = true;
  m_.hold = false;
  m_.s1_valid = false;
  m_.s2_valid = false;
  m_.od_valid = false;
  m_.draining = false;
  m_.drain_go = false;
  m_.drain_idx = 0;
  derive();
}

void AccelModel::reset() { reset_regs(); }

void AccelModel::derive() {
  if (++gen_ == 0) {  // 2^32 register writes: restart the generations
    gen_ = 1;
    std::fill(ef_gen_.begin(), ef_gen_.end(), 0u);
    p1_gen_ = 0;
  }
  bpb_ = (t_.cfg_block >> lw_) & mask(bpbw_);
  thr_n_ = (t_.cfg_cbn - 1u) & mask(cfg_.bits_max);
  const uint32_t nb = t_.cfg_nblk & mask(nbw_);  // cfg_nb = NBW'(cfg_nblk)
  const uint32_t dfull = ((nb * bpb_) << lw_) & mask(dw_ + 2);
  dlast_ = (dfull - 1u) & mask(dw_);
  bool e = false;
  if (t_.cfg_bits < 2 || static_cast<int>(t_.cfg_bits) > cfg_.bits_max) e = true;
  if (t_.cfg_block == 0 || static_cast<int>(t_.cfg_block) > cfg_.block_max || (t_.cfg_block & mask(lw_)) != 0) e = true;
  if ((t_.cfg_block & 7u) != 0) e = true;
  if (t_.cfg_nblk == 0 || static_cast<int>(t_.cfg_nblk) > cfg_.nbmax() ||
      static_cast<int>(t_.cfg_nblk * t_.cfg_block) > cfg_.dmax)
    e = true;
  if (t_.cfg_cbn < 2 || t_.cfg_cbn > ((1u << t_.cfg_bits) & 0x1fu)) e = true;
  err_cfg_ = e;
  thr_sorted_ = true;
  for (int k = 0; k < 16; ++k) {
    int32_t key = INT32_MAX;
    if (k < nthr_ && static_cast<uint32_t>(k) < thr_n_) {
      const uint32_t t = t_.thr[static_cast<size_t>(k)];
      const int32_t mag = static_cast<int32_t>(t & 0x7fffffffu);
      key = (t >> 31) ? -mag : mag;
    }
    thr_key_pad_[static_cast<size_t>(k)] = key;
    if (k > 0 && key < thr_key_pad_[static_cast<size_t>(k - 1)]) thr_sorted_ = false;
  }
}

bool AccelModel::q_busy() const {
  return q_.u_efifo.count != 0 || q_.u_sfifo.count != 0 || q_.p1_valid || q_.out_valid || q_.be_valid || q_.pending != 0;
}

bool AccelModel::m_busy() const {
  return m_.s1_valid || m_.s2_valid || m_.od_valid || m_.draining || m_.drain_go || m_.hold || m_.sb_full != 0 ||
         m_.sb_widx != 0 || m_.row != 0;
}

uint32_t AccelModel::reg_rdata() const {
  const uint32_t a = in.reg_addr & 0xfffu;
  switch (a) {
    case reg::kId: return reg::kIdValue;
    case reg::kParams: return cfg_.params_word();
    case reg::kCfg:
      return (uint32_t(t_.cfg_bits) << reg::kCfgBitsShift) | (uint32_t(t_.cfg_mode) << reg::kCfgModeShift) |
             (uint32_t(t_.cfg_bf16) << reg::kCfgBf16Shift);
    case reg::kBlock: return t_.cfg_block;
    case reg::kNblk: return t_.cfg_nblk;
    case reg::kCbN: return t_.cfg_cbn;
    case reg::kDmax: return static_cast<uint32_t>(cfg_.dmax);
    case reg::kStatus:
      return (uint32_t(err_cfg_) << reg::kStatusErrCfgShift) | (uint32_t(t_.err_nonfinite) << reg::kStatusErrNonfiniteShift) |
             (uint32_t(m_busy()) << reg::kStatusMBusyShift) | (uint32_t(q_busy()) << reg::kStatusQBusyShift);
    case reg::kCntBlocks: return t_.cnt_blocks;
    case reg::kCntZero: return t_.cnt_zero;
    case reg::kCntFlushed: return t_.cnt_flushed;
    case reg::kCntNonfinite: return t_.cnt_nonfinite;
    default: {
      uint32_t r = 0;
      if ((a >> 4) == (reg::kThr >> 4) && static_cast<int>(a & 15u) < nthr_) r = t_.thr[a & mask(cfg_.bits_max)];
      if ((a >> 4) == (reg::kMac >> 4) && static_cast<int>(a & 15u) < nent_)
        r = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(t_.mac[a & mask(cfg_.bits_max)])));
      return r;
    }
  }
}

// ------------------------------------------------------------------------------------ clock
void AccelModel::clock() {
  ++edges_;
  const bool count = in.rst_n;
  if (count) ++sc_.cycles;
  clock_mac(count);
  clock_quantizer(count);
  clock_top();
  if (!in.rst_n) reset_regs();  // asynchronous reset dominates the reset registers
}

void AccelModel::clock_top() {
  // Counter and error updates were done by clock_quantizer (ev_block / ev_status are the
  // quantizer's be_valid / be_status from before the edge). Here: register writes.
  if (!in.reg_we) return;
  const uint32_t a = in.reg_addr & 0xfffu, d = in.reg_wdata;
  bool changed = true;
  switch (a) {
    case reg::kCfg:
      t_.cfg_bf16 = (d >> reg::kCfgBf16Shift) & reg::kCfgBf16Mask;
      t_.cfg_mode = (d >> reg::kCfgModeShift) & reg::kCfgModeMask;
      t_.cfg_bits = (d >> reg::kCfgBitsShift) & reg::kCfgBitsMask;
      break;
    case reg::kBlock: t_.cfg_block = d & reg::kBlockMask; break;
    case reg::kNblk: t_.cfg_nblk = d & reg::kNblkMask; break;
    case reg::kCbN: t_.cfg_cbn = d & reg::kCbNMask; break;
    default: changed = false;
  }
  if ((a >> 4) == (reg::kThr >> 4) && static_cast<int>(a & 15u) < nthr_) {
    t_.thr[a & mask(cfg_.bits_max)] = d;
    changed = true;
  }
  if ((a >> 4) == (reg::kMac >> 4) && static_cast<int>(a & 15u) < nent_) t_.mac[a & mask(cfg_.bits_max)] = static_cast<uint8_t>(d);
  if (changed) derive();
}

void AccelModel::clock_quantizer(bool count) {
  Quantizer& q = q_;
  if (q_idle_ && !in.qi_valid) {
    // nothing in flight, nothing offered: only a counter clear can change state; no stall counts
    if (in.reg_we && (in.reg_addr & 0xfffu) == reg::kCtrl && ((in.reg_wdata >> reg::kCtrlClearShift) & reg::kCtrlClearMask) && !NQKV_MUT(kMutClearIgnored)) {
      t_.cnt_blocks = t_.cnt_zero = t_.cnt_flushed = t_.cnt_nonfinite = 0;
      t_.err_nonfinite = false;
    }
    return;
  }
  const bool bf16 = t_.cfg_bf16;
  // ---- block-end status of the registered absmax (be_status / be_scale), from before the edge
  uint32_t be_status = 0, be_scale = 0;
  if (q.be_valid) {
    if (q.be_nf) {
      be_status = 3;
      be_scale = bf16 ? 0x7fc0u : 0x7e00u;
    } else if (q.be_max == 0) {
      be_status = 1;
    } else if (bf16 && ((q.be_max >> 7) & 0xffu) == 0) {
      be_status = 2;
    } else {
      be_scale = q.be_max;
    }
    // nq_accel_top counters (ev_block = be_valid, ev_status = be_status); clear wins
    const bool clear = in.reg_we && (in.reg_addr & 0xfffu) == reg::kCtrl && ((in.reg_wdata >> reg::kCtrlClearShift) & reg::kCtrlClearMask) &&
                       !NQKV_MUT(kMutClearIgnored);
    if (!clear) {
      ++t_.cnt_blocks;
      if (be_status == 1) ++t_.cnt_zero;
      if (be_status == 2) ++t_.cnt_flushed;
      if (be_status == 3) {
        ++t_.cnt_nonfinite;
        t_.err_nonfinite = true;
      }
    }
  }
  if (in.reg_we && (in.reg_addr & 0xfffu) == reg::kCtrl && ((in.reg_wdata >> reg::kCtrlClearShift) & reg::kCtrlClearMask) && !NQKV_MUT(kMutClearIgnored)) {
    t_.cnt_blocks = t_.cnt_zero = t_.cnt_flushed = t_.cnt_nonfinite = 0;
    t_.err_nonfinite = false;
  }

  const bool ef_empty = q.u_efifo.count == 0, sf_empty = q.u_sfifo.count == 0;
  const bool ef_full = this->ef_full();
  const bool in_ready = !ef_full && inflight_ok();
  const bool accept = in.qi_valid && in_ready;
  const bool en = !q.out_valid || in.qo_ready;
  const bool ef_pop = en && !ef_empty && !sf_empty;
  const bool sf_pop = ef_pop && q.efifo_last[q.u_efifo.rp];

  if (count) {
    const bool busy = q_busy();
    sc_.q_busy += busy;
    sc_.q_in_beats += accept;
    sc_.q_out_beats += q.out_valid && in.qo_ready;
    sc_.q_starved += busy && in_ready && !in.qi_valid;
    sc_.q_backpressure += q.out_valid && !in.qo_ready;
    sc_.q_efifo_full += in.qi_valid && ef_full;
    sc_.q_inflight += in.qi_valid && !ef_full && !inflight_ok();
    sc_.q_wait_recip += en && !ef_empty && sf_empty;
  }

  const bool in_last = q.bcnt == ((bpb_ - 1u) & mask(bpbw_));

  // ---- (5) encode and pack: out_* <= f(p1_*) ; p1_* <= FIFO heads
  if (en) {
    if (q.p1_valid) encode_beat();
    q.out_valid = q.p1_valid;
    q.p1_valid = ef_pop;
    if (ef_pop) {
      const uint32_t rp = q.u_efifo.rp;
      copy_lanes(q.p1_data.data(), &q.efifo_data[static_cast<size_t>(rp) * lanes_], lanes_);
      q.p1_last = q.efifo_last[rp];
      const ScaleEntry& h = q.sfifo_mem[q.u_sfifo.rp];
      if (ef_gen_[rp] != gen_) encode_block(rp, h);
      p1_pk_ = ef_pk_[rp];
      p1_gen_ = gen_;
      q.p1_mi = h.mi;
      q.p1_ei = h.ei;
      q.p1_scale = h.scale;
      q.p1_status = h.status;
    }
  }

  // ---- (4) scale FIFO: push rc_valid {rc_mi, rc_ei, rc_tag}, pop sf_pop
  {
    Fifo& f = q.u_sfifo;
    const uint32_t am = sf_depth_ - 1u;
    if (q.rc_valid) {
      q.sfifo_mem[f.wp] = q.rc;
      f.wp = (f.wp + 1u) & am;
    }
    if (sf_pop) f.rp = (f.rp + 1u) & am;
    f.count = (f.count + (q.rc_valid ? 1u : 0u) - (sf_pop ? 1u : 0u)) & mask(static_cast<int>(sfaw_) + 1);
  }
  // ---- element FIFO: push accept {in_last, in_data}, pop ef_pop
  {
    Fifo& f = q.u_efifo;
    const uint32_t am = ef_depth_ - 1u;
    if (accept) {
      copy_lanes(&q.efifo_data[static_cast<size_t>(f.wp) * lanes_], in.qi_data.data(), lanes_);
      q.efifo_last[f.wp] = in_last;
      ef_gen_[f.wp] = 0;  // the slot's cached codes are stale
      f.wp = (f.wp + 1u) & am;
    }
    if (ef_pop) f.rp = (f.rp + 1u) & am;
    f.count = f.count + (accept ? 1u : 0u) - (ef_pop ? 1u : 0u);
  }
  // ---- pending blocks
  q.pending = (q.pending + ((accept && in_last) ? 1u : 0u) - (sf_pop ? 1u : 0u)) & mask(static_cast<int>(sfaw_) + 1);

  // ---- (3) nq_recip: final rounding register, then the stages (last first)
  {
    // nq_recip_stage s: SPS restoring-division steps on stage s-1's registers
    auto step = [&](RecipStage& o, uint32_t r, uint32_t ma, uint32_t qq, const RecipTag& tag, int first) {
      const int steps = std::min(sps_, 24 - first);
      for (int k = 0; k < steps; ++k) {  // branch-free (the quotient bits are data)
        r = (r << 1) & 0x1ffffffu;
        const uint32_t ge = r >= ma ? 1u : 0u;
        r -= ma & (0u - ge);
        qq = ((qq << 1) | ge) & 0xffffffu;
      }
      o.out_r = r;
      o.out_ma = ma;
      o.out_q = qq;
      o.out_tag = tag;
    };
    const RecipStage* lastp = &q.g_stage[static_cast<size_t>(nst_ - 1)];
#ifdef NQKV_MUTANTS
    RecipStage short_last;  // kMutRecipShort: the last stage's steps done combinationally
    if (NQKV_MUT(kMutRecipShort) && nst_ >= 2) {
      const RecipStage& i = q.g_stage[static_cast<size_t>(nst_ - 2)];
      short_last.out_valid = i.out_valid;
      if (i.out_valid) step(short_last, i.out_r, i.out_ma, i.out_q, i.out_tag, (nst_ - 1) * sps_);
      lastp = &short_last;
    }
#endif
    const RecipStage& last = *lastp;
    q.rc_valid = last.out_valid;  // out_valid <= v_bus[NST]
    if (last.out_valid) {
      const uint32_t qf = 0x1000000u | last.out_q;
      const bool rem_nz = last.out_r != 0;
      const uint32_t maf = last.out_ma;
      const int32_t eaf = last.out_tag.ea;
      uint32_t mi;
      int32_t ei;
      if (maf == 0x800000u) {
        if (eaf == 127) {
          mi = 0x400000u;
          ei = -126;
        } else {
          mi = 0x800000u;
          ei = sext(static_cast<uint32_t>(-eaf), 10);
        }
      } else if (eaf <= 125) {
        uint32_t mant_r = qf >> 1;
        const uint32_t rnd = qf & 1u, sticky = rem_nz ? 1u : 0u;
        mant_r = (mant_r + (rnd & (sticky | (mant_r & 1u)))) & 0x1ffffffu;
        if (mant_r & 0x1000000u) {
          mi = 0x800000u;
          ei = sext(static_cast<uint32_t>(-eaf), 10);
        } else {
          mi = mant_r & 0xffffffu;
          ei = sext(static_cast<uint32_t>(-1 - eaf), 10);
        }
      } else {
        uint32_t mant_r, rnd, sticky;
        if (eaf == 126) {
          mant_r = qf >> 2;
          rnd = (qf >> 1) & 1u;
          sticky = (qf & 1u) | (rem_nz ? 1u : 0u);
        } else {
          mant_r = qf >> 3;
          rnd = (qf >> 2) & 1u;
          sticky = ((qf & 3u) != 0 ? 1u : 0u) | (rem_nz ? 1u : 0u);
        }
        mant_r = (mant_r + (rnd & (sticky | (mant_r & 1u)))) & 0x1ffffffu;
        mi = mant_r & 0xffffffu;
        ei = -126;
      }
      q.rc.mi = mi;
      q.rc.ei = ei;
      q.rc.scale = last.out_tag.scale;
      q.rc.status = last.out_tag.status;
    }
    for (int s = nst_ - 1; s >= 1; --s) {
      RecipStage& o = q.g_stage[static_cast<size_t>(s)];
      const RecipStage& i = q.g_stage[static_cast<size_t>(s - 1)];
      o.out_valid = i.out_valid;
      if (i.out_valid) step(o, i.out_r, i.out_ma, i.out_q, i.out_tag, s * sps_);
    }
    RecipStage& s0 = q.g_stage[0];
    s0.out_valid = q.be_valid;
    if (q.be_valid) {
      // in_ma / in_ea: the widened absmax for an ok block, 1.0 otherwise; in_tag {be_scale, be_status}
      uint32_t ma = 0x800000u;
      int32_t ea = 0;
      if (be_status == 0) {
        bool ws, wz;
        widen(bf16, q.be_max, ws, wz, ma, ea);
      }
      RecipTag tag;
      tag.scale = static_cast<uint16_t>(be_scale);
      tag.status = static_cast<uint8_t>(be_status);
      tag.ea = sext(static_cast<uint32_t>(ea), 10);
      step(s0, (0x1000000u - ma) & 0x1ffffffu, ma, 0, tag, 0);
    }
  }

  // ---- (1)/(2) input, absmax and block end
  q.be_valid = accept && in_last;
  q_idle_ = q.u_efifo.count == 0 && q.u_sfifo.count == 0 && !q.p1_valid && !q.out_valid && !q.be_valid &&
            !q.rc_valid && q.pending == 0;
  if (q_idle_)
    for (int s = 0; s < nst_; ++s) q_idle_ = q_idle_ && !q.g_stage[static_cast<size_t>(s)].out_valid;
  if (accept) {
    uint32_t tree_max = 0, tree_nf_n = 0;
    const uint32_t es = bf16 ? 7 : 10, em = bf16 ? 0xffu : 0x1fu;
    for (int i = 0; i < lanes_; ++i) {  // branch-free (vectorized)
      const uint32_t x = in.qi_data[static_cast<size_t>(i)];
      const uint32_t m = x & 0x7fffu;
      tree_max = m > tree_max ? m : tree_max;
      tree_nf_n += ((x >> es) & em) == em;
    }
    const bool tree_nf = tree_nf_n != 0;
    const uint32_t mx = tree_max > q.run_max ? tree_max : q.run_max;
    if (in_last) {
      q.be_max = mx;
      q.be_nf = q.run_nf || tree_nf;
      q.bcnt = 0;
      q.run_max = 0;
      q.run_nf = false;
    } else {
      q.bcnt = (q.bcnt + 1u) & mask(bpbw_);
      q.run_max = mx;
      q.run_nf = q.run_nf || tree_nf;
    }
  }
}

// nq_quant_lane on n elements with one block's reciprocal (mi, ei) and status: the codes.
void AccelModel::codes_of(const uint16_t* x, int n, uint32_t mi, int32_t ei, uint32_t status, uint32_t* code) const {
  if (status != 0) {
    // special block: xn = 0 for every element -> the zero code z
    uint32_t z = 0;
    for (int k = 0; k < 16; ++k) z += 0 > thr_key_pad_[static_cast<size_t>(k)];
    z &= mask(cfg_.bits_max);
    for (int i = 0; i < n; ++i) code[i] = z;
    return;
  }
  int32_t key[kBatchMax];
  lane_keys(t_.cfg_bf16, x, n, mi, ei, key);
  // code = the number of thresholds k < thr_n with key > thr_key[k] (thr_key_pad_ is INT32_MAX
  // from thr_n on, which nothing exceeds)
  count_codes(key, n, thr_key_pad_.data(), nthr_, code);
  const uint32_t cm = mask(cfg_.bits_max);
  for (int i = 0; i < n; ++i) code[i] &= cm;
}

// The packing (4.2) of one beat's LANES codes into the qo_codes bus.
void AccelModel::pack_beat(const uint32_t* code, std::array<uint64_t, 4>& oc) const {
  const int L = lanes_;
  const int b = t_.cfg_bits == 2 ? 2 : t_.cfg_bits == 3 ? 3 : 4;
  const int shift = L * (4 - cfg_.bits_max);  // out_codes = pk[LANES*4-1 -: LANES*BITS_MAX]
  uint64_t pk[5] = {0, 0, 0, 0, 0};
  if (b == 4) {
    // lane i at bits (L-1-i)*4: word w holds lanes L-1-16w-j at nibble j (register accumulation)
    for (int w = 0; w * 16 < L; ++w) {
      const uint32_t* c = code + (L - 1 - 16 * w);
      const int n = std::min(16, L - 16 * w);
      uint64_t v = 0;
      for (int j = 0; j < n; ++j) v |= static_cast<uint64_t>(c[-j] & 0xfu) << (4 * j);
      pk[w] = v;
    }
  } else {
    for (int i = 0; i < L; ++i) put_bits(pk, L * 4 - b * (i + 1), b, code[i] & mask(b));
  }
  if (shift == 0) {
    oc = {pk[0], pk[1], pk[2], pk[3]};
  } else {
    const int ws = shift >> 6, bs = shift & 63;
    for (int w = 0; w < 4; ++w) {
      const int s = w + ws;
      uint64_t v = s < 5 ? pk[s] >> bs : 0;
      if (bs && s + 1 < 5) v |= pk[s + 1] << (64 - bs);
      oc[static_cast<size_t>(w)] = v;
    }
    // keep only LANES*BITS_MAX bits
    for (int w = 0; w < 4; ++w) {
      const int lo = w * 64;
      if (lo >= static_cast<int>(bus_bits_)) oc[static_cast<size_t>(w)] = 0;
      else if (lo + 64 > static_cast<int>(bus_bits_))
        oc[static_cast<size_t>(w)] &= (1ull << (static_cast<int>(bus_bits_) - lo)) - 1ull;
    }
  }
}

// The per-block fast path: when the first beat of a block moves from the element FIFO to p1, the
// block's reciprocal is at the scale FIFO's head and all of its beats are in the element FIFO (its
// scale exists only after its last beat was taken). Encode and pack them all at once (one long
// vectorized run instead of LANES elements per cycle) into the per-slot cache, tagged with the
// configuration generation (any register write that changes the decode bumps it): encode_beat
// uses a beat's cached bus only if nothing changed since, else it encodes as the RTL does.
void AccelModel::encode_block(uint32_t rp, const ScaleEntry& h) {
  const Quantizer& q = q_;
  const int L = lanes_;
  uint32_t n = 0;  // beats: rp up to the block's last beat (never past the FIFO's content)
  while (n < q.u_efifo.count) {
    const uint32_t slot = (rp + n) & (ef_depth_ - 1u);
    ++n;
    if (q.efifo_last[slot]) break;
  }
  const uint32_t beats_max = static_cast<uint32_t>(kBatchMax / L);
  for (uint32_t b0 = 0; b0 < n; b0 += beats_max) {
    const uint32_t nb = std::min(n - b0, beats_max);
    uint16_t x[kBatchMax];
    for (uint32_t b = 0; b < nb; ++b)
      std::memcpy(&x[b * static_cast<uint32_t>(L)],
                  &q.efifo_data[static_cast<size_t>((rp + b0 + b) & (ef_depth_ - 1u)) * static_cast<size_t>(L)],
                  sizeof(uint16_t) * static_cast<size_t>(L));
    uint32_t code[kBatchMax];
    codes_of(x, static_cast<int>(nb) * L, h.mi, h.ei, h.status, code);
    for (uint32_t b = 0; b < nb; ++b) {
      const uint32_t slot = (rp + b0 + b) & (ef_depth_ - 1u);
      pack_beat(&code[b * static_cast<uint32_t>(L)], ef_pk_[slot]);
      ef_gen_[slot] = gen_;
    }
  }
}

// nq_quant_lane x LANES on p1_*, then the packing (4.2) into out_codes; out_scale/status/last.
void AccelModel::encode_beat() {
  Quantizer& q = q_;
  if (p1_gen_ == gen_) {
    q.out_codes = p1_pk_;
  } else {
    uint32_t code[kMaxLanes];
    codes_of(q.p1_data.data(), lanes_, q.p1_mi, q.p1_ei, q.p1_status, code);
    pack_beat(code, q.out_codes);
  }
  q.out_scale = q.p1_scale;
  q.out_status = q.p1_status;
  q.out_blk_last = q.p1_last;
}

// The lanes of stage 0: code extraction, codebook look-up and one multiply per lane.
void AccelModel::mac_lanes(int32_t* prod, uint32_t sv_raw) const {
  const int L = lanes_;
  const int b = t_.cfg_bits == 2 ? 2 : t_.cfg_bits == 3 ? 3 : 4;
  // cd4 = (LANES*4)'(cd_data) << (LANES*(4-BITS_MAX))
  uint64_t cd4[5] = {0, 0, 0, 0, 0};
  const int nw = static_cast<int>((bus_bits_ + 31) / 32);
  for (int w = 0; w < nw; ++w) {
    uint32_t v = in.mc_data[static_cast<size_t>(w)];
    const int hi = static_cast<int>(bus_bits_) - 32 * w;
    if (hi < 32) v &= mask(hi);
    cd4[w >> 1] |= static_cast<uint64_t>(v) << (32 * (w & 1));
  }
  const int shift = L * (4 - cfg_.bits_max);
  if (shift) {
    const int ws = shift >> 6, bs = shift & 63;
    for (int w = 4; w >= 0; --w) {
      uint64_t v = w - ws >= 0 ? cd4[w - ws] << bs : 0;
      if (bs && w - ws - 1 >= 0) v |= cd4[w - ws - 1] >> (64 - bs);
      cd4[w] = v;
    }
    const int top = L * 4;  // keep LANES*4 bits
    for (int w = 0; w < 5; ++w) {
      const int lo = w * 64;
      if (lo >= top) cd4[w] = 0;
      else if (lo + 64 > top) cd4[w] &= (1ull << (top - lo)) - 1ull;
    }
  }
  const uint32_t cm = mask(cfg_.bits_max);
  int32_t cv[16];
  for (int k = 0; k < nent_; ++k) cv[k] = static_cast<int8_t>(t_.mac[static_cast<size_t>(k)]);
  if (t_.cfg_mode) {
    const int32_t a = static_cast<int32_t>(sv_raw);  // {1'b0, sv_raw}
    for (int l = 0; l < L; ++l) prod[l] = a * cv[get_bits(cd4, L * 4 - b * (l + 1), b) & cm];
  } else {
    const int16_t* qv = &m_.qm[static_cast<size_t>(m_.row) * L];
    if (b == 4) {
      for (int l = 0; l < L; ++l) {
        const int pos = (L - 1 - l) * 4;
        prod[l] = static_cast<int32_t>(qv[l]) * cv[(cd4[pos >> 6] >> (pos & 63)) & 0xfu & cm];
      }
    } else {
      for (int l = 0; l < L; ++l) prod[l] = static_cast<int32_t>(qv[l]) * cv[get_bits(cd4, L * 4 - b * (l + 1), b) & cm];
    }
  }
}

void AccelModel::clock_mac(bool count) {
  DequantMac& m = m_;
  if (!m.s1_valid && !m.s2_valid && !m.od_valid && !m.draining && !m.drain_go && !in.ms_valid && !in.mc_valid &&
      !in.reg_we) {
    // idle pipeline, no stream beat offered, no register access: only the counters move
    if (count) {
      sc_.m_busy += m_busy();
      sc_.m_starved += ((m.sb_full >> m.sb_rbank) & 1u) && !m.hold;  // mc_ready with mc_valid low
    }
    return;
  }
  const bool st = start();
  const bool mode = t_.cfg_mode;
  const uint32_t nb = t_.cfg_nblk & mask(nbw_);
  const bool en = !m.od_valid || in.mo_ready;
  const bool wfull = (m.sb_full >> m.sb_wbank) & 1u, rfull = ((m.sb_full >> m.sb_rbank) & 1u) || side_completes();
  const bool sd_ready = !wfull && !st;
  const bool sd_acc = in.ms_valid && sd_ready;
  const bool cd_ready = en && rfull && !m.hold && !st;
  const bool cd_acc = in.mc_valid && cd_ready;

  if (count) {
    const bool busy = m_busy();
    sc_.m_busy += busy;
    sc_.m_code_beats += cd_acc;
    sc_.m_side_beats += sd_acc;
    sc_.m_out_beats += m.od_valid && in.mo_ready;
    sc_.m_starved += cd_ready && !in.mc_valid;
    sc_.m_backpressure += m.od_valid && !in.mo_ready;
    sc_.m_side_full += in.ms_valid && wfull && !st;
    sc_.m_wait_side += in.mc_valid && en && !m.hold && !st && !rfull;
    sc_.m_drain_block += in.mc_valid && en && m.hold && !st;
    sc_.m_draining += m.draining;
  }

  const bool q_we = in.reg_we && ((in.reg_addr >> 8) & 0xfu) == 1u;
  if (!st && !sd_acc && !cd_acc && !m.s1_valid && !m.s2_valid && !m.od_valid && !m.draining && !m.drain_go) {
    // idle: only a query write can change state (hold is only cleared while draining)
    if (q_we) {
      const uint32_t qa = in.reg_addr & 0xffu & mask(dw_);
      m.qm_at(static_cast<int>(qa & mask(lw_)), static_cast<int>(qa >> lw_)) = static_cast<int16_t>(in.reg_wdata);
    }
    return;
  }

  const bool blk_last_beat = m.bib == ((bpb_ - 1u) & mask(bpbw_));
  const bool tok_last_beat = blk_last_beat && m.blk == ((nb - 1u) & mask(nbw_));
  const uint32_t acc_row = m.draining ? (m.drain_idx >> lw_) & mask(rw_) : m.s1_row;
  const bool drain_done = m.draining && en && m.drain_idx == dlast_;
  const int L = lanes_;

  // ---- stage 2 combinational (score): v, d, vs, s_acc_n
  int64_t s_acc_n = 0;
  if (m.s2_valid) {
    const int64_t v = static_cast<int64_t>(m.s2_m) * static_cast<int64_t>(m.s2_p);
    const int32_t d = sext(static_cast<uint32_t>(m.s2_xt - m.s2_xb), 11);
    int64_t vs;
    if (d <= 19) {
      const int sh = 19 - d;
      vs = sh >= 64 ? 0 : static_cast<int64_t>(static_cast<uint64_t>(v) << sh);
    } else if (d >= 82) {
      vs = v < 0 ? -1 : 0;
    } else {
      vs = v >> (d - 19);
    }
    s_acc_n = static_cast<int64_t>(static_cast<uint64_t>(m.s2_first_blk ? 0 : m.s_acc) + static_cast<uint64_t>(vs));
  }
  // ---- stage 1 combinational (score): adder tree and block partial
  int32_t blk_acc_n = 0;
  const bool need_tree = m.s1_valid && !mode;
  if (need_tree) {
    uint32_t tree = 0;
    for (int l = 0; l < L; ++l) tree += static_cast<uint32_t>(m.s1_prod[static_cast<size_t>(l)]);
    blk_acc_n = static_cast<int32_t>((m.s1_bfirst ? 0u : static_cast<uint32_t>(m.blk_acc)) + tree);
  }

  // ---- output and drain
  if (st) {
    m.od_valid = false;
    m.draining = false;
    m.drain_go = false;
    m.drain_idx = 0;
  } else if (en) {
    if (m.draining) {
      m.od_data = static_cast<uint64_t>(m.am[static_cast<size_t>(acc_row) * L + (m.drain_idx & mask(lw_))]);
      m.od_x = 0;
      m.od_last = m.drain_idx == (NQKV_MUT(kMutOdLastEarly) ? dlast_ - 1u : dlast_);
    } else if (m.s2_valid && m.s2_tlast) {
      m.od_data = static_cast<uint64_t>(s_acc_n);
      m.od_x = m.s2_xt;
      m.od_last = m.s2_plast;
    }
    bool draining_n = m.draining;
#ifdef NQKV_MUTANTS
    if (NQKV_MUT(kMutDrainLate)) {
      if (mut_go2_) draining_n = true;
      mut_go2_ = m.drain_go;
    } else if (m.drain_go) {
      draining_n = true;
    }
#else
    if (m.drain_go) draining_n = true;
#endif
    if (m.draining) {
      m.od_valid = true;
      if (m.drain_idx == dlast_) {
        draining_n = false;
        m.drain_idx = 0;
      } else {
        m.drain_idx = (m.drain_idx + 1u) & mask(dw_);
      }
    } else {
      m.od_valid = m.s2_valid && m.s2_tlast;
    }
    m.drain_go = m.s1_valid && m.s1_plast && mode;
    m.draining = draining_n;
  }
  // ---- stage 2 registers
  if (en && m.s2_valid) m.s_acc = s_acc_n;
  const bool s2_next = m.s1_valid && m.s1_blast && !mode;
  if (en && s2_next) {
    m.s2_p = blk_acc_n;
    m.s2_m = m.s1_m;
    m.s2_xb = m.s1_xb;
    m.s2_xt = m.s1_xt;
    m.s2_first_blk = m.s1_first_blk;
    m.s2_tlast = m.s1_tlast;
    m.s2_plast = m.s1_plast;
  }
  if (st) m.s2_valid = false;
  else if (en || NQKV_MUT(kMutS2IgnoresStall)) m.s2_valid = s2_next;
  // ---- stage 1: block partial, accumulators
  if (en && need_tree) m.blk_acc = blk_acc_n;
  if (en && m.s1_valid && mode) {
    int64_t* wr = &m.am[static_cast<size_t>(m.s1_row) * L];
    const int64_t* rd = &m.am[static_cast<size_t>(acc_row) * L];
    const int aw = cfg_.acc_w;
    if (m.s1_first_tok) {
      for (int l = 0; l < L; ++l) wr[l] = m.s1_prod[static_cast<size_t>(l)];
    } else {
      for (int l = 0; l < L; ++l)
        wr[l] = sext64(static_cast<uint64_t>(rd[l]) + static_cast<uint64_t>(static_cast<int64_t>(m.s1_prod[static_cast<size_t>(l)])), aw);
    }
  }
  // ---- stage 0 -> stage 1
  if (cd_acc) {  // implies en and !start
    const uint32_t sv_raw = m.sb_mem[(m.sb_rbank << (nbw_ - 1)) | (m.blk & mask(nbw_ - 1))];
    mac_lanes(m.s1_prod.data(), sv_raw);
    m.s1_bfirst = m.bib == 0;
    m.s1_blast = blk_last_beat;
    m.s1_tlast = tok_last_beat;
    m.s1_first_blk = m.blk == 0;
    m.s1_first_tok = m.first_tok;
    m.s1_plast = in.mc_last && tok_last_beat;
    scale_parts(t_.cfg_bf16, sv_raw, m.s1_m, m.s1_xb);
    m.s1_xt = m.sb_xt[m.sb_rbank];
    m.s1_row = m.row;
  }
  if (st) m.s1_valid = false;
  else if (en) m.s1_valid = cd_acc;

  // ---- stage 0 counters
  if (st) {
    m.bib = m.blk = m.row = 0;
    m.first_tok = true;
    m.hold = false;
  } else {
    if (cd_acc) {
      if (blk_last_beat) {
        m.bib = 0;
        if (tok_last_beat) {
          m.blk = 0;
          m.row = 0;
          m.first_tok = in.mc_last && !NQKV_MUT(kMutFirstTokStuck);
          if (in.mc_last && mode) m.hold = true;
        } else {
          m.blk = (m.blk + 1u) & mask(nbw_);
          m.row = (m.row + 1u) & mask(rw_);
        }
      } else {
        m.bib = (m.bib + 1u) & mask(bpbw_);
        m.row = (m.row + 1u) & mask(rw_);
      }
    }
    if (drain_done) m.hold = false;
    if (NQKV_MUT(kMutHoldEarly) && m.draining && en && m.drain_idx + 1u == dlast_) m.hold = false;
  }

  // ---- side buffer
  if (st) {
    m.sb_full = 0;
    m.sb_wbank = m.sb_rbank = 0;
    m.sb_widx = 0;
    m.sb_any = 0;
  } else {
    const uint32_t wb = m.sb_wbank, rb = m.sb_rbank;
    if (sd_acc) {
      const uint32_t sd = in.ms_data;
      uint32_t ld_m;
      int32_t ld_x;
      scale_parts(t_.cfg_bf16, sd, ld_m, ld_x);
      m.sb_mem[(wb << (nbw_ - 1)) | (m.sb_widx & mask(nbw_ - 1))] = static_cast<uint16_t>(sd);
      const bool any = (m.sb_any >> wb) & 1u;
      if (m.sb_widx == 0) m.sb_xt[wb] = ld_m != 0 ? ld_x : 0;
      else if (ld_m != 0 && (!any || ld_x > m.sb_xt[wb])) m.sb_xt[wb] = ld_x;
      if (m.sb_widx == 0) m.sb_any = (m.sb_any & ~(1u << wb)) | ((ld_m != 0 ? 1u : 0u) << wb);
      else if (ld_m != 0) m.sb_any |= 1u << wb;
      if (m.sb_widx == ((nb - 1u) & mask(nbw_))) {
        m.sb_widx = 0;
        m.sb_full |= 1u << wb;
        m.sb_wbank = wb ^ 1u;
      } else {
        m.sb_widx = (m.sb_widx + 1u) & mask(nbw_);
      }
    }
    if (cd_acc && tok_last_beat) {
      m.sb_full &= ~(1u << rb);
      m.sb_rbank = rb ^ 1u;
    }
#ifdef NQKV_MUTANTS
    if (NQKV_MUT(kMutSideFullEarly) && cd_acc && !tok_last_beat) {
      // the next beat (bib and blk already advanced above) is the token's last: clear the read
      // bank's full flag now
      if (m.bib == ((bpb_ - 1u) & mask(bpbw_)) && m.blk == ((nb - 1u) & mask(nbw_))) m.sb_full &= ~(1u << rb);
    }
#endif
  }
  // ---- query memory
  if (q_we) {
    const uint32_t qa = in.reg_addr & 0xffu & mask(dw_);
    m.qm_at(static_cast<int>(qa & mask(lw_)), static_cast<int>(qa >> lw_)) = static_cast<int16_t>(in.reg_wdata);
  }
}

std::map<std::string, uint64_t> AccelModel::stall_counters() const {
  const StallCounters& c = sc_;
  return {
      {"cycles", c.cycles},
      {"quant.busy", c.q_busy},
      {"quant.in_beats", c.q_in_beats},
      {"quant.out_beats", c.q_out_beats},
      {"quant.input_starved", c.q_starved},
      {"quant.output_backpressure", c.q_backpressure},
      {"quant.efifo_full", c.q_efifo_full},
      {"quant.inflight_limit", c.q_inflight},
      {"quant.wait_recip", c.q_wait_recip},
      {"mac.busy", c.m_busy},
      {"mac.code_beats", c.m_code_beats},
      {"mac.side_beats", c.m_side_beats},
      {"mac.out_beats", c.m_out_beats},
      {"mac.input_starved", c.m_starved},
      {"mac.output_backpressure", c.m_backpressure},
      {"mac.side_full", c.m_side_full},
      {"mac.wait_side", c.m_wait_side},
      {"mac.drain_block", c.m_drain_block},
      {"mac.draining", c.m_draining},
  };
}

NQKV_SYSC_END
