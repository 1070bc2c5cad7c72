#!/usr/bin/env python3
"""Fits time = fixed + bytes / bandwidth to the fused NF4 decode rows of a bench_cuda JSON, per kernel
family (G = 1: Hkv 32, G = 4: Hkv 8; the B >= 8 target rows), and sets each >= 3.2x target row's budget
(the same run's queued SDPA time / 3.2) against the measured time and both fits. Used by reports/gpu.md
(round 17) to show which targets a kernel of the same family could reach by steady-state speed alone.

Usage: decode_cost_model.py BENCH_JSON SDPA_JSON [--target 3.2] [--json OUT] [--plot OUT.png]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile


def load_rows(bench_path):
    rows, copy = {}, 0.0
    for b in json.load(open(bench_path))["benchmarks"]:
        copy = b.get("copyGBps", copy)
        m = re.match(r"BM_DecodeAttention/B:(\d+)/Hq:32/Hkv:(\d+)/D:128/T:(\d+)/blk:64/bits:4/", b["name"])
        if m:
            B, H, T = map(int, m.groups())
            us = b["median_us"]
            rows[(B, H, T)] = {"us": us, "mb": b["cacheGBps"] * us * 1e-3}  # the cache bytes (codes + scales): GB/s x us = kB
    return rows, copy


def fit(points):
    """Least squares of us = a + s * MB; returns (a us, GB/s = 1e3 / s)."""
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return None
    s = sum((p[0] - mx) * (p[1] - my) for p in points) / sxx
    return my - s * mx, 1e3 / s


def at(fit_, mb):
    """A fit's time (us) for mb megabytes."""
    return fit_[0] + mb * 1e3 / fit_[1]


def write_atomically(path, write, what):
    """write(tmp) fills a temporary file next to PATH, which is then renamed over PATH; on any failure the
    temporary file is removed and the script exits 2 with one line naming WHAT."""
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), "." + os.path.basename(path) + ".tmp")
    try:
        write(tmp)
        if not os.path.exists(tmp):
            raise OSError(f"nothing was written to {tmp}")
        os.replace(tmp, path)
    except (OSError, subprocess.CalledProcessError) as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        print(f"decode_cost_model: cannot write {what} {path}: {e}", file=sys.stderr)
        sys.exit(2)


