// A verilated top's bus ports <-> 32-bit words (word k bit j = bus bit 32k + j): Verilator's C++
// port types are uint8/16/32/64 up to 64 bits and VlWide<N> above. Used by the RTL's Dut adapter
// (dut_models.cpp) and by the benchmarks that drive the verilated tops on their ports.
// Include after verilated.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace nqkv::sim {

template <class T>
std::enable_if_t<std::is_integral_v<T>> put_words(T& port, const uint32_t* w, int bits) {
  uint64_t v = w[0];
  if (bits > 32) v |= static_cast<uint64_t>(w[1]) << 32;
  port = static_cast<T>(v);
}
template <std::size_t N>
void put_words(VlWide<N>& port, const uint32_t* w, int) {
  for (std::size_t i = 0; i < N; ++i) port[i] = w[i];
}
template <class T>
std::enable_if_t<std::is_integral_v<T>> get_words(const T& port, uint32_t* w, int bits) {
  const uint64_t v = port;
  w[0] = static_cast<uint32_t>(v);
  if (bits > 32) w[1] = static_cast<uint32_t>(v >> 32);
}
template <std::size_t N>
void get_words(const VlWide<N>& port, uint32_t* w, int) {
  for (std::size_t i = 0; i < N; ++i) w[i] = port[i];
}

}  // namespace nqkv::sim
