#include "golden/codebook.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "golden/float_formats.hpp"
#include "golden/rng.hpp"
#include "io/error.hpp"

namespace nqkv::golden {
namespace {

// bitsandbytes' NF4 table (functional.py, create_normal_map(offset=0.9677083) / the CUDA
// dDequantizeNF4 constants), exactly as fp32. docs/numerics.md section 3.1.
const std::vector<float> kNF4 = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
    -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
    0.7229568362236023f, 1.0f};
// The same construction at 3 and 2 bits (section 3.2); tests rebuild these from normal_ppf.
// bitsandbytes' dQuantizeNF4 decision-tree constants (section 3.5). They were computed from the
// float64 quantiles, so four of them differ by one fp32 ulp from the midpoint rule applied to the
// fp32 table; NF4 uses these exactly, for bitsandbytes compatibility.
const std::vector<float> kNF4Thresholds = {
    -0.8480964004993439f, -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
    -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
    0.1202552504837513f, 0.2035212516784668f, 0.2920137718319893f, 0.3893125355243683f,
    0.5016634166240692f, 0.6427869200706482f, 0.8614784181118011f};
const std::vector<float> kNF3 = {-1.0f, -0.4786292016506195f, -0.217141792178154f, 0.0f,
                                 0.16093020141124725f, 0.33791524171829224f, 0.5626170039176941f, 1.0f};
const std::vector<float> kNF2 = {-1.0f, 0.0f, 0.33791524171829224f, 1.0f};
// Lloyd-Max levels for x/absmax over blocks of 64 N(0,1) samples (section 3.4), produced by
// lloyd_max_block_gaussian(4, 64, 65536, 0x4e514b56, 200) and frozen here as fp32.
const std::vector<float> kLloyd4 = {
#include "golden/lloyd4_table.inc"
};

std::vector<float> fp4_bnb_values() {
  // bitsandbytes' FP4 (dDequantizeFP4Tree): E2M1 with its own bias, magnitudes
  // {0, 1/192, 1/6, 1/4, 1/3, 1/2, 2/3, 1}; +0 and -0 merge into one code.
  const double mags[] = {1.0 / 192, 1.0 / 6, 0.25, 1.0 / 3, 0.5, 2.0 / 3, 1.0};
  std::vector<float> v;
  for (int i = 6; i >= 0; --i) v.push_back(static_cast<float>(-mags[i]));
  v.push_back(0.0f);
  for (double m : mags) v.push_back(static_cast<float>(m));
  return v;
}

std::vector<float> fp4_e2m1_values() {
  // OCP MX E2M1 magnitudes {0, .5, 1, 1.5, 2, 3, 4, 6}, scaled so the largest is 1 (absmax scaling).
  const double mags[] = {0.5, 1, 1.5, 2, 3, 4, 6};
  std::vector<float> v;
  for (int i = 6; i >= 0; --i) v.push_back(static_cast<float>(-mags[i] / 6.0));
  v.push_back(0.0f);
  for (double m : mags) v.push_back(static_cast<float>(m / 6.0));
  return v;
}

std::vector<float> int4_symmetric_values() {
  std::vector<float> v;
  for (int k = -7; k <= 7; ++k) v.push_back(static_cast<float>(k / 7.0));
  return v;
}

Codebook make(CodebookId id, const std::string& name, int bits, std::vector<float> values,
             const std::vector<float>* thresholds = nullptr) {
  Codebook cb;
  cb.id = id;
  cb.name = name;
  cb.bits = bits;
  cb.values = std::move(values);
  // Section 3.5: threshold = fp32 of the float64 midpoint of adjacent fp32 values, except NF4.
  if (thresholds) {
    cb.thresholds = *thresholds;
  } else {
    for (size_t k = 0; k + 1 < cb.values.size(); ++k)
      cb.thresholds.push_back(static_cast<float>((double(cb.values[k]) + double(cb.values[k + 1])) / 2.0));
  }
  for (float v : cb.values) cb.mac.push_back(static_cast<int8_t>(std::nearbyint(double(v) * 127.0)));
  cb.zero_code = static_cast<int>(std::count_if(cb.thresholds.begin(), cb.thresholds.end(), [](float t) { return 0.0f > t; }));
  return cb;
}

const std::map<CodebookId, Codebook>& table() {
  static const std::map<CodebookId, Codebook> t = [] {
    std::map<CodebookId, Codebook> m;
    m[CodebookId::NF4] = make(CodebookId::NF4, "nf4", 4, kNF4, &kNF4Thresholds);
    m[CodebookId::NF3] = make(CodebookId::NF3, "nf3", 3, kNF3);
    m[CodebookId::NF2] = make(CodebookId::NF2, "nf2", 2, kNF2);
    m[CodebookId::FP4] = make(CodebookId::FP4, "fp4", 4, fp4_bnb_values());
    m[CodebookId::E2M1] = make(CodebookId::E2M1, "e2m1", 4, fp4_e2m1_values());
    m[CodebookId::INT4SYM] = make(CodebookId::INT4SYM, "int4sym", 4, int4_symmetric_values());
    m[CodebookId::LLOYD4] = make(CodebookId::LLOYD4, "lloyd4", 4, kLloyd4);
    Codebook affine;
    affine.id = CodebookId::INT4;
    affine.name = "int4";
    affine.bits = 4;
    affine.affine = true;
    m[CodebookId::INT4] = affine;
    return m;
  }();
  return t;
}

}  // namespace

