#!/usr/bin/env bash
# Quick start, command 1: set up (install, configure, build), then run the main job on the
# embedded default workload (one OPT-6.7B-shaped decode step through every backend).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./build/tools/nqkv/nqkv run "$@"
