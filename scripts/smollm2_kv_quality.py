#!/usr/bin/env python3
"""The SmolLM2-135M section of reports/real-kv.md (issue 19): KV statistics and the perplexity table.

Runs `nqkv kvstats --gguf` and a list of `nqkv eval --gguf` jobs on Debian's licence texts
(/usr/share/common-licenses, package base-files; sha256 checked below; GPL-3, LGPL-2.1, GFDL-1.3 and
Apache-2.0: 20,920 tokens, workloads/gguf/texts.md) in windows of 512 tokens, and merges the eval
CSVs into one markdown table (`--table`).

Each job is one nqkv invocation (which also recomputes the float reference), writes OUT/<job>.csv
and OUT/<job>.md, and is skipped when its CSV exists, so an interrupted run resumes. Jobs are in
priority order; --lanes N runs N at a time (each under `nice`). The full table (every codebook at
block 32 and 64, K only / V only / both, KIVI INT4 and INT2, float baselines) is 16 eval jobs of
60 model passes over the text: about 7 hours of one core with a default (SSE2) build at roughly
20 ms per token and pass, less with -march=native (AVX2/FMA).

  scripts/smollm2_kv_quality.py --nqkv build/tools/nqkv/nqkv --out reports/real-kv/smollm2 --lanes 2
  scripts/smollm2_kv_quality.py --out reports/real-kv/smollm2 --table     # merge into eval_table.md
  scripts/smollm2_kv_quality.py --list                                     # the jobs and commands
"""
import argparse
import csv
import hashlib
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GGUF = os.path.join(os.environ.get("NQKV_DATA_DIR", os.path.expanduser("~/.cache/nqkv")), "smollm2",
                    "SmolLM2-135M-Instruct.Q4_1.gguf")
TEXTS = [  # (path, sha256): Debian 12 base-files; the 20,920-token set of workloads/gguf/texts.md
    ("/usr/share/common-licenses/GPL-3", "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986"),
    ("/usr/share/common-licenses/LGPL-2.1", "dc626520dcd53a22f727af3ee42c770e56c97a64fe3adb063799d8ab032fe551"),
    ("/usr/share/common-licenses/GFDL-1.3", "110535522396708cea37c72a802c5e7e81391139f5f7985631c93ef242b206a4"),
    ("/usr/share/common-licenses/Apache-2.0", "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"),
]
CONTEXT = 512
CODEBOOKS = "nf4,nf3,nf2,fp4,e2m1,int4,lloyd4"
KIVI = "--kivi-group 32 --kivi-residual 128"

# (job, eval arguments), highest priority first: one KV format per job, so an interrupted run loses at
# most one format's pass. Every job reads the float reference from OUT/reference.json (`nqkv eval
# --reference`), which the first job computes; the other lanes wait for it.
def _eval_jobs():
    jobs = [("eval_f32", "--kv f32")]
    for tensors, flag in (("kv", ""), ("k", "--tensors k "), ("v", "--tensors v ")):
        for block in (64, 32):
            for cb in CODEBOOKS.split(","):
                jobs.append((f"eval_{tensors}_{cb}_b{block}", f"{flag}--kv {cb} --block {block}"))
        for kivi in ("kivi4", "kivi2"):
            jobs.append((f"eval_{tensors}_{kivi}", f"{flag}--kv {kivi} {KIVI}"))
    jobs.append(("eval_kv_kivi4_g64", "--kv kivi4 --kivi-group 64 --kivi-residual 128"))
    jobs += [("eval_f16", "--kv f16"), ("eval_bf16", "--kv bf16")]
    # Priority: the rows issue 19 asks for (float; every codebook at block 64 then 32, K and V, K
    # only, V only; KIVI INT4 and INT2 on K and V), then the extra ones (KIVI on one tensor, KIVI
    # at G 64, f16 and bf16 caches).
    extra = {"eval_k_kivi4", "eval_k_kivi2", "eval_v_kivi4", "eval_v_kivi2", "eval_kv_kivi4_g64", "eval_f16",
             "eval_bf16"}
    return sorted(jobs, key=lambda j: (j[0] != "eval_f32", j[0] in extra, "_b32" in j[0],
                                       ["kv", "k", "v", "f32"].index(j[0].split("_")[1]) if j[0] not in extra else 0))


