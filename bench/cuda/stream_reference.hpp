#pragma once
#include <cstddef>
// Reads in_bytes (a multiple of 64, 16-byte aligned) from `in` and writes in_bytes / 4 to `out` on
// `stream` (a cudaStream_t; nullptr: the default stream): a streaming kernel with quantize-append's
// traffic and no other work.
void stream_fold4(const void* in, void* out, size_t in_bytes, void* stream = nullptr);
