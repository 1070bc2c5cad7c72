# NQKV_FUZZ (fuzz/README.md): a libFuzzer build. Included by the top CMakeLists.txt before any
# library is added, because the libraries under test must be instrumented too: with clang, every
# target gets coverage instrumentation (-fsanitize=fuzzer-no-link) plus ASan and UBSan (UB aborts:
# -fno-sanitize-recover=all), and fuzz/ adds one fuzz_<harness> executable per harness. Build only
# those targets in such a tree (scripts/fuzz.sh does): the rest of the project is not meant to
# link with the fuzzer runtime. With another compiler the option only warns.
option(NQKV_FUZZ "Build libFuzzer harnesses with ASan+UBSan (clang only; see fuzz/README.md)" OFF)
set(NQKV_FUZZING OFF)
if(NQKV_FUZZ)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    set(NQKV_FUZZING ON)
    add_compile_options($<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=fuzzer-no-link,address,undefined>
                        $<$<COMPILE_LANGUAGE:C,CXX>:-fno-sanitize-recover=all> $<$<COMPILE_LANGUAGE:C,CXX>:-fno-omit-frame-pointer>)
    add_link_options(-fsanitize=address,undefined)
    message(STATUS "nqkv: fuzzing build (libFuzzer, ASan, UBSan)")
  else()
    message(WARNING "nqkv: NQKV_FUZZ needs clang (CC=clang CXX=clang++); only the replay tests are built")
  endif()
endif()
