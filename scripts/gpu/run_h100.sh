#!/usr/bin/env bash
# Device run (see reports/gpu.md): golden-reference suite, compute-sanitizer memcheck + racecheck,
# Google Benchmark of the kernels, and the fp16 SDPA baseline, all in one call. Binaries are built
# on the development machine (scripts/gpu/pack_carry.sh) and carried in build-cuda/devcarry.
# Usage: scripts/gpu/run_h100.sh OUTDIR [steps...]   steps: test test0 test1 memcheck memcheck0 racecheck bench benchcl ncuapp benchgen benchprev benchocc2 sdpadecode ncu sass
# benchgen: the decode benchmarks again with NQKV_CUDA_GENERIC=1 (the pre-tensor-core generic kernel), same run.
# benchprev: the decode + append benchmarks of a previous build carried in build-cuda/devcarry_prev (same run).
# benchocc2: decode benchmarks with NQKV_CUDA_OCC2=1 (block-64 fast path at 2 CTAs/SM, no register cap).
# sdpadecode: the fp16 SDPA flash baseline (scripts/gpu/sdpa_decode_baseline.py, the only SDPA script) -> gpu_sdpa_same_run.json.
# test0 / test1 / memcheck0: the suite with NQKV_CUDA_CLUSTER=0 (single-CTA partitions) / =1 (2-CTA clusters forced).
# benchcl: decode benchmarks with NQKV_CUDA_CLUSTER=0 and =1 (gpu_bench_cluster{0,1}.json).
set -u
OUTD=${1:?outdir}; shift
STEPS=${*:-test memcheck racecheck bench sdpadecode}
C=build-cuda/devcarry
export LD_LIBRARY_PATH=$PWD/$C/lib:${LD_LIBRARY_PATH:-}
export PATH=$PATH:/usr/local/cuda/bin
date -u > "$OUTD/env.txt"; nvidia-smi >> "$OUTD/env.txt" 2>&1
for s in $STEPS; do
  case $s in
    test) timeout 150 $C/cuda_golden_tests 2>&1 | tee "$OUTD/tests.log" | grep -E "^\[ *(OK|FAILED|PASSED|SKIPPED) |sweep|golden cases|Failure|gpu=" | head -80 ;;
    test0) NQKV_CUDA_CLUSTER=0 timeout 150 $C/cuda_golden_tests > "$OUTD/tests_cl0.log" 2>&1; echo "tests (cluster off) rc=$?"; grep -E "^\[ *(FAILED|PASSED) |mismatch" "$OUTD/tests_cl0.log" | head -20 ;;
    test1) NQKV_CUDA_CLUSTER=1 timeout 150 $C/cuda_golden_tests > "$OUTD/tests_cl1.log" 2>&1; echo "tests (cluster forced) rc=$?"; grep -E "^\[ *(FAILED|PASSED) |mismatch" "$OUTD/tests_cl1.log" | head -20 ;;
    memcheck0) NQKV_CUDA_CLUSTER=0 NQKV_CUDA_SWEEP=3 timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 $C/cuda_golden_tests \
        --gtest_filter='CudaRandom.*:CudaErrors.*:CudaGolden.AllGenerated*' > "$OUTD/memcheck0.log" 2>&1; echo "memcheck (cluster off) rc=$?"; tail -2 "$OUTD/memcheck0.log" ;;
    benchcl) for v in ${CLV:-0 1}; do NQKV_CUDA_CLUSTER=$v timeout 150 $C/bench_cuda --benchmark_filter='DecodeAttention' --benchmark_out="$OUTD/gpu_bench_cluster$v.json" --benchmark_out_format=json > "$OUTD/benchcl$v.log" 2>&1; echo "benchcl$v rc=$?"; done ;;
    memcheck) NQKV_CUDA_SWEEP=3 timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 $C/cuda_golden_tests \
        --gtest_filter='CudaRandom.*:CudaErrors.*:CudaGolden.AllGenerated*' > "$OUTD/memcheck.log" 2>&1; echo "memcheck rc=$?"; tail -4 "$OUTD/memcheck.log" ;;
    racecheck) NQKV_CUDA_SWEEP=2 timeout 240 compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 9 $C/cuda_golden_tests \
        --gtest_filter='CudaRandom.SeededShapeSweep:CudaErrors.*' > "$OUTD/racecheck.log" 2>&1; echo "racecheck rc=$?"; tail -4 "$OUTD/racecheck.log" ;;
    bench) timeout 200 $C/bench_cuda --benchmark_out="$OUTD/gpu_bench.json" --benchmark_out_format=json 2>&1 | tee "$OUTD/bench.log" | tail -25 ;;
    benchgen) NQKV_CUDA_GENERIC=1 timeout 150 $C/bench_cuda --benchmark_filter='DecodeAttention' --benchmark_out="$OUTD/gpu_bench_generic.json" --benchmark_out_format=json 2>&1 | tee "$OUTD/benchgen.log" | tail -20 ;;
    benchprev) P=build-cuda/devcarry_prev; LD_LIBRARY_PATH=$PWD/$P/lib timeout 200 $P/bench_cuda --benchmark_filter='DecodeAttention|QuantizeAppend' --benchmark_out="$OUTD/gpu_bench_prev.json" --benchmark_out_format=json 2>&1 | tee "$OUTD/benchprev.log" | tail -3 ;;
    benchocc2) NQKV_CUDA_OCC2=1 timeout 150 $C/bench_cuda --benchmark_filter='DecodeAttention.*blk:64/bits:4' --benchmark_out="$OUTD/gpu_bench_occ2.json" --benchmark_out_format=json 2>&1 | tee "$OUTD/benchocc2.log" | tail -3 ;;
    sass) timeout 200 bash scripts/gpu/profile_sass.sh "$OUTD" > "$OUTD/sass.log" 2>&1; echo "sass rc=$?"; grep -E "Duration|Registers|Issue|Executed Ipc" "$OUTD/sass.log" | head -12 ;;
    sdpadecode) PYTHONUNBUFFERED=1 timeout 240 python3 scripts/gpu/sdpa_decode_baseline.py --out "$OUTD/gpu_sdpa_same_run.json" > "$OUTD/gpu_sdpa_same_run.log" 2>&1; echo "helper sdpa rc=$?"; tail -5 "$OUTD/gpu_sdpa_same_run.log" ;;
    ncuapp) timeout 150 ncu --section SpeedOfLight --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Tables --section Occupancy --section WarpStateStats \
        -k regex:append_ --launch-skip 3 -c 1 $C/bench_cuda --benchmark_filter='BM_QuantizeAppend/B:32/Hkv:8/D:128/n_new:512/blk:64/bits:4' > "$OUTD/ncu_append.txt" 2>&1; echo "ncuapp rc=$?"; grep -E "Duration|Memory Throughput|DRAM Throughput|L2 Hit|Mem Busy|Max Bandwidth|Achieved Occupancy|Warp Cycles Per Issued|Stall|Sectors/Req|uncoalesced|excessive" "$OUTD/ncu_append.txt" | head -30 ;;
    ncu) timeout 150 ncu --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section WarpStateStats --section ComputeWorkloadAnalysis \
        -k regex:decode_ --launch-skip 3 -c 1 $C/bench_cuda --benchmark_filter='BM_DecodeAttention/B:32/Hq:32/Hkv:8/D:128/T:8192/blk:64/bits:4' > "$OUTD/ncu.txt" 2>&1; echo "ncu rc=$?"; grep -E "Duration|Memory Throughput|DRAM Throughput|Compute \(SM\)|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit|Warp Cycles Per Issued|Issue Slots Busy|Stall" "$OUTD/ncu.txt" | head -30 ;;
  esac
done
