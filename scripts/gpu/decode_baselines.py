#!/usr/bin/env python3
"""fp16 decode-attention baselines timed the way bench_cuda --graph times nqkv (issue 18, reports/gpu.md).

For each decode shape q [B, Hq, 1, D], K/V [B, Hkv, T, D] (fp16) and each PyTorch SDPA backend (cuDNN,
flash, memory-efficient), the call is captured N times into one CUDA graph over rotating input sets
(set i mod S, S sets of together >= 3x the L2 size, so every call reads K/V from DRAM) and the graph is
replayed R times; per call = replay time / N (N a multiple of S), reported as the median and p10/p90 over
the replays. GQA runs natively (enable_gqa=True); a backend that refuses that is tried once more on K/V with
repeated heads (gqa_mode "repeated": it then reads Hq/Hkv times the bytes); one that refuses both is listed
with its error. FlashInfer is timed too when `import flashinfer` works (fp16 and fp8 e4m3 K/V,
BatchDecodeWithPagedKVCacheWrapper, page size 16); otherwise the JSON says why not. A large
device-to-device copy in a graph gives the copy bandwidth (bytes read + written).

  decode_baselines.py --out FILE.json [--graph 20] [--replays 30] [--shapes B:Hq:Hkv:D:T,...]

JSON: {"device", "torch", "cuda", "cudnn", "l2_bytes", "graph_calls", "replays", "copy": {...},
       "flashinfer": "version" | "unavailable: why",
       "cases": [{"batch", "q_heads", "kv_heads", "head_dim", "tokens", "backend", "dtype", "gqa_mode",
                  "input_sets", "graph_calls", "kv_bytes", "median_us", "p10_us", "p90_us", "GBps"}
                 | {..., "backend", "error"}]}
kv_bytes = the K and V bytes one call must read (native GQA: B Hkv T D 2 bytes each); GBps = kv_bytes over the
median. Exit status 2 on bad arguments (one line on stderr), 1 if no backend ran at all.
"""
import argparse
import json
import math
import os
import sys

# Issue 18's 12 shapes, then head_dim 64 and 256 (as bench_cuda's rows: Hkv 8 at D 64, Hkv 4 at D 256).
DEFAULT_SHAPES = ",".join(
    [f"{b}:32:{h}:128:{t}" for b in (1, 8, 32) for h in (8, 32) for t in (8192, 32768)]
    + ["8:32:8:64:8192", "8:32:4:256:8192"])


