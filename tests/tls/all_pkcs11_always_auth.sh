#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Keys with CKA_ALWAYS_AUTHENTICATE (as on a PIV card) work through openssl
# with devid (issue 11, item 2): SoftHSM 2.6 enforces the attribute, so
# each signature and decryption needs its context-specific login. One
# s_server process signs several handshakes (the later ones on the key's
# session copy); pkeyutl signs and decrypts.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-pki.sh"
. "$top_srcdir/tests/lib-servers.sh"
devid_tmpdir
SERVER_PID=
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-aa
devid_p11tool --keypairgen --key-type EC:prime256v1 --id 01 --label ecaa \
    --usage-sign --always-auth >/dev/null
devid_p11tool --keypairgen --key-type rsa:2048 --id 02 --label rsaaa \
    --usage-sign --usage-decrypt --always-auth >/dev/null
devid_p11tool --list-objects --type privkey > objs.txt
[ "$(grep -c 'always authenticate' objs.txt)" -eq 2 ] \
    || { cat objs.txt; fail "pkcs11-tool made no always-authenticate keys"; }
printf '%s\n' "$DEVID_USER_PIN" > pin
chmod 600 pin
{
    printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = p\n'
    printf '[p]\ndefault = d\ndevid = v\n[d]\nactivate = 1\n'
    printf '[v]\nmodule = %s/devid.so\nactivate = 1\n' "$OPENSSL_MODULES"
    printf 'pkcs11-module-path = %s\n' "$SOFTHSM_MODULE"
    printf 'pkcs11-module-token-pin = file:%s/pin\n' "$TESTDIR"
} > aa.cnf
OPENSSL_CONF=$TESTDIR/aa.cnf
export OPENSSL_CONF
EC="pkcs11:token=devid-aa;object=ecaa;type=private"
RSA="pkcs11:token=devid-aa;object=rsaaa;type=private"

printf 'always authenticate' > data
for k in EC RSA; do
    uri=$EC
    [ "$k" = EC ] || uri=$RSA
    openssl pkey -in "$uri" -pubout -out "$k.pub" 2> out.txt || { cat out.txt; fail "$k: public key"; }
    openssl pkeyutl -sign -inkey "$uri" -rawin -digest sha256 -in data \
        -out "$k.sig" 2> out.txt || { cat out.txt; fail "$k: pkeyutl -sign"; }
    openssl pkeyutl -verify -pubin -inkey "$k.pub" -rawin -digest sha256 \
        -in data -sigfile "$k.sig" > /dev/null || fail "$k: signature does not verify"
    ok "$k always-authenticate key signs (pkeyutl)"
done

for pad in pkcs1 oaep; do
    openssl pkeyutl -encrypt -pubin -inkey RSA.pub -pkeyopt "rsa_padding_mode:$pad" \
        -in data -out "data.$pad"
    openssl pkeyutl -decrypt -inkey "$RSA" -pkeyopt "rsa_padding_mode:$pad" \
        -in "data.$pad" -out "data.$pad.out" 2> out.txt || { cat out.txt; fail "RSA $pad decryption"; }
    cmp -s data "data.$pad.out" || fail "RSA $pad decryption gives other data"
    ok "RSA always-authenticate key decrypts ($pad)"
done

# one server process, several signatures with the same key: the first on
# the token object, the next ones on its session copy
pki_ca "$TESTDIR"
openssl req -new -key "$EC" -subj /CN=localhost -out srv.csr 2> out.txt \
    || { cat out.txt; fail "CSR with the EC key"; }
pki_sign "$TESTDIR" srv.csr srv.pem server
srv_s_server s_server.log -www -tls1_3 -cert srv.pem -key "$EC"
for i in 1 2 3 4; do
    if ! openssl s_client -connect "127.0.0.1:$SERVER_PORT" -CAfile ca.pem \
        -verify_return_error -brief < /dev/null > hs.txt 2>&1 \
        || ! grep -q 'CONNECTION ESTABLISHED' hs.txt; then
        cat hs.txt s_server.log
        fail "handshake $i with the always-authenticate key"
    fi
done
ok "one s_server signs four handshakes with the always-authenticate key"
