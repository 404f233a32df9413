# Sourced by the checks that build reptok inside Debian roots (tools/check-arm64.sh,
# tools/check-swift60.sh); not run by itself. Needs root, debootstrap and unshare.
#
# The sourcing script sets: REPO (the repository), CHECK (its name, for messages), LOGS (a
# folder for step logs, made here), SUITE and MIRROR (Debian release and mirror); it may
# define `extra_mounts ROOT` before calling in_root.
#
# Provides: the step runner (fatal/check/note/summary), find_rewrites (the host's git URL
# rewrites to local package mirrors), in_root, make_root (a cached Debian root with a package
# list), install_gguf (the PyPI GGUF reader the tests use, installed offline into a root),
# xctest_in_root (runs a test bundle there) and install_host_tools (apt, for missing commands).

mkdir -p "$LOGS"
FAILED=()   # names of the steps that failed

# ---------------------------------------------------------------------------------------------
# Steps: `step NAME FUNCTION ARGS...` runs the function with its output in $LOGS/NAME.log and
# prints one line: status, name, seconds, and what the function wrote to $NOTE (if anything).
# `fatal` steps end the run on failure; `check` steps are recorded and the run goes on.
NOTE=$LOGS/.note
run_step() {
    local kind=$1 name=$2; shift 2
    local t0=$SECONDS status=0
    : > "$NOTE"
    # Not `( ... ) || status=$?`: bash ignores set -e inside a subshell whose status is tested.
    set +e
    ( set -euo pipefail; "$@" ) > "$LOGS/$name.log" 2>&1
    status=$?
    set -e
    local dt=$((SECONDS - t0)) note
    note=$(tr '\n' ' ' < "$NOTE" | sed 's/ *$//')
    if [ "$status" -eq 0 ]; then
        printf 'ok    %-26s %5ds  %s\n' "$name" "$dt" "$note"
    else
        printf 'FAIL  %-26s %5ds  %s (log: %s)\n' "$name" "$dt" "$note" "$LOGS/$name.log"
        tail -n 25 "$LOGS/$name.log" | sed 's/^/      | /'
        FAILED+=("$name")
        if [ "$kind" = fatal ]; then summary; exit 1; fi
    fi
}
fatal() { run_step fatal "$@"; }
check() { run_step check "$@"; }
note() { echo "$*" >> "$NOTE"; }
summary() {
    if [ ${#FAILED[@]} -eq 0 ]; then echo "$CHECK: all steps passed ($((SECONDS / 60)) min $((SECONDS % 60)) s)"
    else echo "$CHECK: FAILED: ${FAILED[*]}"; fi
}

# ---------------------------------------------------------------------------------------------
# Roots. `in_root ROOT CMD...` runs CMD chrooted in ROOT, in a private mount namespace (the
# mounts disappear with it): /proc, /dev, a fresh /tmp, the repository and the package
# mirrors at their own paths, and whatever the script's `extra_mounts ROOT` adds (shell
# mount commands, each ending in `;`; the default adds none).
MIRRORS=()       # local folders the host's git rewrites GitHub URLs to
REWRITES=()      # "base<TAB>insteadOf" pairs, in the host's order
find_rewrites() {
    local key val base
    while read -r key val; do
        base=${key#url.}; base=${base%.insteadof}
        REWRITES+=("$base"$'\t'"$val")
        case "$base" in
            file://*) base=${base#file://} ;;
            /*) ;;
            *) continue ;;
        esac
        base=${base%/}
        [ -d "$base" ] || continue
        case " ${MIRRORS[*]-} " in *" $base "*) ;; *) MIRRORS+=("$base") ;; esac
    done < <({ git config --system --get-regexp '^url\..*\.insteadof$' || true
               git config --global --get-regexp '^url\..*\.insteadof$' || true; } 2>/dev/null)
}

in_root() {
    local root=$1; shift
    # Mount points are made after /tmp (the repository may live under /tmp).
    local mounts="mount -t proc proc '$root/proc'; mount --rbind /dev '$root/dev'; mount -t tmpfs -o mode=1777 tmpfs '$root/tmp';"
    mounts+=" mkdir -p '$root$REPO'; mount --bind '$REPO' '$root$REPO';"
    local m
    for m in "${MIRRORS[@]}"; do
        mounts+=" mkdir -p '$root$m'; mount --bind '$m' '$root$m'; mount -o remount,bind,ro '$root$m';"
    done
    mounts+=$(extra_mounts "$root")
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    unshare --mount --propagation private -- /bin/sh -euc \
        "$mounts exec chroot '$root' /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \"\$@\"" \
        sh "$@"
}

# Builds ROOT for ARCH with PACKAGES once, in ROOT.partial, moved to ROOT when complete (marker:
# ROOT/etc/reptok-root, the package list); afterwards only installs packages added to the list
# since. A ROOT.partial left by an interrupted run is started over. debootstrap runs in a
# private mount namespace, so an interruption leaves no mounts behind.
make_root() {
    local root=$1 arch=$2 packages=$3
    if [ ! -f "$root/etc/reptok-root" ]; then
        [ ! -e "$root" ] || { echo "$root exists but is not a finished root: remove it"; return 1; }
        local tmp=$root.partial
        rm -rf --one-file-system "$tmp"
        mkdir -p "$(dirname "$root")"
        if [ "$arch" = amd64 ]; then
            unshare --mount --propagation private -- debootstrap --arch=amd64 --variant=minbase "$SUITE" "$tmp" "$MIRROR"
        else
            debootstrap --arch="$arch" --variant=minbase --foreign "$SUITE" "$tmp" "$MIRROR"
            unshare --mount --propagation private -- chroot "$tmp" /debootstrap/debootstrap --second-stage
        fi
        in_root "$tmp" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" && apt-get clean' sh $packages
        printf '%s\n' $packages | sort -u > "$tmp/etc/reptok-root"
        mv "$tmp" "$root"
        note "built"
    else
        note "reused"
    fi
    local want=() p
    for p in $packages; do grep -qx "$p" "$root/etc/reptok-root" || want+=("$p"); done
    if [ ${#want[@]} -gt 0 ]; then
        in_root "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" && apt-get clean' sh "${want[@]}"
        printf '%s\n' $packages $(cat "$root/etc/reptok-root") | sort -u > "$root/etc/reptok-root.new"
        mv "$root/etc/reptok-root.new" "$root/etc/reptok-root"
    fi
    # The host's GitHub URL rewrites, exactly, in the root's system git configuration (written
    # by the host's git: same file format, no emulation; replaced on every run).
    local conf=$root/etc/gitconfig k r
    touch "$conf"
    for k in $(git config --file "$conf" --name-only --get-regexp '^url\..*\.insteadof$' | sort -u); do
        git config --file "$conf" --unset-all "$k"
    done
    for r in "${REWRITES[@]}"; do
        git config --file "$conf" --add "url.${r%%$'\t'*}.insteadOf" "${r#*$'\t'}"
    done
    note "$root: $(du -sh --one-file-system "$root" | cut -f1),"
    note "swiftlang $(awk '/^Package: swiftlang$/ {p = 1} p && /^Version:/ {print $2; exit}' "$root/var/lib/dpkg/status")"
}

extra_mounts() { :; }

# `install_host_tools COMMAND=PACKAGE...` installs, with apt, the package of every command the
# host lacks (one apt run for all of them; nothing when all are there).
install_host_tools() {
    local need=() pair
    for pair in "$@"; do command -v "${pair%%=*}" >/dev/null || need+=("${pair#*=}"); done
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    fi
}

# `xctest_in_root ROOT BUNDLE FILTER [NAME=VALUE...]` runs an XCTest bundle inside ROOT, from the
# repository folder, with those environment variables. FILTER is XCTest's comma-separated list
# of Module.Class names, or "" for every test. The output goes to the step's log (all of it,
# also on failure) and XCTest's last "Executed N tests" line to the step's summary line.
xctest_in_root() {
    local root=$1 bundle=$2 filter=$3; shift 3
    local args=("$bundle") out=$LOGS/.tests.out status=0
    [ -z "$filter" ] || args+=("$filter")
    in_root "$root" env "$@" sh -c 'cd "$1" && shift && exec "$@"' sh "$REPO" "${args[@]}" > "$out" 2>&1 || status=$?
    cat "$out"
    note "$(grep -E '^[[:space:]]*Executed [0-9]+ tests' "$out" | tail -n 1 | sed 's/^[[:space:]]*//')"
    return "$status"
}

# The independent GGUF reader the QuantTests use (not packaged by Debian; pure Python, its
# dependencies are python3-numpy, -yaml and -tqdm, which the root's package list must hold).
# The host downloads it, with its own pip configuration (index, certificates), and the root
# installs that wheel offline.
install_gguf() {
    local root=$1
    if ! ls -d "$root"/usr/local/lib/python3*/dist-packages/gguf >/dev/null 2>&1; then
        local wheels=/var/cache/reptok-wheels
        rm -rf "$root$wheels"; mkdir -p "$root$wheels"
        python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$root$wheels" gguf
        in_root "$root" sh -c 'pip3 install --quiet --no-index --no-deps --break-system-packages "$1"/gguf-*.whl' sh "$wheels"
        in_root "$root" python3 -c 'import gguf'
    fi
}
