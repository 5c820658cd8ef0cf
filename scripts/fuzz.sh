#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target of fuzz/ for SECONDS seconds each.
#   scripts/fuzz.sh SECONDS
# Installs clang and its libFuzzer runtime (install-deps.sh --fuzz), builds
# the targets in build/fuzz (./configure --enable-fuzz; make fuzz; or
# DEVID_FUZZ_BUILDDIR), and fuzzes each on a temporary copy of its seed
# corpus. An input that crashes a target is copied to fuzz/regress/NAME/
# (keep it with the fix: tests/fuzz-regress.sh replays it) and the script
# fails.
set -eu
secs=${1:?usage: scripts/fuzz.sh SECONDS}
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${DEVID_FUZZ_BUILDDIR:-$top/build/fuzz}
sh "$top/scripts/install-deps.sh" --fuzz
sh "$top/scripts/build.sh" "$builddir" --enable-fuzz
make -C "$builddir" fuzz >/dev/null
status=0
for name in dps-json name-ref tss2-keyfile p11-uri settings emu-request; do
    work=$(mktemp -d)
    mkdir "$work/corpus" "$work/crash"
    cp "$top/fuzz/corpus/$name/"* "$work/corpus/"
    if "$builddir/fuzz/fuzz-$name" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/crash/" "$work/corpus" > "$work/log" 2>&1; then
        echo "fuzz: $name: $(grep -m1 '^stat::number_of_executed_units' "$work/log" | sed 's/.*: *//') runs, no crash"
    else
        status=1
        mkdir -p "$top/fuzz/regress/$name"
        cp "$work/crash/"* "$top/fuzz/regress/$name/" 2>/dev/null || :
        echo "fuzz: $name: CRASH, input kept in fuzz/regress/$name/:" >&2
        grep -E 'ERROR|runtime error|SUMMARY' "$work/log" | head -5 >&2
    fi
    rm -rf "$work"
done
exit "$status"
