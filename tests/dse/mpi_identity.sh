#!/bin/bash
# points.csv (and points.jsonl) of `mpirun -n P nqkv dse run` are byte-identical to `--jobs 1`.
# Usage: mpi_identity.sh NQKV MPIEXEC SPEC SCRATCH   (CTest: tests/dse/CMakeLists.txt)
set -euo pipefail
nqkv=$1 mpiexec=$2 spec=$3 dir=$4
rm -rf "$dir" && mkdir -p "$dir"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$nqkv" dse run "$spec" -o "$dir/serial" --jobs 1 --quiet --cache "$dir/cache"
for p in 2 3; do
  "$mpiexec" -n $p --oversubscribe "$nqkv" dse run "$spec" -o "$dir/mpi$p" --quiet --cache "$dir/cache"
  for f in points.csv points.jsonl pareto.csv; do
    cmp "$dir/serial/$f" "$dir/mpi$p/$f"
  done
  grep -q '"ranks": *'$p "$dir/mpi$p/summary.json" || { echo "summary.json of mpirun -n $p does not record $p ranks"; exit 1; }
done
rows=$(($(wc -l < "$dir/serial/points.csv") - 1))
[ "$rows" -gt 0 ] || { echo "no points"; exit 1; }
echo "mpi_identity: points.csv identical for --jobs 1, mpirun -n 2 and -n 3 ($rows rows)"
