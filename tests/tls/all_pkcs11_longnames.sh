#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14, item 6: long input still gets a devid reason with a detail. A
# pkcs11: URI of 5 KB is reported as "no matching object" naming the start
# of the URI (OpenSSL dropped a detail that long, leaving it empty), cut
# short with "...".
set -euf
. "$top_srcdir/tests/lib.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-long
printf 'x' > data
long=$(head -c 5000 /dev/zero | tr '\0' 'a')
uri="pkcs11:token=devid-long;object=$long?pin-value=$DEVID_USER_PIN"
if devid_ossl pkeyutl -sign -inkey "$uri" -in data -out sig > out.txt 2>&1; then
    fail "signing with a 5 KB URI succeeded"
fi
line=$(grep 'no matching object' out.txt || true)
[ -n "$line" ] || { cat out.txt; fail "no 'no matching object'"; }
case "$line" in
*"pkcs11:token=devid-long;object=aaaa"*...) ;;
*) printf '%s\n' "$line" | cut -c1-300; fail "the detail does not name the URI, cut with ..." ;;
esac
ok "a 5 KB URI: no matching object, naming the URI's start, cut with ..."
