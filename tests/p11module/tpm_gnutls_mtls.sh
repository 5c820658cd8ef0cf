#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid-pkcs11.so with a TPM identity (swtpm, provisioned by devid through
# the emulator): the token and its objects as pkcs11-tool and p11tool see
# them, pkcs11-tool --test, gnutls-cli and a Java (SunPKCS11) client in
# mutual TLS against openssl s_server -Verify 1, then devid renew and the
# same commands again, which now present the new certificate.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
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
    devid_tpm_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_tpm_start "$TESTDIR"
printf '' > pin
chmod 600 pin
renew_config "$TESTDIR/emu.json"
prov_emulators "$TESTDIR" "$TESTDIR/emu.json"
prov_device tpm tpm-01 "$TESTDIR/device.tss2.pem" "$TESTDIR/onboarding.tss2.pem"
conf="$TESTDIR/tpm.conf"
printf "tcti = %s\nhub-port = %s\n" "$DEVID_TCTI" "$HUB_PORT" >> "$conf"
"$DEVID" --config "$conf" provision 2> prov.err || { cat prov.err; fail "provision"; }
DEVID_PKCS11_CONFIG=$conf
export DEVID_PKCS11_CONFIG

p11m_tool -L > slots.txt 2>&1 || { cat slots.txt; fail "pkcs11-tool -L"; }
p11m_sign_check tpm-01 tpm || { cat sign.out; fail "signing through the token labelled tpm-01"; }
ok "token tpm-01: its key signs with no login, the leaf's public key verifies"

p11m_tool --test > test.txt 2>&1 || { cat test.txt; fail "pkcs11-tool --test"; }
ok "pkcs11-tool --test passes"
p11m_plain p11tool --provider "$P11MOD_PLAIN" --list-all 'pkcs11:token=tpm-01' > p11tool.txt 2>&1 \
    || { cat p11tool.txt; fail "p11tool --list-all"; }
[ "$(p11m_p11tool_fpr tpm-01)" = "$(p11m_leaf_fpr tpm)" ] || fail "p11tool exports another certificate"
ok "p11tool --list-all; p11tool exports the leaf by its pkcs11: URI"

devid_mkca "$TESTDIR"
devid_mkserver "$TESTDIR" server ec
cp tpm/current/chain.pem client-ca.pem
p11m_server "$TESTDIR"
p11m_gnutls tpm-01 || { cat gnutls.out server.out; fail "gnutls-cli mutual TLS"; }
[ "$(p11m_client_fpr)" = "$(p11m_leaf_fpr tpm)" ] || { cat server.out; fail "the server saw another certificate"; }
ok "gnutls-cli mutual TLS with the TPM key by pkcs11: URI"
if command -v java > /dev/null; then
    p11m_server "$TESTDIR"
    p11m_java || { cat java.out server.out; fail "Java (SunPKCS11) mutual TLS"; }
    [ "$(p11m_client_fpr)" = "$(p11m_leaf_fpr tpm)" ] || { cat server.out; fail "Java: the server saw another certificate"; }
    ok "Java SunPKCS11 mutual TLS with the TPM key"
fi

first=$(readlink tpm/current)
"$DEVID" --config "$conf" renew --force > renew.out 2> renew.err \
    || { cat renew.err; fail "renew"; }
[ "$(readlink tpm/current)" != "$first" ] || fail "renew did not switch"
cat tpm/current/chain.pem >> client-ca.pem
p11m_server "$TESTDIR"
p11m_gnutls tpm-01 || { cat gnutls.out server.out; fail "gnutls-cli after renew"; }
[ "$(p11m_client_fpr)" = "$(p11m_leaf_fpr tpm)" ] || { cat server.out; fail "after renew the server saw the old certificate"; }
ok "after devid renew the same gnutls-cli command presents the new certificate"
if command -v java > /dev/null; then
    p11m_server "$TESTDIR"
    p11m_java || { cat java.out server.out; fail "Java after renew"; }
    [ "$(p11m_client_fpr)" = "$(p11m_leaf_fpr tpm)" ] || { cat server.out; fail "Java after renew: the server saw the old certificate"; }
    ok "after devid renew the same Java command presents the new certificate"
fi
