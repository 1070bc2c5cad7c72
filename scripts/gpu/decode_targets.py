#!/usr/bin/env python3
"""Issue 18's decode targets from one lease's bench_cuda --graph JSON and decode_baselines.py JSON.

Per shape: nqkv's per-call median (graph mode) against the fastest fp16 baseline of the same shape (every
backend that ran, FlashInfer fp8 excluded from "best fp16"), the speed-up, and both streaming rates (nqkv on
its quantized bytes: codes + scales; the baseline on its fp16 K/V bytes). Fits time = a + bytes / bw (least
squares) over the B >= 8 rows of the 12 target shapes (head_dim 128, block 64), per Hkv, for nqkv and for the
best fp16 baseline. Targets checked (issue 18): bandwidth >= 90% of the best fp16's (fit slope, and per shape
at B 32), intercept <= 8 us, speed-up >= 3.2x where the best fp16 takes >= 300 us, >= 2.5x at B 1 T 32768,
>= 1.6x at B 1 T 8192.

  decode_targets.py BENCH_JSON BASELINES_JSON [--json OUT] [--plot OUT.png] [--markdown OUT.md]

Exit status 2 with one line on stderr for unreadable or mismatched inputs; writes are atomic.
"""
import argparse
import json
import os
import re
import subprocess
import sys


def fail(msg):
    print(f"decode_targets: {msg}", file=sys.stderr)
    sys.exit(2)


