#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as the README and CI run it: installs what it needs,
# builds with -Werror, runs unit and integration tests (real SoftHSM2 tokens,
# swtpm, mosquitto, the DPS emulator), then builds and runs everything again
# under AddressSanitizer + UndefinedBehaviorSanitizer. A skipped test fails.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${DEVID_BUILD_ROOT:-$top/build}

run_suite() {
    dir=$1
    shift
    echo "== devid: build in $dir ($*)"
    sh "$top/scripts/build.sh" "$dir" "$@"
    if [ -z "${style_checked:-}" ]; then
        echo "== devid: make check-style in $dir"
        make -C "$dir" check-style || return 1
        style_checked=1
    fi
    echo "== devid: make check in $dir"
    if ! make -C "$dir" -j"$(nproc)" check >"$dir/check.log" 2>&1; then
        grep -E '^(FAIL|ERROR|XPASS)' "$dir/check.log" || true
        for log in $(grep -lE '^(FAIL|ERROR)' $(find "$dir/tests" -name '*.log') 2>/dev/null); do
            echo "---- $log"; tail -40 "$log"
        done
        tail -30 "$dir/check.log"
        return 1
    fi
    sed -n '/^====/,/^====/p' "$dir/check.log" | tail -12
    if grep -qE '^# SKIP: *[1-9]' "$dir/check.log"; then
        echo "devid: tests were skipped: that counts as a failure"
        return 1
    fi
    pass=$(sed -n 's/^# PASS: *//p' "$dir/check.log" | tail -1)
    fail=$(sed -n 's/^# FAIL: *//p' "$dir/check.log" | tail -1)
    echo "$pass passed, $fail failed"
}

run_suite "$out/default" --enable-werror
run_suite "$out/asan" --enable-werror --enable-asan --enable-ubsan --enable-debug
echo "devid: all tests passed (default and ASan/UBSan builds)"
