#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# "openssl pkey|rsa|ec -text" on TPM keys prints the public half, the key's
# name and its TPM attributes; "-traditional -outform der" writes the key's
# reference in DER, which devid reads back (pkey 3.6+ writes PKCS#8 DER
# without -traditional); a private export still fails with devid's reason.
# Keys from tpm2-tools (under a persisted RSA primary, one with a key
# auth value, one fixed to RSASSA-PSS), from tpm2-openssl, and a devid
# persistent key.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
devid_tmpdir
trap 'devid_tpm_stop; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"
TSS2_LOG=all+none
export TSS2_LOG

# tpm2-tools keys under an RSA primary at 0x81000005 (the fixtures use the
# ECC SRK), their emptyAuth stated by devid_tpm_keyfile_auth.
tpm2_createprimary -Q -C o -G rsa2048 -c prim.ctx
tpm2_evictcontrol -Q -C o -c prim.ctx 0x81000005
tpm2_flushcontext -t
tpm2_create -Q -C 0x81000005 -G ecc384 -u ec.pub -r ec.priv -p keypass
tpm2_encodeobject -C 0x81000005 -u ec.pub -r ec.priv -o ec.pem
devid_tpm_keyfile_auth ec.pem required
tpm2_create -Q -C 0x81000005 -G rsa2048:rsapss-sha256:null -u pss.pub \
    -r pss.priv
tpm2_encodeobject -C 0x81000005 -u pss.pub -r pss.priv -o pss.pem
devid_tpm_keyfile_auth pss.pem empty
# their TPM Names, as the TPM computes them
for k in ec pss; do
    tpm2_load -Q -C 0x81000005 -u "$k.pub" -r "$k.priv" -c "$k.ctx" \
        -n "$k.name"
    tpm2_flushcontext -t
    od -An -tx1 -v "$k.name" | tr -d ' \n' > "$k.namehex"
done
# a key tpm2-openssl makes under its SRK, and a devid persistent key
devid_tpm2_openssl genpkey -provider tpm2 -provider base -algorithm RSA \
    -pkeyopt bits:2048 -out t2o.pem || fail "tpm2-openssl genpkey"
tpm2_flushcontext -t
devid_ossl genpkey -propquery provider=devid -algorithm EC \
    -pkeyopt group:P-256 -pkeyopt uri:handle:0x81000020 -out h.ref
P="-passin pass:keypass"

# text: OpenSSL's public half (the same as the default provider prints from
# the exported public key), then devid's name and the TPM's attributes
for k in ec pss t2o h; do
    in=$k.pem
    [ "$k" = h ] && in=h.ref
    # shellcheck disable=SC2086
    devid_ossl pkey -in "$in" $P -text -noout > "$k.txt" \
        || fail "$k: pkey -text"
    # shellcheck disable=SC2086
    devid_ossl pkey -in "$in" $P -pubout -out "$k.pubpem"
    openssl pkey -pubin -in "$k.pubpem" -text -noout > "$k.pubtxt"
    head -n "$(wc -l < "$k.pubtxt")" "$k.txt" | cmp -s - "$k.pubtxt" \
        || fail "$k: -text does not start with the public half"
    grep -q '^    backend: tpm2' "$k.txt" || fail "$k: no backend line"
    grep -q '^    private key: in the hardware, not exportable' "$k.txt" \
        || fail "$k: no private key line"
    grep -q '^    TPM object attributes: 0x' "$k.txt" \
        || fail "$k: no TPM attributes"
done
grep -q "^    TPM name: $(cat ec.namehex)\$" ec.txt \
    || fail "ec: TPM name differs from tpm2_load's"
grep -q "^    TPM name: $(cat pss.namehex)\$" pss.txt \
    || fail "pss: TPM name differs from tpm2_load's"
grep -q '^    TPM location: TSS2 key file, parent 0x81000005$' ec.txt \
    || fail "ec: parent not shown"
grep -q '^    TPM auth: required$' ec.txt || fail "ec: auth not shown"
grep -q '^    TPM auth: none (emptyAuth)$' pss.txt || fail "pss: emptyAuth"
grep -q '^    TPM object attributes: 0x00040072 (fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|sign)$' \
    pss.txt || fail "pss: attributes"
grep -q '^    TPM scheme: rsapss$' pss.txt || fail "pss: scheme"
grep -q '^    TPM scheme hash: sha256$' pss.txt || fail "pss: scheme hash"
grep -q '^    TPM location: TSS2 key file, parent 0x40000001 (storage root key' \
    t2o.txt || fail "t2o: SRK parent not shown"
grep -q '^    name: handle:0x81000020$' h.txt || fail "h: name not shown"
grep -q '^    TPM location: persistent handle 0x81000020$' h.txt \
    || fail "h: handle not shown"
ok "pkey -text: public half, name and TPM attributes"

# the rsa and ec commands print the same
devid_ossl rsa -in pss.pem -text -noout 2>/dev/null | grep -v '^Private-Key' \
    | grep -v '^Public-Key' > pss.rsatxt || :
grep -v '^Public-Key' pss.txt | cmp -s - pss.rsatxt || fail "rsa -text"
devid_ossl ec -in ec.pem -passin pass:keypass -text -noout 2>/dev/null \
    | grep -q "^    TPM name: $(cat ec.namehex)\$" || fail "ec -text"
ok "rsa -text and ec -text"

# DER: the reference body, read back by devid's decoder
for k in ec pss t2o h; do
    in=$k.pem
    [ "$k" = h ] && in=h.ref
    # shellcheck disable=SC2086
    devid_ossl pkey -in "$in" $P -traditional -outform der -out "$k.der" \
        || fail "$k: pkey -traditional -outform der"
    [ -s "$k.der" ] || fail "$k: empty DER file"
    # shellcheck disable=SC2086
    devid_ossl pkey -in "$k.der" $P -pubout | cmp -s - "$k.pubpem" \
        || fail "$k: the DER reference opens another key"
done
# a key file's DER is its PEM body, re-encoded (tpm2-tools writes TRUE as
# 0x01, DER wants 0xff)
openssl asn1parse -in pss.pem | sed 's/BOOLEAN *:1$/BOOLEAN :255/' \
    | tr -s ' ' > pss.asn1
openssl asn1parse -inform der -in pss.der | sed 's/BOOLEAN *:255$/BOOLEAN :255/' \
    | tr -s ' ' | cmp -s - pss.asn1 || fail "pss: DER is not the key file's body"
openssl asn1parse -inform der -in h.der | grep -q 'handle:0x81000020' \
    || fail "h: DER does not name the handle"
printf 'hello devid' > data
devid_ossl dgst -sha256 -sign pss.der -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:digest -out pss.sig data
openssl dgst -sha256 -verify pss.pubpem -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:digest -signature pss.sig data \
    | grep -q 'Verified OK' || fail "pss: DER key does not sign"
ok "pkey -traditional -outform der writes the reference; devid reads it back"

# private material still never leaves
if devid_ossl pkcs8 -topk8 -nocrypt -in pss.pem -out p8.der -outform der \
    2> p8.err; then
    fail "pkcs8 -topk8 exported a TPM key"
fi
grep -q 'private key material cannot be exported' p8.err \
    || fail "pkcs8 -topk8: not devid's reason: $(cat p8.err)"
ok "a private export fails with devid's reason"