def load(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {what} {path}: {e}")


def fit(points):
    """Least squares of us = a + bytes / bw; points (bytes, us). Returns (a_us, bw_GBps) or None."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return None
    s = sum((p[0] - mx) * (p[1] - my) for p in points) / sxx  # us per byte
    return my - s * mx, 1e-3 / s  # bytes/us -> GB/s: 1 / (s * 1e3)


def write_atomically(path, write):
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), "." + os.path.basename(path) + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except (OSError, subprocess.CalledProcessError) as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        fail(f"cannot write {path}: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench")
    ap.add_argument("baselines")
    ap.add_argument("--json")
    ap.add_argument("--plot")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    bench = load(a.bench, "bench JSON")
    base = load(a.baselines, "baselines JSON")
    if "benchmarks" not in bench or "cases" not in base:
        fail("expected a bench_cuda JSON (benchmarks) and a decode_baselines.py JSON (cases)")

    rows = []
    for b in bench["benchmarks"]:
        m = re.match(r"BM_DecodeAttention/B:(\d+)/Hq:(\d+)/Hkv:(\d+)/D:(\d+)/T:(\d+)/blk:(\d+)/bits:4", b.get("name", ""))
        if not m or "median_us" not in b or b.get("error_occurred"):
            continue
        B, Hq, Hkv, D, T, blk = map(int, m.groups())
        us = b["median_us"]
        rows.append({"B": B, "Hq": Hq, "Hkv": Hkv, "D": D, "T": T, "blk": blk, "us": us,
                     "p10_us": b.get("p10_us"), "p90_us": b.get("p90_us"), "graph_calls": b.get("graph_calls"),
                     "bytes": b["cacheGBps"] * 1e9 * us * 1e-6})
    if not rows:
        fail(f"{a.bench} has no BM_DecodeAttention rows at 4 bits")
    best = {}
    for c in base["cases"]:
        if "median_us" not in c or c["backend"] == "flashinfer-fp8":
            continue
        k = (c["batch"], c["q_heads"], c["kv_heads"], c["head_dim"], c["tokens"])
        if k not in best or c["median_us"] < best[k]["median_us"]:
            best[k] = c
    for r in rows:
        c = best.get((r["B"], r["Hq"], r["Hkv"], r["D"], r["T"]))
        r["GBps"] = r["bytes"] / (r["us"] * 1e-6) / 1e9
        if c:
            r.update(best_backend=c["backend"], best_us=c["median_us"], best_gqa=c.get("gqa_mode"),
                     best_bytes=c["kv_bytes"], best_GBps=c["kv_bytes"] / (c["median_us"] * 1e-6) / 1e9,
                     speedup=c["median_us"] / r["us"])

    target = [r for r in rows if r["D"] == 128 and r["blk"] == 64 and r["Hq"] == 32]
    fits = {}
    for hkv in (8, 32):
        pts = [r for r in target if r["Hkv"] == hkv and r["B"] >= 8]
        fits[f"nqkv_hkv{hkv}"] = fit([(r["bytes"], r["us"]) for r in pts])
        fits[f"fp16_hkv{hkv}"] = fit([(r["best_bytes"], r["best_us"]) for r in pts if "best_us" in r])
    checks = []

    def check(name, value, limit, ok, unit=""):
        checks.append({"target": name, "value": value, "limit": limit, "holds": bool(ok), "unit": unit})

    for hkv in (8, 32):
        n, f = fits[f"nqkv_hkv{hkv}"], fits[f"fp16_hkv{hkv}"]
        if n and f:
            check(f"fit bandwidth Hkv {hkv}: nqkv / best fp16", n[1] / f[1], 0.9, n[1] / f[1] >= 0.9)
        if n:
            check(f"fit intercept Hkv {hkv} (nqkv)", n[0], 8.0, n[0] <= 8.0, "us")
    for r in target:
        if "best_us" not in r:
            continue
        tag = f"B {r['B']} Hkv {r['Hkv']} T {r['T']}"
        if r["B"] == 32:
            check(f"bandwidth {tag}: nqkv / best fp16", r["GBps"] / r["best_GBps"], 0.9, r["GBps"] / r["best_GBps"] >= 0.9)
        if r["best_us"] >= 300:
            check(f"speed-up {tag} (best fp16 >= 300 us)", r["speedup"], 3.2, r["speedup"] >= 3.2, "x")
        if r["B"] == 1 and r["T"] == 32768:
            check(f"speed-up {tag}", r["speedup"], 2.5, r["speedup"] >= 2.5, "x")
        if r["B"] == 1 and r["T"] == 8192:
            check(f"speed-up {tag}", r["speedup"], 1.6, r["speedup"] >= 1.6, "x")

    out = {"bench": a.bench, "baselines": a.baselines, "device": base.get("device"), "rows": rows,
           "fits": {k: (None if v is None else {"intercept_us": v[0], "GBps": v[1]}) for k, v in fits.items()},
           "checks": checks, "targets_held": sum(c["holds"] for c in checks), "targets": len(checks)}

    lines = ["| B | Hkv | D | blk | T | nqkv us (p10-p90) | best fp16 | fp16 us | speed-up | nqkv GB/s (quantized) | fp16 GB/s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["D"] != 128 or r["blk"] != 64, r["B"], r["Hkv"], r["T"], r["D"], r["blk"])):
        p = f" ({r['p10_us']:.1f}-{r['p90_us']:.1f})" if r.get("p10_us") is not None else ""
        if "best_us" in r:
            fp = f"{r['best_backend']}{'' if r['best_gqa'] in ('native', 'none') else ' (' + r['best_gqa'] + ')'} | {r['best_us']:.1f} | {r['speedup']:.2f}x"
            bw = f"{r['best_GBps']:.0f}"
        else:
            fp, bw = "- | - | -", "-"
        lines.append(f"| {r['B']} | {r['Hkv']} | {r['D']} | {r['blk']} | {r['T']} | {r['us']:.1f}{p} | {fp} | {r['GBps']:.0f} | {bw} |")
    lines += ["", "| fit (B >= 8, D 128, block 64) | intercept us | GB/s |", "|---|---|---|"]
    for k, v in fits.items():
        lines.append(f"| {k} | {v[0]:.1f} | {v[1]:.0f} |" if v else f"| {k} | - | - |")
    lines += ["", "| target | measured | limit | holds |", "|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c['target']} | {c['value']:.3g}{c['unit']} | {c['limit']}{c['unit']} | {'yes' if c['holds'] else 'NO'} |")
    md = "\n".join(lines) + "\n"
    print(md)
    if a.json:
        write_atomically(a.json, lambda t: json.dump(out, open(t, "w"), indent=1))
    if a.markdown:
        write_atomically(a.markdown, lambda t: open(t, "w").write(md))
    if a.plot:
        def gp(tmp):
            data = []
            for r in target:
                data.append(f"{r['bytes'] / 1e6} {r['us']} {0 if r['Hkv'] == 8 else 1}")
            pts_f = [f"{r['best_bytes'] / 1e6} {r['best_us']} {2 if r['Hkv'] == 8 else 3}" for r in target if "best_us" in r]
            fdefs, plots = [], []
            colors = {"nqkv_hkv8": "#d62728", "nqkv_hkv32": "#1f77b4", "fp16_hkv8": "#ff9896", "fp16_hkv32": "#aec7e8"}
            for i, (k, v) in enumerate(fits.items()):
                if v:
                    fdefs.append(f"f{i}(x) = {v[0]} + x * 1e3 / {v[1]}")
                    plots.append(f"f{i}(x) lw 2 lc rgb '{colors[k]}' title '{k.replace('_hkv', ' Hkv ')} fit: {v[0]:.1f} us + bytes / {v[1]:.0f} GB/s'")
            script = f"""set terminal pngcairo size 1000,700
set output '{tmp}'
set logscale xy
set termoption noenhanced
set yrange [5:*]
set xlabel 'bytes read per call (MB): nqkv = NF4 codes + scales, fp16 = K + V'
set ylabel 'time per call (us, CUDA graph)'
set key top left
set grid
set title 'decode time against bytes, {base.get("device", "")} (one lease)'
{chr(10).join(fdefs)}
$d << EOD
{chr(10).join(data + pts_f)}
EOD
plot {', '.join(plots)}, \\
  $d u ($3==0?$1:1/0):2 pt 7 ps 1.3 lc rgb '#d62728' title 'nqkv Hkv 8 (G = 4)', \\
  $d u ($3==1?$1:1/0):2 pt 7 ps 1.3 lc rgb '#1f77b4' title 'nqkv Hkv 32 (G = 1)', \\
  $d u ($3==2?$1:1/0):2 pt 6 ps 1.3 lc rgb '#d62728' title 'best fp16 Hkv 8', \\
  $d u ($3==3?$1:1/0):2 pt 6 ps 1.3 lc rgb '#1f77b4' title 'best fp16 Hkv 32'
"""
            subprocess.run(["gnuplot"], input=script.encode(), check=True, capture_output=True)
        write_atomically(a.plot, gp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
