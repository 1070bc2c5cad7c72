#include "golden/kivi.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "golden/float_formats.hpp"
#include "io/error.hpp"

namespace nqkv::golden::kivi {

float round_f16(float v) { return f16_to_f32(f32_to_f16(v)); }

GroupParams quantize_group(int bits, const float* x, int n, std::ptrdiff_t stride, uint8_t* codes,
                           GroupStatus* status) {
  const int k = (1 << bits) - 1;
  GroupStatus st = GroupStatus::Ok;
  float mn = std::numeric_limits<float>::infinity(), mx = -mn;
  for (int j = 0; j < n; ++j) {
    const float v = round_f16(x[j * stride]);
    if (!std::isfinite(v)) st = GroupStatus::NonFinite;
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  GroupParams p;
  if (st == GroupStatus::NonFinite || n <= 0) {
    p.scale_bits = p.zero_bits = kF16QuietNaN;
    for (int j = 0; j < n; ++j) codes[j * stride] = 0;
    if (status) *status = GroupStatus::NonFinite;
    return p;
  }
  const float r = round_f16(mx - mn);
  const float s = std::isinf(r) ? round_f16((mx - mn) / static_cast<float>(k)) : round_f16(r / static_cast<float>(k));
  p.scale_bits = f32_to_f16(s);
  p.zero_bits = f32_to_f16(mn);
  if (s == 0.f) {
    for (int j = 0; j < n; ++j) codes[j * stride] = 0;
    if (status) *status = GroupStatus::ZeroRange;
    return p;
  }
  for (int j = 0; j < n; ++j) {
    const float d = round_f16(round_f16(x[j * stride]) - mn);  // may be +inf when the range overflows fp16
    const float q = round_f16(d / s);
    const float c = std::min(static_cast<float>(k), std::max(0.f, q));
    codes[j * stride] = static_cast<uint8_t>(std::nearbyint(c));  // the default mode: ties to even
  }
  if (status) *status = GroupStatus::Ok;
  return p;
}

void dequantize_group(const GroupParams& p, GroupStatus status, const uint8_t* codes, int n, std::ptrdiff_t stride,
                      float* out) {
  const float s = f16_to_f32(p.scale_bits), mn = f16_to_f32(p.zero_bits);
  for (int j = 0; j < n; ++j) {
    if (status == GroupStatus::NonFinite)
      out[j * stride] = std::numeric_limits<float>::quiet_NaN();
    else if (status == GroupStatus::ZeroRange)
      out[j * stride] = mn;
    else
      out[j * stride] = static_cast<float>(codes[j * stride]) * s + mn;
  }
}

GroupStatus roundtrip_group(int bits, const float* x, int n, std::ptrdiff_t stride, float* out) {
  std::vector<float> tmp(static_cast<size_t>(n));
  std::vector<uint8_t> codes(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) tmp[j] = x[j * stride];
  GroupStatus st;
  const GroupParams p = quantize_group(bits, tmp.data(), n, 1, codes.data(), &st);
  dequantize_group(p, st, codes.data(), n, 1, tmp.data());
  for (int j = 0; j < n; ++j) out[j * stride] = tmp[j];
  return st;
}

namespace {
void count(Stats* s, GroupStatus st) {
  if (!s) return;
  ++s->groups;
  if (st == GroupStatus::ZeroRange) ++s->zero_range_groups;
  if (st == GroupStatus::NonFinite) ++s->nonfinite_groups;
}
void check_bits(int bits) {
  if (bits < 1 || bits > 8) throw InputError("KIVI bits must be 1..8 (got " + std::to_string(bits) + ")");
}
}  // namespace

std::vector<float> roundtrip_keys(const float* x, int64_t tokens, int channels, int bits, int group, Stats* stats) {
  check_bits(bits);
  if (group < 1) throw InputError("KIVI group must be at least 1");
  std::vector<float> out(static_cast<size_t>(tokens) * channels);
  for (size_t i = 0; i < out.size(); ++i) out[i] = round_f16(x[i]);
  const int64_t full = tokens - tokens % group;
  for (int64_t t0 = 0; t0 < full; t0 += group)
    for (int c = 0; c < channels; ++c) {
      const size_t off = static_cast<size_t>(t0) * channels + c;
      count(stats, roundtrip_group(bits, out.data() + off, group, channels, out.data() + off));
    }
  return out;
}

std::vector<float> roundtrip_values(const float* x, int64_t tokens, int channels, int bits, int group, Stats* stats) {
  check_bits(bits);
  if (group < 1 || channels % group != 0)
    throw InputError("KIVI value group " + std::to_string(group) + " must divide the row of " + std::to_string(channels));
  std::vector<float> out(static_cast<size_t>(tokens) * channels);
  for (size_t i = 0; i < out.size(); ++i) out[i] = round_f16(x[i]);
  for (size_t off = 0; off < out.size(); off += group)
    count(stats, roundtrip_group(bits, out.data() + off, group, 1, out.data() + off));
  return out;
}

void validate(const Config& c, int head_dim) {
  check_bits(c.k_bits);
  check_bits(c.v_bits);
  if (c.group < 1) throw InputError("KIVI group size must be at least 1 (got " + std::to_string(c.group) + ")");
  if (c.residual < c.group || c.residual % c.group != 0)
    throw InputError("KIVI residual length " + std::to_string(c.residual) + " must be a positive multiple of the group size " +
                     std::to_string(c.group));
  if (head_dim % c.group != 0)
    throw InputError("KIVI group size " + std::to_string(c.group) + " does not divide head_dim " + std::to_string(head_dim) +
                     " (a value group stays inside one head)");
}

namespace {
double tensor_bits(bool quantized, int bits, int group, int64_t quantized_tokens, int64_t context) {
  if (!quantized) return 16.0;
  const double q = bits + 32.0 / group;
  return (static_cast<double>(quantized_tokens) * q + static_cast<double>(context - quantized_tokens) * 16.0) /
         static_cast<double>(context);
}
}  // namespace

double k_bits_per_element(const Config& c, int64_t L) {
  return tensor_bits(c.quantize_k, c.k_bits, c.group, L - L % c.residual, L);
}
double v_bits_per_element(const Config& c, int64_t L) {
  return tensor_bits(c.quantize_v, c.v_bits, c.group, L - std::min<int64_t>(L, c.residual), L);
}
double bits_per_element(const Config& c, int64_t L) { return 0.5 * (k_bits_per_element(c, L) + v_bits_per_element(c, L)); }

LayerCache::LayerCache(const Config& c, int channels, int head_dim) : c_(c), ch_(channels) {
  validate(c, head_dim);
  if (channels % head_dim != 0) throw InputError("KIVI: the K/V row is not a whole number of heads");
}

void LayerCache::clear() {
  tokens_ = kq_ = vq_ = 0;
  k_.clear();
  v_.clear();
  kc_.clear();
  vc_.clear();
  kg_.clear();
  vg_.clear();
}

void LayerCache::quantize_k_tokens(int64_t first, int64_t count_tokens) {
  for (int64_t t0 = first; t0 < first + count_tokens; t0 += c_.group)
    for (int c = 0; c < ch_; ++c) {
      const size_t off = static_cast<size_t>(t0) * ch_ + c;
      GroupStatus st;
      const GroupParams p = quantize_group(c_.k_bits, k_.data() + off, c_.group, ch_, kc_.data() + off, &st);
      dequantize_group(p, st, kc_.data() + off, c_.group, ch_, k_.data() + off);
      kg_.push_back(p);
      count(&stats_, st);
    }
}

void LayerCache::quantize_v_token(int64_t t) {
  for (int c0 = 0; c0 < ch_; c0 += c_.group) {
    const size_t off = static_cast<size_t>(t) * ch_ + c0;
    GroupStatus st;
    const GroupParams p = quantize_group(c_.v_bits, v_.data() + off, c_.group, 1, vc_.data() + off, &st);
    dequantize_group(p, st, vc_.data() + off, c_.group, 1, v_.data() + off);
    vg_.push_back(p);
    count(&stats_, st);
  }
}

// The flush KIVI performs at the end of a decode step (after its attention).
void LayerCache::flush() {
  if (c_.quantize_k && tokens_ - kq_ == c_.residual) {
    quantize_k_tokens(kq_, c_.residual);
    kq_ += c_.residual;
  }
  if (c_.quantize_v && tokens_ - vq_ > c_.residual) {
    quantize_v_token(vq_);
    ++vq_;
  }
}

void LayerCache::append(const float* k, const float* v) {
  flush();
  const size_t off = k_.size();
  k_.resize(off + ch_);
  v_.resize(off + ch_);
  kc_.resize(off + ch_, 0);
  vc_.resize(off + ch_, 0);
  for (int i = 0; i < ch_; ++i) {
    k_[off + i] = round_f16(k[i]);
    v_[off + i] = round_f16(v[i]);
  }
  ++tokens_;
}

}  // namespace nqkv::golden::kivi
