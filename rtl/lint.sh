#!/usr/bin/env bash
# verilator --lint-only -Wall with every module of rtl/nqkv_rtl.f as the top (default parameters)
# and the top at the parameter corners LANES 4/64, BLOCK_MAX 32/256, BITS_MAX 2/3/4; -I. for the
# generated nq_accel_regs.svh, --assert so the assertions (`ifndef SYNTHESIS) are linted too.
# Exit status 1 on any warning.
set -u
cd "$(dirname "$0")"
SRC=$(grep -v '^\s*\(#\|//\|$\)' nqkv_rtl.f | tr '\n' ' ')
ARGS="--lint-only -Wall --assert -I. $SRC"
rc=0
n=0
for m in $SRC; do
  top=${m%.sv}
  n=$((n + 1))
  verilator $ARGS --top-module "$top" || { echo "lint: $top FAILED"; rc=1; }
done
for p in "-GLANES=4 -GBLOCK_MAX=32 -GBITS_MAX=2" "-GLANES=64 -GBLOCK_MAX=256 -GBITS_MAX=3" \
         "-GLANES=16 -GBLOCK_MAX=128 -GBITS_MAX=4 -GACC_W=40 -GDIV_SPS=2" "-GLANES=64 -GBLOCK_MAX=64 -GDMAX=128"; do
  verilator $ARGS --top-module nq_accel_top $p || { echo "lint: nq_accel_top $p FAILED"; rc=1; }
done
[ $rc = 0 ] && echo "lint: clean ($n modules, 4 parameter corners)"
exit $rc
