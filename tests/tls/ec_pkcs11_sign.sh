#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# EC keys in a SoftHSM2 token sign through devid (pkeyutl, dgst, req) and the
# default provider verifies; storeutl lists the token.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-pki.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-ec
devid_p11tool --keypairgen --key-type EC:prime256v1 --id 01 --label ec256 >/dev/null
devid_p11tool --keypairgen --key-type EC:secp384r1 --id 02 --label ec384 >/dev/null
printf 'hello devid' > data

for k in ec256 ec384; do
    uri="pkcs11:token=devid-ec;object=$k;type=private?pin-value=$DEVID_USER_PIN"
    devid_ossl pkey -in "$uri" -pubout -out "$k.pub"
    grep -q 'BEGIN PUBLIC KEY' "$k.pub" || fail "$k: no public key exported"

    openssl dgst -sha256 -binary data > data.sha256
    devid_ossl pkeyutl -sign -inkey "$uri" -in data.sha256 -out "$k.sig"
    openssl pkeyutl -verify -pubin -inkey "$k.pub" -in data.sha256 -sigfile "$k.sig" \
        | grep -q 'Verified Successfully' || fail "$k: pkeyutl signature does not verify"
    ok "$k: pkeyutl -sign verifies with the default provider"

    devid_ossl dgst -sha384 -sign "$uri" -out "$k.dsig" data
    openssl dgst -sha384 -verify "$k.pub" -signature "$k.dsig" data | grep -q 'Verified OK' \
        || fail "$k: dgst signature does not verify"
    ok "$k: dgst -sign verifies"

    devid_ossl req -new -key "$uri" -subj "/CN=device-$k" -out "$k.csr"
    openssl req -verify -noout -in "$k.csr" 2>&1 | grep -q 'verify OK' \
        || fail "$k: CSR does not verify"
    ok "$k: req -new makes a CSR that verifies"
done

# a certificate in the token shows up next to the keys
pki_ca "$TESTDIR"
pki_client "$TESTDIR" ec256.csr ec256.pem
openssl x509 -in ec256.pem -outform DER -out ec256.der
devid_p11tool --write-object ec256.der --type cert --id 01 --label ec256 >/dev/null
devid_ossl storeutl "pkcs11:token=devid-ec?pin-value=$DEVID_USER_PIN" > list.txt
cat list.txt
[ "$(grep -c 'Pkey' list.txt)" -ge 2 ] || fail "storeutl: private keys missing"
grep -q 'Certificate' list.txt || fail "storeutl: certificate missing"
devid_ossl storeutl -certs "pkcs11:token=devid-ec;object=ec256" | grep -q 'Certificate' \
    || fail "storeutl -certs: certificate missing"
ok "storeutl lists keys and certificates"
