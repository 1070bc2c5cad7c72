#!/usr/bin/env bash
# Runs the libFuzzer harnesses of fuzz/ (fuzz/README.md) under ASan+UBSan.
#   scripts/fuzz.sh [--seconds N] [--harness NAME] [--build-dir DIR] [--findings DIR]
# Configures and builds DIR (default build-fuzz, clang, -DNQKV_FUZZ=ON) if needed, builds only the
# fuzz targets, then runs each harness (or only NAME) for N seconds (default 30) on its seed corpus
# and regression inputs, one at a time. New interesting inputs go to DIR/fuzz-work/<harness>/ (not
# into the repository); crashes, leaks, timeouts and OOMs go to the findings directory (default
# DIR/fuzz-findings/<harness>/). Exit 0 when no harness found anything, 1 on a finding, 2 on a
# usage or build problem; each problem is one line on stderr.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=30 only="" build=build-fuzz findings=""
die() { echo "fuzz.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || die "--seconds needs a value"; seconds=$2; shift 2 ;;
    --harness) [ $# -ge 2 ] || die "--harness needs a value"; only=$2; shift 2 ;;
    --build-dir) [ $# -ge 2 ] || die "--build-dir needs a value"; build=$2; shift 2 ;;
    --findings) [ $# -ge 2 ] || die "--findings needs a value"; findings=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -ge 1 ] && [ "$seconds" -le 86400 ] || die "--seconds must be an integer in 1..86400"
harnesses=$(sed -n 's/^set(NQKV_FUZZ_HARNESSES \(.*\))$/\1/p' fuzz/CMakeLists.txt)
[ -n "$harnesses" ] || die "cannot read the harness list from fuzz/CMakeLists.txt"
if [ -n "$only" ]; then
  [[ " $harnesses " == *" $only "* ]] || die "unknown harness '$only' (known: $harnesses)"
  harnesses=$only
fi
[ -n "$findings" ] || findings=$build/fuzz-findings
command -v clang++ >/dev/null || die "clang++ not found (Debian: apt-get install clang libclang-rt-dev)"

log=$build/fuzz-build.log
mkdir -p "$build" || die "cannot create $build"
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  generator=(); command -v ninja >/dev/null && generator=(-G Ninja)
  CC=clang CXX=clang++ cmake -S . -B "$build" "${generator[@]}" -DNQKV_FUZZ=ON -DNQKV_ENABLE_CUDA=OFF \
    -DCMAKE_DISABLE_FIND_PACKAGE_verilator=ON -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" >"$log" 2>&1 ||
    die "configuring $build failed (see $log)"
fi
{ grep -q '^NQKV_FUZZ:BOOL=ON' "$build/CMakeCache.txt" && grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang' "$build/CMakeCache.txt"; } 2>/dev/null ||
  die "$build is not a fuzzing build (configure it with CC=clang CXX=clang++ -DNQKV_FUZZ=ON)"
targets=()
for h in $harnesses; do targets+=("fuzz_$h"); done
cmake --build "$build" --target "${targets[@]}" >>"$log" 2>&1 || die "building the fuzz targets failed (see $log)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for h in $harnesses; do
  work=$build/fuzz-work/$h out=$findings/$h
  mkdir -p "$work" "$out" || die "cannot create $work or $out"
  case $h in
    safetensors|quantized|golden_case|results) d=fuzz/dict/safetensors.dict ;;
    hf_config|hw_file) d=fuzz/dict/json.dict ;;
    *) d="" ;;
  esac
  dict=(); [ -n "$d" ] && dict=(-dict="$d")
  before=$(ls -A "$out" | wc -l)
  seeds=(); for s in "fuzz/corpus/$h" "fuzz/regressions/$h"; do [ -d "$s" ] && seeds+=("$s"); done
  "$build/fuzz/fuzz_$h" "$work" "${seeds[@]}" "${dict[@]}" -max_total_time="$seconds" \
    -timeout=20 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/" \
    >"$out.log" 2>&1
  rc=$?
  after=$(ls -A "$out" | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out.log" | tail -1)
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    echo "fuzz.sh: $h: FINDING after ${execs:-?} executions (exit $rc): $(ls -t "$out" | head -1) in $out, log $out.log" >&2
    status=1
  else
    echo "fuzz $h: ${execs:-?} executions in ${seconds}s, no finding"
  fi
done
exit $status
