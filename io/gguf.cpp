#include "io/gguf.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "io/atomic_file.hpp"
#include "io/error.hpp"
#include "io/sizes.hpp"

namespace nqkv::io::gguf {

namespace {

constexpr int kMaxArrayDepth = 8;                    // nested arrays deeper than this are rejected
constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;  // a string longer than 1 GiB is not metadata

// A bounds-checked little-endian cursor over the file's bytes.
class Cursor {
 public:
  Cursor(const std::vector<uint8_t>& b, const std::string& src) : b_(b), src_(src) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return b_.size() - pos_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(src_ + ": GGUF: " + what + " (at byte " + std::to_string(pos_) + " of " +
                     std::to_string(b_.size()) + ")");
  }
  void need(uint64_t n, const char* what) const {
    if (n > remaining()) fail(std::string("truncated file: ") + what + " needs " + std::to_string(n) + " byte(s), " +
                             std::to_string(remaining()) + " left");
  }
  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str(const char* what) {
    const uint64_t n = read<uint64_t>(what);
    if (n > kMaxStringBytes) fail(std::string(what) + ": string length " + std::to_string(n) + " is too large");
    need(n, what);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<size_t>(n));
    pos_ += n;
    return s;
  }

 private:
  const std::vector<uint8_t>& b_;
  const std::string& src_;
  uint64_t pos_ = 0;
};

bool valid_value_type(uint32_t t) { return t <= 12; }

// Smallest encoded size of one value of type t (for checking array counts before allocating).
uint64_t min_value_bytes(ValueType t) {
  switch (t) {
    case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: case ValueType::STRING: return 8;
    case ValueType::ARRAY: return 12;
  }
  return 1;
}

Value read_value(Cursor& c, ValueType t, int depth, const std::string& key) {
  Value v;
  v.type = t;
  switch (t) {
    case ValueType::U8: v.u = c.read<uint8_t>("u8 value"); break;
    case ValueType::I8: v.i = c.read<int8_t>("i8 value"); break;
    case ValueType::U16: v.u = c.read<uint16_t>("u16 value"); break;
    case ValueType::I16: v.i = c.read<int16_t>("i16 value"); break;
    case ValueType::U32: v.u = c.read<uint32_t>("u32 value"); break;
    case ValueType::I32: v.i = c.read<int32_t>("i32 value"); break;
    case ValueType::U64: v.u = c.read<uint64_t>("u64 value"); break;
    case ValueType::I64: v.i = c.read<int64_t>("i64 value"); break;
    case ValueType::F32: v.f = c.read<float>("f32 value"); break;
    case ValueType::F64: v.f = c.read<double>("f64 value"); break;
    case ValueType::BOOL: {
      const uint8_t b = c.read<uint8_t>("bool value");
      if (b > 1) c.fail("metadata '" + key + "': bool value " + std::to_string(b) + " is neither 0 nor 1");
      v.u = b;
      break;
    }
    case ValueType::STRING: v.str = c.str("string value"); break;
    case ValueType::ARRAY: {
      if (depth >= kMaxArrayDepth) c.fail("metadata '" + key + "': arrays nested deeper than 8 levels");
      const uint32_t et = c.read<uint32_t>("array element type");
      if (!valid_value_type(et)) c.fail("metadata '" + key + "': unknown array element type " + std::to_string(et));
      v.array_type = static_cast<ValueType>(et);
      const uint64_t n = c.read<uint64_t>("array length");
      // Every element takes at least min_value_bytes: a count the remaining bytes cannot hold is
      // rejected before anything is reserved.
      if (n > c.remaining() / min_value_bytes(v.array_type))
        c.fail("metadata '" + key + "': array of " + std::to_string(n) + " " + value_type_name(v.array_type) +
               " element(s) does not fit in the " + std::to_string(c.remaining()) + " byte(s) left");
      v.items.reserve(static_cast<size_t>(n));
      for (uint64_t k = 0; k < n; ++k) v.items.push_back(read_value(c, v.array_type, depth + 1, key));
      break;
    }
  }
  return v;
}

uint64_t align_up(uint64_t x, uint64_t a, const Cursor& c) {
  const uint64_t r = x % a;
  if (r == 0) return x;
  if (x > std::numeric_limits<uint64_t>::max() - (a - r)) c.fail("offset overflows when aligned");
  return x + (a - r);
}

}  // namespace

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::U8: return "u8";
    case ValueType::I8: return "i8";
    case ValueType::U16: return "u16";
    case ValueType::I16: return "i16";
    case ValueType::U32: return "u32";
    case ValueType::I32: return "i32";
    case ValueType::F32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "string";
    case ValueType::ARRAY: return "array";
    case ValueType::U64: return "u64";
    case ValueType::I64: return "i64";
    case ValueType::F64: return "f64";
  }
  return "?";
}

