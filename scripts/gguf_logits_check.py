#!/usr/bin/env python3
"""Independent check of nqkv's GGUF forward pass (issue 19): transformers loads the same GGUF file
(AutoModelForCausalLM.from_pretrained(dir, gguf_file=...) dequantizes every tensor to float32 with
the `gguf` package and undoes llama.cpp's Q/K permutation), runs a fixed token sequence, and its
logits are compared with `nqkv generate --dump-logits` (batched and token-at-a-time paths). Also
prints both greedy continuations of a chat prompt.

Needs: pip install torch transformers accelerate gguf numpy (not part of CI; see scripts/README.md).
Usage: scripts/gguf_logits_check.py [--nqkv build/tools/nqkv/nqkv] [--gguf PATH] [--json OUT]
Exit status 0 when the max relative difference is below --tol (default 1e-4), 1 otherwise.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

PROMPT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
TEXT = ("The licenses for most software and other practical works are designed to take away your freedom "
        "to share and change the works. By contrast, the GNU General Public License is intended to guarantee "
        "your freedom to share and change all versions of a program.")


def default_gguf():
    p = os.environ.get("NQKV_SMOLLM2_GGUF")
    if p:
        return p
    d = os.environ.get("NQKV_DATA_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "nqkv")
    return os.path.join(d, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def nqkv_logits(exe, gguf, tokens, single):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "logits.json")
        cmd = [exe, "generate", "--gguf", gguf, "--tokens", ",".join(map(str, tokens)), "--steps", "0",
               "--dump-logits", out] + (["--single"] if single else [])
        subprocess.run(cmd, check=True)
        with open(out) as f:
            return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nqkv", default=os.path.join(os.path.dirname(__file__), "..", "build", "tools", "nqkv", "nqkv"))
    ap.add_argument("--gguf", default=default_gguf())
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--json", help="write the numbers here")
    a = ap.parse_args()
    if not os.path.isfile(a.gguf):
        print(f"gguf_logits_check: {a.gguf} not found (run scripts/setup.sh)", file=sys.stderr)
        return 2
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    import transformers

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    d, f = os.path.dirname(os.path.abspath(a.gguf)), os.path.basename(a.gguf)
    t0 = time.time()
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    model.eval()
    load_s = time.time() - t0
    # A fixed token sequence: BOS, the chat prompt and a paragraph of prose, tokenized by
    # transformers' tokenizer (so the comparison does not depend on nqkv's tokenizer).
    ids = tok.encode(PROMPT, add_special_tokens=False) + tok.encode(TEXT, add_special_tokens=False)
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0].float().numpy()
    res = {"transformers": transformers.__version__, "torch": torch.__version__, "gguf": a.gguf,
           "tokens": len(ids), "transformers_load_s": load_s}
    ok = True
    for single in (False, True):
        j = nqkv_logits(a.nqkv, a.gguf, ids, single)
        mine = np.array(j["logits"], dtype=np.float32)
        diff = np.abs(mine - ref)
        rel = float(diff.max() / np.abs(ref).max())
        per_row = float(np.max(diff.max(axis=1) / np.abs(ref).max(axis=1)))
        agree = float(np.mean(mine.argmax(axis=1) == ref.argmax(axis=1)))
        key = "single" if single else "batched"
        res[key] = {"max_abs_diff": float(diff.max()), "max_rel_diff": rel, "max_row_rel_diff": per_row,
                    "argmax_agreement": agree, "max_abs_logit": float(np.abs(ref).max())}
        print(f"nqkv {j['path']}: max |diff| {diff.max():.3e}, max rel diff {rel:.3e} (per row {per_row:.3e}), "
              f"argmax agreement {100 * agree:.1f}% over {len(ids)} positions")
        ok = ok and rel < a.tol
    # Greedy continuations of the chat prompt from both.
    p = tok.encode(PROMPT, add_special_tokens=False)
    with torch.no_grad():
        g = model.generate(torch.tensor([p]), max_new_tokens=a.steps, do_sample=False, eos_token_id=2)
    hf_text = tok.decode(g[0][len(p):], skip_special_tokens=True)
    out = subprocess.run([a.nqkv, "generate", "--gguf", a.gguf, "--chat", "--prompt", "What is the capital of France?",
                          "--steps", str(a.steps)], check=True, capture_output=True, text=True).stdout.strip()
    res["greedy_transformers"], res["greedy_nqkv"] = hf_text.strip(), out
    print(f"greedy (transformers): {hf_text.strip()!r}")
    print(f"greedy (nqkv):         {out!r}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
