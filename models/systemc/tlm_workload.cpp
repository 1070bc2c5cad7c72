#include "models/systemc/tlm_workload.hpp"

#include <chrono>

#include "golden/attention.hpp"
#include "golden/tensor_io.hpp"
#include "io/error.hpp"
#include "models/accel/regmap.hpp"
#include "models/systemc/tlm_accel.hpp"
#include "sim/common/cases.hpp"
#include "sim/common/regprog.hpp"
#include "sim/common/scoreboard.hpp"
#include "sim/common/stimulus.hpp"

namespace nqkv::sysc {

namespace reg = accel::reg;

namespace {

void run(TlmAccel& acc, JobExtension& e) {
  if (!acc.run_job(e)) throw InputError(std::string("TLM ") + job_kind_name(e.kind) + " job failed: " + e.error);
}

}  // namespace

backend::WorkloadResult run_tlm_workload(const backend::Workload& w, int lanes, uint64_t seed, bool timing_only) {
  backend::WorkloadResult res;
  const auto t_start = std::chrono::steady_clock::now();
  const golden::Codebook& cb = golden::codebook_by_name(w.codebook);
  const golden::ElemType type = golden::elem_type_from_name(w.dtype);
  const accel::AccelConfig cfg = accel::AccelConfig::sim(lanes);
  const std::string why = sim::cannot_run_attention(cfg, cb, type, w.block, w.head_dim);
  if (!why.empty()) throw InputError("the TLM model cannot run this workload: " + why);
  auto acc = make_tlm_accel("nqkv_tlm", lanes);
  const sim::RegWrite wr = [&](uint32_t a, uint32_t d) { acc->write_register(a, d); };
  backend::Mismatches sb;
  const int D = w.head_dim, Hkv = w.kv_heads, nb = D / w.block, bits = cb.bits;
  const int64_t T = w.context, P = (T + golden::kPartitionTokens - 1) / golden::kPartitionTokens;
  const int64_t row_bytes = static_cast<int64_t>(D) * bits / 8;
  sim::program_codebook(cb, cfg.bits_max, wr);
  for (int s = 0; s < w.batch; ++s) {
    const sim::WorkloadData d =
        timing_only ? sim::WorkloadData{} : sim::workload_data(type, w.q_heads, Hkv, D, T, seed, s);
    for (int is_v = 0; is_v < 2; ++is_v) {
      sim::program_config(type, bits, w.block, 1, 0, wr);
      wr(reg::kCtrl, 1u << reg::kCtrlClearShift);
      JobExtension e;
      e.kind = JobKind::Quantize;
      e.timing_only = timing_only;
      e.rows = T * Hkv;
      e.cols = D;
      if (!timing_only) e.x = is_v ? d.v : d.k;
      run(*acc, e);
      res.quant_cycles += e.cycles;
      res.quant_elements += static_cast<uint64_t>(e.rows * e.cols);
      if (!timing_only)
        sim::compare_quant(sb, sim::quant_case_of(cb, type, w.block, e.rows, e.cols, e.x), e.q_codes, e.q_scales, e.q_status);
    }
    sim::AttnCase c;
    if (!timing_only) c = sim::workload_attention(cb, type, w.block, w.q_heads, Hkv, D, d);
    for (int hq = 0; hq < w.q_heads; ++hq) {
      const sim::HeadStreams hs = timing_only ? sim::HeadStreams{} : sim::head_streams(c, hq);
      sim::program_config(type, bits, w.block, nb, 0, wr);
      if (!timing_only)
        for (int i = 0; i < D; ++i) wr(reg::kQ + static_cast<uint32_t>(i), static_cast<uint16_t>(c.q_fixed[static_cast<size_t>(hq * D + i)]));
      wr(reg::kCtrl, 1u << reg::kCtrlStartShift);
      JobExtension e;
      e.kind = JobKind::Score;
      e.timing_only = timing_only;
      e.tokens = T;
      if (!timing_only) e.side = hs.k_scales, e.codes = hs.k_codes;
      run(*acc, e);
      res.score_cycles += e.cycles;
      if (!timing_only) sim::compare_scores(sb, c, hq, e.scores, e.scores_x);
      sim::program_config(type, bits, w.block, nb, 1, wr);
      for (int64_t p = 0; p < P; ++p) {
        const int64_t t0 = p * golden::kPartitionTokens, t1 = std::min<int64_t>(T, t0 + golden::kPartitionTokens);
        JobExtension v;
        v.kind = JobKind::Value;
        v.timing_only = timing_only;
        v.tokens = t1 - t0;
        if (!timing_only) {
          v.side = sim::partition_weights(c, hq, p, hs);
          v.codes.assign(hs.v_codes.begin() + t0 * row_bytes, hs.v_codes.begin() + t1 * row_bytes);
        }
        run(*acc, v);
        res.value_cycles += v.cycles;
        if (!timing_only) sim::compare_partitions(sb, c, hq, p, 1, v.out);
      }
      res.macs += static_cast<uint64_t>(2 * T * D);
    }
  }
  res.check.take(sb);
  res.check.has_cycles = true;
  res.check.cycles.cycles = res.quant_cycles + res.score_cycles + res.value_cycles;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return res;
}

}  // namespace nqkv::sysc
