#include "io/safetensors.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/atomic_file.hpp"
#include "io/sizes.hpp"

namespace nqkv::io {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2}, {DType::F32, "F32", 4}, {DType::F64, "F64", 8},
    {DType::I8, "I8", 1},   {DType::U8, "U8", 1},     {DType::I16, "I16", 2}, {DType::U16, "U16", 2},
    {DType::I32, "I32", 4}, {DType::U32, "U32", 4},   {DType::I64, "I64", 8}, {DType::U64, "U64", 8},
    {DType::BOOL, "BOOL", 1},
};

const DTypeInfo& info(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i;
  throw std::logic_error("unknown DType");
}

// Headers larger than this are not safetensors files we wrote or would accept (the format's own
// reference implementation caps it at 100 MB).
constexpr uint64_t kMaxHeader = 100u << 20;

}  // namespace

const char* dtype_name(DType d) { return info(d).name; }
size_t dtype_size(DType d) { return info(d).size; }
DType dtype_from_name(const std::string& name) {
  for (const auto& i : kDTypes)
    if (name == i.name) return i.dtype;
  throw InputError("unsupported safetensors dtype '" + name + "'");
}

size_t Tensor::numel() const { return static_cast<size_t>(shape_elements(shape, "tensor shape")); }

void Tensor::check_element_size(size_t bytes) const {
  if (bytes != dtype_size(dtype))
    throw std::logic_error(std::string("Tensor element size mismatch for dtype ") + dtype_name(dtype));
}

SafeTensors SafeTensors::load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(path + (std::filesystem::is_directory(path, ec) ? ": is a directory"
                             : std::filesystem::exists(path, ec)     ? ": not a regular file"
                                                                     : ": cannot open file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path + ": read error");
  return parse(bytes, path);
}

SafeTensors SafeTensors::parse(const std::string& bytes, const std::string& path) {
  auto fail = [&](const std::string& why) { return InputError(path + ": not a valid safetensors file: " + why); };
  if (bytes.size() < 8) throw fail("truncated (shorter than the 8-byte header length)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  if (header_len > kMaxHeader || header_len > bytes.size() - 8)
    throw fail("header length " + std::to_string(header_len) + " exceeds the file (truncated or corrupt)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  } catch (const std::exception&) {
    throw fail("header is not valid JSON");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const size_t data_begin = 8 + header_len;
  const size_t data_size = bytes.size() - data_begin;
  SafeTensors st;
  st.source = path;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) throw fail("__metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) throw fail("metadata value for '" + m.key() + "' is not a string");
        st.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const auto& e = it.value();
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets") ||
        !e["dtype"].is_string() || !e["shape"].is_array() || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2)
      throw fail("entry '" + it.key() + "' lacks dtype/shape/data_offsets");
    Tensor t;
    try {
      t.dtype = dtype_from_name(e["dtype"].get<std::string>());
    } catch (const InputError& err) {
      throw fail("tensor '" + it.key() + "': " + err.what());
    }
    for (const auto& d : e["shape"]) {
      // is_number_integer is also true for unsigned values above INT64_MAX: those are too large.
      if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > uint64_t(kMaxElements)) ||
          d.get<int64_t>() < 0)
        throw fail("tensor '" + it.key() + "' has a bad shape");
      t.shape.push_back(d.get<int64_t>());
    }
    const auto& off = e["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) throw fail("bad data_offsets");
    const uint64_t b = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (b > end || end > data_size)
      throw fail("tensor '" + it.key() + "' lies outside the file (truncated or corrupt)");
    const int64_t bytes_needed =
        checked_mul(shape_elements(t.shape, path + ": tensor '" + it.key() + "'"), static_cast<int64_t>(dtype_size(t.dtype)),
                    path + ": tensor '" + it.key() + "'");
    if (end - b != static_cast<uint64_t>(bytes_needed))
      throw fail("tensor '" + it.key() + "' byte size does not match its shape and dtype");
    t.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_begin + b),
                  bytes.begin() + static_cast<std::ptrdiff_t>(data_begin + end));
    st.tensors.emplace(it.key(), std::move(t));
  }
  return st;
}

std::string SafeTensors::to_bytes() const {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string h = header.dump();
  // Pad the header with spaces to an 8-byte multiple so the data is aligned for zero-copy readers.
  while ((h.size() % 8) != 0) h.push_back(' ');
  std::string out;
  out.reserve(8 + h.size() + offset);
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += h;
  for (const auto& [name, t] : tensors) out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
  return out;
}

void SafeTensors::save(const std::string& path) const {
  const std::string bytes = to_bytes();
  write_file_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

const Tensor& SafeTensors::get(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) {
    std::string names;
    for (const auto& [n, t] : tensors) names += (names.empty() ? "" : ", ") + n;
    throw InputError(source + ": no tensor named '" + name + "' (has: " + names + ")");
  }
  return it->second;
}

}  // namespace nqkv::io
