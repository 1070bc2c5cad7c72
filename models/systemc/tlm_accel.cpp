#include "models/systemc/tlm_accel.hpp"

#include <algorithm>
#include <cstring>

#include "io/error.hpp"

namespace nqkv::sysc {
namespace {

// 8 bits of a bus held as 64-bit words (bus bit k = word k/64 bit k%64), from bus bit p up.
inline uint32_t get8(const uint64_t* w, int p) {
  uint64_t v = w[p >> 6] >> (p & 63);
  if ((p & 63) > 56) v |= w[(p >> 6) + 1] << (64 - (p & 63));
  return static_cast<uint32_t>(v & 0xffu);
}
// 8 bits into a bus held as 32-bit words, at bus bit p (the bits there are zero).
inline void put8(uint32_t* w, int p, uint32_t byte) {
  w[p >> 5] |= byte << (p & 31);
  if ((p & 31) > 24) w[(p >> 5) + 1] |= byte >> (32 - (p & 31));
}

}  // namespace

const char* job_kind_name(JobKind k) {
  switch (k) {
    case JobKind::Quantize: return "quantize";
    case JobKind::Score: return "score";
    case JobKind::Value: return "value";
  }
  return "unknown";
}

uint64_t quantize_pass_cycles(const accel::AccelConfig& cfg, int block, int64_t beats) {
  return static_cast<uint64_t>(beats) + static_cast<uint64_t>(block / cfg.lanes) + static_cast<uint64_t>(cfg.quant_latency());
}

uint64_t score_pass_cycles(const accel::AccelConfig& cfg, int block, int nblk, int64_t tokens) {
  const uint64_t beats_per_token = static_cast<uint64_t>(nblk) * static_cast<uint64_t>(block / cfg.lanes);
  return static_cast<uint64_t>(nblk) + static_cast<uint64_t>(tokens) * beats_per_token +
         static_cast<uint64_t>(accel::AccelConfig::score_latency());
}

uint64_t value_pass_cycles(const accel::AccelConfig& cfg, int block, int nblk, int64_t tokens) {
  const uint64_t beats_per_token = static_cast<uint64_t>(nblk) * static_cast<uint64_t>(block / cfg.lanes);
  return static_cast<uint64_t>(nblk) + static_cast<uint64_t>(tokens) * beats_per_token +
         static_cast<uint64_t>(accel::AccelConfig::drain_latency()) + static_cast<uint64_t>(nblk) * static_cast<uint64_t>(block);
}

TlmAccel::TlmAccel(const sc_core::sc_module_name& name, const accel::AccelConfig& cfg, const sc_core::sc_time& clock_period)
    : sc_core::sc_module(name), regs("regs"), jobs("jobs"), m_(cfg), period_(clock_period) {
  regs.register_b_transport(this, &TlmAccel::reg_b_transport);
  regs.register_transport_dbg(this, &TlmAccel::reg_transport_dbg);
  jobs.register_b_transport(this, &TlmAccel::job_b_transport);
  m_.in = AccelModel::Inputs{};
  m_.in.rst_n = true;
  beat_.assign(AccelModel::kMaxWords, 0);
}

// ------------------------------------------------------------------------------ registers
unsigned TlmAccel::reg_access(tlm::tlm_generic_payload& t) {
  if (t.get_byte_enable_ptr() != nullptr) {
    t.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return 0;
  }
  const unsigned len = t.get_data_length();
  if (len == 0 || len % 4 != 0 || t.get_streaming_width() != len ||
      (t.get_data_ptr() == nullptr && t.get_command() != tlm::TLM_IGNORE_COMMAND)) {
    t.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return 0;
  }
  const uint64_t addr = t.get_address();
  if (addr % 4 != 0 || addr / 4 + len / 4 > 0x1000u) {
    t.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return 0;
  }
  return len / 4;
}

void TlmAccel::write_register(uint32_t addr, uint32_t data) {
  m_.in.reg_we = true;
  m_.in.reg_addr = addr & 0xfffu;
  m_.in.reg_wdata = data;
  m_.clock();
  m_.in.reg_we = false;
}

uint32_t TlmAccel::read_register(uint32_t addr) {
  m_.in.reg_addr = addr & 0xfffu;
  return m_.reg_rdata();
}

unsigned TlmAccel::reg_transport_dbg(tlm::tlm_generic_payload& t) {
  const unsigned words = reg_access(t);
  if (words == 0) return 0;
  const uint32_t a0 = static_cast<uint32_t>(t.get_address() / 4);
  unsigned char* p = t.get_data_ptr();
  for (unsigned i = 0; i < words; ++i) {
    if (t.is_read()) {
      const uint32_t v = read_register(a0 + i);
      std::memcpy(p + 4 * i, &v, 4);
    } else if (t.is_write()) {
      uint32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      write_register(a0 + i, v);
    }
  }
  t.set_response_status(tlm::TLM_OK_RESPONSE);
  return t.get_command() == tlm::TLM_IGNORE_COMMAND ? 0 : 4 * words;
}

void TlmAccel::reg_b_transport(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
  const unsigned words = reg_access(t);
  if (words == 0) return;
  reg_transport_dbg(t);
  cycles_ += words;
  delay += period_ * static_cast<double>(words);
}

// ------------------------------------------------------------------------------ jobs
void TlmAccel::job_b_transport(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
  JobExtension* e = nullptr;
  t.get_extension(e);
  if (e == nullptr) {
    t.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  if (!run_job(*e)) {
    t.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  cycles_ += e->cycles;
  delay += period_ * static_cast<double>(e->cycles);
  t.set_response_status(tlm::TLM_OK_RESPONSE);
}

std::string TlmAccel::check_config(JobKind kind) const {
  const AccelModel::Top& t = m_.top();
  if (m_.err_cfg())
    return "the configuration registers are illegal (STATUS.err_cfg): bits " + std::to_string(t.cfg_bits) + ", block " +
           std::to_string(t.cfg_block) + ", blocks " + std::to_string(t.cfg_nblk) + ", codebook entries " +
           std::to_string(t.cfg_cbn) + " with " + config().describe();
  if (kind == JobKind::Score && t.cfg_mode) return "a score job needs CFG.mode 0 (score form); it is 1";
  if (kind == JobKind::Value && !t.cfg_mode) return "a value job needs CFG.mode 1 (value form); it is 0";
  return {};
}

bool TlmAccel::run_job(JobExtension& e) {
  e.error.clear();
  e.cycles = 0;
  e.q_codes.clear();
  e.q_scales.clear();
  e.q_status.clear();
  e.scores.clear();
  e.scores_x.clear();
  e.out.clear();
  bool ok = false;
  switch (e.kind) {
    case JobKind::Quantize: ok = quantize(e); break;
    case JobKind::Score: ok = mac_pass(e, false); break;
    case JobKind::Value: ok = mac_pass(e, true); break;
    default:
      e.error = "unknown job kind " + std::to_string(static_cast<int>(e.kind)) + " (quantize 0, score 1, value 2)";
      return false;
  }
  if (!ok && e.error.empty()) e.error = "job failed";
  if (!ok) e.error = std::string(job_kind_name(e.kind)) + " job: " + e.error;
  return ok;
}

bool TlmAccel::quantize(JobExtension& e) {
  const std::string bad = check_config(e.kind);
  if (!bad.empty()) {
    e.error = bad;
    return false;
  }
  const int L = config().lanes, B = static_cast<int>(m_.top().cfg_block), bits = static_cast<int>(m_.top().cfg_bits);
  if (e.rows < 1 || e.cols < 1 || e.cols % B != 0) {
    e.error = "rows " + std::to_string(e.rows) + " x cols " + std::to_string(e.cols) +
              ": need at least one row and cols a multiple of BLOCK " + std::to_string(B);
    return false;
  }
  const int64_t n = e.rows * e.cols;
  if (!e.timing_only && static_cast<int64_t>(e.x.size()) != n) {
    e.error = "x has " + std::to_string(e.x.size()) + " elements, rows x cols is " + std::to_string(n);
    return false;
  }
  const int64_t beats = n / L;
  if (e.timing_only) {
    e.cycles = quantize_pass_cycles(config(), B, beats);
    return true;
  }
  const int W = L * config().bits_max, lb = L * bits;
  const int64_t beats_per_row = e.cols / L, row_bytes = e.cols * bits / 8;
  e.q_codes.assign(static_cast<size_t>(e.rows * row_bytes), 0);
  e.q_scales.reserve(static_cast<size_t>(n / B));
  e.q_status.reserve(static_cast<size_t>(n / B));
  AccelModel::Inputs& in = m_.in;
  in.reg_we = false;
  in.ms_valid = in.mc_valid = false;
  in.qo_ready = in.mo_ready = true;
  const uint64_t limit = 1000 + 40 * static_cast<uint64_t>(2 * beats);
  int64_t iq = 0, oq = 0;
  uint64_t c = 0;
  const bool aligned = lb % 8 == 0;
  while (iq < beats || oq < beats) {
    in.qi_valid = iq < beats;
    if (in.qi_valid) std::memcpy(in.qi_data.data(), &e.x[static_cast<size_t>(iq * L)], sizeof(uint16_t) * static_cast<size_t>(L));
    if (m_.qo_valid()) {  // qo_ready is high: this beat transfers at the coming edge
      const uint64_t* oc = m_.qo_codes().data();
      const int64_t r = oq / beats_per_row, j = oq % beats_per_row;
      uint8_t* row = e.q_codes.data() + r * row_bytes;
      const int64_t base = j * lb;
      if (aligned) {
        for (int k = 0; k < lb / 8; ++k) row[base / 8 + k] = static_cast<uint8_t>(get8(oc, W - 8 - 8 * k));
      } else {
        for (int k = 0; k < lb; ++k) {
          const int bb = W - 1 - k;
          if ((oc[bb / 64] >> (bb % 64)) & 1u) {
            const int64_t p = base + k;
            row[p / 8] |= static_cast<uint8_t>(1u << (7 - p % 8));
          }
        }
      }
      if (m_.qo_last()) {
        e.q_scales.push_back(m_.qo_scale());
        e.q_status.push_back(static_cast<uint8_t>(m_.qo_status()));
      }
      ++oq;
    }
    const bool take = in.qi_valid && m_.qi_ready();
    m_.clock();
    ++c;
    if (take) ++iq;
    if (c > limit) {
      e.error = "internal: no progress after " + std::to_string(c) + " cycles";
      in.qi_valid = false;
      return false;
    }
  }
  in.qi_valid = false;
  e.cycles = c;
  return true;
}

bool TlmAccel::mac_pass(JobExtension& e, bool value) {
  const std::string bad = check_config(e.kind);
  if (!bad.empty()) {
    e.error = bad;
    return false;
  }
  const int L = config().lanes, B = static_cast<int>(m_.top().cfg_block), bits = static_cast<int>(m_.top().cfg_bits);
  const int nblk = static_cast<int>(m_.top().cfg_nblk), D = nblk * B, C = D / L;
  const int64_t T = e.tokens, row_bytes = static_cast<int64_t>(D) * bits / 8;
  if (T < 1) {
    e.error = "tokens " + std::to_string(T) + ": need at least one";
    return false;
  }
  if (!e.timing_only) {
    if (static_cast<int64_t>(e.side.size()) != T * nblk) {
      e.error = "side has " + std::to_string(e.side.size()) + " values, tokens x NBLK is " + std::to_string(T * nblk);
      return false;
    }
    if (static_cast<int64_t>(e.codes.size()) != T * row_bytes) {
      e.error = "codes has " + std::to_string(e.codes.size()) + " bytes, tokens x D*bits/8 is " + std::to_string(T * row_bytes);
      return false;
    }
  }
  if (e.timing_only) {
    e.cycles = value ? value_pass_cycles(config(), B, nblk, T) : score_pass_cycles(config(), B, nblk, T);
    return true;
  }
  const int W = L * config().bits_max, lb = L * bits, nw = (W + 31) / 32;
  const bool aligned = lb % 8 == 0;
  const size_t n_side = e.side.size(), n_code = static_cast<size_t>(T) * static_cast<size_t>(C);
  const size_t expect = value ? static_cast<size_t>(D) : static_cast<size_t>(T);
  if (value) e.out.reserve(expect);
  else {
    e.scores.reserve(expect);
    e.scores_x.reserve(expect);
  }
  AccelModel::Inputs& in = m_.in;
  in.reg_we = false;
  in.qi_valid = false;
  in.qo_ready = in.mo_ready = true;
  const uint64_t limit = 1000 + 40 * static_cast<uint64_t>(n_side + n_code + expect);
  size_t is = 0, ic = 0, om = 0, packed = SIZE_MAX;
  uint64_t c = 0;
  while (is < n_side || ic < n_code || om < expect) {
    in.ms_valid = is < n_side;
    if (in.ms_valid) in.ms_data = e.side[is];
    in.mc_valid = ic < n_code;
    if (in.mc_valid && packed != ic) {
      // code beat ic: stream bits [j*L*bits, (j+1)*L*bits) of its token's row, left-aligned
      const int64_t t = static_cast<int64_t>(ic) / C, j = static_cast<int64_t>(ic) % C;
      const uint8_t* row = e.codes.data() + t * row_bytes;
      const int64_t base = j * lb;
      uint32_t* w = in.mc_data.data();
      std::fill_n(w, nw, 0u);
      if (aligned) {
        for (int k = 0; k < lb / 8; ++k) put8(w, W - 8 - 8 * k, row[base / 8 + k]);
      } else {
        for (int k = 0; k < lb; ++k) {
          const int64_t p = base + k;
          if ((row[p / 8] >> (7 - p % 8)) & 1) {
            const int bb = W - 1 - k;
            w[bb / 32] |= 1u << (bb % 32);
          }
        }
      }
      in.mc_last = ic + 1 == n_code;
      packed = ic;
    }
    if (m_.mo_valid()) {  // mo_ready is high: this word transfers at the coming edge
      if (om < expect) {
        const bool want_last = om + 1 == expect;
        if (m_.mo_last() != want_last) {
          e.error = "internal: mo_last on output " + std::to_string(om) + " of " + std::to_string(expect);
          in.ms_valid = in.mc_valid = false;
          return false;
        }
        if (value) e.out.push_back(static_cast<int64_t>(m_.mo_data()));
        else {
          e.scores.push_back(static_cast<int64_t>(m_.mo_data()));
          e.scores_x.push_back(m_.mo_x());
        }
      }
      ++om;
    }
    const bool take_s = in.ms_valid && m_.ms_ready(), take_c = in.mc_valid && m_.mc_ready();
    m_.clock();
    ++c;
    if (take_s) ++is;
    if (take_c) ++ic;
    if (c > limit) {
      e.error = "internal: no progress after " + std::to_string(c) + " cycles";
      in.ms_valid = in.mc_valid = false;
      return false;
    }
  }
  in.ms_valid = in.mc_valid = false;
  in.mc_last = false;
  if (om != expect) {
    e.error = "internal: " + std::to_string(om) + " outputs, expected " + std::to_string(expect);
    return false;
  }
  e.cycles = c;
  return true;
}

std::unique_ptr<TlmAccel> make_tlm_accel(const char* name, int lanes, const sc_core::sc_time& clock_period) {
  const accel::AccelConfig cfg = accel::AccelConfig::sim(lanes);
  const std::string bad = cfg.validate();
  if (!bad.empty()) throw InputError("TLM model: " + bad);
  return std::make_unique<TlmAccel>(name, cfg, clock_period);
}

}  // namespace nqkv::sysc
