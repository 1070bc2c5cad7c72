// Harness: quantized files (`nqkv dequantize`): golden::load_quantized on a parsed file, then the
// dequantize path exactly as the CLI runs it (f32 and same-dtype outputs), and a store/load round
// trip of what was accepted.
#include "fuzz/common.hpp"
#include "fuzz/safetensors_mutator.hpp"
#include "golden/tensor_io.hpp"

using namespace nqkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  io::SafeTensors in;
  if (!fuzz::accepts([&] { in = io::SafeTensors::parse(fuzz::bytes_of(data, size), "fuzz.safetensors"); })) return 0;
  std::vector<int64_t> shape;
  golden::QuantizedTensor q;
  if (!fuzz::accepts([&] { q = golden::load_quantized(in, &shape); })) return 0;
  const std::vector<float> y = golden::dequantize_tensor(q);
  NQKV_FUZZ_CHECK(static_cast<int64_t>(y.size()) == q.rows * q.cols);
  io::SafeTensors out;
  out.tensors["x"] = golden::f32_tensor(shape, y);
  std::vector<uint32_t> bits(y.size());
  for (size_t i = 0; i < y.size(); ++i) bits[i] = golden::f32_to_elem(q.type, y[i]);
  out.tensors["same"] = golden::element_tensor(q.type, shape, bits);
  // Round trip: what load_quantized accepted, store_quantized writes and load_quantized reads back.
  io::SafeTensors again;
  golden::store_quantized(q, shape, again);
  again = io::SafeTensors::parse(again.to_bytes(), "roundtrip.safetensors");
  std::vector<int64_t> shape2;
  const golden::QuantizedTensor q2 = golden::load_quantized(again, &shape2);
  NQKV_FUZZ_CHECK(shape2 == shape && q2.codes == q.codes && q2.scales.size() == q.scales.size());
  return 0;
}
