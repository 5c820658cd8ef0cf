#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as the README and CI run it: installs what it needs,
# builds with -Werror, runs unit and integration tests (real SoftHSM2 tokens,
# swtpm, mosquitto, the DPS emulator), runs the unit tests again under
# valgrind's memcheck and helgrind, fuzzes, runs the unit tests in a
# ThreadSanitizer build, then builds and runs everything again under
# AddressSanitizer + UndefinedBehaviorSanitizer. A skipped test fails; each
# pass prints its real totals from automake's summary.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${DEVID_BUILD_ROOT:-$top/build}
# the ASan pass runs curl (which cannot take the ASan runtime) with devid
# from the default build: see devid_needs_curl_with_devid in tests/lib.sh
DEVID_PLAIN_BUILDDIR=$out/default
export DEVID_PLAIN_BUILDDIR

# suite_totals LOG: prints the real totals of automake's summary in LOG
# (make's output); fails when there is none or it counted no test at all
suite_totals() {
    # make check-valgrind prints two summaries: their sum
    n() { sed -n "s/^# $1: *//p" "$2" | awk '{ s += $1 } END { print s + 0 }'; }
    total=$(n TOTAL "$1")
    if [ -z "$total" ] || [ "$total" -eq 0 ]; then
        echo "devid: no test summary (or no test run) in $1"
        return 1
    fi
    _p=$(n PASS "$1")
    _f=$(n FAIL "$1")
    _e=$(n ERROR "$1")
    _s=$(n SKIP "$1")
    all_pass=$((all_pass + ${_p:-0}))
    all_fail=$((all_fail + ${_f:-0} + ${_e:-0}))
    all_skip=$((all_skip + ${_s:-0}))
    echo "devid: $total tests: $(n PASS "$1") passed, $(n FAIL "$1") failed," \
        "$(n SKIP "$1") skipped, $(n ERROR "$1") errors," \
        "$(n XFAIL "$1") expected failures, $(n XPASS "$1") unexpected passes"
}

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
        suite_totals "$dir/check.log" || true
        return 1
    fi
    suite_totals "$dir/check.log" || return 1
    # tests/run-sh notes each test's time: the slowest, against the limit
    find "$dir/tests" -name '*.log' -exec grep -h '^run-sh: ' {} + | sort -n -k4 | tail -3
    if grep -qE '^# SKIP: *[1-9]' "$dir/check.log"; then
        sed -n 's/^SKIP: //p' "$dir/check.log" | while read -r t; do
            echo "skipped: $t: $(grep -m1 '^SKIP' "$dir/${t%.sh}.log" 2>/dev/null || :)"
        done
        echo "devid: tests were skipped: that counts as a failure"
        return 1
    fi
}

# run_target DIR TARGET WHAT: make TARGET in DIR, a second run of tests
# already built there; its summaries count in the totals
run_target() {
    log=$1/$2.log
    echo "== devid: make $2 in $1"
    if ! make -C "$1" -j"$(nproc)" "$2" >"$log" 2>&1; then
        grep -E '^(FAIL|ERROR)' "$log" || true
        sed -n 's/^\(FAIL\|ERROR\): //p' "$log" | while read -r t; do
            echo "---- $t.log"
            grep -E '^==[0-9]+==|FAIL|WARNING: ThreadSanitizer|SUMMARY' "$1/$t.log" | head -60
        done
        suite_totals "$log" || true
        return 1
    fi
    suite_totals "$log" || return 1
    if grep -qE '^# SKIP: *[1-9]' "$log"; then
        sed -n "s/^SKIP: /skipped under $3: /p" "$log"
        return 1
    fi
}

all_pass=0
all_fail=0
all_skip=0
# clang and libFuzzer too, for the fuzz targets (--enable-fuzz)
sh "$top/scripts/install-deps.sh" --fuzz
run_suite "$out/default" --enable-werror --enable-test-hooks --enable-fuzz
# the unit tests once more under valgrind's memcheck, and the threaded ones
# under its helgrind (Makefile.am)
run_target "$out/default" check-valgrind valgrind || exit 1
echo "== devid: fuzzing, ${DEVID_FUZZ_SECONDS:-30} s per target"
if ! DEVID_FUZZ_BUILDDIR=$out/default sh "$top/scripts/fuzz.sh" "${DEVID_FUZZ_SECONDS:-30}"; then
    echo "devid: a fuzz target failed (its input is in fuzz/regress/, see above)"
    exit 1
fi
# the unit tests built with ThreadSanitizer (Makefile.am, check-tsan)
echo "== devid: build in $out/tsan (--enable-werror --enable-test-hooks --enable-tsan)"
sh "$top/scripts/build.sh" "$out/tsan" --enable-werror --enable-test-hooks --enable-tsan
run_target "$out/tsan" check-tsan ThreadSanitizer || exit 1
run_suite "$out/asan" --enable-werror --enable-test-hooks --enable-asan --enable-ubsan --enable-debug
echo "devid: all tests passed (default build, valgrind, fuzzing, TSan build, ASan/UBSan build)"
# both passes together, in the plain form CI reads
echo "devid: $all_pass passed, $all_fail failed, $all_skip skipped"
