#!/usr/bin/env bash
# Fails when a built x86-64 binary compares SIMD lanes one at a time.
#
#   tools/check-lane-loops.sh [BINARY...]      (default: the repository's .build/release/reptok)
#
# Swift's SIMD comparisons (`a .< b`) have a fast form, one vector compare, and a generic one
# that spills the vector to the stack and compares each lane with a scalar `ucomiss` and a
# branch: about 8 instructions per lane instead of 1 per 16 lanes. Which one a call site gets
# depends on the overload the type checker picks and on the compiler release: Swift 6.0 took
# the slow one for `x .< 0`, Swift 6.3 for `x .< SIMD16(repeating: -88)` (every SiLU: the VAE's
# group norm with SiLU took 5.1 % of the decode instead of 1.7 %). The results are the same
# bits, so no test sees it; this check reads the machine code instead. It looks for a
# `ucomiss`/`ucomisd` (or `comis…`) whose operand is a stack slot indexed by a register, the
# signature of that generic loop, and prints the functions that hold one. The kernels keep
# their comparisons in Sources/Kernels/MathSIMD.swift (vless, vmax, vmin), written so that
# both compilers take the vector form.
#
# Needs objdump (binutils, which Swift's toolchain needs anyway). Exit status: 0 when no binary
# holds such a loop, 1 when one does, 2 for usage errors (a missing file, not x86-64).
set -euo pipefail
[ $# -gt 0 ] || set -- "$(dirname "$0")/../.build/release/reptok"
command -v objdump >/dev/null || { echo "check-lane-loops: needs objdump (apt install binutils)" >&2; exit 2; }
status=0
for bin in "$@"; do
    [ -f "$bin" ] || { echo "check-lane-loops: no such file: $bin" >&2; exit 2; }
    objdump -f "$bin" | grep -q 'x86-64' || { echo "check-lane-loops: $bin is not an x86-64 binary" >&2; exit 2; }
    found=$(objdump -d --no-show-raw-insn "$bin" | awk '
        /^[0-9a-f]+ <.*>:$/ { fn = substr($2, 2, length($2) - 3) }
        /[[:space:]]v?u?comis[sd][[:space:]].*\((%rsp|%rbp),%[a-z0-9]+,[48]\)/ { n[fn]++ }
        END { for (f in n) print n[f] "\t" f }' | sort -rn)
    if [ -z "$found" ]; then
        echo "check-lane-loops: $bin: no lane-by-lane comparisons"
        continue
    fi
    status=1
    echo "check-lane-loops: $bin: lane-by-lane comparisons (count, function):"
    if command -v swift >/dev/null; then
        printf '%s\n' "$found" | while IFS=$'\t' read -r count name; do
            printf '  %3d  %s\n' "$count" "$(swift demangle --simplified --compact "$name" 2>/dev/null || echo "$name")"
        done
    else
        printf '%s\n' "$found" | sed 's/^/  /'
    fi
done
exit "$status"
