#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Trust anchors: a DPS trust bundle update (legacy api-version) removes the
# stale anchor and keeps the pinned ones; a root migration (the emulator
# switches its server root A -> B) is survived by a device that pre-staged
# root B with trust-sync (and publishes to the hub, which switched with the
# emulator), and fails with an error naming the untrusted root on a device
# that did not.
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
chmod 600 pin   # devid refuses PIN files others can read
nofault='"faults": {"poll_limit": false}'
renew_config "$TESTDIR/emu.json" "\"trust_bundle\": [\"A\"], $nofault"
prov_emulators "$TESTDIR" "$TESTDIR/emu.json"
hash_a=$(openssl x509 -in "$DPS_ROOT" -noout -hash)
hash_b=$(openssl x509 -in "$DPS_ROOT_B" -noout -hash)
hash_f=$(openssl x509 -in "$FACTORY_ROOT" -noout -hash)

# legacy device: trust bundle from DPS, FACTORY_ROOT pinned (any root will do)
prov_device leg leg-01 "pkcs11:token=dev-hsm;object=leg" "pkcs11:token=dev-hsm;object=leg-onb"
printf 'hub-port = %s\ndps-timeout = 30\napi-version = 2021-11-01-preview\ntrust-dir = %s/leg-trust\ntrust-roots = %s\n' \
    "$HUB_PORT" "$TESTDIR" "$FACTORY_ROOT" >> leg.conf
"$DEVID" --config leg.conf trust-sync 2> ts.err || { cat ts.err; fail "trust-sync"; }
[ -f "leg-trust/$hash_f.0" ] || fail "pinned root not in trust-dir"
"$DEVID" --config leg.conf provision 2> p1.err || { cat p1.err; fail "provision leg"; }
"$DEVID" --config leg.conf renew --force 2> l1.err || { cat l1.err; fail "renew (bundle A)"; }
[ -f "leg-trust/$hash_a.0" ] || { ls -a leg-trust; fail "bundle root A not added"; }
[ -f "leg-trust/$hash_f.0" ] || fail "pinned root gone"
openssl verify -CApath leg-trust "$PROV_EMU/server-a/chain.pem" > /dev/null 2>&1 \
    || openssl verify -CApath leg-trust -untrusted "$PROV_EMU/server-a/chain.pem" "$PROV_EMU/server-a/cert.pem" >/dev/null \
    || fail "trust-dir does not work as a CApath"
ok "trust bundle [A] applied: A and the pinned root in trust-dir (usable as CApath)"

"$DEVID" --config leg.conf renew --force 2> l2.err || { cat l2.err; fail "renew (same bundle)"; }
grep -q 'unchanged: skipped' l2.err || { cat l2.err; fail "same etag applied again"; }
ok "same bundle etag: skipped"

renew_reload "$TESTDIR/emu.json" "\"trust_bundle\": [\"B\"], $nofault"
"$DEVID" --config leg.conf renew --force 2> l3.err || { cat l3.err; fail "renew (bundle B)"; }
[ -f "leg-trust/$hash_b.0" ] || { ls -a leg-trust; fail "bundle root B not added"; }
[ ! -e "leg-trust/$hash_a.0" ] || fail "stale root A not removed"
[ -f "leg-trust/$hash_f.0" ] || fail "pinned root removed by a bundle update"
ok "trust bundle [B]: stale A removed, B added, pinned root kept"

# root migration: pre-staged device and plain device, both on root A
prov_device pre pre-01 "pkcs11:token=dev-hsm;object=pre" "pkcs11:token=dev-hsm;object=pre-onb"
printf 'hub-port = %s\ndps-timeout = 30\ntrust-dir = %s/pre-trust\ntrust-roots = %s\n' \
    "$HUB_PORT" "$TESTDIR" "$DPS_ROOT_B" >> pre.conf
prov_device plain plain-01 "pkcs11:token=dev-hsm;object=plain" "pkcs11:token=dev-hsm;object=plain-onb"
printf 'hub-port = %s\ndps-timeout = 30\n' "$HUB_PORT" >> plain.conf
"$DEVID" --config pre.conf provision 2> p2.err || { cat p2.err; fail "provision pre"; }
"$DEVID" --config plain.conf provision 2> p3.err || { cat p3.err; fail "provision plain"; }
"$DEVID" --config pre.conf trust-sync 2> ts2.err || { cat ts2.err; fail "trust-sync pre"; }
[ -f "pre-trust/$hash_b.0" ] || fail "root B not pre-staged"

renew_reload "$TESTDIR/emu.json" "\"server_root\": \"B\", \"trust_bundle\": [\"B\"], $nofault"
before=$(readlink pre/current)
"$DEVID" --config pre.conf renew --force 2> m1.err || { cat m1.err; fail "renew with root B pre-staged"; }
[ "$(readlink pre/current)" != "$before" ] || fail "pre-staged device did not renew"
# the hub switched with the emulator: the device trusts it through its trust-dir
PROV_HUB_CAPATH=$TESTDIR/pre-trust
renew_check_publish pre pre-01 '{"migrated":1}' || fail "publish after the migration"
PROV_HUB_CAPATH=
ok "root migration A -> B: the device with root B pre-staged renews and publishes to the hub, which presents root B too"

before=$(readlink plain/current)
rc=0
"$DEVID" --config plain.conf renew --force 2> m2.err || rc=$?
[ "$rc" -eq 4 ] || { cat m2.err; fail "renew without root B: exit $rc, want 4"; }
cn_b=$(openssl x509 -in "$DPS_ROOT_B" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
grep -q "untrusted root.*$cn_b" m2.err || { cat m2.err; fail "the error does not name root B ($cn_b)"; }
[ "$(readlink plain/current)" = "$before" ] || fail "failed renewal switched"
"$DEVID" --config plain.conf --json status > st.json || true
grep -q "untrusted root" st.json || { cat st.json; fail "status does not say why"; }
ok "root migration: the device without root B fails with exit 4 naming \"$cn_b\"; status says so"
