#!/usr/bin/env python3
"""Model the int8 product forms of the AVX2 and AVX-512 (no VNNI) levels with llvm-mca.

Writes the steady-state inner loop of three kernels and prints, per CPU model, the cycles
llvm-mca predicts per 256 products:

- pair form (ours, exact for eight-bit activations): per 32 products `vpaddw` x2,
  `vpmaddwd`, `vpaddd`; ymm 2 rows x 32 columns, and zmm 8 rows x 32 columns;
- sign trick (ours, the few-row dot form): `vpsignb`, `vpmaddubsw`, `vpmaddwd` by ones,
  `vpaddd`, 6 rows sharing one |w|;
- FBGEMM's form (seven-bit activations): broadcast, `vpmaddubsw`, `vpmaddwd` by ones,
  `vpaddd`; ymm 12 rows x 8 columns, zmm 14 rows x 16 columns.

These are models of instruction throughput only (loads hit L1, no front-end limits);
they say which form a CPU favours, not how fast a whole step runs. Needs `llvm-mca`
(Debian: `apt-get install llvm`; LLVM 17 or later models Zen 4 and Zen 5, e.g. llvm-19's
/usr/lib/llvm-19/bin/llvm-mca). Usage: python3 tools/model-int8-forms.py [--mca PATH]
"""
import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ITERATIONS = 200


def pair_ymm():
    """2 rows x 32 columns, one group of four k: 256 products."""
    s = [f"vpbroadcastd ymm{12 + i}, dword ptr [{r}+{o}]" for i, (r, o) in
         enumerate([("rsi", 0), ("rsi", 4), ("rdx", 0), ("rdx", 4)])]
    for c in range(4):
        s += [f"vmovdqu ymm8, ymmword ptr [rdi+{64 * c}]", f"vmovdqu ymm9, ymmword ptr [rdi+{64 * c + 32}]"]
        for r, (xa, xb) in enumerate([("ymm12", "ymm13"), ("ymm14", "ymm15")]):
            acc = f"ymm{r * 4 + c}"
            s += [f"vpaddw ymm10, ymm8, {xa}", f"vpaddw ymm11, ymm9, {xb}",
                  "vpmaddwd ymm10, ymm10, ymm11", f"vpaddd {acc}, {acc}, ymm10"]
    return s + ["add rdi, 256", "add rsi, 8", "add rdx, 8"], 256


def sign_ymm():
    """6 rows x 32 bytes of one weight row: 192 products."""
    s = ["vmovdqu ymm12, ymmword ptr [rdi]", "vpsignb ymm13, ymm12, ymm12"]
    for r in range(6):
        s += [f"vmovdqu ymm14, ymmword ptr [rsi+{32 * r}]", "vpsignb ymm14, ymm14, ymm12",
              "vpmaddubsw ymm14, ymm13, ymm14", "vpmaddwd ymm14, ymm14, ymm15", f"vpaddd ymm{r}, ymm{r}, ymm14"]
    return s + ["add rdi, 32", "add rsi, 192"], 192


def pair_zmm():
    """8 rows x 32 columns, one group of four k: 1024 products."""
    s = [f"vmovdqu64 zmm{16 + i}, zmmword ptr [rdi+{64 * i}]" for i in range(4)]
    for r in range(8):
        s += [f"vpbroadcastd zmm20, dword ptr [rsi+{8 * r}]", f"vpbroadcastd zmm21, dword ptr [rsi+{8 * r + 4}]"]
        for h in range(2):
            acc = f"zmm{2 * r + h}"
            s += [f"vpaddw zmm22, zmm20, zmm{16 + 2 * h}", f"vpaddw zmm23, zmm21, zmm{17 + 2 * h}",
                  "vpmaddwd zmm22, zmm22, zmm23", f"vpaddd {acc}, {acc}, zmm22"]
    return s + ["add rdi, 256", "add rsi, 64"], 1024


def fbgemm(reg, rows, columns):
    """FBGEMM's form on `reg` (ymm: 12 rows x 8 columns, zmm: 14 x 16), one group of four k."""
    width = 4 * columns                       # bytes of one weight vector: columns x 4 k
    base = (16 if reg == "ymm" else 32) - 4   # the last four registers: w, broadcast, temp, ones
    w, b, t, ones = (f"{reg}{base + n}" for n in range(4))
    move = "vmovdqu" if reg == "ymm" else "vmovdqu64"
    s = [f"{move} {w}, {reg}word ptr [rdi]"]
    for r in range(rows):
        s += [f"vpbroadcastd {b}, dword ptr [rsi+{4 * r}]", f"vpmaddubsw {t}, {b}, {w}",
              f"vpmaddwd {t}, {t}, {ones}", f"vpaddd {reg}{r}, {reg}{r}, {t}"]
    return s + [f"add rdi, {width}", f"add rsi, {4 * rows}"], rows * columns * 4


def cycles_per_256(mca, cpu, loop, folder):
    """Modelled cycles per 256 products, or None when this llvm-mca does not know `cpu`."""
    body, products = loop
    src = Path(folder) / f"{cpu}.s"
    src.write_text(".intel_syntax noprefix\n" + "\n".join(body) + "\n")
    run = subprocess.run([mca, f"-mcpu={cpu}", f"-iterations={ITERATIONS}", str(src)],
                         capture_output=True, text=True)
    found = re.search(r"Total Cycles:\s+(\d+)", run.stdout)
    if run.returncode != 0 or found is None or "not a recognized processor" in run.stderr:
        return None
    return int(found.group(1)) / ITERATIONS * 256 / products


def row(name, pair, sign, fbgemm):
    """One table row (sign: "" where the table has no such column); a CPU that this
    llvm-mca does not know prints as such."""
    if None in (pair, sign, fbgemm):
        return f"{name:14s} (no model in this llvm-mca)"
    sign_cell = f"{sign:12.1f}" if sign != "" else f"{'':>12s}"
    return f"{name:14s}{pair:12.1f}{sign_cell}{fbgemm:12.1f}{pair / fbgemm:12.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mca", default="llvm-mca")
    mca = ap.parse_args().mca
    ymm = [("Haswell", "haswell"), ("Skylake", "skylake"), ("Alder Lake", "alderlake"),
           ("Zen 1", "znver1"), ("Zen 2", "znver2"), ("Zen 3", "znver3"), ("Zen 4", "znver4"), ("Zen 5", "znver5")]
    zmm = [("Skylake-SP", "skylake-avx512"), ("Zen 4", "znver4"), ("Zen 5", "znver5")]
    with tempfile.TemporaryDirectory() as folder:
        try:
            print("cycles per 256 products (llvm-mca steady state)")
            print(f"{'ymm':14s}{'pair 2x32':>12s}{'sign 6 rows':>12s}{'FBGEMM 12x8':>12s}{'pair/FBGEMM':>12s}")
            for name, cpu in ymm:
                loops = (pair_ymm(), sign_ymm(), fbgemm("ymm", 12, 8))
                print(row(name, *(cycles_per_256(mca, cpu, loop, folder) for loop in loops)))
            print(f"{'zmm':14s}{'pair 8x32':>12s}{'':>12s}{'FBGEMM 14x16':>12s}{'pair/FBGEMM':>12s}")
            for name, cpu in zmm:
                print(row(name, cycles_per_256(mca, cpu, pair_zmm(), folder), "",
                          cycles_per_256(mca, cpu, fbgemm("zmm", 14, 16), folder)))
        except OSError as e:
            print(f"model-int8-forms: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
