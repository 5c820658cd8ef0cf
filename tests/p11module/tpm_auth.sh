#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid-pkcs11.so with a TPM key that has an auth value (a persistent
# handle named handle:0x81000010?pass, made by tpm2-tools in a fresh
# swtpm): the token asks for login, the user PIN is the auth value, and a
# wrong one reaches the TPM once only: tests/unit/test-p11module logs in
# twice with it, and the TPM's lockout counter rises by exactly one.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
. "$top_srcdir/tests/p11module/lib-p11module.sh"
devid_tmpdir
cleanup() {
    devid_tpm_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_tpm_start "$TESTDIR"
auth=p11-auth-4711
{
    # swtpm has no resource manager: flush what each tool leaves loaded
    tpm2_createprimary -C o -G ecc -c prim.ctx && tpm2_flushcontext -t &&
        tpm2_create -C prim.ctx -G ecc256 -p "$auth" -u k.pub -r k.priv &&
        tpm2_flushcontext -t &&
        tpm2_load -C prim.ctx -u k.pub -r k.priv -c k.ctx &&
        tpm2_evictcontrol -C o -c k.ctx 0x81000010 &&
        tpm2_flushcontext -t &&
        tpm2_readpublic -c 0x81000010 -f pem -o pub.pem
} > tpm2.out 2>&1 || { cat tpm2.out; fail "making a TPM key with an auth value"; }
devid_mkca "$TESTDIR"
openssl x509 -new -force_pubkey pub.pem -subj /CN=tpmauth-01 -CA ca.pem \
    -CAkey ca.key -days 2 -out leaf.pem 2> x509.err || { cat x509.err; fail "certificate"; }
mkdir -p state/identities/a
cat leaf.pem ca.pem > state/identities/a/chain.pem
printf '{ "registration_id": "tpmauth-01", "key": "handle:0x81000010?pass" }\n' \
    > state/identities/a/state.json
ln -s identities/a state/current
printf 'state-dir = %s/state\ntcti = %s\n' "$TESTDIR" "$DEVID_TCTI" > devid.conf
DEVID_PKCS11_CONFIG=$TESTDIR/devid.conf
export DEVID_PKCS11_CONFIG

before=$(devid_tpm_lockout_counter)
"$top_builddir/tests/unit/test-p11module" "$P11MOD" "$TESTDIR/state" auth "$auth" \
    || fail "login with the auth value"
after=$(devid_tpm_lockout_counter)
[ "$after" -eq $((before + 1)) ] \
    || fail "lockout counter $before -> $after: the wrong auth value must reach the TPM once"
ok "login: the user PIN is the key's auth value; a refused one is not sent again"
