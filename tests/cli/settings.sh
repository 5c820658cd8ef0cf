#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Settings are parsed and checked once, when read. A bad value, in the
# config file or in the flag that sets the same setting, is exit 2 with a
# message naming where it came from (FILE:LINE or the flag), the setting and
# the value; every accepted form of each typed setting passes. No token and
# no emulator: each case ends before a key or the network is touched.
set -euf
. "$top_srcdir/tests/lib.sh"
DEVID=$top_builddir/devid
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
printf 'state-dir = %s/none\n' "$TESTDIR" > good.conf

# bad_line SETTING VALUE: line 3 of a config file says SETTING = VALUE
bad_line() {
    printf '# settings test\nstate-dir = %s/none\n%s = %s\n' "$TESTDIR" "$1" "$2" > bad.conf
    rc=0
    "$DEVID" --config bad.conf status > out 2> err || rc=$?
    [ "$rc" -eq 2 ] || { cat err; fail "config '$1 = $2': exit $rc, want 2"; }
    grep -qF "devid: error: bad.conf:3: bad value '$2' for $1: " err \
        || { cat err; fail "config '$1 = $2': the message does not name the line, setting and value"; }
}

# bad_flag SETTING VALUE FLAG VERB [ARGS...]: devid VERB FLAG VALUE ARGS...
bad_flag() {
    _set=$1 _val=$2 _flag=$3 _verb=$4
    shift 4
    rc=0
    "$DEVID" --config good.conf "$_verb" "$_flag" "$_val" "$@" > out 2> err || rc=$?
    [ "$rc" -eq 2 ] || { cat err; fail "$_verb $_flag '$_val': exit $rc, want 2"; }
    grep -qF "devid: error: $_flag: bad value '$_val' for $_set: " err \
        || { cat err; fail "$_verb $_flag '$_val': the message does not name the flag, setting and value"; }
}

# the examples of issue 10, then every kind of mistake for each typed setting
bad_line keep-identities -3
bad_line renew-before 120%
bad_line dps-timeout abc
n=3
for v in 0 1001 2x '' 3.0; do
    bad_line keep-identities "$v"; n=$((n + 1))
done
for v in 0% 100% -5% 20%% % 0 0s -1d 30x 3651d 1w 12hh 99999999999999999999s; do
    bad_line renew-before "$v"; n=$((n + 1))
done
for v in 0 86401 -1 1e3 60s 99999999999999999999 0x10; do
    bad_line dps-timeout "$v"; n=$((n + 1))
done
for v in 0 65536 -1 mqtts 8883/tcp; do
    bad_line hub-port "$v"; n=$((n + 1))
done
for v in disk Token both; do
    bad_line install-to "$v"; n=$((n + 1))
done
for v in ec-p999 rsa-1024 EC-P256 x25519 ED25519; do
    bad_line key-type "$v"; n=$((n + 1))
done
for s in key state-dir dps-endpoint on-change pin-source; do
    bad_line "$s" ''; n=$((n + 1))
done
ok "$n bad values in the config file: exit 2, message names FILE:LINE, the setting and the value"

printf 'state-dir = %s/none\ncolour = blue\n' "$TESTDIR" > bad.conf
rc=0
"$DEVID" --config bad.conf status > out 2> err || rc=$?
[ "$rc" -eq 2 ] && grep -qF "bad.conf:2: unknown setting 'colour'" err \
    || { cat err; fail "unknown setting: exit $rc"; }
printf 'state-dir = %s/none\nhub-port 8883\n' "$TESTDIR" > bad.conf
rc=0
"$DEVID" --config bad.conf status > out 2> err || rc=$?
[ "$rc" -eq 2 ] && grep -qF "bad.conf:2: expected name = value" err \
    || { cat err; fail "a line without '=': exit $rc"; }
ok "an unknown setting and a line without '=' are exit 2 naming FILE:LINE"

printf 'state-dir = %s/none\nkeep-identities = -3\n' "$TESTDIR" > bad.conf
rc=0
"$DEVID" --config bad.conf --json status > out.json 2> err || rc=$?
[ "$rc" -eq 2 ] || fail "--json with a bad setting: exit $rc, want 2"
python3 - out.json <<'PY' || { cat out.json; fail "--json error object"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["exit_code"] == 2, d
assert "keep-identities" in d["error"] and "'-3'" in d["error"], d
PY
ok "--json: the error object has exit_code 2 and names the setting and value"

# the flags that set a setting are checked the same way
bad_flag renew-before 120% --before renew
bad_flag renew-before 0s --before renew
bad_flag renew-before soon --before renew
bad_flag hub-port 70000 --hub-port renew
bad_flag hub-port abc --hub-port renew
bad_flag on-change '' --on-change renew
bad_flag dps-timeout abc --timeout register
bad_flag dps-timeout 0 --timeout register
bad_flag dps-timeout 86401 --timeout register
bad_flag install-to disk --to install --cert chain.pem --key pkcs11:token=x
bad_flag key-type ec-p999 --type keygen pkcs11:token=x
bad_flag state-dir '' --state-dir status
bad_flag state-dir '' --state-dir print-config curl
ok "bad values of renew --before/--hub-port/--on-change, register --timeout, install --to, keygen --type, --state-dir: exit 2 naming flag, setting and value"

# every accepted form: the settings load, and the verb goes on to find the
# device not provisioned (exit 7)
{
    printf 'state-dir = %s/none\n' "$TESTDIR"
    for v in 1% 20% 99% 1s 90s 10m 12h 30d 3650d 90 1; do printf 'renew-before = %s\n' "$v"; done
    for v in 1 3 1000; do printf 'keep-identities = %s\n' "$v"; done
    for v in 1 60 86400; do printf 'dps-timeout = %s\n' "$v"; done
    for v in 1 8883 65535; do printf 'hub-port = %s\n' "$v"; done
    for v in token files tpm-nv; do printf 'install-to = %s\n' "$v"; done
    for v in ec-p256 ec-p384 ec-p521 rsa-2048 rsa-3072 rsa-4096; do printf 'key-type = %s\n' "$v"; done
    printf '  # indented comment\n\ndps-endpoint =   127.0.0.1:1   \n'
} > all.conf
rc=0
"$DEVID" --config all.conf status > out 2> err || rc=$?
[ "$rc" -eq 7 ] || { cat err; fail "every accepted form: status exit $rc, want 7"; }
rc=0
"$DEVID" --config all.conf renew --before 99% --hub-port 8883 --on-change true > out 2> err || rc=$?
[ "$rc" -eq 7 ] || { cat err; fail "renew with good flags: exit $rc, want 7"; }
grep -q 'not provisioned' err || { cat err; fail "renew with good flags did not reach the state"; }
ok "every accepted form of renew-before, keep-identities, dps-timeout, hub-port, install-to and key-type loads"
