// Moving golden data in and out of safetensors: element tensors (fp16/bf16/fp32 as raw bits) and
// quantized tensors (packed codes + block scales + metadata naming the codebook and block).
#pragma once
#include <string>
#include <vector>

#include "golden/quantize.hpp"
#include "io/safetensors.hpp"

namespace nqkv::golden {

// Throws InputError naming the tensor if its dtype is not F16, BF16 or F32.
ElemType elem_type_of(const io::Tensor& t, const std::string& name);
io::DType dtype_of(ElemType t);
ElemType elem_type_from_name(const std::string& name);  // f16|bf16|f32, InputError otherwise

std::vector<uint32_t> raw_elements(const io::Tensor& t);  // bits of each element
io::Tensor element_tensor(ElemType type, std::vector<int64_t> shape, const std::vector<uint32_t>& bits);
io::Tensor f32_tensor(std::vector<int64_t> shape, const std::vector<float>& values);

// Writes codes (U8, [..., cols*bits/8]), absmax ([..., cols/block]) or minimum+step for the affine
// codebook, status (U8 per block) and metadata (nqkv.format, codebook, block, dtype, shape).
void store_quantized(const QuantizedTensor& q, const std::vector<int64_t>& shape, io::SafeTensors& out,
                     const std::string& prefix = "");
// Reads what store_quantized wrote, validating every shape against the metadata.
QuantizedTensor load_quantized(const io::SafeTensors& in, std::vector<int64_t>* shape = nullptr);

}  // namespace nqkv::golden
