#!/usr/bin/env python3
"""fp16 PyTorch scaled_dot_product_attention decode (flash backend) on the shapes of
bench/cuda/bench_cuda.cpp: the baseline a user would otherwise run. One query token per sequence,
K/V [B, Hkv, T, D] fp16, GQA through enable_gqa (no K/V expansion). Timed with CUDA events after
warm-up, median of 50 launches, rotating over input copies totalling >= 256 MiB so L2 does not
flatter the numbers. Writes JSON (--out)."""
import argparse
import datetime
import json

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def time_sdpa(B, Hq, Hkv, D, T, backend, warmup=5, timed=50):
    per_copy = 2 * B * Hkv * T * D * 2
    rot = max(1, min(32, -(-(256 << 20) // per_copy)))
    gen = torch.Generator(device="cuda").manual_seed(0)
    ks = [torch.randn(B, Hkv, T, D, device="cuda", dtype=torch.float16, generator=gen) for _ in range(rot)]
    vs = [torch.randn(B, Hkv, T, D, device="cuda", dtype=torch.float16, generator=gen) for _ in range(rot)]
    q = torch.randn(B, Hq, 1, D, device="cuda", dtype=torch.float16, generator=gen)
    gqa = Hq != Hkv

    def run(i):
        with sdpa_kernel(backend):
            return F.scaled_dot_product_attention(q, ks[i % rot], vs[i % rot], enable_gqa=gqa)

    for i in range(warmup):
        run(i)
    torch.cuda.synchronize()
    times = []
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for i in range(timed):
        a.record()
        run(i)
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1000.0)
    times.sort()
    med = times[len(times) // 2]
    bytes_kv = 2.0 * B * Hkv * T * D * 2
    return {"median_us": med, "kv_bytes": bytes_kv, "GBps": bytes_kv / (med * 1e-6) / 1e9, "rotations": rot}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    shapes = [(B, 32, Hkv, 128, T) for B in (1, 8, 32) for Hkv in (8, 32) for T in (8192, 32768)]
    res = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "device": torch.cuda.get_device_name(),
           "torch": torch.__version__, "results": []}
    for (B, Hq, Hkv, D, T) in shapes:
        row = {"B": B, "Hq": Hq, "Hkv": Hkv, "D": D, "T": T}
        for name, be in (("flash", SDPBackend.FLASH_ATTENTION), ("efficient", SDPBackend.EFFICIENT_ATTENTION)):
            try:
                row[name] = time_sdpa(B, Hq, Hkv, D, T, be)
            except Exception as e:  # noqa: BLE001 - record why a backend refused the shape
                row[name] = {"error": str(e)[:300]}
            torch.cuda.empty_cache()
        res["results"].append(row)
        f = row["flash"].get("median_us")
        print(f"B={B} Hq={Hq} Hkv={Hkv} D={D} T={T}: flash {f} us, efficient {row['efficient'].get('median_us')} us",
              flush=True)
    with open(args.out, "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