EVAL_JOBS = _eval_jobs()


def check_inputs(texts):
    if not os.path.isfile(GGUF):
        sys.exit(f"{GGUF} not found: scripts/setup.sh fetches it (or set NQKV_DATA_DIR)")
    for path, want in texts:
        if want is None:
            continue
        with open(path, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        if got != want:
            sys.exit(f"{path}: sha256 {got}, expected {want} (a different base-files version?)")


def commands(nqkv, out, texts):
    texts = ",".join(p for p, _ in texts)
    common = f"--gguf {GGUF} --text {texts} --context {CONTEXT}"
    cmds = [("kvstats", f"{nqkv} kvstats {common} --blocks 32,64 --kivi --per-head --csv {out}/kvstats.csv --md {out}/kvstats.md "
                        f"--plot-prefix {out}/kvstats")]
    for job, args in EVAL_JOBS:
        cmds.append((job, f"{nqkv} eval {common} --path dequant --gen 16 --no-baselines {args} "
                          f"--reference {out}/reference.json --csv {out}/{job}.csv --md {out}/{job}.md"))
    return cmds


def run_jobs(cmds, out, lanes, nice):
    todo = [(j, c) for j, c in cmds if not os.path.exists(os.path.join(out, j + ".csv"))]
    lock = threading.Lock()

    ref = os.path.join(out, "reference.json")

    def lane():
        while True:
            with lock:
                if not todo:
                    return
                # eval_f32 writes the shared float reference; the other eval jobs wait for it.
                if todo[0][0].startswith("eval_") and todo[0][0] != "eval_f32" and not os.path.exists(ref):
                    job = None
                else:
                    job, cmd = todo.pop(0)
            if job is None:
                time.sleep(5)
                continue
            t = time.time()
            print(f"[{time.strftime('%H:%M:%S')}] start {job}", flush=True)
            with open(os.path.join(out, job + ".log"), "w") as log:
                rc = subprocess.call(f"nice -n {nice} {cmd}", shell=True, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            dt = time.time() - t
            with lock:
                with open(os.path.join(out, "times.txt"), "a") as f:
                    f.write(f"{job}\t{dt:.0f} s\trc {rc}\t{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            print(f"[{time.strftime('%H:%M:%S')}] {job}: rc {rc}, {dt:.0f} s", flush=True)

    threads = [threading.Thread(target=lane) for _ in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def merge_table(out):
    """OUT/eval_table.md: one row per KV format and block (or KIVI group), perplexity with K and V
    quantized, K only and V only, each against the f32 cache; top-1 agreement of the K-and-V run."""
    rows = []
    for job, _ in EVAL_JOBS:
        p = os.path.join(out, job + ".csv")
        if os.path.exists(p):
            with open(p) as f:
                rows += list(csv.DictReader(f))
    base = [r for r in rows if r["format"] == "f32"]
    if not base:
        sys.exit("no f32 row yet (job eval_f32)")
    b = float(base[0]["ppl"])
    cells = {}  # (family, block) -> {"kv"|"k"|"v": row}
    for r in rows:
        name = r["format"]
        tensors = "k" if name.endswith("_konly") else "v" if name.endswith("_vonly") else "kv"
        fam = name.replace("_konly", "").replace("_vonly", "")
        cells.setdefault((fam, int(r["block"])), {})[tensors] = r
    order = ["f32", "f16", "bf16"] + CODEBOOKS.split(",") + ["kivi4_R128", "kivi2_R128"]
    def key(k):
        fam, block = k
        return (order.index(fam) if fam in order else len(order), fam, -block)
    def ppl(c, t):
        if t not in c:
            return "-", "-"
        v = float(c[t]["ppl"])
        return f"{v:.4f}", f"{100 * (v / b - 1):+.2f}%"
    lines = []
    for k in sorted(cells, key=key):
        fam, block = k
        c = cells[k]
        any_row = c.get("kv") or c.get("k") or c.get("v")
        label = fam.replace("_R", " R")
        blk = "-" if block == 0 else (f"G {block}" if fam.startswith("kivi") else str(block))
        bits = float(any_row["bits_per_element"]) if "kv" in c else None
        kv, dkv = ppl(c, "kv")
        kk, dk = ppl(c, "k")
        vv, dv = ppl(c, "v")
        top1 = f"{100 * float(c['kv']['text_top1']):.1f}%" if "kv" in c else "-"
        lines.append(f"| {label} | {blk} | {bits:.3f} | {kv} | {dkv} | {kk} | {dk} | {vv} | {dv} | {top1} |"
                     if bits is not None else
                     f"| {label} | {blk} | - | {kv} | {dkv} | {kk} | {dk} | {vv} | {dv} | {top1} |")
    table = ("| KV format | block / group | bits/elem (K and V) | PPL, K and V | ΔPPL | PPL, K only | ΔPPL | "
             "PPL, V only | ΔPPL | top-1 agreement (K and V) |\n"
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(lines) + "\n")
    with open(os.path.join(out, "eval_table.md.tmp"), "w") as f:
        f.write(table)
    os.replace(os.path.join(out, "eval_table.md.tmp"), os.path.join(out, "eval_table.md"))
    print(table)
    plot_ppl_bits(out, rows, b)


def plot_ppl_bits(out, rows, base_ppl):
    """eval_ppl_bits.png (gnuplot, as io/plot does): perplexity increase against bits per element, one
    series per format family, K and V both quantized."""
    series = {}
    for r in rows:
        name = r["format"]
        if r["block"] == "0" or name.endswith("only"):
            continue
        fam = name.split("_")[0]
        series.setdefault(fam, set()).add((float(r["bits_per_element"]), 100 * (float(r["ppl"]) / base_ppl - 1)))
    if not series:
        return
    png, tmp = os.path.join(out, "eval_ppl_bits.png"), os.path.join(out, "eval_ppl_bits.png.tmp")
    gp = ["set terminal pngcairo size 900,560 font 'sans,10'", f"set output '{tmp}'",
          "set title 'SmolLM2-135M: perplexity increase from quantized K and V caches (block 32/64, KIVI G32 R128)'",
          "set xlabel 'bits per element (scales, zero points and KIVI fp16 window counted)'",
          "set ylabel 'perplexity increase over the f32 cache (%)'", "set logscale y", "set grid", "set key outside right"]
    names = sorted(series)
    gp.append("plot " + ", ".join(f"'-' using 1:2 with linespoints title '{n}'" for n in names))
    for n in names:
        for x, y in sorted(series[n]):
            gp.append(f"{x} {max(y, 1e-3)}")
        gp.append("e")
    try:
        subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, check=True)
        os.replace(tmp, png)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"no plot: gnuplot failed ({e})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nqkv", default=os.path.join(ROOT, "build/tools/nqkv/nqkv"))
    ap.add_argument("--out", default=os.path.join(ROOT, "reports/real-kv/smollm2"))
    ap.add_argument("--lanes", type=int, default=1)
    ap.add_argument("--nice", type=int, default=10)
    ap.add_argument("--only", default="", help="comma-separated job names (kvstats, eval_...)")
    ap.add_argument("--list", action="store_true", help="print the jobs and their commands")
    ap.add_argument("--table", action="store_true", help="merge the eval CSVs into OUT/eval_table.md")
    ap.add_argument("--texts", default="", help="comma-separated text files instead of the report's set (a pilot)")
    a = ap.parse_args()
    texts = [(p, None) for p in a.texts.split(",")] if a.texts else TEXTS
    if a.lanes < 1:
        sys.exit("--lanes must be at least 1")
    out = os.path.abspath(a.out)
    cmds = commands(a.nqkv, out, texts)
    if a.only:
        names = a.only.split(",")
        unknown = [n for n in names if n not in dict(cmds)]
        if unknown:
            sys.exit(f"unknown job(s) {unknown}; --list shows them")
        cmds = [(j, c) for j, c in cmds if j in names]
    if a.list:
        for j, c in cmds:
            print(f"{j}: {c}")
        return
    if a.table:
        merge_table(out)
        return
    check_inputs(texts)
    os.makedirs(out, exist_ok=True)
    run_jobs(cmds, out, a.lanes, a.nice)


if __name__ == "__main__":
    main()
