// SHA-256 (OpenSSL's EVP interface) of a byte string or a file, as lowercase hex.
#pragma once
#include <string>

namespace nqkv::io {

std::string sha256_hex(const std::string& bytes);
// InputError (one line) when the file cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace nqkv::io
