#!/usr/bin/env python3
"""Bit-compatibility of `nqkv quantize --codebook nf4` with bitsandbytes' NF4 quantizer.

An independent reimplementation of bitsandbytes' kQuantizeBlockwise NF4 path (csrc/kernels.cu):
    absmax = max |x| over the block (fp32), inv = 1.0f / absmax, xn = (float)x * inv,
    code = dQuantizeNF4(xn) (a decision tree of strict '>' against fp32 literals),
    two codes per byte, the first element in the high nibble.
written here in plain Python (no numpy): fp32 rounding of a product of two fp32 numbers is exact
via float64 then one rounding to fp32; for 1/a, float64 division then rounding to fp32 is the
correctly rounded fp32 quotient (double rounding is innocuous since 53 >= 2*24 + 2).
It generates random and adversarial fp16/bf16 data, runs the real `nqkv` binary and compares
codes, packing order and absmax bit for bit. All-zero blocks are excluded: there bitsandbytes
computes 0 * inf (docs/numerics.md 5.1 defines that case differently, and tests it separately).
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
from fractions import Fraction


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f16_bits_to_float(b):
    return struct.unpack("<e", struct.pack("<H", b))[0]


def bf16_bits_to_float(b):
    return struct.unpack("<f", struct.pack("<I", b << 16))[0]


def float_to_f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


def float_to_bf16_bits(x):
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    return (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even (finite inputs only)


def c_float_literal(text):
    # A C float literal is the decimal rounded once to the nearest fp32 (ties to even). Rounding
    # through a Python float (binary64) first can land on the other side of a near-tie (it does
    # for 0.5016634166240692), so decide between the two fp32 neighbours with exact rationals.
    exact = Fraction(text)
    lo = f32(float(text))
    ulp_step = lambda v, d: struct.unpack("<f", struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0] + d))[0]
    cands = {lo, ulp_step(lo, 1), ulp_step(lo, -1)}
    return min(cands, key=lambda c: (abs(Fraction(c) - exact), struct.unpack("<I", struct.pack("<f", c))[0] & 1))


# bitsandbytes dQuantizeNF4: the thresholds as C float literals, in the tree's order.
T = [c_float_literal(v) for v in (
    "0.03979014977812767", "0.3893125355243683", "0.6427869200706482", "0.8614784181118011", "0.5016634166240692",
    "0.2035212516784668", "0.2920137718319893", "0.1202552504837513", "-0.33967943489551544", "-0.13791173323988914",
    "-0.045525018125772476", "-0.23460740596055984", "-0.6106329262256622", "-0.4599952697753906", "-0.8480964004993439")]


def d_quantize_nf4(x):
    # The decision tree exactly as bitsandbytes writes it.
    if x > T[0]:
        if x > T[1]:
            if x > T[2]:
                return 0b1111 if x > T[3] else 0b1110
            return 0b1101 if x > T[4] else 0b1100
        if x > T[5]:
            return 0b1011 if x > T[6] else 0b1010
        return 0b1001 if x > T[7] else 0b1000
    if x > T[8]:
        if x > T[9]:
            return 0b0111 if x > T[10] else 0b0110
        return 0b0101 if x > T[11] else 0b0100
    if x > T[12]:
        return 0b0011 if x > T[13] else 0b0010
    return 0b0001 if x > T[14] else 0b0000


def bnb_quantize(values, block):
    codes, absmaxes = [], []
    for b in range(0, len(values), block):
        blk = values[b:b + block]
        absmax = max(abs(v) for v in blk)
        inv = f32(1.0 / absmax)
        absmaxes.append(absmax)
        codes.extend(d_quantize_nf4(f32(v * inv)) for v in blk)
    packed = bytes((codes[i] << 4) | codes[i + 1] for i in range(0, len(codes), 2))
    return packed, absmaxes


def write_safetensors(path, name, dtype, shape, raw):
    header = {name: {"dtype": dtype, "shape": shape, "data_offsets": [0, len(raw)]}}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = (v["dtype"], v["shape"], data[8 + n + b:8 + n + e])
    return out


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f32_from_bits(b):
    return struct.unpack("<f", struct.pack("<I", b))[0]


def near_threshold_row(rng, cols, to_bits, from_bits, wide):
    # Blocks of 32 led by their absmax a, the rest elements within a few element-ulps of t * a for
    # NF4 thresholds t. With fp32 input (wide) keep only elements whose code depends on rounding:
    # the code of fp32(x * fp32(1/a)) differs from the code of the exact x / a, so a quantizer that
    # skips the fp32 reciprocal, rounds it differently, or compares with >= gets them wrong.
    # (fp16/bf16 elements almost never land that close: x/a is a ratio of short significands.)
    row = []
    while len(row) < cols:
        a = from_bits(to_bits(rng.uniform(0.01, 3000.0)))
        inv = f32(1.0 / a)
        block = [to_bits(a)]
        for _ in range(4000 if wide else 1):
            for t in T:
                base = to_bits(t * a)
                for d in (-2, -1, 0, 1, 2):
                    x = from_bits(base + d)
                    if abs(x) > a:
                        continue
                    if not wide or d_quantize_nf4(f32(x * inv)) != d_quantize_nf4(x / a):
                        block.append(base + d)
            if len(block) >= 8:
                break
            if wide:
                a = from_bits(to_bits(rng.uniform(0.01, 3000.0)))
                inv = f32(1.0 / a)
                block = [to_bits(a)]
        block = block[:32]
        while len(block) < 32:
            block.append(to_bits(a * rng.uniform(-1, 1)))
        row.extend(block)
    return row[:cols]


CONVERT = {"F16": (float_to_f16_bits, f16_bits_to_float), "BF16": (float_to_bf16_bits, bf16_bits_to_float),
           "F32": (f32_bits, f32_from_bits)}
FMT = {"F16": "H", "BF16": "H", "F32": "I"}


def make_data(rng, dtype, rows, cols):
    to_bits, from_bits = CONVERT[dtype]
    bits = []
    for r in range(rows):
        kind = r % 6
        row = []
        for i in range(cols):
            if kind == 0:      # Gaussian
                v = rng.gauss(0, 1)
            elif kind == 1:    # heavy tails and outliers
                v = rng.gauss(0, 1) * (40 if i % 29 == 3 else 1) / max(0.05, abs(rng.gauss(0, 1)))
            elif kind == 2:    # tiny values: fp16 subnormals / bf16 small normals
                v = rng.uniform(-1, 1) * (6e-5 if dtype == "F16" else 1e-30)  # bf16/f32: normal, tiny
            elif kind == 3:    # extremes
                v = rng.choice([65504.0, -65504.0, 1.0, -1.0, 0.5]) if i % 3 else rng.uniform(-65504, 65504)
            elif kind == 4:    # rounding-sensitive: see sensitive_row below
                v = 0.0
            else:              # single non-zero element (others zero, block not all-zero)
                v = rng.gauss(0, 3) if i % 64 == 17 else 0.0
            row.append(to_bits(max(-65504.0, min(65504.0, v))))
        if kind == 4:
            row = near_threshold_row(rng, cols, to_bits, from_bits, dtype == "F32")
        bits.extend(row)
    values = [from_bits(b) for b in bits]
    return bits, values


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nqkv", required=True)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    failures = 0
    compared = 0
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in ("F16", "BF16", "F32"):
            for block in (32, 64, 128):
                rows, cols = 48, 256
                bits, values = make_data(rng, dtype, rows, cols)
                # Drop all-zero blocks (see module docstring).
                for b in range(0, len(values), block):
                    if max(abs(v) for v in values[b:b + block]) == 0:
                        values[b] = 1.0
                        bits[b] = CONVERT[dtype][0](1.0)
                inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
                write_safetensors(inp, "x", dtype, [rows, cols], struct.pack("<%d%s" % (len(bits), FMT[dtype]), *bits))
                subprocess.run([args.nqkv, "quantize", "--input", inp, "--output", out, "--codebook", "nf4",
                                "--block", str(block)], check=True, stdout=subprocess.DEVNULL)
                got = read_safetensors(out)
                ref_codes, ref_absmax = bnb_quantize(values, block)
                codes = got["codes"][2]
                width = 2 if FMT[dtype] == "H" else 4
                absmax_bits = struct.unpack("<%d%s" % (len(got["absmax"][2]) // width, FMT[dtype]), got["absmax"][2])
                from_bits = CONVERT[dtype][1]
                compared += len(codes) + len(absmax_bits)
                for i, (a, b) in enumerate(zip(ref_codes, codes)):
                    if a != b:
                        failures += 1
                        if failures <= 5:
                            print(f"{dtype} B={block}: codes byte {i}: bitsandbytes 0x{a:02x} nqkv 0x{b:02x}")
                for i, (a, b) in enumerate(zip(ref_absmax, absmax_bits)):
                    if a != from_bits(b):
                        failures += 1
                        if failures <= 5:
                            print(f"{dtype} B={block}: absmax {i}: bitsandbytes {a!r} nqkv {from_bits(b)!r}")
    print(f"bitsandbytes NF4 reference: {compared} values compared, {failures} mismatches (seed {seed})")
    if failures:
        print(f"rerun with --seed {seed}")
    print(f"{1 if failures == 0 else 0} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
