#!/usr/bin/env bash
# Collects the CUDA test/bench binaries and their non-system shared libraries into
# build-cuda/devcarry (git-ignored) for the device run: `run` with carry ["build-cuda/devcarry"].
set -eu
B=${1:-build-cuda}
cmake --build "$B" --target cuda_golden_tests bench_cuda -j2
D=$B/devcarry; rm -rf "$D"; mkdir -p "$D/lib"
cp "$B/tests/cuda/cuda_golden_tests" "$B/bench/cuda/bench_cuda" "$D/"
for lib in libfmt.so libbenchmark.so; do
  for f in $(ldd "$D/cuda_golden_tests" "$D/bench_cuda" | awk '/=>/{print $3}' | grep "$lib" | sort -u); do cp -L "$f" "$D/lib/"; done
done
du -sh "$D"
