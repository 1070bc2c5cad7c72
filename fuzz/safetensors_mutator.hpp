// A libFuzzer custom mutator for safetensors inputs (only in fuzzing builds: NQKV_FUZZING).
// Plain byte mutations of a safetensors file almost always break the 8-byte header length, so
// nearly every mutant is rejected at once. This mutator splits a well-formed input into header
// JSON and data, mutates one of them (or, now and then, the raw bytes) and writes the header length
// back, so mutants reach the JSON checks, the shape/offset arithmetic and the readers above them.
#pragma once
#ifdef NQKV_FUZZING
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  std::minstd_rand rng(seed);
  uint64_t hl = 0;
  if (size >= 8)
    for (int i = 7; i >= 0; --i) hl = (hl << 8) | data[i];
  const bool framed = size >= 8 && hl <= size - 8;
  if (!framed || rng() % 8 == 0 || max_size < size + 1) return LLVMFuzzerMutate(data, size, max_size);
  const size_t data_len = size - 8 - hl;
  // Mutate one part in a buffer with room to grow (at least one byte, so data() is never null).
  const bool mutate_header = rng() % 4 != 0 || data_len == 0;
  const size_t part_len = mutate_header ? hl : data_len, room = max_size - (size - part_len);
  std::vector<uint8_t> part(std::max<size_t>(room, 1));
  std::copy(data + (mutate_header ? 8 : 8 + hl), data + (mutate_header ? 8 + hl : size), part.begin());
  part.resize(LLVMFuzzerMutate(part.data(), part_len, room));
  std::vector<uint8_t> out;
  out.reserve(size - part_len + part.size());
  const uint64_t n = mutate_header ? part.size() : hl;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  if (mutate_header) {
    out.insert(out.end(), part.begin(), part.end());
    out.insert(out.end(), data + 8 + hl, data + size);
  } else {
    out.insert(out.end(), data + 8, data + 8 + hl);
    out.insert(out.end(), part.begin(), part.end());
  }
  if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::copy(out.begin(), out.end(), data);
  return out.size();
}
#endif
