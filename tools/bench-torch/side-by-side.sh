#!/usr/bin/env bash
# reptok and PyTorch alternated on one machine, in one sitting, both capped to one level:
# ROUNDS × (bench_torch.py, then `reptok bench pipeline --compare` on that round's file), then
# the median over rounds of each side's seconds and of the per-round ratio ours/PyTorch.
# Usage: tools/bench-torch/side-by-side.sh LEVEL [ROUNDS] [OUT_DIR]
#   LEVEL: a reptok level (REPTOK_ISA): avx512vnni | avx512 | avxvnni | avx2 | generic | amx;
#          PyTorch is capped to avx512 for avx512vnni and amx (AMX off: see README), to
#          avx512-novnni (AVX-512 without VNNI) for avx512, to avx2 for avxvnni and avx2, and
#          runs as it likes ("auto") for generic.
#   ROUNDS: default 2. OUT_DIR: where the per-round JSON files go (default a new temp folder).
#   THREADS=N: threads on both sides (default 2; reptok's own default would be every core).
#   BY_STAGE=1: alternate per stage instead of per round (PyTorch's encoder, ours, PyTorch's
#          decoder step, ours, …), so that the two sides of each ratio are timed seconds apart
#          rather than a minute apart; a burst of load on a shared host then tends to hit both.
#          Each round's per-stage files are merged into the same torch-R.json / reptok-R.json.
# Needs torch for python3 (README.md beside this script) and a release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
level=${1:?usage: side-by-side.sh LEVEL [ROUNDS] [OUT_DIR]}
rounds=${2:-2}
out=${3:-$(mktemp -d)}
mkdir -p "$out"
R=${REPTOK:-.build/release/reptok}
preset=${PRESET:-xl}          # PRESET=tiny: a quick check of the script itself
threads=${THREADS:-2}
[ -x "$R" ] || { echo "side-by-side: build first (swift build -c release)" >&2; exit 2; }
case "$level" in
    avx512vnni|amx) torch_isa=avx512 ;;
    avx512) torch_isa=avx512-novnni ;;
    avxvnni|avx2) torch_isa=avx2 ;;
    generic) torch_isa=auto ;;
    *) echo "side-by-side: unknown level $level" >&2; exit 2 ;;
esac
stages=(encoder decoder_step vae generator_step)
# Merges JSON objects (later files fill nested objects; the first file's other values stay).
merge() {
    python3 - "$@" <<'PY'
import json, sys
def merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            merge(a[k], v)
        else:
            a.setdefault(k, v)
    return a
target, parts = sys.argv[1], sys.argv[2:]
merged = {}
for p in parts:
    merge(merged, json.load(open(p)))
json.dump(merged, open(target, "w"), indent=1, sort_keys=True)
PY
}
# One side of one round: PyTorch ($1 = torch) or reptok ($1 = reptok), round $2, one stage $3
# or "" for every stage. Files: torch-R.json, or torch-R-STAGE.json for one stage (reptok alike).
side() {
    local only=() tag=""
    [ -n "$3" ] && only=(--only "$3") && tag="-$3"
    if [ "$1" = torch ]; then
        echo "side-by-side: round $2/$rounds: PyTorch ($torch_isa)${3:+, $3}" >&2
        python3 tools/bench-torch/bench_torch.py --preset "$preset" --isa "$torch_isa" --threads "$threads" "${only[@]}" \
            --json "$out/torch-$2$tag.json" 2>"$out/torch-$2$tag.log"
    else
        echo "side-by-side: round $2/$rounds: reptok ($level)${3:+, $3}" >&2
        REPTOK_ISA=$level "$R" bench pipeline --preset "$preset" --threads "$threads" --no-generate "${only[@]}" \
            --compare "$out/torch-$2$tag.json" --save "$out/reptok-$2$tag.json" > "$out/reptok-$2$tag.txt" 2>"$out/reptok-$2$tag.log"
    fi
}
for r in $(seq "$rounds"); do
    if [ "${BY_STAGE:-0}" = 1 ]; then
        for s in "${stages[@]}"; do side torch "$r" "$s"; side reptok "$r" "$s"; done
        for who in torch reptok; do
            parts=(); for s in "${stages[@]}"; do parts+=("$out/$who-$r-$s.json"); done
            merge "$out/$who-$r.json" "${parts[@]}"
        done
    else
        side torch "$r" ""
        side reptok "$r" ""
    fi
done
python3 - "$out" "$rounds" "$level" "${stages[@]}" <<'PY'
import json, statistics, sys
out, rounds, level, stages = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
ours = [json.load(open(f"{out}/reptok-{r}.json")) for r in range(1, rounds + 1)]
theirs = [json.load(open(f"{out}/torch-{r}.json")) for r in range(1, rounds + 1)]
med = statistics.median
# 'isa' is ATen's CPU capability, which has no VNNI-less AVX-512 of its own; the cap asked
# for ('isa_requested', e.g. avx512-novnni) is what names PyTorch's level.
t0 = theirs[0]
print(f"level {level} (PyTorch --isa {t0.get('isa_requested', t0.get('isa'))}, ATen {t0.get('isa')}, "
      f"torch {t0.get('torch')}), CPU {t0.get('cpu')}, "
      f"{rounds} alternated rounds; seconds = median over rounds (4 significant digits); ratio = median of per-round ours/PyTorch, "
      f"(range) = the lowest and highest per-round ratio")
print(f"{'stage':16s} {'mode':6s} {'reptok s':>9s} {'vs':>5s} {'PyTorch s':>10s} {'ratio':>7s}  (range)")
pairs = [("w8a32", "fp32"), ("w8a8", "int8"), ("w8a8", "fp32")]
for stage in stages:
    for mode, tmode in pairs:
        a = [o["stages"].get(stage, {}).get(mode, {}).get("seconds") for o in ours]
        b = [t["stages"].get(stage, {}).get(tmode) for t in theirs]
        if any(x is None for x in a + b):
            continue
        ratios = [x / y for x, y in zip(a, b)]
        print(f"{stage:16s} {mode:6s} {med(a):9.4g} {tmode:>5s} {med(b):10.4g} {med(ratios):7.2f}  "
              f"({min(ratios):.2f}–{max(ratios):.2f})")
PY
echo "side-by-side: files in $out" >&2
