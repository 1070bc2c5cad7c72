// The safetensors container (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then raw
// little-endian data. PyTorch's safetensors.torch.load_file and numpy read what this writes.
// Malformed files (truncated, corrupt header, out-of-range offsets, size/shape disagreement)
// raise nqkv::InputError with a message naming the file and the problem.
#pragma once
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "io/error.hpp"

namespace nqkv::io {

enum class DType { F16, BF16, F32, F64, I8, U8, I16, U16, I32, U32, I64, U64, BOOL };

const char* dtype_name(DType d);        // the safetensors spelling: "F16", "BF16", ...
size_t dtype_size(DType d);             // bytes per element
DType dtype_from_name(const std::string& name);  // throws InputError for unknown names

struct Tensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // little-endian elements, row-major

  // Element count, checked (io/sizes.hpp): InputError for a negative dimension or over 2^48.
  size_t numel() const;
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }

  // Typed copies; the caller states the element type it expects (checked against dtype size).
  template <class T>
  std::vector<T> values() const {
    check_element_size(sizeof(T));
    std::vector<T> out(numel());
    if (!out.empty()) std::memcpy(out.data(), data.data(), data.size());
    return out;
  }
  template <class T>
  static Tensor from(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
    Tensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.check_element_size(sizeof(T));
    if (t.numel() != values.size()) throw std::logic_error("Tensor::from: shape does not match value count");
    t.data.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
    return t;
  }

 private:
  void check_element_size(size_t bytes) const;
};

class SafeTensors {
 public:
  // Reads a regular file (InputError for a directory, a device or a missing file).
  static SafeTensors load(const std::string& path);
  // The same from bytes already in memory; `source` names them in messages (fuzzing, tests).
  static SafeTensors parse(const std::string& bytes, const std::string& source);
  // The file's bytes exactly as save writes them.
  std::string to_bytes() const;
  // Writes atomically (temporary file + rename): a failed save leaves no file behind.
  void save(const std::string& path) const;

  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  // Throws InputError "FILE: no tensor named NAME (has: a, b, c)".
  const Tensor& get(const std::string& name) const;

  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
  std::string source;  // path it was loaded from, for error messages
};

}  // namespace nqkv::io
