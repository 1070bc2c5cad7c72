#!/bin/sh
# Builds the verilated nq_accel_top of one LANES as a shared library (rtl_plugin.cpp) for
# `nqkv dse validate --backend rtl` (NQKV_RTL_PLUGINS): the same parameters and Verilator flags as
# the built-in models of sim/CMakeLists.txt (BLOCK_MAX 256, BITS_MAX 4, DMAX 256, --assert,
# FST tracing, -O2). The DSE engine runs it in a child process (timeout, memory budget) and keys
# its cache by the RTL sources, LANES, the Verilator version and this script with rtl_plugin.cpp.
#   sim/rtl/build_plugin.sh --lanes 8 --out DIR      -> DIR/libnq_rtl.so
set -eu
lanes= out=
while [ $# -gt 0 ]; do
  case "$1" in
    --lanes) lanes=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "build_plugin.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$lanes" ] && [ -n "$out" ] || { echo "build_plugin.sh: usage: --lanes N --out DIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")/../.." && pwd)
rtl=$src/rtl
inc=$(verilator --getenv VERILATOR_ROOT)/include
mkdir -p "$out/obj"
# The RTL file list, in order (comments and blank lines skipped).
files=$(sed -e 's/#.*//' -e 's#//.*##' "$rtl/nqkv_rtl.f" | awk -v d="$rtl" 'NF { print d "/" $1 }')
# shellcheck disable=SC2086
verilator --cc --build -j 2 --Mdir "$out/obj" --prefix Vnq_plugin --top-module nq_accel_top \
  -GLANES="$lanes" -GBLOCK_MAX=256 -GBITS_MAX=4 -GDMAX=256 --x-assign unique --x-initial unique \
  -Wno-fatal -I"$rtl" --assert --trace-fst -CFLAGS -fPIC -MAKEFLAGS OPT_FAST=-O2 $files >"$out/verilator.log" 2>&1 \
  || { tail -n 20 "$out/verilator.log" >&2; exit 1; }
# The wrapper and Verilator's runtime (its own copy in the library, bound with -Bsymbolic).
${CXX:-c++} -std=c++17 -O2 -fPIC -shared -Wl,-Bsymbolic -DNQKV_PLUGIN_LANES="$lanes" \
  -DVM_COVERAGE=0 -DVM_SC=0 -DVM_TRACE=1 -DVM_TRACE_FST=1 -DVM_TRACE_VCD=0 -w \
  -I"$src" -I"$out/obj" -I"$inc" -I"$inc/vltstd" "$src/sim/rtl/rtl_plugin.cpp" \
  "$inc/verilated.cpp" "$inc/verilated_dpi.cpp" "$inc/verilated_fst_c.cpp" "$inc/verilated_threads.cpp" \
  "$out/obj/Vnq_plugin__ALL.a" -lz -pthread -o "$out/libnq_rtl.so.tmp" >>"$out/verilator.log" 2>&1 \
  || { tail -n 20 "$out/verilator.log" >&2; exit 1; }
mv "$out/libnq_rtl.so.tmp" "$out/libnq_rtl.so"
