#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# RSA-2048 in a SoftHSM2 token: PKCS#1 v1.5 and PSS signatures through
# devid, checked against the default provider.
set -euf
. "$top_srcdir/tests/lib.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-rsa
devid_p11tool --keypairgen --key-type rsa:2048 --id 11 --label rsa2048 >/dev/null
uri="pkcs11:token=devid-rsa;object=rsa2048;type=private?pin-value=$DEVID_USER_PIN"
devid_ossl pkey -in "$uri" -pubout -out rsa.pub
printf 'hello devid' > data
openssl dgst -sha256 -binary data > data.sha256

devid_ossl pkeyutl -sign -inkey "$uri" -pkeyopt digest:sha256 -in data.sha256 -out p1.sig
openssl pkeyutl -verify -pubin -inkey rsa.pub -pkeyopt digest:sha256 -in data.sha256 \
    -sigfile p1.sig | grep -q 'Verified Successfully' || fail "PKCS#1 signature"
ok "RSA PKCS#1 v1.5 signature verifies"

for salt in digest max; do
    devid_ossl pkeyutl -sign -inkey "$uri" -pkeyopt digest:sha256 \
        -pkeyopt rsa_padding_mode:pss -pkeyopt "rsa_pss_saltlen:$salt" \
        -in data.sha256 -out pss.sig
    openssl pkeyutl -verify -pubin -inkey rsa.pub -pkeyopt digest:sha256 \
        -pkeyopt rsa_padding_mode:pss -pkeyopt "rsa_pss_saltlen:$salt" \
        -in data.sha256 -sigfile pss.sig | grep -q 'Verified Successfully' \
        || fail "PSS signature, salt $salt"
    ok "RSA PSS signature (salt $salt) verifies"
done

devid_ossl dgst -sha256 -sign "$uri" -sigopt rsa_padding_mode:pss -out d.sig data
openssl dgst -sha256 -verify rsa.pub -sigopt rsa_padding_mode:pss -signature d.sig data \
    | grep -q 'Verified OK' || fail "dgst PSS"
ok "dgst -sign with PSS verifies"

devid_ossl req -new -key "$uri" -subj "/CN=rsa-device" -out rsa.csr
openssl req -verify -noout -in rsa.csr 2>&1 | grep -q 'verify OK' || fail "RSA CSR"
devid_ossl req -new -key "$uri" -subj "/CN=rsa-device" -sigopt rsa_padding_mode:pss -out pss.csr
openssl req -verify -noout -in pss.csr 2>&1 | grep -q 'verify OK' || fail "RSA-PSS CSR"
ok "req -new with PKCS#1 and PSS makes CSRs that verify"