std::string tensor_type_name(uint32_t t) {
  switch (static_cast<TensorType>(t)) {
    case TensorType::F32: return "F32";
    case TensorType::F16: return "F16";
    case TensorType::Q4_0: return "Q4_0";
    case TensorType::Q4_1: return "Q4_1";
    case TensorType::Q5_0: return "Q5_0";
    case TensorType::Q5_1: return "Q5_1";
    case TensorType::Q8_0: return "Q8_0";
    case TensorType::Q8_1: return "Q8_1";
    case TensorType::Q2_K: return "Q2_K";
    case TensorType::Q3_K: return "Q3_K";
    case TensorType::Q4_K: return "Q4_K";
    case TensorType::Q5_K: return "Q5_K";
    case TensorType::Q6_K: return "Q6_K";
    case TensorType::Q8_K: return "Q8_K";
    case TensorType::BF16: return "BF16";
  }
  return "type " + std::to_string(t);
}

bool tensor_type_layout(uint32_t t, int64_t* block_elems, int64_t* block_bytes) {
  int64_t e = 0, b = 0;
  switch (static_cast<TensorType>(t)) {
    case TensorType::F32: e = 1; b = 4; break;
    case TensorType::F16: e = 1; b = 2; break;
    case TensorType::BF16: e = 1; b = 2; break;
    case TensorType::Q4_0: e = 32; b = 2 + 16; break;      // fp16 d, 16 bytes of nibbles
    case TensorType::Q4_1: e = 32; b = 2 + 2 + 16; break;  // fp16 d, fp16 m, 16 bytes of nibbles
    case TensorType::Q8_0: e = 32; b = 2 + 32; break;      // fp16 d, 32 int8
    case TensorType::Q6_K: e = 256; b = 128 + 64 + 16 + 2; break;  // ql, qh, int8 scales, fp16 d
    default: return false;
  }
  *block_elems = e;
  *block_bytes = b;
  return true;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h >> 15) << 31;
  const uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float f;
  if (exp == 0) {
    f = std::ldexp(static_cast<float>(man), -24);  // zero or subnormal: man x 2^-24, exact
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits |= sign;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  uint32_t bits = exp == 31 ? (sign | 0x7f800000u | (man << 13)) : (sign | ((exp + 112) << 23) | (man << 13));
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {
uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
}  // namespace

void dequantize_row(uint32_t type, const uint8_t* src, int64_t n, float* out) {
  int64_t be = 0, bb = 0;
  if (!tensor_type_layout(type, &be, &bb))
    throw InputError("GGUF: tensor type " + tensor_type_name(type) + " is not supported by this reader");
  if (n % be != 0) throw InputError("GGUF: element count is not a multiple of the type's block");
  const int64_t blocks = n / be;
  switch (static_cast<TensorType>(type)) {
    case TensorType::F32: std::memcpy(out, src, static_cast<size_t>(n) * 4); return;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(rd16(src + 2 * i));
      return;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_float(rd16(src + 2 * i));
      return;
    case TensorType::Q4_0:
      // x[j] = (low nibble of qs[j] - 8) d, x[j + 16] = (high nibble - 8) d.
      for (int64_t b = 0; b < blocks; ++b, src += bb, out += 32) {
        const float d = half_to_float(rd16(src));
        const uint8_t* qs = src + 2;
        for (int j = 0; j < 16; ++j) {
          out[j] = static_cast<float>((qs[j] & 0x0f) - 8) * d;
          out[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
        }
      }
      return;
    case TensorType::Q4_1:
      // x[j] = (low nibble of qs[j]) d + m, x[j + 16] = (high nibble) d + m.
      for (int64_t b = 0; b < blocks; ++b, src += bb, out += 32) {
        const float d = half_to_float(rd16(src)), m = half_to_float(rd16(src + 2));
        const uint8_t* qs = src + 4;
        for (int j = 0; j < 16; ++j) {
          out[j] = static_cast<float>(qs[j] & 0x0f) * d + m;
          out[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
        }
      }
      return;
    case TensorType::Q8_0:
      for (int64_t b = 0; b < blocks; ++b, src += bb, out += 32) {
        const float d = half_to_float(rd16(src));
        for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(static_cast<int8_t>(src[2 + j])) * d;
      }
      return;
    case TensorType::Q6_K:
      // 256 elements as two halves of 128. In half h (ql += 64 h, qh += 32 h, scales += 8 h), for
      // l in 0..31 the 6-bit codes (value - 32) are
      //   x[l]      = low nibble of ql[l]      | bits 0-1 of qh[l] << 4
      //   x[l + 32] = low nibble of ql[l + 32] | bits 2-3 of qh[l] << 4
      //   x[l + 64] = high nibble of ql[l]     | bits 4-5 of qh[l] << 4
      //   x[l + 96] = high nibble of ql[l + 32]| bits 6-7 of qh[l] << 4
      // and element i of the half uses the int8 scale sc[i / 16]; value = d * sc * (code - 32).
      for (int64_t b = 0; b < blocks; ++b, src += bb) {
        const uint8_t* ql = src;
        const uint8_t* qh = src + 128;
        const int8_t* sc = reinterpret_cast<const int8_t*>(src + 192);
        const float d = half_to_float(rd16(src + 208));
        for (int h = 0; h < 2; ++h, ql += 64, qh += 32, sc += 8, out += 128) {
          for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            out[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
            out[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
            out[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
            out[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
          }
        }
      }
      return;
    default: break;
  }
  throw InputError("GGUF: tensor type " + tensor_type_name(type) + " is not supported by this reader");
}

File File::load(const std::string& path) {
  check_input_file(path, "--gguf", kMaxTensorFileBytes);
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path + ": cannot open");
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw InputError(path + ": read error");
  return parse(std::move(b), path);
}

File File::parse(std::vector<uint8_t> bytes, const std::string& source) {
  File g;
  g.source_ = source;
  g.bytes_ = std::move(bytes);
  Cursor c(g.bytes_, g.source_);
  c.need(4, "magic");
  if (std::memcmp(g.bytes_.data(), "GGUF", 4) != 0) c.fail("not a GGUF file (the first 4 bytes are not 'GGUF')");
  (void)c.read<uint32_t>("magic");
  g.version_ = c.read<uint32_t>("version");
  if (g.version_ != 3) c.fail("version " + std::to_string(g.version_) + " is not supported (only version 3)");
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  // A key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor entry at least
  // 8 + 4 + 4 + 8 bytes.
  if (n_kv > c.remaining() / 13)
    c.fail("metadata count " + std::to_string(n_kv) + " does not fit in the file");
  if (n_tensors > c.remaining() / 24)
    c.fail("tensor count " + std::to_string(n_tensors) + " does not fit in the file");
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = c.str("metadata key");
    const uint32_t t = c.read<uint32_t>("metadata value type");
    if (!valid_value_type(t)) c.fail("metadata '" + key + "': unknown value type " + std::to_string(t));
    Value v = read_value(c, static_cast<ValueType>(t), 0, key);
    if (g.kv_.count(key)) c.fail("metadata key '" + key + "' appears twice");
    g.kv_.emplace(std::move(key), std::move(v));
  }
  if (g.has("general.alignment")) {
    const Value& a = g.kv_.at("general.alignment");
    if (a.type != ValueType::U32) c.fail("general.alignment must be a u32");
    if (a.u == 0 || (a.u & (a.u - 1)) != 0 || a.u > (1u << 20))
      c.fail("general.alignment " + std::to_string(a.u) + " is not a power of two up to 2^20");
    g.alignment_ = static_cast<uint32_t>(a.u);
  }
  g.tensors_.reserve(static_cast<size_t>(n_tensors));
  std::set<std::string> names;
  for (uint64_t k = 0; k < n_tensors; ++k) {
    TensorInfo t;
    t.name = c.str("tensor name");
    const std::string what = "tensor '" + t.name + "'";
    const uint32_t nd = c.read<uint32_t>("tensor dimension count");
    if (nd == 0 || nd > 4) c.fail(what + ": " + std::to_string(nd) + " dimensions (1 to 4 allowed)");
    for (uint32_t d = 0; d < nd; ++d) {
      const uint64_t ne = c.read<uint64_t>("tensor dimension");
      if (ne == 0 || ne > static_cast<uint64_t>(kMaxElements))
        c.fail(what + ": dimension " + std::to_string(ne) + " is 0 or over 2^48");
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    t.type = c.read<uint32_t>("tensor type");
    t.offset = c.read<uint64_t>("tensor offset");
    t.elements = shape_elements(t.ne, source + ": GGUF: " + what);
    int64_t be = 0, bb = 0;
    if (!tensor_type_layout(t.type, &be, &bb))
      c.fail(what + ": tensor type " + tensor_type_name(t.type) + " is not supported by this reader");
    if (t.ne[0] % be != 0)
      c.fail(what + ": first dimension " + std::to_string(t.ne[0]) + " is not a multiple of " + tensor_type_name(t.type) +
             "'s block of " + std::to_string(be));
    t.bytes = checked_mul(t.elements / be, bb, source + ": GGUF: " + what + " byte size");
    if (t.offset % g.alignment_ != 0)
      c.fail(what + ": offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(g.alignment_));
    if (!names.insert(t.name).second) c.fail(what + " appears twice");
    g.tensors_.push_back(std::move(t));
  }
  g.data_offset_ = align_up(c.pos(), g.alignment_, c);
  const uint64_t size = g.bytes_.size();
  if (g.data_offset_ > size && !g.tensors_.empty()) c.fail("the data section starts past the end of the file");
  for (const TensorInfo& t : g.tensors_) {
    const uint64_t room = size >= g.data_offset_ ? size - g.data_offset_ : 0;
    if (t.offset > room || static_cast<uint64_t>(t.bytes) > room - t.offset)
      throw InputError(source + ": GGUF: tensor '" + t.name + "': " + std::to_string(t.bytes) + " byte(s) at data offset " +
                       std::to_string(t.offset) + " run past the end of the file (data section of " +
                       std::to_string(room) + " byte(s); truncated or corrupt file)");
  }
  return g;
}

const Value& File::get(const std::string& key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) throw InputError(source_ + ": GGUF: metadata key '" + key + "' is missing");
  return it->second;
}

namespace {
[[noreturn]] void wrong_type(const std::string& src, const std::string& key, const Value& v, const char* want) {
  throw InputError(src + ": GGUF: metadata '" + key + "' is " + value_type_name(v.type) + ", expected " + want);
}
bool is_uint(ValueType t) {
  return t == ValueType::U8 || t == ValueType::U16 || t == ValueType::U32 || t == ValueType::U64;
}
bool is_sint(ValueType t) {
  return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}
}  // namespace

uint64_t File::get_uint(const std::string& key) const {
  const Value& v = get(key);
  if (is_uint(v.type)) return v.u;
  if (is_sint(v.type) && v.i >= 0) return static_cast<uint64_t>(v.i);
  wrong_type(source_, key, v, "a non-negative integer");
}

int64_t File::get_int(const std::string& key) const {
  const Value& v = get(key);
  if (is_sint(v.type)) return v.i;
  if (is_uint(v.type) && v.u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return static_cast<int64_t>(v.u);
  wrong_type(source_, key, v, "an integer");
}

double File::get_float(const std::string& key) const {
  const Value& v = get(key);
  if (v.type == ValueType::F32 || v.type == ValueType::F64) return v.f;
  wrong_type(source_, key, v, "f32 or f64");
}

bool File::get_bool(const std::string& key) const {
  const Value& v = get(key);
  if (v.type == ValueType::BOOL) return v.u != 0;
  wrong_type(source_, key, v, "bool");
}

const std::string& File::get_string(const std::string& key) const {
  const Value& v = get(key);
  if (v.type == ValueType::STRING) return v.str;
  wrong_type(source_, key, v, "string");
}

std::vector<std::string> File::get_string_array(const std::string& key) const {
  const Value& v = get(key);
  if (v.type != ValueType::ARRAY || v.array_type != ValueType::STRING) wrong_type(source_, key, v, "an array of strings");
  std::vector<std::string> out;
  out.reserve(v.items.size());
  for (const Value& x : v.items) out.push_back(x.str);
  return out;
}

std::vector<int64_t> File::get_int_array(const std::string& key) const {
  const Value& v = get(key);
  if (v.type != ValueType::ARRAY || !(is_uint(v.array_type) || is_sint(v.array_type)))
    wrong_type(source_, key, v, "an array of integers");
  std::vector<int64_t> out;
  out.reserve(v.items.size());
  for (const Value& x : v.items) {
    if (is_uint(x.type) && x.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw InputError(source_ + ": GGUF: metadata '" + key + "': element out of range");
    out.push_back(is_uint(x.type) ? static_cast<int64_t>(x.u) : x.i);
  }
  return out;
}

const TensorInfo* File::find_tensor(const std::string& name) const {
  for (const TensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const TensorInfo& File::tensor(const std::string& name) const {
  const TensorInfo* t = find_tensor(name);
  if (!t) throw InputError(source_ + ": GGUF: tensor '" + name + "' is missing");
  return *t;
}

std::vector<float> File::dequantize(const TensorInfo& t) const {
  std::vector<float> out(static_cast<size_t>(t.elements));
  dequantize_row(t.type, bytes_.data() + data_offset_ + t.offset, t.elements, out.data());
  return out;
}

}  // namespace nqkv::io::gguf
