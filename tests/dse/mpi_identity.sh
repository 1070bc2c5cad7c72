#!/bin/bash
# `mpirun -n P nqkv dse run` writes the same points.csv, points.jsonl and pareto.csv as `--jobs 1`,
# and only rank 0 synthesizes (the workers take its area results, timeouts included).
# Usage: mpi_identity.sh NQKV MPIEXEC SPEC_DIR SCRATCH   (CTest: tests/dse/CMakeLists.txt)
#   SPEC_DIR holds mpi_identity.yaml (no area), mpi_area.yaml (fake area script, LANES 8 fails)
#   and mpi_area_timeout.yaml (its one synthesis times out in tests/dse/slow_area.py: not cached).
set -euo pipefail
nqkv=$1 mpiexec=$2 specs=$3 dir=$4
rm -rf "$dir" && mkdir -p "$dir"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$(dirname "$0")/../.."  # the repository root: the specs name tests/dse/fake_area.py from there
syntheses() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

compare() {  # compare NAME SPEC P [ENV...]: --jobs 1 and mpirun -n P, each with a fresh cache
  local name=$1 spec=$2 p=$3
  shift 3
  env "$@" NQKV_FAKE_AREA_LOG="$dir/$name.serial.log" \
    "$nqkv" dse run "$spec" -o "$dir/$name.serial" --jobs 1 --quiet --cache "$dir/$name.serial.cache"
  env "$@" NQKV_FAKE_AREA_LOG="$dir/$name.mpi$p.log" \
    "$mpiexec" -n "$p" --oversubscribe "$nqkv" dse run "$spec" -o "$dir/$name.mpi$p" --quiet --cache "$dir/$name.mpi$p.cache"
  for f in points.csv points.jsonl pareto.csv; do
    cmp "$dir/$name.serial/$f" "$dir/$name.mpi$p/$f"
  done
  grep -q '"ranks": *'"$p" "$dir/$name.mpi$p/summary.json" || { echo "$name: summary.json does not record $p ranks"; exit 1; }
  local s m
  s=$(syntheses "$dir/$name.serial.log") m=$(syntheses "$dir/$name.mpi$p.log")
  [ "$s" = "$m" ] || { echo "$name: $m syntheses under mpirun -n $p, $s with --jobs 1 (workers must not synthesize)"; exit 1; }
  echo "mpi_identity: $name: outputs identical for --jobs 1 and mpirun -n $p ($(($(wc -l < "$dir/$name.serial/points.csv") - 1)) rows, $s syntheses each)"
}

compare plain "$specs/mpi_identity.yaml" 2
compare plain3 "$specs/mpi_identity.yaml" 3
compare area "$specs/mpi_area.yaml" 3
compare timeout "$specs/mpi_area_timeout.yaml" 3 NQKV_FAKE_AREA_SLEEP=20
grep -q timeout "$dir/timeout.serial/points.csv" || { echo "timeout: no timed-out point in points.csv"; exit 1; }
[ "$(syntheses "$dir/timeout.serial.log")" -ge 1 ] || { echo "timeout: slow_area.py never started (machine too loaded?)"; exit 1; }
