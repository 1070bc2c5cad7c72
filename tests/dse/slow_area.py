#!/usr/bin/env python3
"""An area script that never finishes in time (tests/dse/mpi_identity.sh): logs each attempt to
$NQKV_FAKE_AREA_LOG first, then sleeps $NQKV_FAKE_AREA_SLEEP seconds (default 5), past the spec's
timeout. A timed-out synthesis is not cached, so the log counts who attempted it."""
import os, sys, time

log = os.environ.get("NQKV_FAKE_AREA_LOG")
if log:
    with open(log, "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\n")
time.sleep(float(os.environ.get("NQKV_FAKE_AREA_SLEEP", "5")))
