#!/usr/bin/env python3
"""Kernel-by-kernel SASS comparison of two builds of the CUDA objects (the proof that a refactor changed no
machine code). Each side is one or more object files / cubins / fatbins; `cuobjdump -sass` dumps them, every
kernel's instructions are normalised (addresses, the /* 0x... */ encoding comments and blank lines dropped;
the encodings themselves are compared separately) and matched by demangled name after --rename rules.

  sass_compare.py --before a.o [b.o ...] --after c.o [d.o ...] [--rename 'REGEX=>REPL' ...] [--json out.json]

cuobjdump: PATH, /usr/local/cuda/bin, or the nvidia-cuda-cuobjdump wheel that scripts/setup.sh installs into
~/.cache/nqkv/cuda-tools where nvcc has none. Exit status 0 when every kernel present on both sides is identical (instructions and encodings) and no kernel
of --after is missing from --before; kernels only in --before are listed as removed (allowed with
--allow-removed REGEX). 2 on bad input, 1 on a difference.
"""
import argparse, json, os, re, shutil, subprocess, sys, difflib


def find_cuobjdump():
    """cuobjdump from PATH, the CUDA toolkit, or the wheel scripts/setup.sh installs (nvidia-cuda-cuobjdump)."""
    cache = os.path.join(os.environ.get("NQKV_DATA_DIR", os.path.expanduser("~/.cache/nqkv")), "cuda-tools")
    for c in (shutil.which("cuobjdump"), "/usr/local/cuda/bin/cuobjdump", os.path.join(cache, "nvidia/cu13/bin/cuobjdump")):
        if c and os.access(c, os.X_OK):
            return c
    return "cuobjdump"


def fail(msg):
    print(f"sass_compare: {msg}", file=sys.stderr)
    sys.exit(2)


def demangle(names):
    if not names:
        return []
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def kernels(objs, cuobjdump):
    funcs = {}
    for o in objs:
        try:
            env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(cuobjdump)) + os.pathsep + os.environ.get("PATH", ""))
            r = subprocess.run([cuobjdump, "-sass", o], capture_output=True, text=True, env=env)
        except OSError as e:
            fail(f"cannot run {cuobjdump} ({e}); scripts/setup.sh installs it where nvcc has none")
        if r.returncode != 0:
            fail(f"cuobjdump -sass {o} failed: {r.stderr.strip()}")
        name = None
        for line in r.stdout.splitlines():
            m = re.match(r"\s*Function : (\S+)", line)
            if m:
                name = m.group(1)
                funcs.setdefault(name, ([], []))
                continue
            if name is None:
                continue
            m = re.match(r"\s*/\*[0-9a-f]{4,}\*/\s*(.*?)\s*;?\s*/\* (0x[0-9a-f]+) \*/\s*$", line)
            if m:
                funcs[name][0].append(re.sub(r"\s+", " ", m.group(1)))
                funcs[name][1].append(m.group(2))
                continue
            m = re.match(r"\s*/\* (0x[0-9a-f]+) \*/\s*$", line)
            if m:
                funcs[name][1].append(m.group(1))
    mangled = list(funcs)
    return {d: funcs[m] for m, d in zip(mangled, demangle(mangled))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", nargs="+", required=True)
    ap.add_argument("--after", nargs="+", required=True)
    ap.add_argument("--rename", action="append", default=[], help="REGEX=>REPL applied to demangled names of both sides")
    ap.add_argument("--allow-removed", default=None, help="regex of kernels that may exist only in --before")
    ap.add_argument("--json", default=None)
    ap.add_argument("--cuobjdump", default=find_cuobjdump())
    a = ap.parse_args()
    rules = []
    for r in a.rename:
        if "=>" not in r:
            fail(f"--rename needs REGEX=>REPL, got {r!r}")
        pat, rep = r.split("=>", 1)
        rules.append((re.compile(pat), rep))

    def norm(n):
        n = n.replace("nqkv::cuda::detail::", "")
        for pat, rep in rules:
            n = pat.sub(rep, n)
        return n

    B = {norm(k): v for k, v in kernels(a.before, a.cuobjdump).items()}
    A = {norm(k): v for k, v in kernels(a.after, a.cuobjdump).items()}
    rows, bad = [], 0
    for k in sorted(set(A) | set(B)):
        if k not in A:
            ok = bool(a.allow_removed and re.search(a.allow_removed, k))
            rows.append(dict(kernel=k, status="removed" if ok else "MISSING-AFTER", before=len(B[k][0]), after=0))
            bad += not ok
            continue
        if k not in B:
            rows.append(dict(kernel=k, status="NEW", before=0, after=len(A[k][0])))
            bad += 1
            continue
        same = A[k] == B[k]
        rows.append(dict(kernel=k, status="identical" if same else "DIFFERENT", before=len(B[k][0]), after=len(A[k][0]),
                         diff_lines=0 if same else sum(1 for l in difflib.unified_diff(B[k][0], A[k][0], lineterm="", n=0)
                                                       if l[:1] in "+-" and l[:3] not in ("+++", "---"))))
        bad += not same
    w = max(len(r["kernel"]) for r in rows)
    for r in rows:
        print(f"{r['kernel']:<{w}}  {r['before']:>6}  {r['after']:>6}  {r['status']}")
    n_id = sum(r["status"] == "identical" for r in rows)
    print(f"{n_id} identical, {sum(r['status'] == 'removed' for r in rows)} removed (allowed), {bad} differing/missing/new")
    if a.json:
        with open(a.json + ".tmp", "w") as f:
            json.dump(dict(rows=rows, identical=n_id, problems=bad), f, indent=1)
        import os
        os.replace(a.json + ".tmp", a.json)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
