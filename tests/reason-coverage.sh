#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every reason in devid's error table (common/err.c, enum devid_reason in
# common/err.h) is asserted by at least one test that provokes it:
# - a unit test (tests/unit/*.c) naming DEVID_R_<NAME> on a line that is
#   not a DEVID_RAISE (a test raising a reason itself proves nothing), or
# - a shell test (tests/**/*.sh) matching the reason's text on a line that
#   is not a comment.
# test-err.c does not count: it checks the table itself and raises reasons
# by hand. Fails naming each reason no test asserts. A reason that truly
# cannot be provoked goes in EXCEPTIONS below with the reason why.
set -euf
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
cd "$top_srcdir"

# "DEVID_R_NAME why" lines; empty: every reason is provoked by a test
EXCEPTIONS=''

fail() {
    echo "FAIL: $*"
    exit 1
}

if [ ! -f common/err.h ] || [ ! -f common/err.c ]; then
    fail "no common/err.[ch] under $top_srcdir"
fi

# the enum's names, in order, without DEVID_R_MAX
names=$(sed -n '/^enum devid_reason/,/^};/s/^ *\(DEVID_R_[A-Z0-9_]*\).*/\1/p' common/err.h \
    | grep -v '^DEVID_R_MAX$' || :)
# the table: one "DEVID_R_NAME<TAB>text" line per entry
table=$(sed -n 's/.*{ *\(DEVID_R_[A-Z0-9_]*\) *,[^"]*"\([^"]*\)".*/\1	\2/p' common/err.c)
count=$(printf '%s\n' "$names" | grep -c . || :)
[ "$count" -gt 0 ] || fail "no reason found in enum devid_reason (common/err.h changed form?)"
[ "$(printf '%s\n' "$table" | grep -c .)" -eq "$count" ] \
    || fail "common/err.c's table has $(printf '%s\n' "$table" | grep -c .) entries, the enum $count (table changed form?)"

unit_files=$(find tests/unit -name '*.c' ! -name test-err.c | sort)
sh_files=$(find tests -name '*.sh' ! -name reason-coverage.sh | sort)
missing=
for name in $names; do
    text=$(printf '%s\n' "$table" | awk -F '	' -v n="$name" '$1 == n { print $2 }')
    [ -n "$text" ] || fail "$name has no text in common/err.c"
    why=$(printf '%s\n' "$EXCEPTIONS" | awk -v n="$name" '$1 == n { $1 = ""; print substr($0, 2) }')
    if [ -n "$why" ]; then
        echo "exception: $name ($text): $why"
        continue
    fi
    # shellcheck disable=SC2086
    by_unit=$(grep -lw "$name" $unit_files /dev/null 2>/dev/null | while read -r f; do
        if grep -w "$name" "$f" | grep -v 'DEVID_RAISE' | grep -qv '^ *\(/\*\|\*\)'; then
            echo "$f"
        fi
    done)
    # shellcheck disable=SC2086
    by_sh=$(grep -lF -- "$text" $sh_files /dev/null 2>/dev/null | while read -r f; do
        if grep -F -- "$text" "$f" | grep -qv '^ *#'; then
            echo "$f"
        fi
    done)
    if [ -z "$by_unit$by_sh" ]; then
        echo "uncovered: $name ($text)"
        missing="$missing $name"
    else
        # shellcheck disable=SC2086 # one line, file names split on purpose
        echo "ok: $name ($text):" $by_unit $by_sh
    fi
done
[ -z "$missing" ] || fail "reasons no test provokes and checks:$missing"
echo "all $count reasons are provoked and checked by tests"
