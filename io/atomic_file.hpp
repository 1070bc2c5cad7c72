// Writing output files so that a failure never leaves a partial file behind: the bytes go to a
// temporary file beside the target, which is renamed over the target only once complete.
#pragma once
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace nqkv::io {

// Calls `write` with a stream on a temporary file in the target's directory, flushes and closes
// it, then renames it to `path`. If `write` throws or the stream fails, the temporary file is
// removed, `path` is left untouched, and the exception propagates (an InputError for I/O errors).
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

// Convenience for text outputs (reports, CSV, JSON).
void write_text_atomically(const std::string& path, const std::string& text);

// Checks every command makes before any work, so that a bad path fails at once in one line (an
// InputError naming the flag) instead of after a long run, and so that no input is ever replaced.

// Size caps of whole-file readers (nqkv reads its inputs into memory).
inline constexpr uint64_t kMaxTensorFileBytes = uint64_t{8} << 30;  // safetensors, checkpoints
inline constexpr uint64_t kMaxTextFileBytes = uint64_t{64} << 20;   // texts, tokenizers
inline constexpr uint64_t kMaxJsonFileBytes = uint64_t{16} << 20;   // config.json, --hw-file

// An input file: it must exist and be a regular file (a directory, FIFO or device such as
// /dev/zero is refused, never read) of at most max_bytes.
void check_input_file(const std::string& path, const std::string& flag, uint64_t max_bytes);

// An output file: its directory must exist and accept a new file (probed by creating and removing
// a temporary file), an existing `path` must be a regular file (not a directory, FIFO or device),
// and it must not be any of `inputs` (the same file under another name included).
void check_output_file(const std::string& path, const std::string& flag, const std::vector<std::string>& inputs = {});

// An output directory that the command creates if missing: the directory, or else its nearest
// existing ancestor, must be a directory that accepts new entries.
void check_output_dir(const std::string& path, const std::string& flag);

// The outputs of one command, as (path, flag), must be distinct files ("" entries are ignored).
void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs);

}  // namespace nqkv::io
