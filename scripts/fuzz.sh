#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target of fuzz/ for SECONDS seconds each.
#   scripts/fuzz.sh SECONDS
# Installs clang and its libFuzzer runtime (install-deps.sh --fuzz), builds
# the targets (make fuzz) in DEVID_FUZZ_BUILDDIR when that build was
# configured with --enable-fuzz (scripts/test.sh passes its default build),
# else in build/fuzz (scripts/build.sh BUILDDIR --enable-fuzz), and fuzzes
# each on a temporary copy of its seed corpus, DEVID_FUZZ_JOBS targets at a
# time (default: the number of CPUs, at most 2).
# A crash, a leak, a sanitizer report or a timeout fails the script, and the
# input that caused it is copied to fuzz/regress/NAME/: fix the bug, check
# that tests/fuzz-regress.sh passes with the input, and commit it there (the
# name libFuzzer gave it, crash-<sha1>, may stay). A target that stops
# without leaving an input (it did not start, say) fails with its log.
set -eu
secs=${1:?usage: scripts/fuzz.sh SECONDS}
top=$(cd "$(dirname "$0")/.." && pwd)
targets="dps-json name-ref tss2-keyfile p11-uri settings emu-request"
jobs=${DEVID_FUZZ_JOBS:-$(nproc)}
[ "$jobs" -le 2 ] || jobs=2
[ "$jobs" -ge 1 ] || jobs=1
sh "$top/scripts/install-deps.sh" --fuzz
builddir=${DEVID_FUZZ_BUILDDIR:-}
if [ -z "$builddir" ] || ! grep -q '^FUZZ_CC = .' "$builddir/Makefile" 2>/dev/null; then
    builddir=$top/build/fuzz
    sh "$top/scripts/build.sh" "$builddir" --enable-fuzz
fi
make -C "$builddir" fuzz >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# fuzz_one NAME: fuzzes one target; leaves $work/NAME/status (0: no crash)
fuzz_one() {
    d=$work/$1
    mkdir -p "$d/corpus" "$d/crash"
    cp "$top/fuzz/corpus/$1/"* "$d/corpus/"
    rc=0
    "$builddir/fuzz/fuzz-$1" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$d/crash/" "$d/corpus" >"$d/log" 2>&1 || rc=$?
    echo "$rc" >"$d/status"
}

status=0
set -- $targets
while [ $# -gt 0 ]; do
    batch=""
    n=0
    while [ $# -gt 0 ] && [ "$n" -lt "$jobs" ]; do
        fuzz_one "$1" &
        batch="$batch $1"
        n=$((n + 1))
        shift
    done
    wait
    for name in $batch; do
        d=$work/$name
        if [ "$(cat "$d/status" 2>/dev/null || echo 1)" = 0 ]; then
            echo "fuzz: $name: $(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | head -1) runs in ${secs} s, no crash"
            continue
        fi
        status=1
        if ls "$d/crash/"* >/dev/null 2>&1; then
            mkdir -p "$top/fuzz/regress/$name"
            cp "$d/crash/"* "$top/fuzz/regress/$name/"
            echo "fuzz: $name: FAILED; input kept in fuzz/regress/$name/:" \
                "$(cd "$d/crash" && ls | tr '\n' ' ')" >&2
            grep -E 'ERROR|runtime error|SUMMARY' "$d/log" | head -5 >&2 || :
        else
            echo "fuzz: $name: FAILED with no input kept; its log ends:" >&2
            tail -20 "$d/log" >&2
        fi
    done
done
[ "$status" = 0 ] || echo "fuzz: replay with: $builddir/fuzz/fuzz-NAME fuzz/regress/NAME/FILE" >&2
exit "$status"
