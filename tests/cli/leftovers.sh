#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14, item 7: nothing piles up. Ten renewals (keep-identities 3)
# leave three identities and their three keys: the keys devid made for the
# pruned identities are destroyed with their certificates, the onboarding
# key (not devid's) stays. Ten provision --force runs on one key leave one
# leaf certificate for it, not ten, and three identity directories. A
# failed renewal deletes the key it made.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
. "$top_srcdir/tests/cli/lib-renew.sh"
devid_tmpdir
cleanup() {
    prov_emulators_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" dev-hsm
printf '%s' "$DEVID_USER_PIN" > pin
chmod 600 pin
# no DPS poll limit: ten renewals in a row poll more than DPS allows
nolimit='"faults": {"poll_limit": 0}'
renew_config "$TESTDIR/emu.json" "$nolimit"
prov_emulators "$TESTDIR" "$TESTDIR/emu.json"
prov_device hsm hsm-01 "pkcs11:token=dev-hsm;object=device" \
    "pkcs11:token=dev-hsm;object=onboarding"
conf="$TESTDIR/hsm.conf"
printf 'hub-port = %s\ndps-timeout = 4\nkeep-identities = 3\n' "$HUB_PORT" >> "$conf"

# count CLASS: token objects of a class ("Private Key", "Certificate"...)
count() {
    devid_p11tool --token-label dev-hsm -O 2>/dev/null | grep -c "^$1 Object" || true
}
ids() { find hsm/identities -mindepth 1 -maxdepth 1 -type d | wc -l; }

"$DEVID" --config "$conf" provision 2> prov.err || { cat prov.err; fail "provision"; }
priv0=$(count "Private Key")
pub0=$(count "Public Key")
cert0=$(count Certificate)
echo "after provision: $priv0 private keys, $pub0 public keys, $cert0 certificates, $(ids) identities"

i=0
while [ "$i" -lt 10 ]; do
    i=$((i + 1))
    "$DEVID" --config "$conf" renew --force > "r$i.out" 2> "r$i.err" \
        || { cat "r$i.err"; fail "renew $i"; }
done
priv=$(count "Private Key")
pub=$(count "Public Key")
cert=$(count Certificate)
echo "after 10 renewals: $priv private keys, $pub public keys, $cert certificates, $(ids) identities"
[ "$(ids)" -eq 3 ] || fail "$(ids) identity directories, expected 3"
# two more identities than after provision, each with a key pair and a leaf
[ "$priv" -eq $((priv0 + 2)) ] || fail "$priv private keys, expected $((priv0 + 2))"
[ "$pub" -eq $((pub0 + 2)) ] || fail "$pub public keys, expected $((pub0 + 2))"
[ "$cert" -eq $((cert0 + 2)) ] || fail "$cert certificates, expected $((cert0 + 2))"
devid_p11tool --token-label dev-hsm -O 2>/dev/null | grep -q "label: *onboarding$" \
    || fail "the onboarding key was deleted"
if devid_p11tool --token-label dev-hsm -O 2>/dev/null | grep -q "label: *device$"; then
    fail "the first identity's key (pruned) is still in the token"
fi
grep -q "deleting the key" r10.err || fail "renew did not say it deleted a key"
ok "10 renewals: 3 identities, 3 device keys and leaves, onboarding key kept"

# the identities left still work: status, and rollback to the previous one
"$DEVID" --config "$conf" status > st.out 2> st.err || { cat st.out st.err; fail "status after pruning"; }
"$DEVID" --config "$conf" rollback > rb.out 2> rb.err || { cat rb.err; fail "rollback after pruning"; }
ok "status and rollback work after pruning"

# a renewal that fails after making its key deletes that key
renew_reload "$TESTDIR/emu.json" '"faults": {"poll_limit": 0, "register_500": 1000}'
privf=$(count "Private Key")
rc=0
"$DEVID" --config "$conf" renew --force > rf.out 2> rf.err || rc=$?
[ "$rc" -ne 0 ] || fail "renew against a failing DPS succeeded"
[ "$(count "Private Key")" -eq "$privf" ] || fail "the failed renewal left its key"
ok "a failed renewal deletes the key it made (exit $rc)"
renew_reload "$TESTDIR/emu.json" "$nolimit"

# provision --force ten times on one key: one leaf for it, 3 identities
i=0
while [ "$i" -lt 10 ]; do
    i=$((i + 1))
    "$DEVID" --config "$conf" provision --force > "p$i.out" 2> "p$i.err" \
        || { cat "p$i.err"; fail "provision --force $i"; }
done
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' hsm/state.json)
label=${key##*object=}
label=${label%%;*}
leaves=$(devid_p11tool --token-label dev-hsm -O --type cert 2>/dev/null | grep -c "label: *$label$" || true)
[ "$leaves" -eq 1 ] || fail "$leaves leaf certificates labelled $label, expected 1"
[ "$(ids)" -eq 3 ] || fail "$(ids) identity directories after provision --force, expected 3"
ok "10 x provision --force: one leaf certificate for the key, 3 identities"

# identities made within one second are numbered -0, -1 ... -10: pruning
# keeps the newest by that number, not by its text ("-10" after "-9")
for n in 7 8 9 10; do
    mkdir "hsm/identities/20991231T235959Z-$n"
done
"$DEVID" --config "$conf" provision --force > pf.out 2> pf.err \
    || { cat pf.err; fail "provision --force with later identities"; }
[ -d hsm/identities/20991231T235959Z-10 ] \
    || fail "pruning removed identity -10, newer than -9 (ordered as text)"
[ ! -d hsm/identities/20991231T235959Z-7 ] \
    || fail "pruning kept identity -7 of four later ones (keep-identities 3)"
ok "pruning orders the identities of one second by number: -10 kept, -7 pruned"
