#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Key generation as tpm2-openssl users write it: "openssl genpkey -out" with
# no name (a TSS2 key file under the standard SRK), every NIST curve the TPM
# reports, RSA-PSS keys with a digest, user-auth, parent and parent-auth,
# and a uri that is also the -out file. EdDSA keys are refused.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
devid_tmpdir
trap 'devid_tpm_stop; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"
TSS2_LOG=all+none
export TSS2_LOG
printf 'hello devid' > data
gen() {
    devid_ossl genpkey -propquery provider=devid "$@"
}

# -out only: a TSS2 key file that tpm2-openssl reads too
gen -algorithm EC -out ec.pem || fail "genpkey -out with no name"
gen -algorithm RSA -pkeyopt bits:2048 -out rsa.pem || fail "RSA -out"
for k in ec rsa; do
    grep -q '^-----BEGIN TSS2 PRIVATE KEY-----$' "$k.pem" \
        || fail "$k: not a TSS2 key file"
    devid_ossl pkey -in "$k.pem" -pubout -out "$k.pub"
    devid_tpm2_openssl pkey -provider tpm2 -provider base -in "$k.pem" \
        -pubout | cmp -s - "$k.pub" || fail "$k: tpm2-openssl reads another key"
    tpm2_flushcontext -t
    devid_ossl pkey -in "$k.pem" -text -noout \
        | grep -q '^    TPM location: TSS2 key file, parent 0x40000001' \
        || fail "$k: not under the standard SRK"
done
ok "genpkey -out with no name writes a TSS2 key file under the SRK"

# every NIST curve the TPM reports, signing with the digest of its size
for c in $(tpm2_getcap ecc-curves | sed -n 's/^TPM2_ECC_NIST_P\([0-9]*\):.*/\1/p'); do
    gen -algorithm EC -pkeyopt "group:P-$c" -out "p$c.pem" \
        || fail "P-$c: genpkey"
    devid_ossl pkey -in "p$c.pem" -pubout -out "p$c.pub"
    md=sha256
    [ "$c" -ge 384 ] && md=sha384
    [ "$c" -ge 521 ] && md=sha512
    devid_ossl dgst "-$md" -sign "p$c.pem" -out "p$c.sig" data \
        || fail "P-$c: sign"
    openssl dgst "-$md" -verify "p$c.pub" -signature "p$c.sig" data \
        | grep -q 'Verified OK' || fail "P-$c: signature does not verify"
    ok "P-$c: generated, signs, verifies"
done
if gen -algorithm EC -pkeyopt group:secp256k1 -out k1.pem 2> k1.err; then
    fail "secp256k1 was generated"
fi
grep -q 'unsupported key type or size' k1.err || fail "secp256k1: $(cat k1.err)"
# EdDSA: no TPM makes such keys; refused by name, nothing written
for a in ED25519 ED448; do
    if gen -algorithm "$a" -out "$a.pem" 2> "$a.err"; then
        fail "$a was generated in the TPM"
    fi
    grep -q 'unsupported key type or size' "$a.err" && grep -q 'a TPM makes no EdDSA keys' "$a.err" \
        || fail "$a: $(cat "$a.err")"
    if grep -q 'TSS2' "$a.pem" 2>/dev/null; then
        fail "$a: a key file was written"
    fi
    ok "$a: refused by the TPM backend"
done

# RSA-PSS with a digest: a sign-only key fixed to RSASSA-PSS/SHA-384
gen -algorithm RSA-PSS -pkeyopt digest:sha384 -out pss.pem \
    || fail "RSA-PSS genpkey"
devid_ossl pkey -in pss.pem -text -noout > pss.txt
grep -q '^    TPM scheme: rsapss$' pss.txt || fail "RSA-PSS: scheme"
grep -q '^    TPM scheme hash: sha384$' pss.txt || fail "RSA-PSS: digest"
devid_ossl pkey -in pss.pem -pubout | openssl asn1parse | grep -q rsassaPss \
    || fail "RSA-PSS: not an RSA-PSS public key"
devid_ossl req -x509 -new -key pss.pem -sha384 -subj /CN=pss -days 2 \
    -out pss.crt || fail "RSA-PSS: req -x509"
openssl verify -CAfile pss.crt pss.crt | grep -q ': OK$' \
    || fail "RSA-PSS: certificate does not verify"
if gen -algorithm EC -pkeyopt digest:sha384 -out ecd.pem 2> ecd.err; then
    fail "digest was taken for an EC key"
fi
grep -q 'invalid parameter' ecd.err || fail "EC digest: $(cat ecd.err)"
ok "RSA-PSS keys with a digest; digest refused for other keys"

# user-auth: the file says an auth value is needed, and it is
gen -algorithm EC -pkeyopt 'user-auth:key pw' -out ua.pem \
    || fail "user-auth genpkey"
devid_ossl pkey -in ua.pem -passin 'pass:key pw' -text -noout > ua.txt
grep -q '^    TPM auth: required$' ua.txt || fail "user-auth: emptyAuth"
devid_ossl dgst -sha256 -sign ua.pem -passin 'pass:key pw' -out ua.sig data \
    || fail "user-auth: sign"
devid_ossl pkey -in ua.pem -passin 'pass:key pw' -pubout -out ua.pub
openssl dgst -sha256 -verify ua.pub -signature ua.sig data \
    | grep -q 'Verified OK' || fail "user-auth: signature"
ok "user-auth makes a key that signs with its auth value"

# parent and parent-auth: under a DA-protected primary with an auth value
tpm2_createprimary -Q -C o -G ecc256 -p 'parent pw' -c prim.ctx
tpm2_evictcontrol -Q -C o -c prim.ctx 0x81000009
tpm2_flushcontext -t
gen -algorithm RSA -pkeyopt parent:0x81000009 \
    -pkeyopt 'parent-auth:parent pw' -out pk.pem || fail "parent genpkey"
TPM2OPENSSL_PARENT_AUTH='parent pw' devid_ossl dgst -sha256 -sign pk.pem \
    -out pk.sig data || fail "parent: sign"
TPM2OPENSSL_PARENT_AUTH='parent pw' devid_ossl pkey -in pk.pem -text -noout \
    | grep -q '^    TPM location: TSS2 key file, parent 0x81000009$' \
    || fail "parent: not under 0x81000009"
before=$(devid_tpm_lockout_counter)
if gen -algorithm EC -pkeyopt parent:0x81000009 -pkeyopt parent-auth:wrong \
    -out bad.pem 2> bad.err; then
    fail "a wrong parent-auth made a key"
fi
grep -q 'PIN or auth value incorrect' bad.err || fail "parent-auth: $(cat bad.err)"
[ "$(devid_tpm_lockout_counter)" -eq "$((before + 1))" ] \
    || fail "a wrong parent-auth cost more than one lockout count"
ok "parent and parent-auth; a wrong parent-auth is one lockout count"

# uri = -out: genpkey has created the empty file before the key exists
gen -algorithm EC -pkeyopt "uri:$TESTDIR/same.pem" -out "$TESTDIR/same.pem" \
    || fail "uri equal to -out"
grep -q '^-----BEGIN TSS2 PRIVATE KEY-----$' same.pem \
    || fail "uri = -out: no key file"
devid_ossl dgst -sha256 -sign same.pem -out same.sig data \
    || fail "uri = -out: the key does not sign"
ok "genpkey -pkeyopt uri:X -out X"
