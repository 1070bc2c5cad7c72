#!/usr/bin/env python3
"""Regenerate or check the reports listed in reports/manifest.json (run from anywhere; works in the
repository root). Called by scripts/reports.sh and by the CTest tests reports.manifest / reports.regen.<id>.

  reports.py [--nqkv PATH] [--check] [--ctest-only] [ID...]   regenerate (or with --check: compare) entries
  reports.py --check-files                                     every path the manifest names exists

Without IDs: every entry with gpu false and a command. Each command writes into a scratch folder
({out}); regenerating copies the outputs to their places, --check compares them with the committed
files (the entry's compare mode) and leaves the tree untouched. Entries whose `needs` are missing
are skipped (exit status 77 when every requested entry was skipped).
"""
import argparse, csv, filecmp, io, json, os, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MANIFEST = os.path.join(ROOT, "reports", "manifest.json")


def load():
    with open(MANIFEST) as f:
        return json.load(f)


def check_files(m):
    missing = []
    for e in m["reports"]:
        paths = [e["report"]] + list(e.get("outputs", {}).values()) + e.get("inputs", []) + e.get("written", [])
        missing += [f"{e['id']}: {p}" for p in paths if not os.path.exists(os.path.join(ROOT, p))]
    ids = [e["id"] for e in m["reports"]]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    for line in missing:
        print("missing:", line)
    if dup:
        print("duplicate ids:", ", ".join(dup))
    print(f"{len(m['reports'])} entries, {len(missing)} missing paths")
    return 1 if missing or dup else 0


def same(new, old, mode):
    """(equal, first difference) of two files under a compare mode."""
    if mode == "exact":
        if filecmp.cmp(new, old, shallow=False):
            return True, ""
        return False, "files differ (byte for byte)"
    with open(new, newline="") as f:
        a = f.read()
    with open(old, newline="") as f:
        b = f.read()
    if "csv-ignore-columns" in mode:
        drop = set(mode["csv-ignore-columns"])
        def rows(text):
            r = list(csv.reader(io.StringIO(text)))
            keep = [i for i, h in enumerate(r[0]) if h not in drop] if r else []
            return [[row[i] for i in keep if i < len(row)] for row in r]
        ra, rb = rows(a), rows(b)
        for i, (x, y) in enumerate(zip(ra, rb)):
            if x != y:
                return False, f"row {i + 1}: {x} != {y}"
        return (len(ra) == len(rb)), ("" if len(ra) == len(rb) else f"{len(ra)} rows vs {len(rb)}")
    if "ignore-lines" in mode:
        pat = re.compile(mode["ignore-lines"])
        la = [l for l in a.splitlines() if not pat.search(l)]
        lb = [l for l in b.splitlines() if not pat.search(l)]
        for i, (x, y) in enumerate(zip(la, lb)):
            if x != y:
                return False, f"line {i + 1} (ignored lines removed):\n  new: {x}\n  old: {y}"
        return (len(la) == len(lb)), ("" if len(la) == len(lb) else f"{len(la)} lines vs {len(lb)}")
    raise SystemExit(f"unknown compare mode {mode}")


def run_entry(e, nqkv, check):
    """0 = regenerated / identical, 1 = differs or failed, 77 = skipped."""
    for n in e.get("needs", []):
        if not os.path.exists(os.path.join(ROOT, n)):
            print(f"[{e['id']}] skipped: {n} not found")
            return 77
    if e.get("writes_in_place"):
        if check:
            print(f"[{e['id']}] skipped under --check: the command writes its outputs in place")
            return 77
        t = time.time()
        subprocess.run(e["command"], shell=True, cwd=ROOT, check=True)
        print(f"[{e['id']}] regenerated in place ({time.time() - t:.1f} s)")
        return 0
    with tempfile.TemporaryDirectory(prefix=f"nqkv_report_{e['id']}_") as out:
        cmd = e["command"].replace("{nqkv}", nqkv).replace("{out}", out)
        t = time.time()
        p = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True)
        if p.returncode != 0:
            print(f"[{e['id']}] command failed ({p.returncode}): {cmd}\n{p.stdout}{p.stderr}")
            return 1
        dt = time.time() - t
        bad = 0
        for rel, dest in e["outputs"].items():
            new, old = os.path.join(out, rel), os.path.join(ROOT, dest)
            if not os.path.exists(new):
                print(f"[{e['id']}] {rel}: not written by the command")
                bad += 1
                continue
            if check:
                ok, why = same(new, old, e.get("compare", "exact")) if os.path.exists(old) else (False, "no committed file")
                if not ok:
                    print(f"[{e['id']}] {dest}: differs from the regenerated file: {why}")
                    bad += 1
            else:
                os.makedirs(os.path.dirname(old), exist_ok=True)
                shutil.copyfile(new, old)
        verb = "identical" if check else "regenerated"
        print(f"[{e['id']}] {len(e['outputs']) - bad} of {len(e['outputs'])} outputs {verb} ({dt:.1f} s)")
        return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ids", nargs="*")
    ap.add_argument("--nqkv", default=os.path.join(ROOT, "build", "tools", "nqkv", "nqkv"))
    ap.add_argument("--check", action="store_true", help="compare with the committed files instead of replacing them")
    ap.add_argument("--ctest-only", action="store_true", help="only the entries marked ctest")
    ap.add_argument("--check-files", action="store_true", help="check that every path the manifest names exists")
    ap.add_argument("--list", action="store_true", help="print the ids (of --ctest-only entries) and exit")
    a = ap.parse_args()
    m = load()
    if a.check_files:
        return check_files(m)
    by_id = {e["id"]: e for e in m["reports"]}
    for i in a.ids:
        if i not in by_id:
            raise SystemExit(f"unknown report id '{i}' (known: {', '.join(by_id)})")
    todo = [by_id[i] for i in a.ids] if a.ids else [e for e in m["reports"] if not e["gpu"] and e.get("outputs")]
    if a.ctest_only:
        todo = [e for e in todo if e.get("ctest")]
    if a.list:
        print("\n".join(e["id"] for e in todo))
        return 0
    for e in todo:
        if e["gpu"]:
            raise SystemExit(f"{e['id']}: needs the GPU; its command is in the manifest")
    rcs = [run_entry(e, a.nqkv, a.check) for e in todo]
    if any(rc == 1 for rc in rcs):
        return 1
    return 77 if rcs and all(rc == 77 for rc in rcs) else 0


if __name__ == "__main__":
    sys.exit(main())
