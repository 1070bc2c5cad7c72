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
  if (!framed || rng() % 8 == 0) return LLVMFuzzerMutate(data, size, max_size);
  const size_t data_len = size - 8 - hl;
  std::vector<uint8_t> header(data + 8, data + 8 + hl), body(data + 8 + hl, data + size);
  if (max_size < 8 + data_len + 2) return LLVMFuzzerMutate(data, size, max_size);
  if (rng() % 4 != 0 || body.empty()) {  // the JSON header, most of the time
    const size_t room = max_size - 8 - data_len;
    header.resize(std::max(room, header.size()));
    header.resize(LLVMFuzzerMutate(header.data(), hl, room));
  } else {
    const size_t room = max_size - 8 - hl;
    body.resize(std::max(room, body.size()));
    body.resize(LLVMFuzzerMutate(body.data(), data_len, room));
  }
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) data[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(data + 8, header.data(), header.size());
  std::memcpy(data + 8 + header.size(), body.data(), body.size());
  return 8 + header.size() + body.size();
}
#endif
