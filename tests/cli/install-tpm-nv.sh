#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# install-to = tpm-nv (issue 12, item 4): the leaf goes into a new NV index
# of devid's range next to the TPM key; the provider reads it back by
# handle:0x013d.... (openssl x509, tpm2_nvread), a renewal writes a new
# index and switches, a failed install leaves the old identity and its
# index and removes the new one, and pruning undefines the indices of the
# identities it removes.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
. "$top_srcdir/tests/cli/lib-renew.sh"
devid_tmpdir
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || :
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
printf 'tcti = %s\nhub-port = %s\ndps-timeout = 4\nkeep-identities = 1\ninstall-to = tpm-nv\n' \
    "$DEVID_TCTI" "$HUB_PORT" >> "$conf"

# the NV indices of devid's range (0x013D0000-0x013D00FF), one a line
# (tpm2_getcap prints "- 0x13D0000")
nvs() {
    tpm2_getcap handles-nv-index | tr -d ' -' | while read -r h; do printf '0x%08x\n' "$h"; done \
        | grep '^0x013d00' || :
}
stored() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("cert_name", ""))' tpm/state.json; }
current() { readlink tpm/current; }
# fp FILE: the SHA-256 fingerprint of the first certificate in FILE
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
# check_index NAME: the index NAME holds the current chain's leaf, for
# devid's store (x509 -in) and for tpm2_nvread
check_index() {
    devid_ossl x509 -in "$1" -out nv-leaf.pem 2> x509.err || { cat x509.err; fail "openssl x509 -in $1 (devid)"; }
    [ "$(fp nv-leaf.pem)" = "$(fp tpm/device-chain.pem)" ] \
        || fail "$1 does not hold the chain file's leaf"
    tpm2_nvread -o nv.der "${1#handle:}" 2> nvread.err || { cat nvread.err; fail "tpm2_nvread ${1#handle:}"; }
    [ "$(openssl x509 -inform der -in nv.der -noout -fingerprint -sha256)" = "$(fp tpm/device-chain.pem)" ] \
        || fail "tpm2_nvread of $1 differs from the chain file's leaf"
}

[ -z "$(nvs)" ] || fail "devid's NV range is not empty before provisioning"
"$DEVID" --config "$conf" provision 2> prov.err || { cat prov.err; fail "provision"; }
nv1=$(stored)
[ -n "$nv1" ] || fail "state.json records no cert_name"
case $nv1 in handle:0x013d00??) ;; *) fail "cert_name $nv1 is outside devid's range" ;; esac
[ "$(nvs | wc -l)" -eq 1 ] || { nvs; fail "provision defined $(nvs | wc -l) indices, expected 1"; }
grep -q '"install_to": *"tpm-nv"' tpm/state.json || fail "install_to is not tpm-nv"
check_index "$nv1"
"$DEVID" --config "$conf" --json status > status.json || fail "status"
python3 - "$nv1" status.json <<'PY' || fail "status does not show where the certificate is"
import json, sys
d = json.load(open(sys.argv[2]))
assert d["certificate_stored_at"] == sys.argv[1] and d["installed_to"] == "tpm-nv", d
PY
"$DEVID" --config "$conf" status | grep -q "certificate_stored_at: $nv1" \
    || fail "plain status does not show certificate_stored_at"
ok "provision with install-to tpm-nv: the leaf in $nv1, read by devid (x509 -in) and tpm2_nvread, shown by status"

# the key and the certificate in the TPM make a TLS client identity
key=$(python3 -c 'import json; print(json.load(open("tpm/state.json"))["key"])')
devid_ossl x509 -in "$nv1" -noout -pubkey > nv-pub.pem
devid_ossl pkey -in "$key" -pubout > key-pub.pem
cmp -s nv-pub.pem key-pub.pem || fail "the certificate in $nv1 is not the key's"
ok "the certificate in $nv1 belongs to the TPM key $key"

# a TLS client with the certificate from NV and the key in the TPM: a
# server that asks for a client certificate from the device CA accepts it
awk 'n > 0 || /END CERTIFICATE/ { if (n++ > 0) print; next }' tpm/device-chain.pem > device-cas.pem
grep -q 'BEGIN CERTIFICATE' device-cas.pem || fail "the chain file has no CA certificates"
port=$(devid_freeport)
openssl s_server -quiet -accept "$port" -cert "$PROV_EMU/server-a/cert.pem" -key "$PROV_EMU/server-a/cert.key" \
    -Verify 2 -verify_return_error -CAfile device-cas.pem > sserver.log 2>&1 &
SRV_PID=$!
devid_wait_port "$port"
(echo hello; sleep 2) | timeout 30 openssl s_client $DEVID_PROVIDERS -connect "127.0.0.1:$port" -cert "$nv1" -key "$key" \
    -cert_chain tpm/device-chain.pem > sclient.log 2>&1 || :
sleep 1
kill "$SRV_PID" 2>/dev/null || :
wait "$SRV_PID" 2>/dev/null || :
SRV_PID=
grep -A1 'depth=0 .*CN *= *tpm-01' sserver.log | grep -q 'verify return:1' \
    && ! grep -qi 'error\|alert' sserver.log && grep -q '^New, TLS' sclient.log \
    || { cat sserver.log sclient.log; fail "s_client -cert $nv1 -key (TPM key) is not accepted"; }
ok "openssl s_client -cert $nv1 -key (TPM key): the server accepts the device certificate"

