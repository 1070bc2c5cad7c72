#!/usr/bin/env python3
"""Decode-attention baseline for the performance model's validation (reports/nqkv-claims.md, 6.1).

Times fp16 torch.nn.functional.scaled_dot_product_attention with the flash backend on decode
shapes q [B, Hq, 1, 128], K/V [B, Hkv, T, 128] (GQA through enable_gqa=True where PyTorch has it,
otherwise by repeating K/V heads before timing; each case records which as `gqa_mode`), and one
large device-to-device copy whose bandwidth counts bytes read + bytes written. Writes JSON:

  {"device": ..., "torch": ..., "cuda": ..., "copy": {"bytes": N, "median_ms": t, "bandwidth_bytes_per_s": bw,
   "queued_bandwidth_bytes_per_s": bw_q, "queued": {...}},
   "cases": [{"batch", "q_heads", "kv_heads", "tokens", "head_dim", "dtype", "gqa_mode", "runs",
              "median_ms", "p10_ms", "p90_ms",                       # launch-inclusive
              "queued": {"median_ms", "p10_ms", "p90_ms", "starved"}}, ...]}  # GPU time only

Usage: python3 scripts/gpu/sdpa_decode_baseline.py --out reports/runs/<date>_<commit>_<label>/sdpa.json
Then:  add the file to sdpa_runs in reports/nqkv-claims/inputs.json and run scripts/reports.sh nqkv-claims
"""
import argparse
import json
import os
import statistics
import sys

import torch
import torch.nn.functional as F


def summarize(times):
    times = sorted(times)
    return {
        "median_ms": statistics.median(times),
        "p10_ms": times[int(0.1 * (len(times) - 1))],
        "p90_ms": times[int(0.9 * (len(times) - 1))],
    }


_CYCLES_PER_MS = None


def spin_ms(ms):
    """Keeps the current stream busy for about `ms` of GPU time (torch.cuda._sleep, calibrated once)."""
    global _CYCLES_PER_MS
    if _CYCLES_PER_MS is None:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        torch.cuda._sleep(10_000_000)
        b.record()
        b.synchronize()
        _CYCLES_PER_MS = 10_000_000 / a.elapsed_time(b)
    torch.cuda._sleep(int(ms * _CYCLES_PER_MS))


def cuda_time_ms(fn, runs, warmup):
    """Median/p10/p90 of `runs` CUDA-event timings of fn(i) after `warmup` untimed calls, two ways.

    Top level (launch-inclusive, rounds 1-12): the host waits after each call, so each timing also
    holds the host's launch latency. `queued`: every timed call is queued behind a GPU spin first, so
    each event pair brackets only the GPU's work (as bench_cuda's median_us); `starved` says the GPU
    caught up with the host anyway (the timing then includes host gaps)."""
    for i in range(warmup):
        fn(i)
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    for i in range(runs):
        starts[i].record()
        fn(i)
        ends[i].record()
        ends[i].synchronize()
    out = {"runs": runs, **summarize([s.elapsed_time(e) for s, e in zip(starts, ends)])}
    spun = torch.cuda.Event()
    spin_ms(max(20.0, 0.4 * runs))  # far longer than the host needs to queue `runs` calls
    spun.record()
    for i in range(runs):
        starts[i].record()
        fn(i)
        ends[i].record()
    starved = spun.query()
    ends[-1].synchronize()
    out["queued"] = {**summarize([s.elapsed_time(e) for s, e in zip(starts, ends)]), "starved": bool(starved)}
    return out


