// Writing output files so that a failure never leaves a partial file behind: the bytes go to a
// temporary file beside the target, which is renamed over the target only once complete.
#pragma once
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace nqkv::io {

// Calls `write` with a stream on a temporary file in the target's directory, flushes and closes
// it, then renames it to `path`. If `write` throws or the stream fails, the temporary file is
// removed, `path` is left untouched, and the exception propagates (an InputError for I/O errors).
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

// Convenience for text outputs (reports, CSV, JSON).
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace nqkv::io
