// The GGUF container (version 3, little-endian), as written by llama.cpp's converters and the
// `gguf` Python package: "GGUF", uint32 version, uint64 tensor count, uint64 metadata count,
// the metadata key/value pairs (every value type, arrays included), the tensor table (name,
// dimensions ne[0..n) with ne[0] the fastest-varying, ggml type, offset into the data section),
// then the data section, which starts at the next multiple of general.alignment (default 32).
//
// Every count, string length, dimension, offset and size read from the file is checked against
// the bytes that remain (overflow-checked arithmetic, io/sizes.hpp) before anything is allocated
// or read: a truncated, corrupt or hostile file raises nqkv::InputError naming the file and the
// problem, never an out-of-bounds read.
//
// Dequantization to float32 of F32, F16, BF16, Q4_0, Q4_1, Q8_0 and Q6_K (block layouts of
// ggml's ggml-common.h, re-derived from the format definition; docs in io/README.md).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nqkv::io::gguf {

enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10,
  I64 = 11, F64 = 12
};
const char* value_type_name(ValueType t);

struct Value {
  ValueType type = ValueType::U8;
  ValueType array_type = ValueType::U8;  // element type when type == ARRAY
  uint64_t u = 0;     // U8..U64, BOOL
  int64_t i = 0;      // I8..I64
  double f = 0;       // F32, F64
  std::string str;    // STRING
  std::vector<Value> items;  // ARRAY
};

// ggml tensor types (the numbering of ggml.h).
enum class TensorType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9, Q2_K = 10, Q3_K = 11, Q4_K = 12,
  Q5_K = 13, Q6_K = 14, Q8_K = 15, BF16 = 30
};
// Name ("Q4_1", ...) of a type number, or "type N" when unknown.
std::string tensor_type_name(uint32_t t);
// Elements per block and bytes per block; false for a type this reader cannot dequantize.
bool tensor_type_layout(uint32_t t, int64_t* block_elems, int64_t* block_bytes);

struct TensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ne[0] fastest (a 2-D weight: ne[0] = in features, ne[1] = out)
  uint32_t type = 0;
  uint64_t offset = 0;      // relative to the data section
  int64_t elements = 0;
  int64_t bytes = 0;
};

class File {
 public:
  // Reads a regular file within io::kMaxTensorFileBytes (InputError otherwise).
  static File load(const std::string& path);
  // The same from bytes in memory; `source` names them in messages.
  static File parse(std::vector<uint8_t> bytes, const std::string& source);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::string& source() const { return source_; }
  const std::map<std::string, Value>& metadata() const { return kv_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  bool has(const std::string& key) const { return kv_.count(key) != 0; }
  // Typed accessors: InputError when the key is missing or holds another type.
  const Value& get(const std::string& key) const;
  uint64_t get_uint(const std::string& key) const;    // any unsigned integer type
  int64_t get_int(const std::string& key) const;      // any integer type, within int64
  double get_float(const std::string& key) const;     // F32 or F64
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;

  const TensorInfo* find_tensor(const std::string& name) const;  // nullptr if absent
  const TensorInfo& tensor(const std::string& name) const;       // InputError if absent
  // Dequantized values (elements in file order); InputError for an unsupported type.
  std::vector<float> dequantize(const TensorInfo& t) const;

 private:
  std::string source_;
  std::vector<uint8_t> bytes_;
  uint32_t version_ = 0, alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, Value> kv_;
  std::vector<TensorInfo> tensors_;
};

// Dequantizes `n` elements (a multiple of the type's block) from `src` (exactly the type's bytes
// for n elements) into `out`. InputError for an unsupported type.
void dequantize_row(uint32_t type, const uint8_t* src, int64_t n, float* out);

// IEEE binary16 / bfloat16 bits to float32 (exact).
float half_to_float(uint16_t h);
float bf16_to_float(uint16_t h);

}  // namespace nqkv::io::gguf
