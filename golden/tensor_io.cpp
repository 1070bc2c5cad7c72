#include "golden/tensor_io.hpp"

#include <nlohmann/json.hpp>

#include "io/error.hpp"
#include "io/sizes.hpp"

namespace nqkv::golden {

ElemType elem_type_of(const io::Tensor& t, const std::string& name) {
  switch (t.dtype) {
    case io::DType::F16: return ElemType::F16;
    case io::DType::BF16: return ElemType::BF16;
    case io::DType::F32: return ElemType::F32;
    default:
      throw InputError("tensor '" + name + "' has dtype " + io::dtype_name(t.dtype) + "; expected F16, BF16 or F32");
  }
}

io::DType dtype_of(ElemType t) {
  return t == ElemType::F16 ? io::DType::F16 : t == ElemType::BF16 ? io::DType::BF16 : io::DType::F32;
}

ElemType elem_type_from_name(const std::string& name) {
  if (name == "f16") return ElemType::F16;
  if (name == "bf16") return ElemType::BF16;
  if (name == "f32") return ElemType::F32;
  throw InputError("unknown element type '" + name + "' (expected f16|bf16|f32)");
}

std::vector<uint32_t> raw_elements(const io::Tensor& t) {
  std::vector<uint32_t> out(t.numel());
  if (io::dtype_size(t.dtype) == 2) {
    auto v = t.values<uint16_t>();
    for (size_t i = 0; i < v.size(); ++i) out[i] = v[i];
  } else {
    auto v = t.values<uint32_t>();
    out.assign(v.begin(), v.end());
  }
  return out;
}

io::Tensor element_tensor(ElemType type, std::vector<int64_t> shape, const std::vector<uint32_t>& bits) {
  if (elem_bits(type) == 16) {
    std::vector<uint16_t> v(bits.begin(), bits.end());
    return io::Tensor::from(dtype_of(type), std::move(shape), v);
  }
  return io::Tensor::from(io::DType::F32, std::move(shape), bits);
}

io::Tensor f32_tensor(std::vector<int64_t> shape, const std::vector<float>& values) {
  return io::Tensor::from(io::DType::F32, std::move(shape), values);
}

namespace {
std::vector<int64_t> with_last(std::vector<int64_t> shape, int64_t last) {
  shape.back() = last;
  return shape;
}
}  // namespace

void store_quantized(const QuantizedTensor& q, const std::vector<int64_t>& shape, io::SafeTensors& out,
                     const std::string& prefix) {
  const Codebook& cb = codebook(q.codebook);
  const int64_t nb = q.cols / q.block;
  out.tensors[prefix + "codes"] = io::Tensor::from(io::DType::U8, with_last(shape, q.cols * cb.bits / 8), q.codes);
  std::vector<uint32_t> a, mn, st;
  for (const auto& s : q.scales) {
    a.push_back(s.absmax_bits);
    mn.push_back(s.min_bits);
    st.push_back(s.step_bits);
  }
  if (cb.affine) {
    out.tensors[prefix + "minimum"] = element_tensor(q.type, with_last(shape, nb), mn);
    out.tensors[prefix + "step"] = element_tensor(q.type, with_last(shape, nb), st);
  } else {
    out.tensors[prefix + "absmax"] = element_tensor(q.type, with_last(shape, nb), a);
  }
  if (prefix.empty()) {
    out.metadata["nqkv.format"] = "quantized-v1";
    out.metadata["codebook"] = cb.name;
    out.metadata["block"] = std::to_string(q.block);
    out.metadata["dtype"] = elem_type_name(q.type);
    out.metadata["shape"] = nlohmann::json(shape).dump();
  }
}

QuantizedTensor load_quantized(const io::SafeTensors& in, std::vector<int64_t>* shape_out) {
  auto meta = [&](const std::string& key) {
    auto it = in.metadata.find(key);
    if (it == in.metadata.end()) throw InputError(in.source + ": not an nqkv quantized file (metadata '" + key + "' missing)");
    return it->second;
  };
  if (meta("nqkv.format") != "quantized-v1") throw InputError(in.source + ": unsupported nqkv.format '" + meta("nqkv.format") + "'");
  QuantizedTensor q;
  const Codebook& cb = codebook_by_name(meta("codebook"));
  q.codebook = cb.id;
  q.type = elem_type_from_name(meta("dtype"));
  std::vector<int64_t> shape;
  const std::string bad_meta = in.source + ": corrupt metadata (block or shape)";
  {
    const std::string b = meta("block");
    if (b.empty() || b.size() > 9 || b.find_first_not_of("0123456789") != std::string::npos) throw InputError(bad_meta);
    q.block = std::stoi(b);  // at most 9 digits: fits
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(meta("shape"));
    } catch (const std::exception&) {
      throw InputError(bad_meta);
    }
    if (!j.is_array()) throw InputError(bad_meta);
    for (const auto& d : j) {
      // Integers only (get<int64_t> casts a float unchecked), none above the element cap.
      if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > uint64_t(io::kMaxElements)) ||
          d.get<int64_t>() < 0)
        throw InputError(bad_meta);
      shape.push_back(d.get<int64_t>());
    }
  }
  if (shape.empty() || q.block <= 0 || shape.back() % q.block != 0 || q.block % 8 != 0)
    throw InputError(in.source + ": metadata shape/block are inconsistent");
  io::shape_elements(shape, in.source + ": metadata shape");  // the whole product, checked once
  q.cols = shape.back();
  q.rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) q.rows *= shape[i];
  const int64_t nb = q.cols / q.block;
  auto check = [&](const std::string& name, io::DType dt, int64_t last) {
    const io::Tensor& t = in.get(name);
    if (t.dtype != dt || t.shape != with_last(shape, last))
      throw InputError(in.source + ": tensor '" + name + "' has the wrong dtype or shape for the metadata");
    return &t;
  };
  q.codes = check("codes", io::DType::U8, q.cols * cb.bits / 8)->values<uint8_t>();
  q.scales.resize(static_cast<size_t>(q.rows * nb));
  if (cb.affine) {
    auto mn = raw_elements(*check("minimum", dtype_of(q.type), nb));
    auto st = raw_elements(*check("step", dtype_of(q.type), nb));
    for (size_t i = 0; i < q.scales.size(); ++i) {
      q.scales[i].min_bits = mn[i];
      q.scales[i].step_bits = st[i];
    }
  } else {
    auto a = raw_elements(*check("absmax", dtype_of(q.type), nb));
    for (size_t i = 0; i < q.scales.size(); ++i) q.scales[i].absmax_bits = a[i];
  }
  if (shape_out) *shape_out = shape;
  return q;
}

}  // namespace nqkv::golden