def plot(path, rows, fits, copy, targets):
    """gnuplot pngcairo into a temporary file next to PATH, renamed over it once complete."""
    with tempfile.TemporaryDirectory() as tmp:
        def dat(name, pts):
            p = os.path.join(tmp, name)
            with open(p, "w") as f:
                f.writelines(f"{x} {y}\n" for x, y in pts)
            return p
        g1 = dat("g1", [(r["mb"], r["us"]) for (B, H, T), r in rows.items() if H == 32])
        g4 = dat("g4", [(r["mb"], r["us"]) for (B, H, T), r in rows.items() if H == 8])
        met = dat("met", [(t["mb"], t["budget_us"]) for t in targets if t["met"]])
        miss = dat("miss", [(t["mb"], t["budget_us"]) for t in targets if not t["met"]])

        def run_gnuplot(out_tmp):
            script = f"""set terminal pngcairo size 900,600 font 'sans,10'
set output '{out_tmp}'
set title 'Fused NF4 decode on the H100: time against the cache bytes it reads (same run as the SDPA baseline)'
set logscale xy
set xlabel 'cache bytes read (codes + scales), MB'
set ylabel 'queued time, us'
set key left top
set grid
set xrange [5:6000]
f1(x) = {fits[32][0]} + x * 1000.0 / {fits[32][1]}
f4(x) = {fits[8][0]} + x * 1000.0 / {fits[8][1]}
cp(x) = x * 1000.0 / {copy}
plot f1(x) lw 2 lc rgb '#1f77b4' title sprintf('G = 1 fit: %.1f us + bytes / %.0f GB/s', {fits[32][0]}, {fits[32][1]}), \\
     f4(x) lw 2 lc rgb '#d62728' title sprintf('G = 4 fit: %.1f us + bytes / %.0f GB/s', {fits[8][0]}, {fits[8][1]}), \\
     cp(x) lw 2 dt 2 lc rgb 'black' title sprintf('bytes / copy bandwidth (%.0f GB/s), no fixed cost', {copy}), \\
     '{g1}' with points pt 7 ps 1.2 lc rgb '#1f77b4' title 'measured, Hkv 32 (G = 1)', \\
     '{g4}' with points pt 5 ps 1.2 lc rgb '#d62728' title 'measured, Hkv 8 (G = 4)', \\
     '{met}' with points pt 8 ps 2 lw 2 lc rgb '#2ca02c' title 'budget = SDPA / 3.2, met', \\
     '{miss}' with points pt 6 ps 2 lw 2 lc rgb '#ff7f0e' title 'budget = SDPA / 3.2, missed'
"""
            subprocess.run(["gnuplot"], input=script.encode(), check=True, capture_output=True)

        write_atomically(path, run_gnuplot, "the plot (gnuplot)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench")
    ap.add_argument("sdpa")
    ap.add_argument("--target", type=float, default=3.2)
    ap.add_argument("--json")
    ap.add_argument("--plot", help="PNG of time against bytes (log-log): measured rows, fits, budgets (needs gnuplot)")
    a = ap.parse_args()
    if not a.target > 0:
        print(f"decode_cost_model: --target must be positive (got {a.target})", file=sys.stderr)
        sys.exit(2)
    try:
        rows, copy = load_rows(a.bench)
        sdpa = {(c["batch"], c["kv_heads"], c["tokens"]): c["queued"]["median_ms"] * 1e3 for c in json.load(open(a.sdpa))["cases"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"decode_cost_model: cannot read the inputs: {e!r}", file=sys.stderr)
        sys.exit(2)
    if not rows or not sdpa or copy <= 0:
        print("decode_cost_model: no decode rows, SDPA cases or copy bandwidth in the inputs", file=sys.stderr)
        sys.exit(2)
    fits = {}
    for H in (32, 8):
        pts = [(r["mb"], r["us"]) for (B, h, T), r in rows.items() if h == H and B >= 8]
        fits[H] = fit(pts) if len(pts) >= 2 else None
        if fits[H] is None:
            print(f"decode_cost_model: fewer than two B >= 8 rows of different sizes at Hkv {H}", file=sys.stderr)
            sys.exit(2)
        print(f"Hkv {H:2d} (G = {32 // H}): time = {fits[H][0]:.1f} us + bytes / {fits[H][1]:.0f} GB/s  (fit over {len(pts)} rows, B >= 8)")
    print(f"copy bandwidth (same run, queued): {copy:.0f} GB/s")
    print()
    print("| B | Hkv | T | cache MB | SDPA us | budget us | now us | fit (own family) us | fit G = 1 us | fixed cost allowed at copy bandwidth us | met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    out = []
    for key in sorted(rows, key=lambda k: (k[1], k[0], k[2])):
        if key not in sdpa:
            continue
        B, H, T = key
        r = rows[key]
        budget = sdpa[key] / a.target
        own, g1 = at(fits[H], r["mb"]), at(fits[32], r["mb"])
        allowed = budget - r["mb"] * 1e3 / copy  # what launch, fill, drain and combine may cost at 100% of copy
        met = r["us"] <= budget
        print(f"| {B} | {H} | {T} | {r['mb']:.1f} | {sdpa[key]:.1f} | {budget:.1f} | {r['us']:.1f} | {own:.1f} | {g1:.1f} | {allowed:.1f} | {'yes' if met else 'no'} |")
        out.append({"batch": B, "kv_heads": H, "tokens": T, "mb": r["mb"], "sdpa_us": sdpa[key], "budget_us": budget,
                    "now_us": r["us"], "fit_own_us": own, "fit_g1_us": g1, "fixed_allowed_us": allowed, "met": met})
    if a.plot:
        plot(a.plot, rows, fits, copy, out)
    if a.json:
        doc = {"copy_gbps": copy, "fits": {str(k): {"fixed_us": v[0], "gbps": v[1]} for k, v in fits.items()}, "rows": out}

        def dump(tmp):
            with open(tmp, "w") as f:
                json.dump(doc, f, indent=1)

        write_atomically(a.json, dump, "the JSON")

if __name__ == "__main__":
    main()
