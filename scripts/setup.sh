#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages), then configures and builds nqkv in ./build.
# Idempotent: a second run installs nothing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libcli11-dev nlohmann-json3-dev libfmt-dev libeigen3-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  verilator libsystemc-dev yosys
  gnuplot-nox python3 libssl-dev
  clang libclang-rt-14-dev
  libopenmpi-dev openmpi-bin
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python packages (PyPI) for tests/cli/bnb_compare.py, which runs bitsandbytes' own NF4 quantizer
# (its CPU kernel) against nqkv. bitsandbytes needs torch; PyPI's Linux torch wheel brings its CUDA
# libraries: about 5.5 GB installed and 2.5-7 minutes here. Skipped when already importable, or with
# NQKV_SETUP_PYTHON=0 (the test then skips with the reason).
if [ "${NQKV_SETUP_PYTHON:-1}" != 0 ] && ! python3 -c "import bitsandbytes, torch, numpy" >/dev/null 2>&1; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  fi
  echo "setup: pip install bitsandbytes==0.50.2 numpy (and torch)"
  # Debian's own python3 is "externally managed" (PEP 668): allow pip to install beside it.
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q bitsandbytes==0.50.2 numpy
fi

BUILD_DIR=${NQKV_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
