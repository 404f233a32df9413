#!/usr/bin/env bash
# Checks the ceilings `reptok bench kernels` measures against an independent plain-C probe
# (tools/probes/peak.c, built here with the system compiler): for every level this CPU runs,
# the level's float32 and int8 probes must reach at least 90 % of the plain-C probe of the
# same instruction family, measured in the same run. A benchmark, not a test: run it on a
# quiet machine. Usage: tools/compare-probes.sh [threads]   (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
R=${REPTOK:-.build/release/reptok}
[ -x "$R" ] || { echo "compare-probes: build first (swift build -c release)"; exit 2; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cc -O2 -pthread tools/probes/peak.c -o "$out/peak"
# every level but amx-emulated (the scalar tile model has no ceiling to compare)
levels=$("$R" --version | sed -e 's/.*this CPU runs //' -e 's/ (.*//' -e 's/)//' | tr -d ' ' | tr ',' ' ' \
         | sed -e 's/amx-emulated//')
"$out/peak" "$threads" > "$out/c.txt"
for isa in $levels; do
    REPTOK_ISA=$isa "$R" bench kernels --json --only ceilings --threads "$threads" --reps 5 2>/dev/null > "$out/$isa.json"
done
"$out/peak" "$threads" > "$out/c2.txt"          # again after, keep the higher (shared machine)
python3 - "$out" $levels <<'PY'
import json, sys
out, levels = sys.argv[1], sys.argv[2:]
c = {}
for f in ("c.txt", "c2.txt"):
    for line in open(f"{out}/{f}"):
        name, _, rate = line.split()
        c[name] = max(c.get(name, 0.0), float(rate))
# families without a plain-C probe (AVX-VNNI, AMX, NEON widening multiplies) print "-"
family = {"amx": ("fp32-zmm-fma", "int8-amx-tdpbssd"),
          "avx512vnni": ("fp32-zmm-fma", "int8-zmm-vpdpbusd"), "avx512": ("fp32-zmm-fma", "int8-zmm-pairs"),
          "avxvnni": ("fp32-ymm-fma", "int8-ymm-avxvnni"), "avx2": ("fp32-ymm-fma", "int8-ymm-pairs"),
          "neondot": ("fp32-neon-fmla", "int8-neon-sdot"), "neon": ("fp32-neon-fmla", "int8-neon-smull")}
# generic: Swift SIMD code compiled for this CPU (the default `native` build), so its fused
# multiply-adds should reach the widest FMA family the plain-C probe found; it has no int8 loop
# (its W8A8 runs float FMAs), and a build without FMA (a multiply and an add) has no C twin.
widest = next((f for f in ("fp32-zmm-fma", "fp32-ymm-fma", "fp32-neon-fmla") if f in c), None)
bad = 0
print(f"{'level':<11} {'probe':<44} {'reptok':>8} {'plain C':>8} {'ratio':>6}")
for isa in levels:
    j = json.load(open(f"{out}/{isa}.json"))
    if isa == "generic":
        if widest is None or "FMA" not in j["fp32_probe"]:
            continue
        pairs = (("fp32_peak_gflops", "fp32_probe", widest),)
    elif isa in family:
        pairs = (("fp32_peak_gflops", "fp32_probe", family[isa][0]),
                 ("int8_peak_gops", "int8_probe", family[isa][1]))
    else:
        continue
    for key, probe, fam in pairs:
        if fam not in c:
            print(f"{isa:<11} {j[probe]:<44} {j[key]:8.1f} {'-':>8}   (no plain-C probe of this family here)")
            continue
        ratio = j[key] / c[fam]
        flag = "" if ratio >= 0.9 else "  < 0.9"
        bad += ratio < 0.9
        print(f"{isa:<11} {j[probe]:<44} {j[key]:8.1f} {c[fam]:8.1f} {ratio:6.2f}{flag}")
sys.exit(1 if bad else 0)
PY
