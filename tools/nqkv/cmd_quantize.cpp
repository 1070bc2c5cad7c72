// nqkv quantize / nqkv dequantize: one tensor through the golden encoder and decoder.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "golden/tensor_io.hpp"
#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/safetensors.hpp"
#include "tools/nqkv/commands.hpp"

namespace {
using namespace nqkv;

struct QuantizeArgs {
  std::string input, output, codebook = "nf4", tensor = "x";
  int block = 64;
  bool allow_nonfinite = false;
};

void run_quantize(const QuantizeArgs& a) {
  const golden::Codebook& cb = golden::codebook_by_name(a.codebook);
  if (a.block < 8 || a.block % 8 != 0) throw InputError(fmt::format("block {} must be a positive multiple of 8", a.block));
  io::check_input_file(a.input, "--input", io::kMaxTensorFileBytes);
  io::check_output_file(a.output, "--output", {a.input});
  const io::SafeTensors in = io::SafeTensors::load(a.input);
  const io::Tensor& x = in.get(a.tensor);
  const golden::ElemType type = golden::elem_type_of(x, a.tensor);
  if (x.shape.empty() || x.numel() == 0) throw InputError("tensor '" + a.tensor + "' is empty or a scalar");
  const int64_t cols = x.shape.back();
  if (cols % a.block != 0)
    throw InputError(fmt::format("block {} does not divide the last dimension {} of tensor '{}'", a.block, cols, a.tensor));
  const int64_t rows = static_cast<int64_t>(x.numel()) / cols;
  const golden::QuantizedTensor q = golden::quantize_tensor(cb, type, a.block, rows, cols, golden::raw_elements(x));
  if (q.stats.nonfinite_blocks > 0 && !a.allow_nonfinite)
    throw InputError(fmt::format("tensor '{}' holds {} block(s) with NaN or Inf; nothing written (pass --allow-nonfinite to "
                                 "store them as NaN-scale blocks)",
                                 a.tensor, q.stats.nonfinite_blocks));
  io::SafeTensors out;
  golden::store_quantized(q, x.shape, out);
  out.save(a.output);
  fmt::print("{} {} {} -> {} B={}: {} blocks ({} zero, {} flushed, {} non-finite), {:.4g} bits/element, wrote {}\n", a.tensor,
             nlohmann::json(x.shape).dump(), golden::elem_type_name(type), cb.name, a.block, q.stats.blocks,
             q.stats.zero_blocks, q.stats.flushed_blocks, q.stats.nonfinite_blocks,
             golden::bits_per_element(cb, a.block, golden::elem_bits(type)), a.output);
}

void run_dequantize(const std::string& input, const std::string& output, const std::string& dtype) {
  io::check_input_file(input, "--input", io::kMaxTensorFileBytes);
  io::check_output_file(output, "--output", {input});
  const io::SafeTensors in = io::SafeTensors::load(input);
  std::vector<int64_t> shape;
  const golden::QuantizedTensor q = golden::load_quantized(in, &shape);
  const std::vector<float> y = golden::dequantize_tensor(q);
  io::SafeTensors out;
  if (dtype == "f32") {
    out.tensors["x"] = golden::f32_tensor(shape, y);
  } else {  // the quantized tensor's own element type, rounded to nearest even
    std::vector<uint32_t> bits(y.size());
    for (size_t i = 0; i < y.size(); ++i) bits[i] = golden::f32_to_elem(q.type, y[i]);
    out.tensors["x"] = golden::element_tensor(q.type, shape, bits);
  }
  out.save(output);
  fmt::print("dequantized {} ({}, B={}) -> {} x {}, wrote {}\n", input, golden::codebook(q.codebook).name, q.block,
             nlohmann::json(shape).dump(), dtype == "f32" ? "f32" : golden::elem_type_name(q.type), output);
}

}  // namespace

NQKV_COMMAND(quantize) {
  auto* cmd = app.add_subcommand("quantize", "Quantize one tensor of a safetensors file (golden encoder)");
  auto a = std::make_shared<QuantizeArgs>();
  cmd->add_option("--input", a->input, "Input .safetensors file")->required();
  cmd->add_option("--output", a->output, "Output .safetensors file (codes, absmax, metadata)")->required();
  cmd->add_option("--codebook", a->codebook, "nf4|nf3|nf2|fp4|e2m1|int4sym|lloyd4|int4")->capture_default_str();
  cmd->add_option("--block", a->block, "Block size (divides the last dimension)")
      ->check(nqkv::cli::int_range(8, 1 << 20, 8))
      ->capture_default_str();
  cmd->add_option("--tensor", a->tensor, "Name of the tensor to quantize")->capture_default_str();
  cmd->add_flag("--allow-nonfinite", a->allow_nonfinite, "Store NaN/Inf blocks as NaN-scale blocks instead of failing");
  cmd->callback([a] { run_quantize(*a); });
}

NQKV_COMMAND(dequantize) {
  auto* cmd = app.add_subcommand("dequantize", "Dequantize a file written by `nqkv quantize` into tensor x");
  auto input = std::make_shared<std::string>(), output = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("f32");
  cmd->add_option("--input", *input, "Quantized .safetensors file")->required();
  cmd->add_option("--output", *output, "Output .safetensors file")->required();
  cmd->add_option("--dtype", *dtype, "f32 or same (the quantized tensor's element type)")
      ->check(CLI::IsMember({"f32", "same"}))
      ->capture_default_str();
  cmd->callback([=] { run_dequantize(*input, *output, *dtype); });
}
