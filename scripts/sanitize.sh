#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (gcc): the libraries, the
# nqkv CLI and every test that needs neither Verilator nor CUDA (the verilated models are
# generated code; the RTL is checked by its own assertions and the lock-step). Any sanitizer
# report fails the run. Build directory: build-asan (NQKV_ASAN_BUILD_DIR overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${NQKV_ASAN_BUILD_DIR:-build-asan}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # -O1 without -g: the sanitizers need no debug info to name functions, and the build stays short
  # enough for CI (no benchmarks either).
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=None -DNQKV_ENABLE_CUDA=OFF -DNQKV_BUILD_BENCH=OFF \
    -DCMAKE_DISABLE_FIND_PACKAGE_verilator=ON \
    -DCMAKE_CXX_FLAGS="-O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$BUILD_DIR"
# Label mpi (tests run under mpirun): OpenMPI's own allocations from MPI_Init, in components it
# dlopens and unloads again, are reported by LeakSanitizer as leaks with no module to suppress.
ctest --output-on-failure -j "$(nproc)" -LE "gpu|bench|mpi" "$@"
