#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14, item 7 for a TPM: ten renewals (keep-identities 3) leave the
# key files of the three identities kept; the files devid made for pruned
# identities are removed, the onboarding key file (not devid's) stays.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
. "$top_srcdir/tests/cli/lib-renew.sh"
devid_tmpdir
cleanup() {
    prov_emulators_stop
    devid_tpm_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_tpm_start "$TESTDIR"
: > pin
chmod 600 pin
renew_config "$TESTDIR/emu.json" '"faults": {"poll_limit": 0}'
prov_emulators "$TESTDIR" "$TESTDIR/emu.json"
mkdir keys
prov_device tpm tpm-01 "$TESTDIR/keys/device.tss2.pem" "$TESTDIR/onboarding.tss2.pem"
conf="$TESTDIR/tpm.conf"
printf 'tcti = %s\nhub-port = %s\ndps-timeout = 4\nkeep-identities = 3\n' \
    "$DEVID_TCTI" "$HUB_PORT" >> "$conf"

"$DEVID" --config "$conf" provision 2> prov.err || { cat prov.err; fail "provision"; }
[ "$(find keys -type f | wc -l)" -eq 1 ] || fail "provision made more than one key file"
i=0
while [ "$i" -lt 10 ]; do
    i=$((i + 1))
    "$DEVID" --config "$conf" renew --force > "r$i.out" 2> "r$i.err" \
        || { cat "r$i.err"; fail "renew $i"; }
done
files=$(find keys -type f | wc -l)
echo "after 10 renewals: $files key files, $(find tpm/identities -mindepth 1 -maxdepth 1 -type d | wc -l) identities"
[ "$files" -eq 3 ] || { ls -l keys; fail "$files key files, expected 3"; }
[ ! -e keys/device.tss2.pem ] || fail "the first identity's key file (pruned) is still there"
[ -e onboarding.tss2.pem ] || fail "the onboarding key file was removed"
python3 - "$TESTDIR" <<'PY' || fail "key files and kept identities differ"
import glob, json, os, sys
d = sys.argv[1]
files = {os.path.join(d, "keys", f) for f in os.listdir(os.path.join(d, "keys"))}
keys = {json.load(open(s))["key"] for s in glob.glob(d + "/tpm/identities/*/state.json")}
assert files == keys, (files, keys)
PY
"$DEVID" --config "$conf" status > st.out 2> st.err || { cat st.out st.err; fail "status"; }
ok "10 renewals on a TPM: 3 key files for the 3 identities kept, onboarding kept"

# a persistent handle devid made is evicted with the last identity using
# it: provision at 0x81000020, then (key moved) three times at 0x81000021
persistent() { tpm2_getcap handles-persistent | tr -d ' -' | tr 'A-F' 'a-f'; }
sed -i 's|^key = .*|key = handle:0x81000020|' "$conf"
"$DEVID" --config "$conf" provision --force > h0.out 2> h0.err || { cat h0.err; fail "provision at 0x81000020"; }
persistent | grep -q '^0x81000020$' || fail "no persistent key at 0x81000020"
sed -i 's|^key = .*|key = handle:0x81000021|' "$conf"
i=0
while [ "$i" -lt 3 ]; do
    i=$((i + 1))
    "$DEVID" --config "$conf" provision --force > "h$i.out" 2> "h$i.err" \
        || { cat "h$i.err"; fail "provision at 0x81000021 ($i)"; }
done
persistent | grep -q '^0x81000021$' || fail "the key in use at 0x81000021 was evicted"
if persistent | grep -q '^0x81000020$'; then
    fail "0x81000020 (devid's, no identity left) was not evicted"
fi
ok "a persistent key devid made is evicted once no kept identity uses it"
