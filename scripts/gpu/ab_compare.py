#!/usr/bin/env python3
"""Same-run A/B of bench_cuda JSON files: DIR holds <label>_<rep>.json for each label.
Usage: ab_compare.py DIR base new [new2 ...]. Per row: each side's median_us per repetition and
r = min(new) / min(base); last, the geometric mean of r over the decode rows (reports/archive/gpu-rounds-2026-11-22.md, round 15)."""
import json,sys,math,glob,os
W=sys.argv[1]; labs=sys.argv[2:]
def load(l):
  out=[]
  for f in sorted(glob.glob(f"{W}/{l}_*.json")):
    try: out.append({b['name']:b for b in json.load(open(f))['benchmarks']})
    except Exception as e: print('bad',f,e)
  return out
D={l:load(l) for l in labs}
base=labs[0]
names=list(D[base][0].keys())
lg={l:[] for l in labs[1:]}
for k in names:
  n=k[3:].replace('/iterations:1/manual_time','')
  row=f"{n:60s}"
  x=min(r[k]['median_us'] for r in D[base] if k in r)
  row+=f" {base}="+"/".join(f"{r[k]['median_us']:.1f}" for r in D[base] if k in r)
  for l in labs[1:]:
    v=[r[k]['median_us'] for r in D[l] if k in r]
    if not v: continue
    y=min(v); row+=f" {l}="+"/".join(f"{t:.1f}" for t in v)+f" r={y/x:.3f}"
    if 'Decode' in k: lg[l].append(math.log(y/x))
    fc=max(r[k].get('frac_copy',0) for r in D[l] if k in r); row+=f" fc={fc:.3f}"
  print(row)
for l in labs[1:]:
  if lg[l]: print(f"geomean {l}/{base} over {len(lg[l])} decode rows: {math.exp(sum(lg[l])/len(lg[l])):.4f}")
