#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14, item 4: PIN hygiene. devid refuses PIN files that others can
# read or that another user owns (exit 2 naming the file; a setting accepts
# group-readable ones), and a pin-source that is no regular file; an empty
# or over-long PIN is refused before any C_Login; and the CLI runs with
# core dumps and ptrace attach off while it holds the PIN.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-register.sh"
. "$top_srcdir/tests/cli/lib-hostile.sh"
trap 'kill "${PAUSED:-}" 2>/dev/null || true; reg_cleanup' EXIT

hostile_setup
base=$T/base.conf
printf 'pkcs11-module-path = %s\n' "$SOFTHSM_MODULE" > "$base"
n=0

# keygen_with PINFILE [EXTRA_SETTING]: devid keygen of a new key with PINFILE
# as pin-source; exit code in RC, stderr in $T/err; C_Login calls traced
keygen_with() {
    n=$((n + 1))
    { cat "$base"; printf 'pin-source = file:%s\n' "$1"; [ -z "${2:-}" ] || printf '%s\n' "$2"; } > "$T/k.conf"
    RC=0
    DEVID_DEBUG=pkcs11 "$DEVID" --config "$T/k.conf" keygen --type ec-p256 \
        --out "$T/k$n.ref" "pkcs11:token=dev;object=k$n" > "$T/out" 2> "$T/err" || RC=$?
}

# a PIN file group or others may read
printf '%s' "$DEVID_USER_PIN" > "$T/p644"
chmod 644 "$T/p644"
keygen_with "$T/p644"
expect_rc 2 "a world-readable PIN file"
has "$T/err" "$T/p644 is readable or writable by group or others" "0644: message"
hasnt "$T/err" "C_Login" "0644: C_Login was called"
ok "PIN file mode 0644: exit 2 naming the file, no C_Login"

cp "$T/p644" "$T/p640"
chmod 640 "$T/p640"
keygen_with "$T/p640"
expect_rc 2 "a group-readable PIN file"
has "$T/err" "$T/p640 is readable or writable by group or others" "0640: message"
keygen_with "$T/p640" "pin-file-group-readable = yes"
expect_rc 0 "a group-readable PIN file with pin-file-group-readable = yes"
ok "PIN file mode 0640: refused, accepted with pin-file-group-readable = yes"

cp "$T/p644" "$T/p604"
chmod 604 "$T/p604"
keygen_with "$T/p604" "pin-file-group-readable = yes"
expect_rc 2 "an others-readable PIN file with group allowed"
has "$T/err" "$T/p604 is open to others" "0604: message"
ok "PIN file mode 0604 with pin-file-group-readable = yes: still refused"

keygen_with "$T/p640" "pin-file-group-readable = maybe"
expect_rc 2 "a bad pin-file-group-readable"
has "$T/err" "pkcs11-pin-file-group-readable: 'maybe' is not yes or no" "bad value message"
ok "pin-file-group-readable = maybe: exit 2"

# owned by another user (the test runs as root, as scripts/test.sh does)
if [ "$(id -u)" = 0 ]; then
    cp "$T/p644" "$T/pother"
    chmod 600 "$T/pother"
    chown 65534 "$T/pother"
    keygen_with "$T/pother"
    expect_rc 2 "a PIN file owned by another user"
    has "$T/err" "$T/pother is owned by another user" "owner: message"
    ok "PIN file owned by another user: exit 2 naming the file"
else
    fail "this test must run as root to make a file another user owns"
fi

# not a regular file: a directory and a FIFO (which must not block)
mkdir -m 700 "$T/pdir"
keygen_with "$T/pdir"
expect_rc 2 "a directory as pin-source"
has "$T/err" "$T/pdir is not a regular file" "directory: message"
mkfifo -m 600 "$T/pfifo"
keygen_with "$T/pfifo"
expect_rc 2 "a FIFO as pin-source"
has "$T/err" "$T/pfifo is not a regular file" "FIFO: message"
ok "pin-source naming a directory or a FIFO: exit 2, no hang"

# an over-long PIN file
head -c 300 /dev/zero | tr '\0' 'a' > "$T/plong"
chmod 600 "$T/plong"
keygen_with "$T/plong"
expect_rc 2 "a PIN file over 256 bytes"
has "$T/err" "$T/plong is too long" "long file: message"
ok "PIN file over 256 bytes: exit 2 naming the file"

# an empty PIN is never sent
: > "$T/pempty"
chmod 600 "$T/pempty"
keygen_with "$T/pempty"
expect_rc 3 "an empty PIN file"
has "$T/err" "unusable PIN: empty or too long" "empty: reason"
hasnt "$T/err" "C_Login on token" "empty: C_Login was called"
ok "empty PIN file: refused before C_Login (exit 3, unusable PIN)"

# an over-long pin-value in the URI: a devid reason, not an internal error
long=$(head -c 300 /dev/zero | tr '\0' 'a')
RC=0
DEVID_DEBUG=pkcs11 "$DEVID" --config "$base" keygen --type ec-p256 \
    --out "$T/kl.ref" "pkcs11:token=dev;object=kl?pin-value=$long" > "$T/out" 2> "$T/err" || RC=$?
expect_rc 3 "an over-long pin-value"
has "$T/err" "unusable PIN: empty or too long" "long pin-value: reason"
hasnt "$T/err" "C_Login on token" "long pin-value: C_Login was called"
hasnt "$T/err" "$long" "the PIN was printed"
hasnt "$T/err" "internal error" "long pin-value: internal error"
ok "pin-value over 256 bytes: refused before C_Login with a devid reason"

# no core dump and no ptrace attach while devid holds the PIN: renew paused
# after its new key was made (the token logged in)
grep -q '^#define DEVID_TEST_HOOKS 1' "$top_builddir/config.h" \
    || fail "this test needs the DEVID_TEST_* hooks: configure with --enable-test-hooks"
hostile_mode '{}'
dev provision
expect_rc 0 "provision"
DEVID_TEST_PAUSE=register "$DEVID" --config "$T/dev.conf" renew --force \
    > "$T/pause.out" 2> "$T/pause.err" &
PAUSED=$!
i=0
until grep -q "test pause at register" "$T/pause.err" 2>/dev/null; do
    kill -0 "$PAUSED" 2>/dev/null || { cat "$T/pause.err"; fail "renew ended before the pause"; }
    [ "$i" -lt 200 ] || fail "renew did not reach the pause"
    sleep 0.1
    i=$((i + 1))
done
has "$T/pause.err" "test pause at register (dumpable 0)" "renew is dumpable"
grep -q '^Max core file size  *0  *0 ' "/proc/$PAUSED/limits" \
    || { cat "/proc/$PAUSED/limits"; fail "core dumps are on"; }
kill "$PAUSED"
wait "$PAUSED" 2>/dev/null || true
PAUSED=
ok "renew holding the PIN: not dumpable, core file size 0"
