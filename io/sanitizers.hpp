// Whether this translation unit is built with AddressSanitizer (gcc defines __SANITIZE_ADDRESS__,
// clang answers __has_feature(address_sanitizer)). ASan reserves terabytes of address space for
// its shadow memory, so such a build cannot run under RLIMIT_AS, and it is slow enough that tests
// skip their heaviest work there.
#pragma once

namespace nqkv::io {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace nqkv::io
