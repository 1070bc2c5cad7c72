#include "models/perf/kernel_fit.hpp"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>

#include "io/error.hpp"
#include "models/perf/hardware.hpp"
#include "models/perf/kv_format.hpp"
#include "models/perf/time_model.hpp"
#include <algorithm>

namespace nqkv::perf {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}


FlashTimeFit fit_flash_decode_time(const std::vector<double>& bytes, const std::vector<FlashDecodeLaunch>& launches,
                                   const std::vector<double>& measured_s, double copy_bandwidth) {
  FlashTimeFit f;
  const size_t n = bytes.size();
  f.fit_cases = static_cast<int>(n);
  if (n < 3 || launches.size() != n || measured_s.size() != n || !(copy_bandwidth > 0)) return f;
  for (double m : measured_s)
    if (!(m > 0)) return f;
  // For fixed (mem_eff, latency) the relative residual (t0 + g_i) / m_i - 1 is linear in t0:
  // t0 = sum((1 - g_i / m_i) / m_i) / sum(1 / m_i^2).
  double w = 0;
  for (double m : measured_s) w += 1.0 / (m * m);
  auto eval = [&](double eff, double lat, double& t0) {
    FlashDecodeTime mdl{0, eff, lat};
    double num = 0;
    std::vector<double> g(n);
    for (size_t i = 0; i < n; ++i) {
      g[i] = bytes[i] / mdl.rate(launches[i], copy_bandwidth);
      num += (1.0 - g[i] / measured_s[i]) / measured_s[i];
    }
    t0 = num / w;
    double sse = 0;
    for (size_t i = 0; i < n; ++i) {
      const double r = (t0 + g[i]) / measured_s[i] - 1.0;
      sse += r * r;
    }
    return sse;
  };
  const double eff_lo = 0.30, eff_hi = 1.50, eff_step = 0.002;
  const double lat_lo = 0.05e-6, lat_hi = 10e-6, lat_step = 0.01e-6;
  double best = 1e300, be = 0, bl = 0, bt = 0;
  for (double e = eff_lo; e <= eff_hi + 1e-12; e += eff_step)
    for (double l = lat_lo; l <= lat_hi + 1e-15; l += lat_step) {
      double t0;
      const double sse = eval(e, l, t0);
      if (sse < best) best = sse, be = e, bl = l, bt = t0;
    }
  // Refine: 1/50 of a step within one step of the coarse optimum.
  const double ce = be, cl = bl;
  for (int i = -50; i <= 50; ++i)
    for (int k = -50; k <= 50; ++k) {
      const double e = ce + i * eff_step / 50, l = cl + k * lat_step / 50;
      if (e < eff_lo || e > eff_hi || l < lat_lo || l > lat_hi) continue;
      double t0;
      const double sse = eval(e, l, t0);
      if (sse < best) best = sse, be = e, bl = l, bt = t0;
    }
  f.model = FlashDecodeTime{bt, be, bl};
  f.at_grid_edge = be <= eff_lo + eff_step || be >= eff_hi - eff_step || bl <= lat_lo + lat_step || bl >= lat_hi - lat_step;
  for (size_t i = 0; i < n; ++i) f.latency_bound_fit_cases += f.model.latency_bound(launches[i], copy_bandwidth);
  f.ok = true;
  return f;
}

KernelTimeFit fit_kernel_time(const std::vector<double>& bytes, const std::vector<double>& measured_s,
                              double copy_bandwidth) {
  // Relative residual r_i = (t0 + k b_i) / m_i - 1 is linear in (t0, k): least squares on the
  // rows (1/m_i, b_i/m_i) against 1. k = 1 / (mem_eff x copy bandwidth).
  KernelTimeFit f;
  f.fit_cases = static_cast<int>(bytes.size());
  if (bytes.size() < 2 || bytes.size() != measured_s.size() || !(copy_bandwidth > 0)) return f;
  double a11 = 0, a12 = 0, a22 = 0, b1 = 0, b2 = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const double x1 = 1.0 / measured_s[i], x2 = bytes[i] / measured_s[i];
    a11 += x1 * x1, a12 += x1 * x2, a22 += x2 * x2, b1 += x1, b2 += x2;
  }
  const double det = a11 * a22 - a12 * a12;
  if (!(std::abs(det) > 0)) return f;
  const double t0 = (b1 * a22 - a12 * b2) / det, k = (a11 * b2 - a12 * b1) / det;
  if (!(k > 0)) return f;
  f.launch_s = t0;
  f.mem_eff = 1.0 / (k * copy_bandwidth);
  f.ok = true;
  return f;
}

