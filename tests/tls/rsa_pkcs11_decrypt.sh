#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# RSA decryption in a SoftHSM2 token (PKCS#1 v1.5 and OAEP) of data the
# default provider encrypted to the key's exported public half.
set -euf
. "$top_srcdir/tests/lib.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-rsa
devid_p11tool --keypairgen --key-type rsa:2048 --usage-decrypt --usage-sign --id 12 --label rsa-dec >/dev/null
uri="pkcs11:token=devid-rsa;object=rsa-dec;type=private?pin-value=$DEVID_USER_PIN"
devid_ossl pkey -in "$uri" -pubout -out rsa.pub
printf 'secret for the token' > plain
openssl pkeyutl -encrypt -pubin -inkey rsa.pub -in plain -out enc1
devid_ossl pkeyutl -decrypt -inkey "$uri" -in enc1 -out dec1
cmp -s plain dec1 || fail "PKCS#1 decryption"
ok "RSA PKCS#1 v1.5 decryption in the token"
# SoftHSM 2.6 implements OAEP with SHA-1 only (CKR_ARGUMENTS_BAD otherwise)
openssl pkeyutl -encrypt -pubin -inkey rsa.pub -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha1 -in plain -out enc2
devid_ossl pkeyutl -decrypt -inkey "$uri" -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha1 -in enc2 -out dec2
cmp -s plain dec2 || fail "OAEP decryption"
ok "RSA OAEP (SHA-1) decryption in the token"
# raw RSA (rsa_padding_mode:none) where the token has CKM_RSA_X_509 and the
# key allows it; refused, never replaced by PKCS#1, where the key does not
openssl pkeyutl -encrypt -pubin -inkey rsa.pub -pkeyopt rsa_padding_mode:pkcs1 \
    -in plain -out enc3
devid_ossl pkeyutl -decrypt -inkey "$uri" -pkeyopt rsa_padding_mode:none \
    -in enc3 -out raw.out
[ "$(wc -c < raw.out)" -eq 256 ] || fail "raw decryption: not one block"
tail -c "$(wc -c < plain)" raw.out | cmp -s plain - || fail "raw decryption"
ok "raw RSA decryption (CKM_RSA_X_509) gives the padded block"
devid_p11tool --keypairgen --key-type rsa:2048 --usage-decrypt --id 13 \
    --label rsa-pkcs --allowed-mechanisms RSA-PKCS >/dev/null
uri2="pkcs11:token=devid-rsa;object=rsa-pkcs;type=private?pin-value=$DEVID_USER_PIN"
devid_ossl pkey -in "$uri2" -pubout -out rsa2.pub
openssl pkeyutl -encrypt -pubin -inkey rsa2.pub -in plain -out enc4
devid_ossl pkeyutl -decrypt -inkey "$uri2" -in enc4 -out dec4
cmp -s plain dec4 || fail "PKCS#1 decryption, key allowed CKM_RSA_PKCS"
if devid_ossl pkeyutl -decrypt -inkey "$uri2" -pkeyopt rsa_padding_mode:none \
    -in enc4 -out raw.out 2> raw.err; then
    fail "raw decryption with a key not allowed CKM_RSA_X_509"
fi
grep -q 'cannot decrypt without padding' raw.err || fail "raw: $(cat raw.err)"
ok "raw RSA decryption is refused for a key allowed only CKM_RSA_PKCS"
# a key allowed only raw RSA decrypts raw blocks, never PKCS#1 v1.5 (whose
# unpadding in software would be a padding oracle outside TLS)
devid_p11tool --keypairgen --key-type rsa:2048 --usage-decrypt --id 14 \
    --label rsa-raw --allowed-mechanisms RSA-X-509 >/dev/null
uri3="pkcs11:token=devid-rsa;object=rsa-raw;type=private?pin-value=$DEVID_USER_PIN"
devid_ossl pkey -in "$uri3" -pubout -out rsa3.pub
openssl pkeyutl -encrypt -pubin -inkey rsa3.pub -in plain -out enc5
devid_ossl pkeyutl -decrypt -inkey "$uri3" -pkeyopt rsa_padding_mode:none \
    -in enc5 -out raw5.out
tail -c "$(wc -c < plain)" raw5.out | cmp -s plain - || fail "raw, key allowed CKM_RSA_X_509"
if devid_ossl pkeyutl -decrypt -inkey "$uri3" -in enc5 -out dec5 2> dec5.err; then
    fail "PKCS#1 decryption with a key allowed only CKM_RSA_X_509"
fi
grep -q 'mechanism not supported by the key or token' dec5.err \
    || fail "PKCS#1, raw-only key: $(cat dec5.err)"
grep -q 'CKM_RSA_PKCS not offered' dec5.err || fail "not named: $(cat dec5.err)"
ok "a key allowed only CKM_RSA_X_509: raw decryption, PKCS#1 v1.5 refused"
