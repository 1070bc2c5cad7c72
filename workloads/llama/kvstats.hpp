// KV capture and statistics for `nqkv kvstats`: run the float model over token windows, keep
// every layer's post-RoPE q, k and v (k and v exactly as the cache stores them), and measure
// (1) normality of quantization blocks (D'Agostino-Pearson K^2 per block), (2) per-channel
// outliers of keys versus values, (3) every codebook's error on the real K and V, each next to
// the same figure on seeded Gaussian (and, for normality, Laplace) blocks of the same size.
// Blocks are contiguous slices of a token's kv_dim-element row (see kv_store.hpp).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "golden/codebook.hpp"
#include "golden/float_formats.hpp"
#include "workloads/llama/model.hpp"

namespace nqkv::llama {

struct KVCapture {
  Config config;
  std::vector<int> tokens;     // the input token at each captured position (all windows)
  std::vector<int> positions;  // its position in its window (0 = BOS)
  // Per layer, rows = captured tokens: q is rows x dim, k and v rows x kv_dim.
  std::vector<std::vector<float>> q, k, v;
  int64_t rows() const { return static_cast<int64_t>(tokens.size()); }
};

// progress(done, total) is called after each token.
KVCapture capture_kv(Model& m, const std::vector<std::vector<int>>& windows,
                     const std::function<void(int64_t, int64_t)>& progress = {});

// Writes the capture as safetensors: q [L, T, n_heads, head_size], k and v [L, T, n_kv_heads,
// head_size] (F32), tokens and positions [T] (I32), and the model configuration as metadata.
void dump_capture(const KVCapture& cap, const std::string& path, const std::string& source_note);

struct NormalitySummary {
  std::string source;  // "K", "V", "gaussian", "laplace"
  int layer = -1;      // -1: all layers
  int block = 0;
  int64_t blocks = 0, valid = 0;
  double pass_fraction = 0;  // share of valid blocks with p >= 0.05
  double median_p = 0;
  double mean_skew = 0, mean_abs_skew = 0, mean_excess_kurtosis = 0;
};
// Blocks of `block` consecutive elements of each row (rows x cols, cols a multiple of block).
NormalitySummary normality_of_blocks(const std::string& source, const float* x, int64_t rows, int cols, int block);

struct ChannelOutliers {
  int layer = 0;
  std::string tensor;  // "K" or "V"
  double max_over_median_rms = 0;  // largest channel RMS / median channel RMS
  int channels_over_2x = 0;        // channels whose RMS exceeds twice the median
  double peak_over_rms = 0;        // largest |x| / RMS of the whole layer tensor
  double excess_kurtosis = 0;      // pooled over the layer's tensor
  int top_channel = 0;             // channel with the largest RMS
};
ChannelOutliers channel_outliers(int layer, const std::string& tensor, const float* x, int64_t rows, int cols);

struct CodebookError {
  std::string codebook, source;  // source: "K", "V", "gaussian"
  int block = 0;
  double rel_mse = 0, sqnr_db = 0, bits_per_element = 0;
  double sq_err = 0, sq_in = 0;  // sum (x - x^)^2 and sum x^2 (rel_mse = sq_err / sq_in)
};
// Round to `type`, quantize each block with golden::quantize_block, dequantize, and compare
// with the rounded input: rel_mse = sum (x - x^)^2 / sum x^2, SQNR = -10 log10(rel_mse).
CodebookError codebook_error(const golden::Codebook& cb, golden::ElemType type, const std::string& source,
                             const float* x, int64_t rows, int cols, int block);

// The error of slices summed: rel_mse = sum of sq_err / sum of sq_in (the per-layer slices of the
// KV capture give the overall figure without quantizing everything twice).
CodebookError combine_codebook_errors(const std::vector<CodebookError>& parts);

// Seeded synthetic rows (golden::SplitMix64): "gaussian" N(0,1) or "laplace".
std::vector<float> synthetic_rows(const std::string& kind, int64_t rows, int cols, uint64_t seed);

}  // namespace nqkv::llama
