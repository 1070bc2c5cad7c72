#!/usr/bin/env python3
"""Area of nq_accel_top per parameter set, with Yosys 0.23.

For each parameter set: read the files of rtl/nqkv_rtl.f (with -I rtl for the generated
nq_accel_regs.svh and -DSYNTHESIS, so the simulation-only assertions are left out), `chparam` the top, `synth -top nq_accel_top` (hierarchy
kept), then `stat -tech cmos` (a CMOS transistor estimate of the generic gate netlist; flip-flops
are counted as cells and converted with a fixed transistor cost per bit, see FF_TRANSISTORS).
Results are cached in reports/area/cache/<key>.json, the key being a hash of the parameters and
the RTL sources and includes, so an unchanged design is never re-synthesized. Writes reports/area/area.md
(one row per parameter set and module) and reports/area/area.json for the design-space
exploration.

usage: tools/area/nqkv_area.py [--set LANES,BLOCK_MAX,BITS_MAX[,DMAX[,ACC_W[,DIV_SPS]]]]... [--jobs N] [--print-json]
With no --set, the default sweep below runs.
"""
import argparse, hashlib, json, os, re, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RTL = os.path.join(ROOT, "rtl")
OUT = os.path.join(ROOT, "reports", "area")


def read_file_list(path):
    """The RTL file list rtl/nqkv_rtl.f: one .sv per line, dependency order (# or // comments)."""
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.lstrip().startswith(("#", "//"))]


SOURCES = read_file_list(os.path.join(RTL, "nqkv_rtl.f"))
INCLUDES = sorted(f for f in os.listdir(RTL) if f.endswith(".svh"))
KEYS = ["LANES", "BLOCK_MAX", "BITS_MAX", "DMAX", "ACC_W", "DIV_SPS"]
DEFAULTS = [16, 256, 4, 256, 48, 4]
DEFAULT_SWEEP = [(4, 64, 4), (4, 256, 4), (16, 64, 4), (16, 256, 4), (16, 64, 2), (16, 64, 3)]
FF_TRANSISTORS = 24  # a static CMOS D flip-flop with reset (stat -tech cmos does not cost DFFs)


def params_of(spec):
    vals = list(DEFAULTS)
    for i, v in enumerate(spec):
        vals[i] = int(v)
    return dict(zip(KEYS, vals))


def cache_key(p):
    h = hashlib.sha256()
    for s in SOURCES + INCLUDES:
        with open(os.path.join(RTL, s), "rb") as f:
            h.update(f.read())
    h.update(json.dumps(p, sort_keys=True).encode())
    h.update(b"yosys-0.23 synth; abc -g cmos2; stat -tech cmos v2")
    return h.hexdigest()[:16]


FF_RE = re.compile(r"^\s+\$_(S?DFFE?\w*|ALDFFE?\w*|DLATCH\w*)\s+(\d+)\s*$")


def parse_stat(text):
    """Per derived module: cells, flip-flop bits and logic transistors (`stat -tech cmos`); the
    instance count of every derived module and the flattened totals (design hierarchy section)."""
    text = text[text.rfind("Printing statistics"):] if "Printing statistics" in text else text
    mods, cur, hier, inst, total = {}, None, False, {}, {"cells": 0, "ff": 0, "transistors": 0}
    for line in text.splitlines():
        m = re.match(r"^=== (.+) ===\s*$", line)
        if m:
            hier = m.group(1) == "design hierarchy"
            cur = None if hier else m.group(1)
            if cur:
                mods[cur] = {"cells": 0, "ff": 0, "transistors": 0}
            continue
        tgt = total if hier else (mods[cur] if cur else None)
        if tgt is None:
            continue
        m = re.match(r"^\s+Number of cells:\s+(\d+)", line)
        if m:
            tgt["cells"] = int(m.group(1))
        m = FF_RE.match(line)
        if m:
            tgt["ff"] += int(m.group(2))
        m = re.match(r"^\s+Estimated number of transistors:\s+(\d+)", line)
        if m:
            tgt["transistors"] = int(m.group(1))
        if hier:
            m = re.match(r"^\s+(\S*nq_\S+)\s+(\d+)\s*$", line)
            if m:
                inst[m.group(1)] = int(m.group(2))
    return mods, inst, total