SdpaValidation validate_sdpa(const std::vector<std::string>& paths, const std::string& hardware) {
  SdpaValidation v;
  v.hardware = hardware;
  std::vector<std::string> present, missing;
  for (const auto& p : paths)
    if (!p.empty()) (std::filesystem::exists(p) ? present : missing).push_back(p);
  if (present.empty()) return v;
  if (!missing.empty()) throw InputError(missing.front() + ": no such SDPA run file (the other runs exist)");
  // Per case (shape and GQA mode), the medians of every run that has it, in first-seen order.
  std::vector<SdpaRow> shapes;
  std::vector<std::vector<double>> medians;
  for (const auto& p : present) {
    SdpaRun run;
    const auto cases = read_sdpa_run(p, run);
    if (!v.runs.empty() && run.device != v.runs.front().device)
      throw InputError(p + ": device '" + run.device + "' differs from '" + v.runs.front().device + "' of " +
                       v.runs.front().path + " (runs are combined per device)");
    v.runs.push_back(run);
    for (const auto& c : cases) {
      size_t k = 0;
      for (; k < shapes.size(); ++k) {
        const auto& s = shapes[k];
        if (s.batch == c.batch && s.q_heads == c.q_heads && s.kv_heads == c.kv_heads && s.tokens == c.tokens &&
            s.head_dim == c.head_dim && s.gqa_mode == c.gqa_mode)
          break;
      }
      if (k == shapes.size()) {
        SdpaRow r;
        r.batch = c.batch, r.q_heads = c.q_heads, r.kv_heads = c.kv_heads, r.tokens = c.tokens, r.head_dim = c.head_dim;
        r.gqa_mode = c.gqa_mode, r.p10_s = c.p10_s, r.p90_s = c.p90_s;
        shapes.push_back(r), medians.emplace_back();
      }
      medians[k].push_back(c.median_s);
    }
  }
  v.measured = true;
  v.device = v.runs.front().device;
  std::vector<double> bws;
  for (const auto& r : v.runs) bws.push_back(r.copy_bandwidth);
  v.copy_bandwidth = median_of(bws);
  const Hardware& hw = find_hardware(hardware);
  if (!(hw.sms > 0)) throw InputError("hardware '" + hardware + "' has no SM count (sms) for flash SDPA's launch geometry");
  KvFormat fp16;
  for (size_t k = 0; k < shapes.size(); ++k) {
    SdpaRow r = shapes[k];
    r.runs = static_cast<int>(medians[k].size());
    r.measured_s = median_of(medians[k]);
    r.run_min_s = *std::min_element(medians[k].begin(), medians[k].end());
    r.run_max_s = *std::max_element(medians[k].begin(), medians[k].end());
    if (r.runs > 1) r.p10_s = r.p90_s = 0;  // within-run spreads of different runs are not combined
    // Without native GQA the script repeats K/V heads, so the kernel really reads Hq heads.
    if (r.gqa_mode == "repeated") r.kv_heads = r.q_heads;
    const PhaseCost pc = decode_attention(r.batch, r.q_heads, r.kv_heads, r.head_dim, r.tokens, fp16, hw, v.copy_bandwidth);
    r.projected_s = pc.time;
    r.bytes = pc.bytes;
    r.error = (r.projected_s - r.measured_s) / r.measured_s;
    r.launch = flash_decode_launch(r.batch, r.q_heads, r.kv_heads, r.head_dim, r.tokens, r.gqa_mode == "native", hw.sms);
    r.fit_set = r.tokens <= kSdpaFitMaxTokens;
    v.rows.push_back(r);
  }
  std::vector<double> fb, fm;
  std::vector<FlashDecodeLaunch> fl;
  for (const auto& r : v.rows)
    if (r.fit_set) fb.push_back(r.bytes), fm.push_back(r.measured_s), fl.push_back(r.launch);
  v.linear_fit = fit_kernel_time(fb, fm, v.copy_bandwidth);
  v.fit = fit_flash_decode_time(fb, fl, fm, v.copy_bandwidth);
  for (auto& r : v.rows) {
    if (v.linear_fit.ok) {
      r.linear_s = v.linear_fit.time(r.bytes, v.copy_bandwidth);
      r.linear_error = (r.linear_s - r.measured_s) / r.measured_s;
    }
    if (v.fit.ok) {
      r.fitted_s = v.fit.model.time(r.bytes, r.launch, v.copy_bandwidth);
      r.fitted_error = (r.fitted_s - r.measured_s) / r.measured_s;
      r.latency_bound = v.fit.model.latency_bound(r.launch, v.copy_bandwidth);
    }
  }
  return v;
}

std::vector<NfKernelRow> validate_nf_kernel(const std::string& path, const SdpaValidation& sdpa) {
  std::vector<NfKernelRow> out;
  if (path.empty() || !std::filesystem::exists(path) || !sdpa.measured) return out;
  const Hardware& hw = find_hardware(sdpa.hardware.empty() ? std::string("h100-80gb") : sdpa.hardware);
  for (const GbenchDecodeRow& g : read_gbench_decode(path)) {
    if (!(g.measured_s > 0)) continue;
    if (g.bits < 2 || g.bits > 4) continue;
    NfKernelRow r;
    r.batch = g.batch, r.q_heads = g.q_heads, r.kv_heads = g.kv_heads, r.head_dim = g.head_dim;
    r.tokens = g.tokens, r.block = g.block, r.bits = g.bits, r.measured_s = g.measured_s;
    const KvFormat f = parse_kv_format(fmt::format("nf{}", r.bits), static_cast<int>(r.block), 32, 128);
    // K and V codes + scales; q in and o out as fp32 (the kernel's interface).
    r.bytes = 2.0 * r.batch * r.kv_heads * r.tokens * r.head_dim * kv_bits_per_element(f, r.head_dim) / 8.0 +
              2.0 * r.batch * r.q_heads * r.head_dim * 4.0;
    r.roofline_s = std::max(r.bytes / sdpa.copy_bandwidth, 4.0 * r.batch * r.q_heads * r.head_dim * r.tokens / hw.fp16_flops);
    // The project's kernel does not launch like flash SDPA, so only the fitted memory branch applies:
    // t0 + bytes / (mem_eff x copy rate), what it would take if it streamed like SDPA.
    r.fitted_s = sdpa.fit.ok ? sdpa.fit.model.t0_s + r.bytes / (sdpa.fit.model.mem_eff * sdpa.copy_bandwidth)
                             : r.roofline_s;
    r.roofline_error = (r.roofline_s - r.measured_s) / r.measured_s;
    r.fitted_error = (r.fitted_s - r.measured_s) / r.measured_s;
    out.push_back(r);
  }
  return out;
}

}  // namespace nqkv::perf
