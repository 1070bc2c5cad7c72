#!/usr/bin/env python3
"""`nqkv quantize --codebook nf4` against bitsandbytes itself, bit for bit.

Runs the installed bitsandbytes (`bitsandbytes.functional.quantize_4bit(x, quant_type="nf4",
blocksize=B)`, on the CPU: its "default" torch kernel) and the real `nqkv` binary on the same fp16,
bf16 and fp32 tensors at B = 64 and 128, and compares the packed codes (bytes, two codes per byte,
the first element in the high nibble in both) and the absmax (bitsandbytes: fp32; nqkv: the element
type, widened exactly to fp32 bits) bit for bit.

Data: Gaussian (scales 1e-3..1e3), Student-t (3 degrees of freedom), Cauchy-like (a ratio of
Gaussians), outlier channels, and adversarial blocks: elements whose normalised value
fp32(x * fp32(1/a)) lands exactly on an NF4 decision threshold or between the two versions of a
threshold (see below; for fp16 and bf16 the search over every absmax finds none in a gap, so those
rows fall back to corner blocks), all-zero blocks, +-0 mixes, all-equal blocks (one sign and mixed
signs), a single non-zero element, fp16 subnormals, bf16/fp32 values below 2^-126, the smallest
normals, and the largest finite magnitudes.

Every mismatch is classified; only two kinds are known and explained, everything else fails:
  * "threshold gap": bitsandbytes' CPU kernel decides with torch.bucketize against fp32 midpoints
    (code[i] + code[i+1]) / 2 of its fp32 NF4 table, while its CUDA kernel (dQuantizeNF4) and
    docs/numerics.md use the C float literals. Four of the fifteen differ by one fp32 ulp, so a
    normalised value strictly between the two versions gets codes one apart. nqkv follows the CUDA
    kernel (tests/cli/bnb_nf4_reference.py checks that against an independent reimplementation).
    Only fp32 inputs reach a gap: no fp16 or bf16 pair (absmax, element) does (exhaustive search).
  * "flushed block": a bf16/fp32 block whose absmax is below 2^-126; docs/numerics.md 5.3 stores it
    as a zero block, bitsandbytes quantizes it (clamping the divisor to 1e-38).
All-zero blocks agree: the CPU kernel clamps the divisor, giving absmax 0 and the zero code 7, as
docs/numerics.md 5.1 defines (the CUDA kernel would compute 0 * inf there).
A planted fault (one flipped code bit) is injected first and must be caught as unexplained.

Exit status: 0 pass, 1 fail, 77 skip (bitsandbytes, torch or numpy not importable; CTest
SKIP_RETURN_CODE).
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

SKIP = 77

try:
    import numpy as np
    import torch
    import bitsandbytes
    import bitsandbytes.functional as bnbf
except Exception as e:  # noqa: BLE001 - any import failure means "not available here"
    print(f"SKIP: bitsandbytes comparison needs numpy, torch and bitsandbytes ({type(e).__name__}: {e}); "
          "scripts/setup.sh installs them")
    sys.exit(SKIP)

# bitsandbytes' dQuantizeNF4 thresholds (C float literals, each rounded once to fp32), ascending.
# Rounded here through fractions to avoid double rounding (see bnb_nf4_reference.py).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bnb_nf4_reference import T as CUDA_T  # noqa: E402

CUDA_T = np.array(sorted(CUDA_T), dtype=np.float32)


def cpu_bounds():
    # The bounds bitsandbytes' CPU kernel uses, taken from bitsandbytes itself.
    from bitsandbytes.backends.default.ops import _get_4bit_quantize_bounds
    b, order = _get_4bit_quantize_bounds("nf4", torch.device("cpu"))
    assert torch.equal(order, torch.arange(16)), "NF4 table is not sorted"
    return b.numpy().astype(np.float32)


# ---- element types: bit patterns (uint16 for fp16/bf16, uint32 for fp32) ----------------------
TYPES = {  # numpy bit type, sign bit, +inf bits, smallest normal, largest finite
    "F16": (np.uint16, 0x8000, 0x7C00, 0x0400, 0x7BFF),
    "BF16": (np.uint16, 0x8000, 0x7F80, 0x0080, 0x7F7F),
    "F32": (np.uint32, 0x80000000, 0x7F800000, 0x00800000, 0x7F7FFFFF),
}


def to_f32(dtype, bits):
    bits = np.asarray(bits).astype(TYPES[dtype][0])
    if dtype == "F16":
        return bits.view(np.float16).astype(np.float32)
    if dtype == "BF16":
        return (bits.astype(np.uint32) << 16).view(np.float32)
    return bits.view(np.float32)


def from_f32(dtype, x):
    x = np.asarray(x, dtype=np.float32)
    if dtype == "F16":
        return x.astype(np.float16).view(np.uint16)
    if dtype == "F32":
        return x.view(np.uint32)
    u = x.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)  # RNE (finite inputs)


def maxfin(dtype):
    return float(to_f32(dtype, [TYPES[dtype][4]])[0])


def normalised(x, a):
    # fp32(x * fp32(1/a)): the value both kernels compare with their thresholds.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        inv = np.float32(1) / np.asarray(a, dtype=np.float32)
        return (np.asarray(x, dtype=np.float32) * inv).astype(np.float32)


def adversarial_pairs(dtype, bounds, nrng):
    """{a_bits: [x_bits, ...]} with 0 < |x| <= a whose normalised value fp32(x * fp32(1/a)) is exactly a
    CUDA threshold or CPU bound ("on_threshold"), or strictly inside the gap between the two versions
    of one threshold, where the two kernels give different codes ("gap"). fp16 and bf16: every
    positive finite absmax a (exhaustive: only the element nearest t * a can get within an fp32 ulp
    of t); fp32: 20000 random absmax values."""
    _, sign, inf_bits, min_normal, _ = TYPES[dtype]
    if dtype == "F32":
        a_bits = nrng.integers(0x3F800000 - (20 << 23), 0x3F800000 + (20 << 23), 20000).astype(np.int64)
    else:
        a_bits = np.arange(0x0001 if dtype == "F16" else min_normal, inf_bits, dtype=np.int64)
    a = to_f32(dtype, a_bits)
    out = {"gap": {}, "on_threshold": {}}
    for t in np.unique(np.concatenate([CUDA_T, bounds])):
        base = from_f32(dtype, np.abs(t) * a).astype(np.int64)
        for d in range(-3, 4):
            xb = base + d
            ok = (xb > 0) & (xb < inf_bits)
            xb = np.where(ok, xb, 1)
            if t < 0:
                xb = xb | sign
            x = to_f32(dtype, xb)
            ok &= np.abs(x) <= a
            xn = normalised(x, a)
            cpu = np.searchsorted(bounds, xn, side="left")   # number of bounds < xn
            cuda = np.searchsorted(CUDA_T, xn, side="left")  # number of thresholds < xn
            for kind, m in (("on_threshold", ok & (xn == t)), ("gap", ok & (cpu != cuda))):
                for ab, x_ in zip(a_bits[m].tolist(), xb[m].tolist()):
                    out[kind].setdefault(ab, set()).add(x_)
    return {k: {ab: sorted(xs) for ab, xs in v.items()} for k, v in out.items()}


def make_data(rng, nrng, dtype, block, rows, cols, pairs):
    """rows x cols bit patterns; rows cycle through the kinds below."""
    kinds = ["gauss", "student_t", "cauchy", "outlier_channels", "adv_gap", "adv_threshold", "corner"]
    bt, sign, inf_bits, min_normal, max_bits = TYPES[dtype]
    mx = maxfin(dtype)
    mx_clip = min(mx, 65504.0)  # random data within fp16 range for every type
    out = np.zeros((rows, cols), dtype=bt)
    rsign = lambda: sign if rng.random() < 0.5 else 0  # noqa: E731
    for r in range(rows):
        kind = kinds[r % len(kinds)]
        if kind == "gauss":
            v = nrng.standard_normal(cols) * 10 ** nrng.uniform(-3, 3)
        elif kind == "student_t":
            v = nrng.standard_t(3, cols)
        elif kind == "cauchy":
            v = nrng.standard_normal(cols) / np.maximum(np.abs(nrng.standard_normal(cols)), 1e-3)
        elif kind == "outlier_channels":
            v = nrng.standard_normal(cols)
            v[np.arange(cols) % 37 == 5] *= 60
        if kind in ("gauss", "student_t", "cauchy", "outlier_channels"):
            out[r] = from_f32(dtype, np.clip(v, -mx_clip, mx_clip).astype(np.float32))
            continue
        row = []
        src = pairs["gap" if kind == "adv_gap" else "on_threshold"] if kind.startswith("adv") else None
        if src:
            keys = sorted(src)
            while len(row) < cols:
                ab = keys[rng.randrange(len(keys))]
                af = float(to_f32(dtype, [ab])[0])
                blk = [ab | rsign()]
                while len(blk) < block:
                    blk.append(rng.choice(src[ab]) if rng.random() < 0.7 else
                               int(from_f32(dtype, [af * rng.uniform(-1, 1)])[0]))
                rng.shuffle(blk)
                row += blk
        else:  # corner blocks, one kind per block (also when a type has no adversarial pairs)
            corner_kinds = ["zeros", "signed_zeros", "equal", "equal_mixed_sign", "single", "subnormal",
                            "tiny", "maxmag", "maxmag_mixed"]
            b = 0
            while len(row) < cols:
                ck = corner_kinds[(r // len(kinds) + b) % len(corner_kinds)]
                b += 1
                if ck == "zeros":
                    blk = [0] * block
                elif ck == "signed_zeros":
                    blk = [rsign() for _ in range(block)]
                elif ck == "equal":
                    blk = [int(from_f32(dtype, [rng.uniform(-100, 100)])[0])] * block
                elif ck == "equal_mixed_sign":
                    c = int(from_f32(dtype, [rng.uniform(0.001, 100)])[0])
                    blk = [c | rsign() for _ in range(block)]
                elif ck == "single":
                    blk = [0] * block
                    blk[rng.randrange(block)] = int(from_f32(dtype, [rng.gauss(0, 3)])[0])
                elif ck == "subnormal":  # fp16: ordinary values; bf16/fp32: below 2^-126 (flushed block)
                    blk = [rng.randrange(0, min_normal) | rsign() for _ in range(block)]
                elif ck == "tiny":  # the smallest normals and the subnormals just below them
                    blk = [rng.randrange(min_normal - 8, min_normal + 64) | rsign() for _ in range(block)]
                elif ck == "maxmag":
                    blk = [max_bits | rsign() for _ in range(block)]
                else:
                    blk = [int(from_f32(dtype, [rng.uniform(-mx, mx)])[0]) for _ in range(block)]
                    blk[rng.randrange(block)] = max_bits | rsign()
                row += blk
        out[r] = np.array(row[:cols], dtype=np.int64).astype(bt)
    return out


def write_safetensors(path, dtype, bits):
    raw = bits.astype("<u4" if dtype == "F32" else "<u2").tobytes()
    header = json.dumps({"x": {"dtype": dtype, "shape": list(bits.shape), "data_offsets": [0, len(raw)]}}).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    return {k: (v["dtype"], v["shape"], data[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in header.items() if k != "__metadata__"}


def run_bnb(dtype, bits, block):
    if dtype == "F32":
        t = torch.from_numpy(bits.view(np.float32).copy())
    else:
        t = torch.from_numpy(bits.astype(np.uint16).view(np.int16)).view(torch.float16 if dtype == "F16" else torch.bfloat16)
    packed, state = bnbf.quantize_4bit(t, quant_type="nf4", blocksize=block)
    assert packed.dtype == torch.uint8 and state.absmax.dtype == torch.float32
    return packed.reshape(-1).numpy().copy(), state.absmax.numpy().view(np.uint32).copy()


def run_nqkv(nqkv, tmp, dtype, bits, block):
    inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    write_safetensors(inp, dtype, bits)
    subprocess.run([nqkv, "quantize", "--input", inp, "--output", out, "--codebook", "nf4", "--block", str(block)],
                   check=True, stdout=subprocess.DEVNULL)
    got = read_safetensors(out)
    assert got["codes"][0] == "U8" and got["absmax"][0] == dtype, (got["codes"][0], got["absmax"][0])
    codes = np.frombuffer(got["codes"][2], dtype=np.uint8).copy()
    absmax_bits = np.frombuffer(got["absmax"][2], dtype="<u4" if dtype == "F32" else "<u2")
    absmax = to_f32(dtype, absmax_bits).view(np.uint32).copy()  # widening is exact
    return codes, absmax


def compare(dtype, bits, block, bnb_codes, bnb_absmax, nq_codes, nq_absmax, bounds):
    """Counts mismatches by kind. Returns (counts, examples of unexplained ones)."""
    x = to_f32(dtype, bits.reshape(-1))
    nblocks = x.size // block
    xb = x.reshape(nblocks, block)
    a = np.max(np.abs(xb), axis=1)
    flushed = (a > 0) & (a < np.float32(2.0 ** -126))
    c = {"values": int(x.size), "blocks": int(nblocks), "bytes": int(nq_codes.size),
         "zero_blocks": int(np.sum(a == 0)), "flushed_blocks": int(np.sum(flushed)),
         "code_mismatch_threshold_gap": 0, "code_mismatch_flushed": 0, "absmax_mismatch_flushed": 0,
         "unexplained": 0}
    examples = []
    # absmax
    for i in np.nonzero(bnb_absmax != nq_absmax)[0]:
        if flushed[i]:
            c["absmax_mismatch_flushed"] += 1
        else:
            c["unexplained"] += 1
            examples.append(f"{dtype} B={block} block {i}: absmax bits bitsandbytes 0x{bnb_absmax[i]:08x} "
                            f"nqkv 0x{nq_absmax[i]:08x}")
    # codes, element by element (high nibble first in both)
    def unpack(p):
        return np.stack([p >> 4, p & 15], axis=1).reshape(-1)
    cb, cn = unpack(bnb_codes), unpack(nq_codes)
    xn = normalised(x, np.repeat(a, block))
    for j in np.nonzero(cb != cn)[0]:
        blk = j // block
        cpu_code = int(np.sum(bounds < xn[j]))
        cuda_code = int(np.sum(CUDA_T < xn[j]))
        if flushed[blk]:
            c["code_mismatch_flushed"] += 1
        elif cpu_code != cuda_code and cb[j] == cpu_code and cn[j] == cuda_code:
            c["code_mismatch_threshold_gap"] += 1
        else:
            c["unexplained"] += 1
            examples.append(f"{dtype} B={block} element {j} (x bits 0x{int(bits.reshape(-1)[j]):x}, "
                            f"xn {float(xn[j])!r}): code bitsandbytes {cb[j]} nqkv {cn[j]}")
    return c, examples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nqkv", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--rows", type=int, default=70)
    ap.add_argument("--cols", type=int, default=1024)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    bounds = cpu_bounds()
    print(f"bitsandbytes {bitsandbytes.__version__}, torch {torch.__version__}, numpy {np.__version__}; seed {seed}")
    differ = [(float(t), float(b)) for t, b in zip(CUDA_T, bounds) if t != b]
    print(f"NF4 thresholds: {15 - len(differ)} of 15 equal between bitsandbytes' CPU kernel (fp32 midpoints) and "
          f"its CUDA dQuantizeNF4 literals; differing (CUDA, CPU): {differ}")
    total = {}
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        # The checker must catch a planted fault: one flipped code bit in nqkv's output.
        bits = make_data(rng, nrng, "F16", 64, 7, 256, {"gap": {}, "on_threshold": {}})
        bc, ba = run_bnb("F16", bits, 64)
        nc, na = run_nqkv(args.nqkv, tmp, "F16", bits, 64)
        nc[3] ^= 0x10
        c, _ = compare("F16", bits, 64, bc, ba, nc, na, bounds)
        if c["unexplained"] < 1:
            failures.append("planted fault (one flipped code bit) was not caught")
        else:
            print(f"planted fault caught ({c['unexplained']} unexplained mismatch)")
        for dtype in ("F16", "BF16", "F32"):
            pairs = adversarial_pairs(dtype, bounds, nrng)
            npairs = {k: sum(len(v) for v in d.values()) for k, d in pairs.items()}
            print(f"{dtype}: {npairs['gap']} (absmax, x) pairs whose normalised value lies in a threshold gap, "
                  f"{npairs['on_threshold']} exactly on a threshold or bound")
            for block in (64, 128):
                bits = make_data(rng, nrng, dtype, block, args.rows, args.cols, pairs)
                bc, ba = run_bnb(dtype, bits, block)
                nc, na = run_nqkv(args.nqkv, tmp, dtype, bits, block)
                c, ex = compare(dtype, bits, block, bc, ba, nc, na, bounds)
                print(f"{dtype} B={block}: {c['values']} values, {c['blocks']} blocks ({c['zero_blocks']} all-zero, "
                      f"{c['flushed_blocks']} flushed), {c['bytes']} code bytes; mismatches: "
                      f"{c['code_mismatch_threshold_gap']} codes in threshold gaps, {c['code_mismatch_flushed']} codes "
                      f"+ {c['absmax_mismatch_flushed']} absmax in flushed blocks, {c['unexplained']} unexplained")
                failures += ex[:10]
                for k, v in c.items():
                    total[k] = total.get(k, 0) + v
    print("total: " + ", ".join(f"{k} {v}" for k, v in total.items()))
    ok = not failures and total.get("unexplained", 1) == 0
    for f in failures:
        print("MISMATCH " + f)
    if not ok:
        print(f"rerun with --seed {seed}")
    print(f"{1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
