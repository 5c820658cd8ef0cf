#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid-pkcs11.so with an RSA TPM identity: the key decrypts, so the token
# offers CKM_RSA_X_509 (raw RSA, TPM2_RSA_Decrypt with scheme NULL) next to
# CKM_RSA_PKCS, with CKF_DECRYPT in C_GetMechanismInfo and CKA_DECRYPT on
# the key; a raw decryption through the module gives back exactly what
# OpenSSL encrypted with the leaf's public key.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
. "$top_srcdir/tests/p11module/lib-p11module.sh"
devid_tmpdir
cleanup() {
    prov_emulators_stop
    devid_tpm_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_tpm_start "$TESTDIR"
printf '' > pin
chmod 600 pin
# a policy that takes RSA keys (renew_config's takes EC only)
cat > "$TESTDIR/emu.json" <<JSON
{
  "policies": {"rsa": {"key_types": ["RSA", "P-256", "P-384"], "validity": "1h"}},
  "enrollment_groups": [
    {"id": "factory", "ca": "factory", "policy": "rsa"}
  ]
}
JSON
prov_emulators "$TESTDIR" "$TESTDIR/emu.json"
prov_device rsa rsa-01 "$TESTDIR/device.tss2.pem" "$TESTDIR/onboarding.tss2.pem"
conf="$TESTDIR/rsa.conf"
sed -i 's/^key-type = .*/key-type = rsa-2048/' "$conf"
printf "tcti = %s\nhub-port = %s\n" "$DEVID_TCTI" "$HUB_PORT" >> "$conf"
"$DEVID" --config "$conf" provision 2> prov.err || { cat prov.err; fail "provision"; }
DEVID_PKCS11_CONFIG=$conf
export DEVID_PKCS11_CONFIG
openssl x509 -in rsa/current/chain.pem -noout -pubkey > leaf-pub.pem
openssl pkey -pubin -in leaf-pub.pem -noout -text | grep -q 'Public-Key: (2048 bit)' \
    || fail "the identity's key is not RSA-2048"

# the mechanism list: RSA-X-509 with the decrypt flag
p11m_tool --token-label rsa-01 -M > mechs.txt 2>&1 \
    || { cat mechs.txt; fail "pkcs11-tool -M"; }
grep -i '^ *RSA-X-509' mechs.txt | grep -qi 'decrypt' \
    || { cat mechs.txt; fail "CKM_RSA_X_509 is not offered for decryption"; }
ok "the token offers CKM_RSA_X_509 with CKF_DECRYPT"

# 256 bytes below the modulus (a leading zero byte), raw RSA both ways
{ printf '\000'; head -c 255 /dev/urandom; } > plain.bin
openssl pkeyutl -encrypt -pubin -inkey leaf-pub.pem -pkeyopt rsa_padding_mode:none \
    -in plain.bin -out cipher.bin
p11m_tool --token-label rsa-01 --decrypt -m RSA-X-509 \
    --label device -i cipher.bin -o back.bin > dec.out 2>&1 \
    || { cat dec.out; fail "raw RSA decryption through the module"; }
cmp -s plain.bin back.bin || fail "the raw decryption differs from the plaintext"
ok "CKM_RSA_X_509 decrypts what OpenSSL encrypted with the leaf's public key"

# PKCS#1 v1.5 decryption still works beside it
printf 'devid secret %s\n' "$$" > msg.txt
openssl pkeyutl -encrypt -pubin -inkey leaf-pub.pem -in msg.txt -out msg.enc
p11m_tool --token-label rsa-01 --decrypt -m RSA-PKCS \
    --label device -i msg.enc -o msg.back > dec2.out 2>&1 \
    || { cat dec2.out; fail "RSA-PKCS decryption through the module"; }
cmp -s msg.txt msg.back || fail "the PKCS#1 decryption differs"
ok "CKM_RSA_PKCS decrypts beside it"
