// Harness: io/safetensors (SafeTensors::parse, the reader under every .safetensors input).
// Accepted files must give tensors whose data matches dtype x shape, and must survive a
// to_bytes/parse round trip unchanged.
#include <algorithm>

#include "fuzz/common.hpp"
#include "fuzz/safetensors_mutator.hpp"
#include "io/safetensors.hpp"

using namespace nqkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  io::SafeTensors st;
  if (!fuzz::accepts([&] { st = io::SafeTensors::parse(fuzz::bytes_of(data, size), "fuzz.safetensors"); })) return 0;
  for (const auto& [name, t] : st.tensors) {
    const size_t n = t.numel();  // validated by the reader: must not throw here
    // The shape product without wrap-around (saturating at 2^64; 0 when any dimension is 0).
    unsigned __int128 exact = 1;
    for (int64_t d : t.shape) NQKV_FUZZ_CHECK(d >= 0);
    for (int64_t d : t.shape) exact = d == 0 ? 0 : std::min<unsigned __int128>(exact * static_cast<uint64_t>(d), static_cast<unsigned __int128>(1) << 64);
    NQKV_FUZZ_CHECK(exact == n);
    NQKV_FUZZ_CHECK(t.data.size() == n * io::dtype_size(t.dtype));
    switch (io::dtype_size(t.dtype)) {
      case 1: NQKV_FUZZ_CHECK(t.values<uint8_t>().size() == n); break;
      case 2: NQKV_FUZZ_CHECK(t.values<uint16_t>().size() == n); break;
      case 4: NQKV_FUZZ_CHECK(t.values<uint32_t>().size() == n); break;
      case 8: NQKV_FUZZ_CHECK(t.values<uint64_t>().size() == n); break;
      default: NQKV_FUZZ_CHECK(false);
    }
    NQKV_FUZZ_CHECK(&st.get(name) == &t);
  }
  // What we accept we can write, and what we write reads back identically.
  const io::SafeTensors back = io::SafeTensors::parse(st.to_bytes(), "roundtrip.safetensors");
  NQKV_FUZZ_CHECK(back.metadata == st.metadata);
  NQKV_FUZZ_CHECK(back.tensors.size() == st.tensors.size());
  for (const auto& [name, t] : st.tensors) {
    const io::Tensor& u = back.get(name);
    NQKV_FUZZ_CHECK(u.dtype == t.dtype && u.shape == t.shape && u.data == t.data);
  }
  return 0;
}
