#!/usr/bin/env python3
"""Markdown speed table from bench_systemc's (and bench_sc_pins's) JSON output (--benchmark_out=FILE --benchmark_out_format=json,
with --benchmark_repetitions=N): per driver, pass and LANES the median cycles/s of the RTL and of the
model over the repetitions, their ratio, and (harness rows) the harness's own rate (replay).

    summarize.py RESULTS.json [RESULTS2.json ...]   (several files: medians over all their runs)
"""
import json
import statistics
import sys
from collections import defaultdict

TARGET = {4: 5, 16: 10, 64: 15}  # pins rows (clock-by-clock model vs the Verilated C++ model)
SC_TARGET = 3  # sc rows (bench_sc_pins: pin-level SystemC model vs the Verilated SystemC model)


def main(paths):
    rates = defaultdict(list)  # (driver, pass, lanes, dut) -> [cycles/s]
    skipped = set()
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        for b in data["benchmarks"]:
            if b.get("run_type") == "aggregate":
                continue
            name = b["name"].split("/real_time")[0].split("/manual_time")[0]
            driver, pss, lanes, dut = name.split("/")
            key = (driver, pss, int(lanes[1:]), dut)
            if b.get("error_occurred"):
                skipped.add(key)
                continue
            rates[key].append(b["cycles_per_s"])
    med = {k: statistics.median(v) for k, v in rates.items()}
    print("| driver | pass | LANES | RTL Mcycles/s | model Mcycles/s | model / RTL | target | harness alone Mcycles/s |")
    print("|---|---|---|---|---|---|---|---|")
    for driver in ("pins", "raw", "harness", "sc"):  # (tlm rows: the second table)
        for lanes in (4, 16, 64):
            for pss in ("quantize", "score", "value"):
                r, m = med.get((driver, pss, lanes, "rtl")), med.get((driver, pss, lanes, "model"))
                if m is None:
                    continue
                rep = med.get((driver, pss, lanes, "replay"))
                ratio = f"{m / r:.1f}x" if r else ("RTL not built" if (driver, pss, lanes, "rtl") in skipped else "-")
                tgt = f"{TARGET[lanes]}x" if driver == "pins" else f"{SC_TARGET}x" if driver == "sc" else ""
                print(f"| {driver} | {pss} | {lanes} | {r / 1e6:.3f} |" if r else f"| {driver} | {pss} | {lanes} | - |",
                      f"{m / 1e6:.2f} | {ratio} | {tgt} | {rep / 1e6:.2f} |" if rep else f"{m / 1e6:.2f} | {ratio} | {tgt} | |")
    tlm = [(p, l) for l in (4, 16, 64) for p in ("quantize", "score") if ("tlm", p, l, "data") in med]
    if tlm:
        print("\n| TLM job | pass | LANES | RTL Mcycles/s | job with data Mcycles/s | data / RTL | target | "
              "timing-only Gcycles/s | timing / RTL | target |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for pss, lanes in tlm:
            r = med.get(("tlm", pss, lanes, "rtl"))
            d, t = med[("tlm", pss, lanes, "data")], med.get(("tlm", pss, lanes, "timing"))
            dt = "30x" if lanes == 16 else ""
            tt = {4: "100x", 64: "1000x"}.get(lanes, "")
            rr = f"{r / 1e6:.3f}" if r else "-"
            print(f"| tlm | {pss} | {lanes} | {rr} | {d / 1e6:.2f} | {f'{d / r:.1f}x' if r else '-'} | {dt} | "
                  f"{t / 1e9:.1f} | {f'{t / r:.3g}x' if r and t else '-'} | {tt} |")
    n = {len(v) for v in rates.values()}
    print(f"\n(median of {min(n)}..{max(n)} runs per row)" if n else "")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1:])
