#!/usr/bin/env bash
# Device run (see reports/gpu.md): golden-reference suite, compute-sanitizer memcheck + racecheck,
# Google Benchmark of the kernels, and the fp16 SDPA baseline, all in one call. Binaries are built
# on the development machine (scripts/gpu/pack_carry.sh) and carried in build-cuda/devcarry.
# Usage: scripts/gpu/run_h100.sh OUTDIR [steps...]   steps: test paths pathsp golden memcheck racecheck memcheckp racecheckp bench benchgraph benchab benchprevg baselines ncuapp benchgen benchprev sdpadecode ncu sass
# paths: the decode tests (sweep, golden cases, errors) on the other production paths, NQKV_CUDA_TMA=0, NQKV_CUDA_PDL=0,
#   NQKV_CUDA_PDL_PARTITION=0, NQKV_CUDA_GENERIC=1 (tests_<path>.log; PATHS="A=1 B=0,C=2" for others).
# pathsp / memcheckp / racecheckp: the persistent build's tests and sanitizers on the persistent kernel (PIPE 2 and 1),
#   with the fused combine, few CTAs (NQKV_CUDA_PERSIST_CTAS: one CTA walks several items).
# benchab: the decode benchmarks in CUDA graphs under each environment of ABENV with the persistent build -> gpu_bench_ab_<tag>.json.
# benchprevg: the previous commit's decode benchmarks in CUDA graphs (same-lease A/B of the default path).
# golden: nqkv golden gen + nqkv golden check --backend cuda (the CLI carried in $C too) -> golden_check.txt.
# benchgraph: bench_cuda --graph=20 (CUDA graphs of 20+ calls over rotating inputs) -> gpu_bench_graph.json.
# baselines: scripts/gpu/decode_baselines.py (fp16 SDPA backends + FlashInfer if importable, CUDA graphs) -> baselines.json.
# benchgen: the decode benchmarks again with NQKV_CUDA_GENERIC=1 (the pre-tensor-core generic kernel), same run.
# benchprev: the decode + append benchmarks of a previous build carried in build-cuda/devcarry_prev (same run).
# sdpadecode: the fp16 SDPA flash baseline (scripts/gpu/sdpa_decode_baseline.py, the only SDPA script) -> gpu_sdpa_same_run.json.
set -u
OUTD=${1:?outdir}; shift
STEPS=${*:-test memcheck racecheck bench sdpadecode}
C=build-cuda/devcarry
export LD_LIBRARY_PATH=$PWD/$C/lib:${LD_LIBRARY_PATH:-}
export PATH=$PATH:/usr/local/cuda/bin
# Optional extra builds, packed as $C/extra.tar.xz (the carry limit): $C/persist (built with -DNQKV_CUDA_PERSISTENT=ON)
# and $C/prev (bench_cuda of the previous commit, for same-lease A/B).
[ -f $C/extra.tar.xz ] && tar xJf $C/extra.tar.xz -C $C
P=$C/persist
date -u > "$OUTD/env.txt"; nvidia-smi >> "$OUTD/env.txt" 2>&1
for s in $STEPS; do
  case $s in
    test) timeout 150 $C/cuda_golden_tests 2>&1 | tee "$OUTD/tests.log" | grep -E "^\[ *(OK|FAILED|PASSED|SKIPPED) |sweep|golden cases|Failure|gpu=" | head -80 ;;
    paths) for pe in ${PATHS:-NQKV_CUDA_TMA=0 NQKV_CUDA_PDL=0 NQKV_CUDA_PDL_PARTITION=0 NQKV_CUDA_GENERIC=1}; do
        tag=$(echo "$pe" | tr ',=' '__'); env ${pe//,/ } timeout 150 $C/cuda_golden_tests --gtest_filter='CudaRandom.SeededShapeSweep:CudaGolden.*:CudaErrors.*' > "$OUTD/tests_$tag.log" 2>&1; echo "tests $pe rc=$?"; grep -E "^\[ *(FAILED|PASSED) |mismatch" "$OUTD/tests_$tag.log" | head -5; done ;;
    golden) rm -rf /tmp/gold; { $C/nqkv golden gen --out /tmp/gold && $C/nqkv golden check /tmp/gold --backend cuda; } > "$OUTD/golden_check.txt" 2>&1; echo "golden check rc=$?"; tail -3 "$OUTD/golden_check.txt" ;;
    benchgraph) timeout 400 $C/bench_cuda --graph=${GRAPH_CALLS:-20} --benchmark_filter="${GRAPH_FILTER:-CopyD2D|DecodeAttention|QuantizeAppend}" --benchmark_out="$OUTD/gpu_bench_graph.json" --benchmark_out_format=json > "$OUTD/benchgraph.log" 2>&1; echo "benchgraph rc=$?"; grep -E "DecodeAttention|CopyD2D" "$OUTD/benchgraph.log" | awk '{print $1, $4, $5}' | head -30 ;;
    baselines) env -u LD_LIBRARY_PATH PYTHONUNBUFFERED=1 timeout 480 python3 scripts/gpu/decode_baselines.py --out "$OUTD/baselines.json" > "$OUTD/baselines.log" 2>&1; echo "baselines rc=$?"; tail -4 "$OUTD/baselines.log" ;;
    benchab) # decode in CUDA graphs under each environment of ABENV (comma-separated assignments; "base" = none) -> gpu_bench_ab_<tag>.json
      for pe in ${ABENV:-base NQKV_CUDA_PERSIST=1 NQKV_CUDA_PERSIST=3 NQKV_CUDA_PERSIST=1,NQKV_CUDA_FUSE=1 NQKV_CUDA_PERSIST=3,NQKV_CUDA_FUSE=1}; do
        tag=$(echo "$pe" | tr ',=' '__'); e=${pe//,/ }; [ "$pe" = base ] && e=
        env $e timeout 200 ${AB_BIN:-$P/bench_cuda} --graph=20 --benchmark_filter="${AB_FILTER:-DecodeAttention/B:(1|8|32)/Hq:32/Hkv:(8|32)/D:128/T:[0-9]+/blk:(32|64)/bits:4}" --benchmark_out="$OUTD/gpu_bench_ab_$tag.json" --benchmark_out_format=json > "$OUTD/benchab_$tag.log" 2>&1; echo "benchab $pe rc=$?"; done ;;
    pathsp) # the persistent build ($P) over its paths: PIPE 2 (=1) and 1 (=3), with the fused combine, few CTAs (several items each)
      for pe in ${PPATHS:-NQKV_CUDA_PERSIST=1 NQKV_CUDA_PERSIST=3 NQKV_CUDA_PERSIST=1,NQKV_CUDA_FUSE=1,NQKV_CUDA_PERSIST_CTAS=5 NQKV_CUDA_PERSIST=3,NQKV_CUDA_FUSE=1,NQKV_CUDA_PERSIST_CTAS=3 NQKV_CUDA_PERSIST=3,NQKV_CUDA_PERSIST_CTAS=2}; do
        tag=$(echo "$pe" | tr ',=' '__'); env ${pe//,/ } timeout 150 $P/cuda_golden_tests --gtest_filter='CudaRandom.SeededShapeSweep:CudaGolden.*:CudaErrors.*' > "$OUTD/testsp_$tag.log" 2>&1; echo "persistent build: tests $pe rc=$?"; grep -E "^\[ *(FAILED|PASSED) |mismatches [1-9]" "$OUTD/testsp_$tag.log" | head -5; done ;;
    memcheckp) for pi in ${PIPES:-1 3}; do NQKV_CUDA_PERSIST=$pi NQKV_CUDA_FUSE=1 NQKV_CUDA_PERSIST_CTAS=3 NQKV_CUDA_SWEEP=3 timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 $P/cuda_golden_tests \
        --gtest_filter='CudaRandom.SeededShapeSweep:CudaErrors.*:CudaGolden.AllGenerated*' > "$OUTD/memcheck_persist$pi.log" 2>&1; echo "memcheck persist=$pi+fuse rc=$?"; tail -2 "$OUTD/memcheck_persist$pi.log"; done ;;
    racecheckp) for pi in ${PIPES:-1 3}; do NQKV_CUDA_PERSIST=$pi NQKV_CUDA_FUSE=1 NQKV_CUDA_PERSIST_CTAS=3 NQKV_CUDA_SWEEP=2 timeout 240 compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 9 $P/cuda_golden_tests \
        --gtest_filter='CudaRandom.SeededShapeSweep:CudaErrors.*' > "$OUTD/racecheck_persist$pi.log" 2>&1; echo "racecheck persist=$pi+fuse rc=$?"; tail -2 "$OUTD/racecheck_persist$pi.log"; done ;;
    benchprevg) # the previous commit's bench_cuda ($C/prev) in CUDA graphs, decode only, same lease -> gpu_bench_prev_graph.json
      timeout 200 $C/prev/bench_cuda --graph=20 --benchmark_filter=DecodeAttention --benchmark_out="$OUTD/gpu_bench_prev_graph.json" --benchmark_out_format=json > "$OUTD/benchprevg.log" 2>&1; echo "benchprevg rc=$?" ;;
    memcheck) NQKV_CUDA_SWEEP=3 timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 $C/cuda_golden_tests \
        --gtest_filter='CudaRandom.*:CudaErrors.*:CudaGolden.AllGenerated*' > "$OUTD/memcheck.log" 2>&1; echo "memcheck rc=$?"; tail -4 "$OUTD/memcheck.log" ;;
    racecheck) NQKV_CUDA_SWEEP=2 timeout 240 compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 9 $C/cuda_golden_tests \
        --gtest_filter='CudaRandom.SeededShapeSweep:CudaErrors.*' > "$OUTD/racecheck.log" 2>&1; echo "racecheck rc=$?"; tail -4 "$OUTD/racecheck.log" ;;
    bench) timeout 200 $C/bench_cuda --benchmark_out="$OUTD/gpu_bench.json" --benchmark_out_format=json 2>&1 | tee "$OUTD/bench.log" | tail -25 ;;
    benchgen) NQKV_CUDA_GENERIC=1 timeout 150 $C/bench_cuda --benchmark_filter='DecodeAttention' --benchmark_out="$OUTD/gpu_bench_generic.json" --benchmark_out_format=json 2>&1 | tee "$OUTD/benchgen.log" | tail -20 ;;
    benchprev) P=build-cuda/devcarry_prev; LD_LIBRARY_PATH=$PWD/$P/lib timeout 200 $P/bench_cuda --benchmark_filter='DecodeAttention|QuantizeAppend' --benchmark_out="$OUTD/gpu_bench_prev.json" --benchmark_out_format=json 2>&1 | tee "$OUTD/benchprev.log" | tail -3 ;;
    sass) timeout 200 bash scripts/gpu/profile_sass.sh "$OUTD" > "$OUTD/sass.log" 2>&1; echo "sass rc=$?"; grep -E "Duration|Registers|Issue|Executed Ipc" "$OUTD/sass.log" | head -12 ;;
    sdpadecode) PYTHONUNBUFFERED=1 timeout 240 python3 scripts/gpu/sdpa_decode_baseline.py --out "$OUTD/gpu_sdpa_same_run.json" > "$OUTD/gpu_sdpa_same_run.log" 2>&1; echo "helper sdpa rc=$?"; tail -5 "$OUTD/gpu_sdpa_same_run.log" ;;
    ncuapp) timeout 150 ncu --section SpeedOfLight --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Tables --section Occupancy --section WarpStateStats \
        -k regex:append_ --launch-skip 3 -c 1 $C/bench_cuda --benchmark_filter='BM_QuantizeAppend/B:32/Hkv:8/D:128/n_new:512/blk:64/bits:4' > "$OUTD/ncu_append.txt" 2>&1; echo "ncuapp rc=$?"; grep -E "Duration|Memory Throughput|DRAM Throughput|L2 Hit|Mem Busy|Max Bandwidth|Achieved Occupancy|Warp Cycles Per Issued|Stall|Sectors/Req|uncoalesced|excessive" "$OUTD/ncu_append.txt" | head -30 ;;
    ncu) timeout 150 ncu --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section WarpStateStats --section ComputeWorkloadAnalysis \
        -k regex:decode_ --launch-skip 3 -c 1 $C/bench_cuda --benchmark_filter='BM_DecodeAttention/B:32/Hq:32/Hkv:8/D:128/T:8192/blk:64/bits:4' > "$OUTD/ncu.txt" 2>&1; echo "ncu rc=$?"; grep -E "Duration|Memory Throughput|DRAM Throughput|Compute \(SM\)|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit|Warp Cycles Per Issued|Issue Slots Busy|Stall" "$OUTD/ncu.txt" | head -30 ;;
  esac
done
