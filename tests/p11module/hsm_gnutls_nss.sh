#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid-pkcs11.so with a SoftHSM identity (provisioned by devid through the
# emulator): pkcs11-tool --test; NSS (modutil -add, certutil -L -h all)
# lists the token's certificate; gnutls-cli mutual TLS by pkcs11: URIs;
# without a pin-source the token asks for the user PIN, which goes to the
# SoftHSM token; after devid renew the same gnutls-cli command presents the
# new certificate.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
. "$top_srcdir/tests/cli/lib-renew.sh"
. "$top_srcdir/tests/p11module/lib-p11module.sh"
p11m_needs_plain
devid_tmpdir
P11M_SPID=
P11M_HOLD=
cleanup() {
    if [ -n "$P11M_SPID" ]; then kill "$P11M_SPID" 2>/dev/null || :; fi
    if [ -n "$P11M_HOLD" ]; then kill "$P11M_HOLD" 2>/dev/null || :; fi
    prov_emulators_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" dev-hsm
printf '%s' "$DEVID_USER_PIN" > pin
chmod 600 pin
renew_config "$TESTDIR/emu.json"
prov_emulators "$TESTDIR" "$TESTDIR/emu.json"
prov_device hsm hsm-01 "pkcs11:token=dev-hsm;object=device" \
    "pkcs11:token=dev-hsm;object=onboarding"
conf="$TESTDIR/hsm.conf"
printf 'pkcs11-module-path = %s\nhub-port = %s\n' "$SOFTHSM_MODULE" "$HUB_PORT" >> "$conf"
"$DEVID" --config "$conf" provision 2> prov.err || { cat prov.err; fail "provision"; }
DEVID_PKCS11_CONFIG=$conf
export DEVID_PKCS11_CONFIG

p11m_tool -L > slots.txt 2>&1 || { cat slots.txt; fail "pkcs11-tool -L"; }
p11m_sign_check hsm-01 hsm || { cat sign.out; fail "signing with no login (pin-source set)"; }
p11m_tool --test > test.txt 2>&1 || { cat test.txt; fail "pkcs11-tool --test"; }
ok "SoftHSM identity: token hsm-01, pkcs11-tool --test passes"

mkdir nssdb
certutil -N -d "sql:$TESTDIR/nssdb" --empty-password > nss.out 2>&1 || { cat nss.out; fail "certutil -N"; }
echo | modutil -dbdir "sql:$TESTDIR/nssdb" -add devid -libfile "$P11MOD" -force > nss.out 2>&1 \
    || { cat nss.out; fail "modutil -add"; }
certutil -L -d "sql:$TESTDIR/nssdb" -h all > nss.txt 2>&1 || { cat nss.txt; fail "certutil -L -h all"; }
certutil -L -d "sql:$TESTDIR/nssdb" -n hsm-01:device -a > nss-leaf.pem 2> nss.err \
    || { cat nss.err; fail "certutil -L -n hsm-01:device"; }
tr -d "\r" < nss-leaf.pem > nss-leaf2.pem
[ "$(openssl x509 -in nss-leaf2.pem -noout -fingerprint -sha256)" = "$(p11m_leaf_fpr hsm)" ] \
    || fail "NSS shows another certificate"
ok "NSS: modutil -add, certutil -L -h all lists the token's certificate"

devid_mkca "$TESTDIR"
devid_mkserver "$TESTDIR" server ec
cp hsm/current/chain.pem client-ca.pem
p11m_server "$TESTDIR"
p11m_gnutls hsm-01 || { cat gnutls.out server.out; fail "gnutls-cli mutual TLS"; }
[ "$(p11m_client_fpr)" = "$(p11m_leaf_fpr hsm)" ] || { cat server.out; fail "the server saw another certificate"; }
ok "gnutls-cli mutual TLS with the SoftHSM key by pkcs11: URI"

# the same identity without pin-source: the user PIN goes to SoftHSM
grep -v '^pin-source' "$conf" > nopin.conf
DEVID_PKCS11_CONFIG=$TESTDIR/nopin.conf
p11m_tool -L > slots2.txt 2>&1 || { cat slots2.txt; fail "pkcs11-tool -L (no pin-source)"; }
if p11m_sign_check hsm-01 hsm; then
    fail "signed without the PIN"
fi
if p11m_sign_check hsm-01 hsm --login --pin 0000; then
    fail "signed with a wrong PIN"
fi
p11m_sign_check hsm-01 hsm --login --pin "$DEVID_USER_PIN" || { cat sign.out; fail "login with the token's PIN"; }
p11m_server "$TESTDIR"
p11m_gnutls "hsm-01;pin-value=$DEVID_USER_PIN" || { cat gnutls.out server.out; fail "gnutls-cli with the PIN"; }
[ "$(p11m_client_fpr)" = "$(p11m_leaf_fpr hsm)" ] || fail "the server saw another certificate (PIN)"
ok "without pin-source: login required, a wrong PIN refused, the right one signs"
DEVID_PKCS11_CONFIG=$conf

first=$(readlink hsm/current)
"$DEVID" --config "$conf" renew --force > renew.out 2> renew.err || { cat renew.err; fail "renew"; }
[ "$(readlink hsm/current)" != "$first" ] || fail "renew did not switch"
cat hsm/current/chain.pem >> client-ca.pem
p11m_server "$TESTDIR"
p11m_gnutls hsm-01 || { cat gnutls.out server.out; fail "gnutls-cli after renew"; }
[ "$(p11m_client_fpr)" = "$(p11m_leaf_fpr hsm)" ] || { cat server.out; fail "after renew the server saw the old certificate"; }
ok "after devid renew the same gnutls-cli command presents the new certificate"
