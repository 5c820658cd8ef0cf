#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every fuzz target's seed corpus (fuzz/corpus/NAME) and every input that
# once crashed it (fuzz/regress/NAME) runs through fuzz/regress-NAME, the
# target without libFuzzer, in this build (under the sanitizers in the ASan
# build). A crash, a sanitizer report or a leak fails the test.
set -euf
. "$top_srcdir/tests/lib.sh"
n=0
for name in dps-json name-ref tss2-keyfile p11-uri settings emu-request; do
    prog=$top_builddir/fuzz/regress-$name
    [ -x "$prog" ] || continue        # not built here (no TPM, no tools)
    files=$(find "$top_srcdir/fuzz/corpus/$name" "$top_srcdir/fuzz/regress/$name" \
        -type f 2>/dev/null | sort)
    [ -n "$files" ] || fail "no seed corpus for $name"
    # shellcheck disable=SC2086
    env -u LD_PRELOAD "$prog" $files || fail "$name: exit $? on its corpus or regress inputs"
    ok "$name: $(printf '%s\n' "$files" | wc -l) inputs"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no fuzz regression runner was built"