def fail(msg):
    print(f"decode_baselines: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_shapes(text):
    shapes = []
    for item in text.split(","):
        parts = item.split(":")
        if len(parts) != 5 or not all(p.isdigit() for p in parts):
            fail(f"--shapes: '{item}' is not B:Hq:Hkv:D:T (positive integers)")
        b, hq, hkv, d, t = map(int, parts)
        if min(b, hq, hkv, d, t) <= 0 or hq % hkv or d not in (64, 128, 256):
            fail(f"--shapes: '{item}': need positive sizes, Hq a multiple of Hkv, D in 64/128/256")
        shapes.append((b, hq, hkv, d, t))
    return shapes


def pct(vals, q):
    v = sorted(vals)
    return v[int(round(q * (len(v) - 1)))]


def graph_time_us(torch, fn, nsets, ncalls, replays):
    """Per-call times (us) of fn(i) captured ncalls times (i = 0..ncalls-1) into one graph, over replays."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):  # warm-up outside the capture (handles, plans, workspaces)
        for i in range(max(3, nsets)):
            fn(i)
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for i in range(ncalls):
            fn(i)
    g.replay()
    g.replay()
    torch.cuda.synchronize()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(replays)]
    for a, b in ev:
        a.record()
        g.replay()
        b.record()
    torch.cuda.synchronize()
    per_call = [1000.0 * a.elapsed_time(b) / ncalls for a, b in ev]
    del g
    return per_call


def summary(per_call):
    return {"median_us": pct(per_call, 0.5), "p10_us": pct(per_call, 0.1), "p90_us": pct(per_call, 0.9)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--graph", type=int, default=20, help="calls per graph (rounded up to a multiple of the sets)")
    ap.add_argument("--replays", type=int, default=30)
    ap.add_argument("--shapes", default=DEFAULT_SHAPES, help="comma list of B:Hq:Hkv:D:T")
    ap.add_argument("--backends", default="cudnn,flash,efficient")
    ap.add_argument("--l2-factor", type=float, default=3.0, help="rotating input sets total >= this x L2")
    ap.add_argument("--no-flashinfer", action="store_true")
    a = ap.parse_args()
    if not 1 <= a.graph <= 4096:
        fail("--graph must be in [1, 4096]")
    if not 3 <= a.replays <= 10000:
        fail("--replays must be in [3, 10000]")
    if not 1.0 <= a.l2_factor <= 100.0:
        fail("--l2-factor must be in [1, 100]")
    shapes = parse_shapes(a.shapes)
    backends = a.backends.split(",")
    for b in backends:
        if b not in ("cudnn", "flash", "efficient"):
            fail(f"--backends: unknown backend '{b}' (cudnn, flash, efficient)")

    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    if not torch.cuda.is_available():
        fail("no CUDA device")
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 50 * 2**20)
    res = {"device": props.name, "torch": torch.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version(), "l2_bytes": l2, "graph_calls": a.graph, "replays": a.replays,
           "l2_factor": a.l2_factor, "cases": []}
    sdpa_backend = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
                    "efficient": SDPBackend.EFFICIENT_ATTENTION}

    # Copy bandwidth in a graph: 1 GiB device to device, bytes read + written.
    n = 2**30
    src = torch.empty(n, dtype=torch.uint8, device=dev).random_(0, 255)
    dst = torch.empty_like(src)
    pc = graph_time_us(torch, lambda i: dst.copy_(src), 1, 10, a.replays)
    res["copy"] = {"bytes": 2 * n, **summary(pc), "GBps": 2 * n / (pct(pc, 0.5) * 1e-6) / 1e9}
    print(f"copy: {res['copy']['GBps']:.0f} GB/s (read + write, graph)", file=sys.stderr)
    del src, dst
    torch.cuda.empty_cache()

    fi = None
    if a.no_flashinfer:
        res["flashinfer"] = "unavailable: --no-flashinfer"
    else:
        try:
            import flashinfer  # noqa: F401
            fi = flashinfer
            res["flashinfer"] = getattr(flashinfer, "__version__", "unknown version")
        except Exception as e:  # not installed on the device (see reports/gpu.md)
            res["flashinfer"] = f"unavailable: {type(e).__name__}: {e}"
    print(f"flashinfer: {res['flashinfer']}", file=sys.stderr)

    ran = 0
    for (b, hq, hkv, d, t) in shapes:
        kv_bytes = 2 * b * hkv * t * d * 2
        free, _ = torch.cuda.mem_get_info()
        nsets = max(1, math.ceil(a.l2_factor * l2 / kv_bytes))
        nsets = min(nsets, 64, max(1, int(0.4 * free // kv_bytes)))
        ncalls = nsets * math.ceil(a.graph / nsets)
        sets = [(torch.randn(b, hq, 1, d, dtype=torch.float16, device=dev),
                 torch.randn(b, hkv, t, d, dtype=torch.float16, device=dev),
                 torch.randn(b, hkv, t, d, dtype=torch.float16, device=dev)) for _ in range(nsets)]
        base = {"batch": b, "q_heads": hq, "kv_heads": hkv, "head_dim": d, "tokens": t, "dtype": "float16",
                "input_sets": nsets, "graph_calls": ncalls, "kv_bytes": kv_bytes}
        for be in backends:
            case = dict(base, backend=be)
            err = None
            for mode in ("native", "repeated") if hkv != hq else ("none",):
                try:
                    if mode == "repeated":
                        rsets = [(q, k.repeat_interleave(hq // hkv, dim=1), v.repeat_interleave(hq // hkv, dim=1))
                                 for q, k, v in sets[:1]]
                        use, kw, ns, nc = rsets, {}, 1, a.graph
                    else:
                        use, kw, ns, nc = sets, ({"enable_gqa": True} if mode == "native" else {}), nsets, ncalls

                    def fn(i, use=use, kw=kw):
                        q, k, v = use[i % len(use)]
                        return F.scaled_dot_product_attention(q, k, v, **kw)

                    with sdpa_kernel([sdpa_backend[be]]):
                        pc = graph_time_us(torch, fn, ns, nc, a.replays)
                    case.update(gqa_mode=mode, **summary(pc), input_sets=ns, graph_calls=nc)
                    case["GBps"] = kv_bytes / (case["median_us"] * 1e-6) / 1e9
                    if mode == "repeated":
                        case["note"] = "K/V heads repeated before the call (one input set: the repeated K/V exceed L2)"
                    err = None
                    break
                except Exception as e:  # a backend may refuse a shape: record why, try the next mode
                    err = f"{mode}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
                    torch.cuda.synchronize()
                    case.setdefault("errors", []).append(err)
            if err is None and "median_us" in case:
                ran += 1
                print(f"B={b} Hq={hq} Hkv={hkv} D={d} T={t} {be}: {case['median_us']:.1f} us "
                      f"[{case['p10_us']:.1f}, {case['p90_us']:.1f}] {case['GBps']:.0f} GB/s ({case['gqa_mode']})",
                      file=sys.stderr)
            else:
                case["error"] = err
                print(f"B={b} Hq={hq} Hkv={hkv} D={d} T={t} {be}: refused ({err})", file=sys.stderr)
            res["cases"].append(case)
        if fi is not None:
            for kvdt, name in ((torch.float16, "flashinfer-fp16"), (torch.float8_e4m3fn, "flashinfer-fp8")):
                case = dict(base, backend=name, dtype=str(kvdt).replace("torch.", ""))
                try:
                    ps = 16
                    npg = b * math.ceil(t / ps)
                    kvb = kv_bytes * (1 if kvdt == torch.float16 else 0.5)
                    fsets = max(1, min(64, math.ceil(a.l2_factor * l2 / kvb)))
                    caches = [torch.randn(npg, 2, ps, hkv, d, dtype=torch.float16, device=dev).to(kvdt) for _ in range(fsets)]
                    indptr = torch.arange(0, b + 1, dtype=torch.int32, device=dev) * math.ceil(t / ps)
                    indices = torch.arange(npg, dtype=torch.int32, device=dev)
                    last = torch.full((b,), (t - 1) % ps + 1, dtype=torch.int32, device=dev)
                    ws = torch.empty(256 * 2**20, dtype=torch.uint8, device=dev)
                    w = fi.BatchDecodeWithPagedKVCacheWrapper(ws, "NHD", use_cuda_graph=True, paged_kv_indptr_buffer=indptr,
                                                              paged_kv_indices_buffer=indices, paged_kv_last_page_len_buffer=last)
                    w.plan(indptr, indices, last, hq, hkv, d, ps, q_data_type=torch.float16, kv_data_type=kvdt)
                    qs = [torch.randn(b, hq, d, dtype=torch.float16, device=dev) for _ in range(fsets)]
                    nc = fsets * math.ceil(a.graph / fsets)
                    pc = graph_time_us(torch, lambda i: w.run(qs[i % fsets], caches[i % fsets]), fsets, nc, a.replays)
                    case.update(gqa_mode="native", input_sets=fsets, graph_calls=nc, kv_bytes=int(kvb), **summary(pc))
                    case["GBps"] = kvb / (case["median_us"] * 1e-6) / 1e9
                    ran += 1
                    print(f"B={b} Hq={hq} Hkv={hkv} D={d} T={t} {name}: {case['median_us']:.1f} us", file=sys.stderr)
                    del caches, w, ws
                except Exception as e:
                    case["error"] = f"{type(e).__name__}: {e}"[:300]
                    print(f"B={b} Hq={hq} Hkv={hkv} D={d} T={t} {name}: failed ({case['error']})", file=sys.stderr)
                res["cases"].append(case)
        del sets
        torch.cuda.empty_cache()

    out = os.path.abspath(a.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".tmp", "w") as f:
        json.dump(res, f, indent=1)
    os.replace(out + ".tmp", out)
    print(f"wrote {a.out}: {ran} timed cases", file=sys.stderr)
    return 0 if ran else 1


if __name__ == "__main__":
    sys.exit(main())
