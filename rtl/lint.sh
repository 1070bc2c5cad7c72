#!/usr/bin/env bash
# verilator --lint-only -Wall with every module as the top (default parameters) and the top at
# the parameter corners LANES 4/64, BLOCK_MAX 32/256, BITS_MAX 2/3/4. Exit status 1 on any warning.
set -u
cd "$(dirname "$0")"
SRC="nq_widen.sv nq_recip_stage.sv nq_recip.sv nq_quant_lane.sv nq_fifo.sv nq_quantizer.sv nq_scale_parts.sv nq_dequant_mac.sv nq_accel_top.sv"
rc=0
for m in $SRC; do
  top=${m%.sv}
  verilator --lint-only -Wall $SRC --top-module "$top" || { echo "lint: $top FAILED"; rc=1; }
done
for p in "-GLANES=4 -GBLOCK_MAX=32 -GBITS_MAX=2" "-GLANES=64 -GBLOCK_MAX=256 -GBITS_MAX=3" \
         "-GLANES=16 -GBLOCK_MAX=128 -GBITS_MAX=4 -GACC_W=40 -GDIV_SPS=2" "-GLANES=64 -GBLOCK_MAX=64 -GDMAX=128"; do
  verilator --lint-only -Wall $SRC --top-module nq_accel_top $p || { echo "lint: nq_accel_top $p FAILED"; rc=1; }
done
[ $rc = 0 ] && echo "lint: clean (9 modules, 4 parameter corners)"
exit $rc
