#!/usr/bin/env python3
"""Runs `nqkv sim --backend rtl` (the verilated nq_accel_top, no back-pressure) on a set of decode
workloads at every LANES the build has (`nqkv backends --json`) and writes their cycle counts as
JSON for `nqkv project --claims-report` (`rtl_cycles` in reports/nqkv-claims/inputs.json).

    python3 scripts/perf/rtl_cycles.py --nqkv build/tools/nqkv/nqkv --out reports/nqkv-claims/rtl_cycles.json
"""
import argparse, json, re, subprocess, sys, time

# (label, q_heads, kv_heads, head_dim, context, block, codebook); the shape is passed explicitly.
SHAPES = [
    ("tiny", 4, 2, 64, 100, 32, "nf4"),
    ("tiny", 4, 2, 64, 700, 64, "nf4"),          # two value partitions (512 + 188)
    ("llama-3-8b", 32, 8, 128, 1024, 64, "nf4"),
    ("llama-3-8b", 32, 8, 128, 513, 128, "nf4"),  # one block per row; a 1-token second partition
    ("llama-3-8b", 32, 8, 128, 600, 64, "nf3"),
    ("llama-2-7b", 32, 32, 128, 300, 64, "nf4"),
    ("gemma-2b", 8, 1, 256, 1500, 32, "nf4"),     # 8 blocks per row, three partitions
]


def built_lanes(nqkv, backend):
    """The LANES builds of a cycle-model backend, from `nqkv backends --json`."""
    out = subprocess.run([nqkv, "backends", "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{nqkv} backends --json failed ({out.returncode}): {out.stderr.strip()}")
    for b in json.loads(out.stdout)["backends"]:
        if b["name"] == backend:
            if not b.get("available") or not b.get("lanes"):
                sys.exit(f"backend {backend} is not available in {nqkv}: {b.get('reason', 'no LANES builds')}")
            return b["lanes"]
    sys.exit(f"{nqkv} has no backend {backend}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nqkv", default="build/tools/nqkv/nqkv")
    ap.add_argument("--backend", default="rtl", help="cycle-model backend (rtl or systemc)")
    ap.add_argument("--lanes", type=int, action="append", help="only these LANES (default: every build)")
    ap.add_argument("--out", default="reports/nqkv-claims/rtl_cycles.json")
    a = ap.parse_args()
    cases = []
    for lanes in a.lanes or built_lanes(a.nqkv, a.backend):
        for model, hq, hkv, d, ctx, blk, cb in SHAPES:
            if blk % lanes:
                continue  # a block must be a whole number of beats (rtl/doc/protocol.md)
            cmd = [a.nqkv, "sim", "--backend", a.backend, "--q-heads", str(hq), "--kv-heads", str(hkv), "--head-dim", str(d),
                   "--context", str(ctx), "--block", str(blk),
                   "--codebook", cb, "--lanes", str(lanes), "--no-backpressure"]
            t0 = time.time()
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
            s = out.stdout
            q = re.search(r"quantizer: (\d+) elements in (\d+) cycles", s)
            m = re.search(r"dequant-MAC: (\d+) MACs in (\d+) cycles \(score (\d+), value (\d+)\)", s)
            if not q or not m or "BIT-EXACT" not in s:
                sys.exit(f"unexpected output of {' '.join(cmd)}:\n{s}")
            cases.append({
                "lanes": lanes, "model": model, "q_heads": hq, "kv_heads": hkv, "head_dim": d, "context": ctx,
                "block": blk, "codebook": cb, "dtype": "f16",
                "quant_elements": int(q.group(1)), "quant_cycles": int(q.group(2)), "quant_runs": 2,
                "macs": int(m.group(1)), "mac_cycles": int(m.group(2)),
                "score_cycles": int(m.group(3)), "value_cycles": int(m.group(4)),
                "bit_exact": True, "sim_seconds": round(time.time() - t0, 2),
                "command": "nqkv " + " ".join(cmd[1:]),
            })
            print(f"LANES {lanes:2d} {model:10s} ctx {ctx:5d} B {blk:3d} {cb}: quant {q.group(2)}, MAC {m.group(2)}",
                  file=sys.stderr)
    doc = {
        "generated_by": " ".join(["python3", "scripts/perf/rtl_cycles.py"] + sys.argv[1:]),
        "note": "cycles of the verilated nq_accel_top under `nqkv sim --backend rtl --no-backpressure`: "
                "quant_cycles = K and V of all context tokens through the quantizer (two runs), "
                "mac_cycles = score_cycles + value_cycles = one decode step's dequant-MAC passes over `context` "
                "tokens (softmax and combine run on the host); every run bit-exact with the golden library",
        "cases": cases,
    }
    with open(a.out + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    import os
    os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
