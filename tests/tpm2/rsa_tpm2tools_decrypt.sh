#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Raw RSA decryption (rsa_padding_mode:none) with TPM keys that may decrypt
# with any scheme: a tpm2-tools RSA 3072 key under an ECC P-384 primary at
# 0x8100000a and a devid key made with genpkey -out. One TPM2_RSA_Decrypt
# with scheme NULL gives c^d mod n; a sign-only key, or a block that is not
# one modulus long, is refused with devid's reason.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
devid_tmpdir
trap 'devid_tpm_stop; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"
TSS2_LOG=all+none
export TSS2_LOG

tpm2_createprimary -Q -C o -G ecc384 -c prim.ctx
tpm2_evictcontrol -Q -C o -c prim.ctx 0x8100000a
tpm2_flushcontext -t
tpm2_create -Q -C 0x8100000a -G rsa3072 -u t.pub -r t.priv
tpm2_encodeobject -C 0x8100000a -u t.pub -r t.priv -o t.pem
devid_tpm_keyfile_auth t.pem empty
tpm2_create -Q -C 0x8100000a -G rsa2048 -u s.pub -r s.priv \
    -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign'
tpm2_encodeobject -C 0x8100000a -u s.pub -r s.priv -o s.pem
devid_tpm_keyfile_auth s.pem empty
devid_ossl genpkey -propquery provider=devid -algorithm RSA \
    -pkeyopt bits:2048 -out g.pem

for k in t g; do
    devid_ossl pkey -in "$k.pem" -pubout -out "$k.pubpem"
    n=$(($(openssl pkey -pubin -in "$k.pubpem" -text -noout \
        | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p') / 8))
    # a block below the modulus: a zero byte, then random bytes
    { printf '\000'; head -c "$((n - 1))" /dev/urandom; } > "$k.m"
    openssl pkeyutl -encrypt -pubin -inkey "$k.pubpem" \
        -pkeyopt rsa_padding_mode:none -in "$k.m" -out "$k.c"
    devid_ossl pkeyutl -decrypt -inkey "$k.pem" \
        -pkeyopt rsa_padding_mode:none -in "$k.c" -out "$k.d" \
        || fail "$k: raw decryption"
    cmp -s "$k.m" "$k.d" || fail "$k: raw decryption gives another block"
    ok "$k: raw RSA decryption ($((n * 8)) bits) in the TPM"
done

# a sign-only key cannot (refused when the decryption starts); nor can a
# short block
devid_ossl pkey -in s.pem -pubout -out s.pubpem
openssl pkeyutl -encrypt -pubin -inkey s.pubpem -pkeyopt rsa_padding_mode:none \
    -in g.m -out s.c
if devid_ossl pkeyutl -decrypt -inkey s.pem -pkeyopt rsa_padding_mode:none \
    -in s.c -out s.d 2> s.err; then
    fail "a sign-only key decrypted"
fi
grep -q 'operation not supported' s.err || fail "sign-only: $(cat s.err)"
grep -q 'key cannot decrypt' s.err || fail "sign-only: no detail"
head -c 100 g.c > short.c
if devid_ossl pkeyutl -decrypt -inkey g.pem -pkeyopt rsa_padding_mode:none \
    -in short.c -out short.d 2> short.err; then
    fail "a short block was decrypted"
fi
grep -q 'invalid parameter' short.err || fail "short block: $(cat short.err)"
ok "raw decryption is refused for a sign-only key and a short block"
