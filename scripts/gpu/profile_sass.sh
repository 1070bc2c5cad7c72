#!/usr/bin/env bash
# SASS-level profile on the device (the development machine has no cuobjdump/nvdisasm):
# per-instruction executed counts (Nsight Compute source page, SASS view) of the fused decode
# kernel and of quantize-append, plus the static SASS of the carried bench binary.
# Usage: scripts/gpu/profile_sass.sh OUTDIR [decode_filter] [append_filter]
# Env: PROF_CARRY (binary folder, default build-cuda/devcarry; e.g. build-cuda/devcarry_prev to profile
# the carried previous build), PROF_KINDS (default "dec app"; "dec" skips quantize-append).
set -u
OUTD=${1:?outdir}
DF=${2:-BM_DecodeAttention/B:32/Hq:32/Hkv:8/D:128/T:8192/blk:64/bits:4}
AF=${3:-BM_QuantizeAppend/B:32/Hkv:8/D:128/n_new:512/blk:64/bits:4}
C=${PROF_CARRY:-build-cuda/devcarry}
export LD_LIBRARY_PATH=$PWD/$C/lib:${LD_LIBRARY_PATH:-}
export PATH=$PATH:/usr/local/cuda/bin
T=$(mktemp -d)
cuobjdump -sass $C/bench_cuda > $T/all.sass 2>&1; echo "cuobjdump rc=$?"
gzip -c $T/all.sass > "$OUTD/bench_sass.txt.gz"
for kind in ${PROF_KINDS:-dec app}; do
  if [ $kind = dec ]; then F=$DF; K=regex:decode_; else F=$AF; K=regex:append_kernel; fi
  timeout 120 ncu --section SourceCounters --section InstructionStats --section WarpStateStats --section SpeedOfLight \
    --section Occupancy --section LaunchStats -k $K --launch-skip 3 -c 1 -o $T/$kind $C/bench_cuda --benchmark_filter="$F" > $T/$kind.log 2>&1
  echo "ncu $kind rc=$?"
  ncu -i $T/$kind.ncu-rep --page source --csv --print-source sass > $T/${kind}_src.csv 2>&1 || echo "source page failed"
  ncu -i $T/$kind.ncu-rep --page details > "$OUTD/${kind}_details.txt" 2>&1
  gzip -c $T/${kind}_src.csv > "$OUTD/${kind}_sass_counts.csv.gz"
  grep -E "Duration|Throughput|Registers|Executed Ipc|Issue Slots|Warp Cycles Per Issued|Achieved Occ|Theoretical Occ" "$OUTD/${kind}_details.txt" | head -20
done
head -c 600 $T/dec_src.csv; echo
