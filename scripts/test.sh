#!/usr/bin/env bash
# Quick start, command 2: set up (install, configure, build), then run every test:
#  1. the CTest suite of the release build (build/);
#  2. the same suite without Verilator and CUDA under AddressSanitizer + UBSan (scripts/sanitize.sh,
#     build-asan/);
#  3. a short libFuzzer run of every parser harness (scripts/fuzz.sh, build-fuzz/; clang).
# NQKV_TEST_QUICK=1 runs step 1 only. Extra arguments go to step 1's ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
(cd build && ctest --output-on-failure -j "$(nproc)" "$@")
if [ "${NQKV_TEST_QUICK:-0}" = 1 ]; then exit 0; fi
./scripts/sanitize.sh
./scripts/fuzz.sh --seconds "${NQKV_FUZZ_SECONDS:-10}"