# a renewal writes a new index and switches; the old one stays (the
# previous identity, for rollback)
id1=$(current)
"$DEVID" --config "$conf" renew --force > r1.out 2> r1.err || { cat r1.err; fail "renew"; }
nv2=$(stored)
[ -n "$nv2" ] && [ "$nv2" != "$nv1" ] || fail "the renewal did not write a new index ($nv1, $nv2)"
[ "$(current)" != "$id1" ] || fail "the renewal did not switch"
nvs | grep -q "^${nv1#handle:}\$" || fail "the previous identity's index $nv1 is gone"
check_index "$nv2"
ok "renewal: the new leaf in a new index $nv2, switched; $nv1 kept for rollback"

# a failed install leaves the identity in use and its index, and removes
# the index it had defined
before=$(nvs)
id2=$(current)
if DEVID_TEST_FAIL_WRITE=chain.pem "$DEVID" --config "$conf" renew --force > r2.out 2> r2.err; then
    fail "renew succeeded although writing the chain failed"
fi
[ "$(current)" = "$id2" ] || fail "a failed renewal switched the identity"
[ "$(stored)" = "$nv2" ] || fail "a failed renewal changed cert_name"
[ "$(nvs)" = "$before" ] || { nvs; fail "a failed renewal left NV indices changed"; }
check_index "$nv2"
ok "a failed renewal keeps the identity and $nv2 and leaves no new index"

# devid install --to tpm-nv: the same chain for the same key, a new index
cp tpm/device-chain.pem chain.pem
"$DEVID" --config "$conf" install --cert chain.pem --key "$(python3 -c 'import json; print(json.load(open("tpm/state.json"))["key"])')" \
    --to tpm-nv > inst.out 2> inst.err || { cat inst.err; fail "devid install --to tpm-nv"; }
nv3=$(stored)
[ -n "$nv3" ] && [ "$nv3" != "$nv2" ] || fail "install --to tpm-nv did not write a new index"
grep -q "$nv3" inst.out || fail "install does not print where the certificate went"
check_index "$nv3"
ok "devid install --to tpm-nv writes the leaf into a new index $nv3"

# an index that cannot be defined (the TPM's NV memory is full): install
# fails, the identity in use and its index stay, no index is left behind
before=$(nvs)
id3=$(current)
fill=0x01000100
for size in 2048 256 32; do
    while tpm2_nvdefine -C o -s "$size" -a "ownerwrite|ownerread" "$fill" > /dev/null 2>&1; do
        fill=$(printf '0x%08x' $((fill + 1)))
    done
done
rc=0
"$DEVID" --config "$conf" install --cert chain.pem --key "$(python3 -c 'import json; print(json.load(open("tpm/state.json"))["key"])')" \
    --to tpm-nv > full.out 2> full.err || rc=$?
[ "$rc" -eq 6 ] || { cat full.err; fail "install into a full TPM: exit $rc, want 6"; }
grep -q 'cannot define NV index' full.err || { cat full.err; fail "no NV define error"; }
[ "$(current)" = "$id3" ] && [ "$(stored)" = "$nv3" ] || fail "a failed install switched the identity"
[ "$(nvs)" = "$before" ] || fail "a failed install changed devid's NV indices"
h=0x01000100
while [ "$h" != "$fill" ]; do
    tpm2_nvundefine -C o "$h" > /dev/null 2>&1 || fail "cannot undefine the filler $h"
    h=$(printf '0x%08x' $((h + 1)))
done
check_index "$nv3"
ok "install into a TPM whose NV memory is full: exit 6, the identity and $nv3 stay"

# pruning (keep-identities 1: current and previous stay) undefines the
# indices of the identities it removes, so they never pile up
i=0
while [ "$i" -lt 3 ]; do
    i=$((i + 1))
    "$DEVID" --config "$conf" renew --force > "p$i.out" 2> "p$i.err" || { cat "p$i.err"; fail "renew $i"; }
done
ids=$(find tpm/identities -mindepth 1 -maxdepth 1 -type d | wc -l)
want=$(python3 - "$TESTDIR" <<'PY'
import glob, json, sys
names = sorted({json.load(open(s)).get("cert_name", "")[7:].lower()
                for s in glob.glob(sys.argv[1] + "/tpm/identities/*/state.json")} - {""})
print("\n".join(names))
PY
)
[ "$(nvs)" = "$want" ] || { echo "indices: $(nvs)"; echo "identities: $want"; fail "NV indices and kept identities differ"; }
[ "$(nvs | wc -l)" -le "$ids" ] || fail "more indices than identities"
cat p1.err p2.err p3.err | grep -q 'removing the certificate handle:0x013d00' \
    || fail "pruning removed no certificate"
# (a freed index may be used again: each kept identity's index must hold
# that identity's leaf)
for sj in $(find tpm/identities -name state.json); do
    name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("cert_name", ""))' "$sj")
    [ -n "$name" ] || continue
    devid_ossl x509 -in "$name" -out kept.pem || fail "openssl x509 -in $name"
    [ "$(fp kept.pem)" = "$(fp "$(dirname "$sj")/chain.pem")" ] || fail "$name does not hold its identity's leaf"
done
check_index "$(stored)"
echo "after pruning: $ids identities, indices: $(nvs | tr '\n' ' ')"
ok "pruning undefines the NV indices of the identities it removes"