def short_name(mod):
    m = re.search(r"(nq_\w+)", mod)
    return m.group(1) if m else mod


def synth(p):
    key = cache_key(p)
    cache = os.path.join(OUT, "cache", key + ".json")
    if os.path.exists(cache):
        with open(cache) as f:
            return json.load(f), True
    chp = " ".join(f"-set {k} {v}" for k, v in p.items())
    with tempfile.TemporaryDirectory() as td:
        stat = os.path.join(td, "stat.txt")
        script = (f"read_verilog -sv -DSYNTHESIS -I{RTL} {' '.join(os.path.join(RTL, s) for s in SOURCES)}; "
                  f"chparam {chp} nq_accel_top; synth -top nq_accel_top; abc -g cmos2; opt_clean; "
                  f"tee -q -o {stat} stat -tech cmos")
        r = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"yosys failed for {p}:\n{r.stderr[-2000:]}")
        with open(stat) as f:
            text = f.read()
    mods, inst, flat = parse_stat(text)
    res = {"params": p, "key": key, "modules": {}}
    for name, v in mods.items():
        n = inst.get(name, 1)
        agg = res["modules"].setdefault(short_name(name), {"instances": 0, "cells": 0, "ff_bits": 0,
                                                           "transistors_logic": 0, "transistors": 0})
        agg["instances"] += n
        agg["cells"] += n * v["cells"]
        agg["ff_bits"] += n * v["ff"]
        agg["transistors_logic"] += n * v["transistors"]
        agg["transistors"] += n * (v["transistors"] + FF_TRANSISTORS * v["ff"])
    res["total"] = {"cells": flat["cells"], "ff_bits": flat["ff"], "transistors_logic": flat["transistors"],
                    "transistors": flat["transistors"] + FF_TRANSISTORS * flat["ff"]}
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, "w") as f:
        json.dump(res, f, indent=1)
    return res, False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", default=[], help="LANES,BLOCK_MAX,BITS_MAX[,DMAX[,ACC_W[,DIV_SPS]]]")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--print-json", action="store_true",
                    help="print the results as JSON on stdout and write no report (nqkv dse's area stage)")
    a = ap.parse_args()
    sets = [params_of(s.split(",")) for s in a.set] if a.set else [params_of(s) for s in DEFAULT_SWEEP]
    with ThreadPoolExecutor(max_workers=a.jobs) as ex:
        results = list(ex.map(synth, sets))
    if a.print_json:
        json.dump([res for res, _ in results], sys.stdout)
        sys.stdout.write("\n")
        return 0
    rows, js = [], []
    for res, cached in results:
        js.append(res)
        print(f"{res['params']}: {res['total']['transistors']} transistors, {res['total']['ff_bits']} FF bits"
              f"{' (cached)' if cached else ''}")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "area.json"), "w") as f:
        json.dump(js, f, indent=1)
    lines = ["# nq_accel_top area (Yosys 0.23 `synth`, `stat -tech cmos`)", "",
             f"Transistors = CMOS estimate of the gate netlist + {FF_TRANSISTORS} per flip-flop bit. Per-module rows",
             "are summed over all instances of the module (own logic only, children excluded);",
             "`total` is the flattened design.", "",
             "| LANES | BLOCK_MAX | BITS_MAX | DMAX | ACC_W | module | instances | cells | FF bits | transistors |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for res in js:
        p = res["params"]
        pre = f"| {p['LANES']} | {p['BLOCK_MAX']} | {p['BITS_MAX']} | {p['DMAX']} | {p['ACC_W']} "
        for name in sorted(res["modules"]):
            v = res["modules"][name]
            n = v["instances"]
            lines.append(pre + f"| {name} | {n} | {v['cells']} | {v['ff_bits']} | {v['transistors']} |")
        t = res["total"]
        lines.append(pre + f"| **total** | | {t['cells']} | {t['ff_bits']} | **{t['transistors']}** |")
    with open(os.path.join(OUT, "area.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", os.path.join(OUT, "area.md"))


if __name__ == "__main__":
    sys.exit(main())
