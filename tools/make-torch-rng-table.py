#!/usr/bin/env python3
"""Writes Tests/Fixtures/torch-rng/table.json: what PyTorch's default CPU generator returns for a
few seeds and a fixed sequence of calls (torch.randint, then torch.randn of several shapes).
The Swift test TorchRNGTests replays the same calls with Support.TorchGenerator and requires
equal values (float32 bit patterns, 8 hex digits per value, most significant first).

    python3 tools/make-torch-rng-table.py [OUT.json]
    python3 tools/make-torch-rng-table.py --scalar-estimate

The second form writes nothing: it replays PyTorch's scalar (non-x86) float32 randn kernel with
the C library's logf/cosf/sinf and prints how many values differ from this machine's torch.randn,
i.e. how far PyTorch on ARM is from PyTorch on x86.

Needs torch (CPU). Not run in CI. Made with torch 2.13 on an x86-64 CPU with AVX2 (PyTorch's
float32 randn with 16+ elements then runs its vectorized kernel, which is what we reproduce).
"""
import json
import os
import sys

import torch

SEEDS = [0, 1, 42, 123456789, 2**32 + 7, 2**64 - 1]
BIG_SEEDS = {0, 42, 2**32 + 7}   # the batch shapes only for these, to keep the file small
# The sequence of one seed: small shapes use the double Box-Muller path and its cached second
# value (an odd count leaves one cached for the next small call); 16 and up the vectorized path,
# 17 its recomputed tail.
CALLS = [("randint", 0, 1000, (3,)), ("randn", (1,)), ("randn", (7,)), ("randn", (15,)), ("randn", (16,)),
         ("randn", (17,)), ("randn", (1,)), ("randint", 0, 10, (5,)), ("randn", (33,))]
BIG_CALLS = [("randn", (2, 1, 768)), ("randn", (4, 4, 8, 8)), ("randint", 0, 2**40, (2,)), ("randn", (3,))]


def bits(t):
    return "".join(f"{v:08x}" for v in t.contiguous().view(torch.int32).flatten().tolist() for v in [v & 0xffffffff])


def run(seed):
    torch.manual_seed(seed)
    out = []
    for call in CALLS + (BIG_CALLS if seed in BIG_SEEDS else []):
        if call[0] == "randint":
            _, lo, hi, shape = call
            out.append({"op": "randint", "low": lo, "high": hi, "shape": list(shape),
                        "values": torch.randint(lo, hi, shape).flatten().tolist()})
        else:
            shape = call[1]
            out.append({"op": "randn", "shape": list(shape), "bits": bits(torch.randn(shape, dtype=torch.float32))})
    return {"seed": str(seed), "calls": out}


def scalar_estimate(seeds=(0, 1, 7, 42, 123), count=4096):
    """Emulates the scalar kernel: uniforms (w & 0xffffff) * 2^-24 from torch's own stream
    (torch.rand draws exactly those), then per pair u1 = 1 - v[j], u2 = v[j+8],
    r = sqrtf(-2 logf(u1)), theta = float(2 pi (double) * u2), r * cosf(theta), r * sinf(theta)."""
    import ctypes
    import math
    import numpy as np
    libm = ctypes.CDLL("libm.so.6")
    for name in ("logf", "cosf", "sinf", "sqrtf"):
        getattr(libm, name).restype = ctypes.c_float
        getattr(libm, name).argtypes = [ctypes.c_float]
    f32 = lambda x: float(np.float32(x))
    total = differ = 0
    worst = 0.0
    for seed in seeds:
        torch.manual_seed(seed)
        ref = torch.randn(count).numpy()
        torch.manual_seed(seed)
        v = torch.rand(count).tolist()  # float32 rand: (word & 0xffffff) * 2^-24, the same uniforms
        out = [0.0] * count
        for b in range(0, count, 16):
            for j in range(8):
                r = libm.sqrtf(f32(-2 * libm.logf(f32(1 - v[b + j]))))
                theta = f32(2 * math.pi * v[b + j + 8])
                out[b + j], out[b + j + 8] = f32(r * libm.cosf(theta)), f32(r * libm.sinf(theta))
        ours = np.array(out, dtype=np.float32)
        total += count
        differ += int((ours != ref).sum())
        worst = max(worst, float(np.abs(ours - ref).max()))
    print(f"scalar kernel vs torch.randn here: {differ}/{total} values differ ({differ / total:.1%}), max |diff| {worst:.2e}")


def main():
    if sys.argv[1:] == ["--scalar-estimate"]:
        return scalar_estimate()
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "Tests", "Fixtures", "torch-rng", "table.json")
    table = {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
             "cases": [run(s) for s in SEEDS]}
    with open(out, "w") as f:
        json.dump(table, f, indent=1)
        f.write("\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
