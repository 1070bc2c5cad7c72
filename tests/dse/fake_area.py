#!/usr/bin/env python3
"""A stand-in for tools/area/nqkv_area.py in the dse tests: same command line (--set S --print-json),
a transistor count that is a known function of the set, no Yosys. Every call appends its set to
$NQKV_FAKE_AREA_LOG (so tests count syntheses). LANES 8 fails (a deliberately failing point);
$NQKV_FAKE_AREA_SLEEP seconds of sleep per call (for the kill/resume and timeout tests);
$NQKV_FAKE_AREA_ALLOC_MIB MiB allocated per call (for the memory-budget test). With --liberty LIB
(the interface of nqkv_area_liberty.py) also total.area_um2 = transistors / 4 + the library's size."""
import json, os, sys, time

args = sys.argv[1:]
s = args[args.index("--set") + 1]
lanes, block_max, bits_max, dmax, acc_w, div_sps = (int(v) for v in s.split(","))
log = os.environ.get("NQKV_FAKE_AREA_LOG")
if os.environ.get("NQKV_FAKE_AREA_SLEEP"):
    time.sleep(float(os.environ["NQKV_FAKE_AREA_SLEEP"]))
if log:
    with open(log, "a") as f:
        f.write(s + "\n")
if os.environ.get("NQKV_FAKE_AREA_ALLOC_MIB"):
    blob = bytearray(int(os.environ["NQKV_FAKE_AREA_ALLOC_MIB"]) << 20)  # MemoryError under a smaller budget
if lanes == 8:
    sys.stderr.write("fake synthesis: LANES 8 fails on purpose\n")
    sys.exit(3)
t = 1000 * lanes * bits_max + block_max + div_sps
total = {"transistors": t}
if "--liberty" in args:  # nqkv_area_liberty.py's interface: the area in um^2 as well
    with open(args[args.index("--liberty") + 1]) as f:
        total["area_um2"] = 0.25 * t + len(f.read())
print(json.dumps([{"params": {"LANES": lanes}, "total": total}]))
