#include "sim/common/scoreboard.hpp"

#include <algorithm>

#include "golden/attention.hpp"
#include "golden/rng.hpp"

namespace nqkv::sim {

void run_quant(Harness& h, const QuantCase& c, backend::Mismatches& sb, RunStats* st) {
  h.load_codebook(*c.cb);
  h.configure(c.type, c.cb->bits, c.block, 1, 0);
  h.write_reg(reg::kCtrl, 1u << reg::kCtrlClearShift);  // clear counters and the error flag
  const QuantOut out = h.quantize(c.x, c.rows, c.cols, st);
  compare_quant(sb, c, out.codes, out.scales, out.status);
  int64_t counts[4] = {0, 0, 0, 0};
  for (uint8_t st : c.status) ++counts[st & 3];
  sb.cmp("cnt_blocks", 0, c.scales.size(), h.read_reg(reg::kCntBlocks), 8);
  sb.cmp("cnt_zero", 0, static_cast<uint64_t>(counts[1]), h.read_reg(reg::kCntZero), 8);
  sb.cmp("cnt_flushed", 0, static_cast<uint64_t>(counts[2]), h.read_reg(reg::kCntFlushed), 8);
  sb.cmp("cnt_nonfinite", 0, static_cast<uint64_t>(counts[3]), h.read_reg(reg::kCntNonfinite), 8);
  sb.cmp("err_nonfinite", 0, counts[3] ? 1u : 0u,
         (h.read_reg(reg::kStatus) >> reg::kStatusErrNonfiniteShift) & reg::kStatusErrNonfiniteMask, 1);
}

void compare_scores(backend::Mismatches& sb, const AttnCase& c, int hq, const std::vector<int64_t>& S,
                    const std::vector<int32_t>& x) {
  const int64_t T = c.tokens;
  for (int64_t t = 0; t < T; ++t) {
    const size_t i = static_cast<size_t>(hq * T + t);
    const bool have = t < static_cast<int64_t>(S.size()) && t < static_cast<int64_t>(x.size());
    sb.cmp("scores_S", static_cast<int64_t>(i), static_cast<uint64_t>(c.scores_S[i]),
           have ? static_cast<uint64_t>(S[static_cast<size_t>(t)]) : 0xdeadbeefull);
    sb.cmp("scores_x", static_cast<int64_t>(i), static_cast<uint32_t>(c.scores_x[i]),
           have ? static_cast<uint32_t>(x[static_cast<size_t>(t)]) : 0xdeadbeefu, 8);
  }
}

void compare_partitions(backend::Mismatches& sb, const AttnCase& c, int hq, int64_t p0, int64_t np,
                        const std::vector<int64_t>& O) {
  const int64_t D = c.head_dim, P = (c.tokens + golden::kPartitionTokens - 1) / golden::kPartitionTokens;
  for (int64_t i = 0; i < np * D; ++i) {
    const size_t idx = static_cast<size_t>((hq * P + p0) * D + i);
    sb.cmp("part_O", static_cast<int64_t>(idx), static_cast<uint64_t>(c.part_O[idx]),
           i < static_cast<int64_t>(O.size()) ? static_cast<uint64_t>(O[static_cast<size_t>(i)]) : 0xdeadbeefull);
  }
}

void compare_quant(backend::Mismatches& sb, const QuantCase& c, const std::vector<uint8_t>& codes,
                   const std::vector<uint16_t>& scales, const std::vector<uint8_t>& status) {
  for (size_t i = 0; i < c.codes.size(); ++i) sb.cmp("codes", static_cast<int64_t>(i), c.codes[i], i < codes.size() ? codes[i] : 0xffff, 2);
  for (size_t i = 0; i < c.scales.size(); ++i) {
    sb.cmp("absmax", static_cast<int64_t>(i), c.scales[i], i < scales.size() ? scales[i] : 0xfffff, 4);
    sb.cmp("status", static_cast<int64_t>(i), c.status[i], i < status.size() ? status[i] : 0xff, 2);
  }
}

void run_attn(Harness& h, const AttnCase& c, backend::Mismatches& sb, RunStats* score_st, RunStats* value_st,
              const PassPlan& plan) {
  const int D = c.head_dim, B = c.block, nb = D / B, Hq = c.q_heads;
  const int64_t T = c.tokens, P = (T + golden::kPartitionTokens - 1) / golden::kPartitionTokens;
  const int64_t row_bytes = static_cast<int64_t>(D) * c.cb->bits / 8;
  h.load_codebook(*c.cb);
  for (int hq = 0; hq < Hq; ++hq) {
    const HeadStreams hs = head_streams(c, hq);
    const auto& ks = hs.k_scales;
    const auto &kc = hs.k_codes, &vc = hs.v_codes;
    // score form over all tokens of this head
    h.configure(c.type, c.cb->bits, B, nb, 0);
    std::vector<int16_t> q(c.q_fixed.begin() + static_cast<int64_t>(hq) * D, c.q_fixed.begin() + static_cast<int64_t>(hq + 1) * D);
    golden::SplitMix64 cuts(plan.seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(hq) + 1);
    std::vector<int64_t> score_ends;
    if (plan.back_to_back) {
      for (int k = static_cast<int>(cuts.below(4)); k > 0 && T > 1; --k) score_ends.push_back(1 + static_cast<int64_t>(cuts.below(static_cast<uint64_t>(T - 1))));
      score_ends.push_back(T);
      std::sort(score_ends.begin(), score_ends.end());
      score_ends.erase(std::unique(score_ends.begin(), score_ends.end()), score_ends.end());
    }
    const auto sc = h.score(q, ks, kc, T, score_st, score_ends);
    std::vector<int64_t> S;
    std::vector<int32_t> x;
    for (const auto& [st, xt] : sc) S.push_back(st), x.push_back(xt);
    compare_scores(sb, c, hq, S, x);
    // value form, one pass per partition; weights on the host from E_t and the V scales
    h.configure(c.type, c.cb->bits, B, nb, 1);
    std::vector<uint16_t> w_all;
    std::vector<int64_t> value_ends;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t t0 = p * golden::kPartitionTokens, t1 = std::min<int64_t>(T, t0 + golden::kPartitionTokens);
      const std::vector<uint16_t> w = partition_weights(c, hq, p, hs);
      if (plan.back_to_back) {  // all partitions in one stream, compared below
        w_all.insert(w_all.end(), w.begin(), w.end());
        value_ends.push_back(t1);
        continue;
      }
      std::vector<uint8_t> vpart(vc.begin() + t0 * row_bytes, vc.begin() + t1 * row_bytes);
      compare_partitions(sb, c, hq, p, 1, h.value(w, vpart, t1 - t0, value_st));
    }
    if (plan.back_to_back) {
      compare_partitions(sb, c, hq, 0, P, h.value(w_all, vc, T, value_st, value_ends));
    }
  }
}

}  // namespace nqkv::sim
