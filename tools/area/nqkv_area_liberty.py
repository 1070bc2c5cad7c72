#!/usr/bin/env python3
"""Area of nq_accel_top per parameter set in um^2, mapped to a Liberty library (Yosys 0.23).

The flow of nqkv_area.py (read the RTL file list with -DSYNTHESIS, chparam, `synth -top
nq_accel_top`, `abc -g cmos2`, `stat -tech cmos` for the transistor estimate), then `dfflibmap -liberty LIB`,
`abc -liberty LIB`, `opt_clean` and `stat -liberty LIB`: the chip area of the top module with its
hierarchy, in the library's area unit (um^2 for the usual libraries). `nqkv dse` runs it when a spec
names `evaluators.area.liberty`; its cache key covers this script, nqkv_area.py, the RTL and the
library's bytes. tools/area/lib/demo45.lib is a small documented demo library (not a process).

usage: tools/area/nqkv_area_liberty.py --liberty LIB --set LANES,BLOCK_MAX,BITS_MAX[,DMAX[,ACC_W[,DIV_SPS]]]... --print-json
"""
import argparse, json, os, re, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nqkv_area as base  # noqa: E402  (the RTL file list, parameter sets and the stat parser)

AREA_RE = re.compile(r"Chip area for top module '\\?nq_accel_top':\s+([0-9.eE+-]+)")


def synth(p, liberty):
    chp = " ".join(f"-set {k} {v}" for k, v in p.items())
    with tempfile.TemporaryDirectory() as td:
        cmos, lib = os.path.join(td, "cmos.txt"), os.path.join(td, "lib.txt")
        script = (f"read_verilog -sv -DSYNTHESIS -I{base.RTL} {' '.join(os.path.join(base.RTL, s) for s in base.SOURCES)}; "
                  f"chparam {chp} nq_accel_top; synth -top nq_accel_top; abc -g cmos2; opt_clean; tee -q -o {cmos} stat -tech cmos; "
                  f"dfflibmap -liberty {liberty}; abc -liberty {liberty}; opt_clean; tee -q -o {lib} stat -liberty {liberty}")
        r = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"yosys failed for {p}:\n{r.stderr[-2000:]}")
        with open(cmos) as f:
            _, _, flat = base.parse_stat(f.read())
        with open(lib) as f:
            text = f.read()
    m = AREA_RE.search(text)
    if not m:
        raise RuntimeError(f"no 'Chip area for top module' in yosys stat -liberty for {p}:\n{text[-1500:]}")
    unknown = sorted(set(re.findall(r"Area for cell type (\S+) is unknown", text)) - {"\\" + n for n in ("nq_accel_top",)})
    unknown = [u for u in unknown if "nq_" not in u]  # submodules are summed by the hierarchy line
    if unknown:
        raise RuntimeError(f"cells without an area in {liberty}: {' '.join(unknown)}")
    return {"params": p, "liberty": os.path.abspath(liberty),
            "total": {"cells": flat["cells"], "ff_bits": flat["ff"], "transistors_logic": flat["transistors"],
                      "transistors": flat["transistors"] + base.FF_TRANSISTORS * flat["ff"],
                      "area_um2": float(m.group(1))}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--liberty", required=True, help="Liberty (.lib) file with the cells to map to")
    ap.add_argument("--set", action="append", required=True, help="LANES,BLOCK_MAX,BITS_MAX[,DMAX[,ACC_W[,DIV_SPS]]]")
    ap.add_argument("--print-json", action="store_true", help="print the results as JSON on stdout (nqkv dse's area stage)")
    a = ap.parse_args()
    if not os.path.isfile(a.liberty):
        sys.stderr.write(f"nqkv_area_liberty.py: --liberty: not found: {a.liberty}\n")
        return 2
    res = [synth(base.params_of(s.split(",")), a.liberty) for s in a.set]
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