def sets_needed(bytes_per_set, l2_bytes, cap=8):
    # Rotate among enough input sets that their total exceeds 4x L2: each run then reads K/V from DRAM.
    need = max(2, -(-4 * l2_bytes // max(bytes_per_set, 1)))
    return int(min(need, cap))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output JSON path")
    ap.add_argument("--runs", type=int, default=100, help="timed runs per case (>= 50)")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--kv-heads", default="8,32")
    ap.add_argument("--tokens", default="8192,16384,32768")
    ap.add_argument("--q-heads", type=int, default=32)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--copy-gib", type=float, default=2.0, help="size of the copy benchmark's source buffer")
    args = ap.parse_args()
    if args.runs < 50:
        sys.exit("error: --runs must be at least 50")
    if not torch.cuda.is_available():
        sys.exit("error: no CUDA device")

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2_bytes = getattr(props, "L2_cache_size", 50 * 2**20)
    dtype = torch.float16
    result = {
        "device": props.name,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "l2_bytes": l2_bytes,
        "cases": [],
    }

    # Copy bandwidth: one large D2D copy, counted as bytes read + bytes written.
    n = int(args.copy_gib * 2**30) // 2
    src = torch.empty(n, dtype=dtype, device=dev).uniform_()
    dst = torch.empty_like(src)
    t = cuda_time_ms(lambda i: dst.copy_(src), args.runs, args.warmup)
    moved = 2 * src.numel() * src.element_size()
    result["copy"] = {"bytes": moved, **t, "bandwidth_bytes_per_s": moved / (t["median_ms"] * 1e-3),
                      "queued_bandwidth_bytes_per_s": moved / (t["queued"]["median_ms"] * 1e-3)}
    del src, dst
    torch.cuda.empty_cache()
    print(f"copy: {result['copy']['bandwidth_bytes_per_s'] / 1e9:.0f} GB/s (read + write)", file=sys.stderr)

    try:  # enable_gqa arrived in PyTorch 2.5
        x = torch.zeros(1, 4, 1, 64, dtype=dtype, device=dev)
        y = torch.zeros(1, 2, 8, 64, dtype=dtype, device=dev)
        F.scaled_dot_product_attention(x, y, y, enable_gqa=True)
        has_gqa = True
    except TypeError:
        has_gqa = False
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        def flash():
            return sdpa_kernel([SDPBackend.FLASH_ATTENTION])
    except ImportError:  # PyTorch < 2.3
        def flash():
            return torch.backends.cuda.sdp_kernel(enable_flash=True, enable_math=False, enable_mem_efficient=False)

    hq, d = args.q_heads, args.head_dim
    for b in (int(x) for x in args.batches.split(",")):
        for hkv in (int(x) for x in args.kv_heads.split(",")):
            for tokens in (int(x) for x in args.tokens.split(",")):
                kv_bytes = 2 * b * hkv * tokens * d * 2
                nsets = sets_needed(kv_bytes, l2_bytes)
                free, _ = torch.cuda.mem_get_info()
                nsets = max(1, min(nsets, int(0.6 * free // max(kv_bytes * (hq // hkv if not has_gqa else 1), 1))))
                sets = []
                for _ in range(nsets):
                    q = torch.randn(b, hq, 1, d, dtype=dtype, device=dev)
                    k = torch.randn(b, hkv, tokens, d, dtype=dtype, device=dev)
                    v = torch.randn(b, hkv, tokens, d, dtype=dtype, device=dev)
                    if hkv != hq and not has_gqa:
                        # Repeating heads outside the timed region: the kernel then reads Hq/Hkv times
                        # the bytes a GQA kernel would; recorded as gqa_mode so the report can tell.
                        k = k.repeat_interleave(hq // hkv, dim=1)
                        v = v.repeat_interleave(hq // hkv, dim=1)
                    sets.append((q, k, v))
                kwargs = {"enable_gqa": True} if (hkv != hq and has_gqa) else {}

                def run(i):
                    q, k, v = sets[i % len(sets)]
                    return F.scaled_dot_product_attention(q, k, v, **kwargs)

                with flash():
                    try:
                        t = cuda_time_ms(run, args.runs, args.warmup)
                    except RuntimeError as e:  # flash may refuse a shape; say so rather than fall back silently
                        print(f"skip B={b} Hkv={hkv} T={tokens}: {e}", file=sys.stderr)
                        continue
                case = {"batch": b, "q_heads": hq, "kv_heads": hkv, "tokens": tokens, "head_dim": d,
                        "dtype": "float16", "input_sets": len(sets),
                        "gqa_mode": "native" if kwargs else ("none" if hkv == hq else "repeated"), **t}
                result["cases"].append(case)
                print(f"B={b} Hq={hq} Hkv={hkv} T={tokens}: {t['median_ms'] * 1e3:.1f} us "
                      f"(queued {t['queued']['median_ms'] * 1e3:.1f} us)", file=sys.stderr)
                del sets
                torch.cuda.empty_cache()

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
