#!/usr/bin/env bash
# Quick start, command 2: set up (install, configure, build), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
