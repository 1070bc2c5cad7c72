#!/usr/bin/env python3
"""A stand-in for sim/rtl/build_plugin.sh in the dse tests: same command line (--lanes L --out DIR),
no Verilator. It appends LANES to $NQKV_FAKE_RTL_LOG (so tests count builds) and writes
DIR/libnq_rtl.so, which is not a shared library (loading it fails: the point is recorded as
failed with the reason). $NQKV_FAKE_RTL_FAIL=1: exit 4 without a library (a failing build)."""
import os, sys

args = sys.argv[1:]
lanes = int(args[args.index("--lanes") + 1])
out = args[args.index("--out") + 1]
log = os.environ.get("NQKV_FAKE_RTL_LOG")
if log:
    with open(log, "a") as f:
        f.write(f"{lanes}\n")
if os.environ.get("NQKV_FAKE_RTL_FAIL") == "1":
    sys.stderr.write(f"fake rtl build: LANES {lanes} fails on purpose\n")
    sys.exit(4)
with open(os.path.join(out, "libnq_rtl.so"), "w") as f:
    f.write("not a shared library\n")