const Codebook& codebook(CodebookId id) { return table().at(id); }

std::vector<CodebookId> all_codebooks() {
  return {CodebookId::NF4,     CodebookId::NF3,    CodebookId::NF2, CodebookId::FP4, CodebookId::E2M1,
          CodebookId::INT4SYM, CodebookId::LLOYD4, CodebookId::INT4};
}

const Codebook& codebook_by_name(const std::string& name) {
  std::string names;
  for (auto id : all_codebooks()) {
    if (codebook(id).name == name) return codebook(id);
    names += (names.empty() ? "" : "|") + codebook(id).name;
  }
  throw InputError("unknown codebook '" + name + "' (expected " + names + ")");
}

double bits_per_element(const Codebook& cb, int block, int scale_bits) {
  const int scales = cb.affine ? 2 : 1;
  return cb.bits + static_cast<double>(scales * scale_bits) / block;
}

double normal_ppf(double p) {
  // Acklam's rational approximation (relative error < 1.2e-9) ...
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  if (!(p > 0.0 && p < 1.0)) return p == 0.0 ? -INFINITY : p == 1.0 ? INFINITY : NAN;
  const double plow = 0.02425;
  double x;
  if (p < plow) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - plow) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // ... refined by Halley steps on Phi(x) = erfc(-x/sqrt 2)/2 to full double accuracy.
  for (int i = 0; i < 2; ++i) {
    const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
    const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
    x = x - u / (1 + x * u / 2);
  }
  return x;
}

std::vector<double> normal_quantile_values(int bits, double offset) {
  // Mirrors bitsandbytes' create_normal_map: probabilities from a float32 torch.linspace,
  // quantiles in float64 stored as float32, then divided by the largest in float32.
  auto linspace32 = [](float a, float b, int n) {
    std::vector<float> out(n);
    const float step = (b - a) / static_cast<float>(n - 1);
    for (int i = 0; i < n; ++i)
      out[i] = i < n / 2 ? a + step * static_cast<float>(i) : b - step * static_cast<float>(n - i - 1);
    return out;
  };
  const int npos = 1 << (bits - 1), nneg = npos - 1;
  std::vector<float> v;
  auto pos = linspace32(static_cast<float>(offset), 0.5f, npos + 1);
  for (int i = 0; i < npos; ++i) v.push_back(static_cast<float>(normal_ppf(pos[i])));
  auto neg = linspace32(static_cast<float>(offset), 0.5f, nneg + 1);
  for (int i = 0; i < nneg; ++i) v.push_back(static_cast<float>(-normal_ppf(neg[i])));
  v.push_back(0.0f);
  std::sort(v.begin(), v.end());
  const float mx = v.back();
  std::vector<double> out;
  for (float x : v) out.push_back(static_cast<double>(x / mx));
  return out;
}

std::vector<double> lloyd_max_block_gaussian(int bits, int block, int blocks, uint64_t seed, int iterations) {
  SplitMix64 rng(seed);
  std::vector<double> s;
  s.reserve(static_cast<size_t>(blocks) * block);
  std::vector<double> buf(block);
  for (int b = 0; b < blocks; ++b) {
    double amax = 0;
    for (int i = 0; i < block; ++i) {
      buf[i] = rng.normal();
      amax = std::max(amax, std::fabs(buf[i]));
    }
    // The block-normalised Gaussian is symmetric: mirror every sample so the levels are too.
    for (int i = 0; i < block; ++i) {
      s.push_back(buf[i] / amax);
      s.push_back(-buf[i] / amax);
    }
  }
  std::sort(s.begin(), s.end());
  std::vector<double> prefix(s.size() + 1, 0.0);
  for (size_t i = 0; i < s.size(); ++i) prefix[i + 1] = prefix[i] + s[i];
  // Start from symmetric uniform levels (2k+1-n)/n, then alternate nearest-level cells and centroids.
  const int n = 1 << bits;
  std::vector<double> lv(n);
  for (int k = 0; k < n; ++k) lv[k] = static_cast<double>(2 * k + 1 - n) / n;
  for (int it = 0; it < iterations; ++it) {
    size_t lo = 0;
    for (size_t k = 0; k < lv.size(); ++k) {
      size_t hi = s.size();
      if (k + 1 < lv.size()) {
        const double t = (lv[k] + lv[k + 1]) / 2;
        hi = static_cast<size_t>(std::upper_bound(s.begin(), s.end(), t) - s.begin());
      }
      if (hi > lo) lv[k] = (prefix[hi] - prefix[lo]) / static_cast<double>(hi - lo);
      lo = hi;
    }
  }
  return lv;
}

}  // namespace nqkv::golden
