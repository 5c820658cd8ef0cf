#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TPM keys made through devid (openssl genpkey, a key file and a persistent
# handle, EC and RSA) sign through the provider (pkeyutl, dgst, req) and the
# default provider verifies; key files go both ways between devid and
# tpm2-openssl. Runs against a fresh swtpm.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
devid_tmpdir
trap 'devid_tpm_stop; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"

# key generation through the provider's keymgmt: name in the uri parameter
gen() { # ALG OPT NAME REF
    devid_ossl genpkey -propquery provider=devid -algorithm "$1" \
        -pkeyopt "$2" -pkeyopt "uri:$3" -out "$4" \
        || fail "genpkey $1 at $3"
}
gen EC group:P-256 "$TESTDIR/ec256.tss" ec256.ref
gen EC group:P-384 handle:0x81000101 ec384.ref
gen RSA bits:2048 "file:$TESTDIR/rsa2048.tss" rsa2048.ref
gen RSA bits:3072 handle:0x81000102 rsa3072.ref
grep -q 'BEGIN TSS2 PRIVATE KEY' ec256.tss || fail "no TSS2 key file written"
grep -q 'BEGIN TSS2 PRIVATE KEY' ec256.ref || fail "reference is not the key file"
[ "$(stat -c %a ec256.tss)" = 600 ] || fail "key file mode is not 0600"
ok "genpkey makes key files and persistent keys"

printf 'hello devid' > data
openssl dgst -sha256 -binary data > data.sha256
for k in ec256 ec384 rsa2048 rsa3072; do
    for name in "$k.ref" "$(case $k in ec384) echo handle:0x81000101;;
        rsa3072) echo handle:0x81000102;; *) echo "$k.tss";; esac)"; do
        devid_ossl pkey -in "$name" -pubout -out "$k.pub"
        devid_ossl pkeyutl -sign -inkey "$name" -in data.sha256 -out "$k.sig"
        openssl pkeyutl -verify -pubin -inkey "$k.pub" -in data.sha256 \
            -sigfile "$k.sig" | grep -q 'Verified Successfully' \
            || fail "$k ($name): pkeyutl signature does not verify"
        devid_ossl dgst -sha384 -sign "$name" -out "$k.dsig" data
        openssl dgst -sha384 -verify "$k.pub" -signature "$k.dsig" data \
            | grep -q 'Verified OK' || fail "$k ($name): dgst does not verify"
    done
    ok "$k: pkeyutl and dgst signatures verify with the default provider"
    devid_ossl req -new -key "$k.ref" -subj "/CN=device-$k" -out "$k.csr"
    openssl req -verify -noout -in "$k.csr" 2>&1 | grep -q 'verify OK' \
        || fail "$k: CSR does not verify"
    ok "$k: req -new makes a CSR that verifies"
done

# RSA-PSS with the salt TLS 1.3 needs (RFC 8446 4.2.3: salt = digest)
for k in rsa2048 rsa3072; do
    devid_ossl pkeyutl -sign -inkey "$k.ref" -in data.sha256 -out "$k.pss" \
        -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest \
        -pkeyopt digest:sha256
    openssl pkeyutl -verify -pubin -inkey "$k.pub" -in data.sha256 \
        -sigfile "$k.pss" -pkeyopt rsa_padding_mode:pss \
        -pkeyopt rsa_pss_saltlen:digest -pkeyopt digest:sha256 \
        | grep -q 'Verified Successfully' || fail "$k: PSS does not verify"
    ok "$k: RSA-PSS with salt = digest length verifies"
done

# RSA decryption (PKCS#1 v1.5 and OAEP) and ECDH in the TPM
printf 'a 32-byte secret for the test..' > secret
for k in rsa2048 rsa3072; do
    openssl pkeyutl -encrypt -pubin -inkey "$k.pub" -in secret -out "$k.enc"
    devid_ossl pkeyutl -decrypt -inkey "$k.ref" -in "$k.enc" -out "$k.dec"
    cmp -s secret "$k.dec" || fail "$k: PKCS#1 decryption"
    openssl pkeyutl -encrypt -pubin -inkey "$k.pub" -in secret -out "$k.oaep" \
        -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
    devid_ossl pkeyutl -decrypt -inkey "$k.ref" -in "$k.oaep" -out "$k.dec2" \
        -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
    cmp -s secret "$k.dec2" || fail "$k: OAEP decryption"
    ok "$k: PKCS#1 and OAEP decryption in the TPM"
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.key
openssl pkey -in peer.key -pubout -out peer.pub
devid_ossl pkeyutl -derive -inkey ec256.ref -peerkey peer.pub -out z1
openssl pkeyutl -derive -inkey peer.key -peerkey ec256.pub -out z2
cmp -s z1 z2 || fail "ECDH in the TPM differs from software"
ok "ec256: ECDH in the TPM equals the software result"

# key files both ways with tpm2-openssl (it leaves objects loaded without a
# resource manager: flush them, swtpm has three slots)
devid_tpm2_openssl genpkey -provider tpm2 -algorithm EC \
    -pkeyopt group:P-256 -out t2o.pem 2>/dev/null
tpm2_flushcontext -t
devid_ossl pkey -in t2o.pem -pubout -out t2o.pub
devid_ossl pkeyutl -sign -inkey t2o.pem -in data.sha256 -out t2o.sig
openssl pkeyutl -verify -pubin -inkey t2o.pub -in data.sha256 -sigfile t2o.sig \
    | grep -q 'Verified Successfully' || fail "tpm2-openssl key: no valid signature"
ok "a tpm2-openssl key file signs through devid"
devid_tpm2_openssl pkey -provider tpm2 -provider default -in ec256.tss \
    -pubout -out ec256.t2o.pub
tpm2_flushcontext -t
openssl pkey -pubin -in ec256.pub -outform DER -out a.der
openssl pkey -pubin -in ec256.t2o.pub -outform DER -out b.der
cmp -s a.der b.der || fail "tpm2-openssl reads another public key from devid's file"
ok "a devid key file loads in tpm2-openssl"
