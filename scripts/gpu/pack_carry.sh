#!/usr/bin/env bash
# Collects the CUDA test/bench binaries, the nqkv CLI (golden gen/check on the device) and their
# non-system shared libraries into build-cuda/devcarry (git-ignored) for the device run: `run` with
# carry ["build-cuda/devcarry"].
set -eu
B=${1:-build-cuda}
cmake --build "$B" --target cuda_golden_tests bench_cuda nqkv -j2
D=$B/devcarry; rm -rf "$D"; mkdir -p "$D/lib"
cp "$B/tests/cuda/cuda_golden_tests" "$B/bench/cuda/bench_cuda" "$B/tools/nqkv/nqkv" "$D/"
strip --strip-debug "$D/cuda_golden_tests" "$D/bench_cuda" "$D/nqkv" 2>/dev/null || true
# Every shared library outside the C/C++ runtime and the CUDA driver (the device image has its own).
for f in $(ldd "$D/cuda_golden_tests" "$D/bench_cuda" "$D/nqkv" | awk '/=>/{print $3}' | sort -u); do
  case "$(basename "$f")" in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|ld-linux*|libpthread.so*|libdl.so*|librt.so*|libcuda.so*) ;;
    *) cp -L "$f" "$D/lib/" ;;
  esac
done
du -sh "$D"; ls "$D/lib"
