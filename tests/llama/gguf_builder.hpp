// Writes small GGUF v3 files byte by byte for the tests (and the fuzz seeds): the layout of the
// GGUF specification, independent of io/gguf.cpp's reader.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace nqkv::test {

class GgufBuilder {
 public:
  std::vector<uint8_t> kv;  // metadata bytes
  uint64_t n_kv = 0;
  struct T {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    std::vector<uint8_t> data;
  };
  std::vector<T> tensors;
  uint32_t alignment = 32;

  template <class V>
  static void put(std::vector<uint8_t>& b, V v) {
    uint8_t tmp[sizeof(V)];
    std::memcpy(tmp, &v, sizeof(V));
    b.insert(b.end(), tmp, tmp + sizeof(V));
  }
  static void put_str(std::vector<uint8_t>& b, const std::string& s) {
    put<uint64_t>(b, s.size());
    b.insert(b.end(), s.begin(), s.end());
  }
  void key(const std::string& k, uint32_t type) {
    put_str(kv, k);
    put<uint32_t>(kv, type);
    ++n_kv;
  }
  void u32(const std::string& k, uint32_t v) { key(k, 4); put(kv, v); }
  void f32(const std::string& k, float v) { key(k, 6); put(kv, v); }
  void str(const std::string& k, const std::string& v) { key(k, 8); put_str(kv, v); }
  void str_array(const std::string& k, const std::vector<std::string>& v) {
    key(k, 9);
    put<uint32_t>(kv, 8);
    put<uint64_t>(kv, v.size());
    for (const auto& s : v) put_str(kv, s);
  }
  void i32_array(const std::string& k, const std::vector<int32_t>& v) {
    key(k, 9);
    put<uint32_t>(kv, 5);
    put<uint64_t>(kv, v.size());
    for (int32_t x : v) put(kv, x);
  }
  void tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, std::vector<uint8_t> data) {
    tensors.push_back({name, std::move(ne), type, std::move(data)});
  }
  void tensor_f32(const std::string& name, std::vector<uint64_t> ne, const std::vector<float>& v) {
    std::vector<uint8_t> d(v.size() * 4);
    std::memcpy(d.data(), v.data(), d.size());
    tensor(name, std::move(ne), 0, std::move(d));
  }
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> b{'G', 'G', 'U', 'F'};
    put<uint32_t>(b, 3);
    put<uint64_t>(b, tensors.size());
    put<uint64_t>(b, n_kv);
    b.insert(b.end(), kv.begin(), kv.end());
    uint64_t off = 0;
    std::vector<uint64_t> offs;
    for (const T& t : tensors) {
      put_str(b, t.name);
      put<uint32_t>(b, static_cast<uint32_t>(t.ne.size()));
      for (uint64_t d : t.ne) put(b, d);
      put<uint32_t>(b, t.type);
      put<uint64_t>(b, off);
      offs.push_back(off);
      off += t.data.size();
      off = (off + alignment - 1) / alignment * alignment;
    }
    while (b.size() % alignment) b.push_back(0);
    const size_t base = b.size();
    for (size_t i = 0; i < tensors.size(); ++i) {
      b.resize(base + offs[i]);
      b.insert(b.end(), tensors[i].data.begin(), tensors[i].data.end());
    }
    return b;
  }
};

}  // namespace nqkv::test
