#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The DEVID_TEST_* hooks are in the devid binary exactly when the build was
# configured with --enable-test-hooks: the test build has the ones the tests
# drive, and any other build (what gets installed on a device) holds none
# of their names, in the CLI or in any other program or module it builds.
set -euf
. "$top_srcdir/tests/lib.sh"

devid=$top_builddir/devid
[ -f "$devid" ] || fail "no devid binary at $devid"
if grep -q '^#define DEVID_TEST_HOOKS 1' "$top_builddir/config.h"; then
    for hook in DEVID_TEST_PAUSE DEVID_TEST_FAIL_WRITE DEVID_TEST_WAIT_DIVISOR; do
        grep -q -a "$hook" "$devid" || fail "a --enable-test-hooks build without $hook in $devid"
    done
    ok "test build (--enable-test-hooks): devid has DEVID_TEST_PAUSE, DEVID_TEST_FAIL_WRITE and DEVID_TEST_WAIT_DIVISOR"
else
    n=0
    for f in "$devid" "$top_builddir/devid-dps-emulator" "$top_builddir/.libs/devid.so" \
        "$top_builddir/engine-compat/.libs/devid.so"; do
        [ -f "$f" ] || continue
        if grep -q -a 'DEVID_TEST_' "$f"; then
            fail "$f holds a DEVID_TEST_ name although test hooks are off"
        fi
        n=$((n + 1))
    done
    [ "$n" -ge 3 ] || fail "found only $n built binaries to check"
    ok "build without --enable-test-hooks: none of $n binaries holds a DEVID_TEST_ name"
fi
