#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tpm2-openssl's other names: "object:PATH" (a persistent key serialized by
# tpm2_evictcontrol -o) signs like its handle and is refused once the
# handle holds another key; "handle:0x01xxxxxx" NV indices give public keys
# (DER or PEM) and certificates to the store and to key loads (-peerkey,
# x509 -in, storeutl), at the TCG locations of an IDevID and an EK
# certificate.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
devid_tmpdir
trap 'devid_tpm_stop; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"
TSS2_LOG=all+none
export TSS2_LOG
F=tpm2_flushcontext

# persist KEYTYPE HANDLE OBJ: a tpm2-tools key under an RSA primary, made
# persistent at HANDLE with its serialized object written to OBJ
persist() {
    tpm2_createprimary -Q -C o -G rsa2048 -c prim.ctx
    tpm2_create -Q -C prim.ctx -G "$1" -u k.pub -r k.priv
    $F -t
    tpm2_createprimary -Q -C o -G rsa2048 -c prim.ctx
    tpm2_load -Q -C prim.ctx -u k.pub -r k.priv -c k.ctx
    $F -t
    tpm2_evictcontrol -Q -C o -c k.ctx -o "$3" "$2"
    $F -t
}
persist ecc384 0x81000040 k.obj

printf 'hello devid' > data
devid_ossl pkey -in handle:0x81000040 -pubout -out k.pubpem
devid_ossl dgst -sha384 -sign "object:$TESTDIR/k.obj" -out k.sig data \
    || fail "object: does not sign"
openssl dgst -sha384 -verify k.pubpem -signature k.sig data \
    | grep -q 'Verified OK' || fail "object: signature does not verify"
devid_ossl pkey -in object:k.obj -text -noout > k.txt
grep -q "^    name: object:$(pwd -P)/k.obj\$" k.txt \
    || fail "object: name not shown as an absolute path"
grep -q '^    TPM location: persistent handle 0x81000040$' k.txt \
    || fail "object: handle not shown"
devid_ossl storeutl object:k.obj | grep -q '^0: \(Pkey\|Private key\)' \
    || fail "storeutl object:"
ok "object:PATH from tpm2_evictcontrol -o signs like its handle"

# the handle now holds another key: the object file is refused
tpm2_evictcontrol -Q -C o -c 0x81000040
persist ecc256 0x81000040 other.obj
if devid_ossl pkey -in object:k.obj -pubout -out x.pub 2> reuse.err; then
    fail "object: took the key now at its handle"
fi
grep -q 'no matching object' reuse.err || fail "reuse: $(cat reuse.err)"
grep -q 'now holds another object than the one serialized' reuse.err \
    || fail "reuse: no detail: $(cat reuse.err)"
devid_ossl pkey -in object:other.obj -pubout -out other.pub \
    || fail "the new object file"
if devid_ossl pkey -in object:missing.obj -pubout 2> missing.err; then
    fail "a missing object file was accepted"
fi
grep -q 'invalid key reference file' missing.err \
    || fail "missing object: $(cat missing.err)"
ok "an object file whose handle was reused or that is missing is refused"

# NV: a peer public key in DER, one in PEM
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.key
openssl pkey -in peer.key -pubout -outform der -out peer.der
openssl pkey -in peer.key -pubout -out peer.pem
tpm2_nvdefine -Q -C o -s "$(wc -c < peer.der)" 0x1000010
tpm2_nvwrite -Q -C o -i peer.der 0x1000010
tpm2_nvdefine -Q -C o -s 200 0x1000011
tpm2_nvwrite -Q -C o -i peer.pem 0x1000011
devid_ossl pkeyutl -derive -inkey handle:0x81000040 \
    -peerkey handle:0x1000010 -out z1 || fail "-peerkey handle:0x1000010"
openssl pkeyutl -derive -inkey peer.key -peerkey other.pub -out z2
cmp -s z1 z2 || fail "ECDH with an NV peer key differs from software"
for nv in 0x01000010 0x1000011; do
    devid_ossl pkey -pubin -in "handle:$nv" | cmp -s - peer.pem \
        || fail "handle:$nv is not the peer key"
done
ok "public keys in NV (DER, PEM) as -peerkey and pkey -pubin"

# certificates where TCG profiles put them: an IDevID certificate in the
# platform range (ppread, as firmware provisions it) and an RSA EK
# certificate (EK Credential Profile, ownerread), in indices larger than
# the certificate
openssl req -x509 -new -key peer.key -subj /CN=idevid-0001 -days 2 \
    -outform der -out idevid.der
tpm2_nvdefine -Q -C p -s 1024 -a 'ppread|ppwrite|platformcreate' 0x1c90000
tpm2_nvwrite -Q -C p -i idevid.der 0x1c90000
openssl req -x509 -new -newkey rsa:2048 -nodes -keyout ek.key \
    -subj /CN=ek-cert -days 2 -outform der -out ek.der 2>/dev/null
tpm2_nvdefine -Q -C o -s 1500 \
    -a 'ownerwrite|ownerread|authread|authwrite|no_da' 0x1c00002
tpm2_nvwrite -Q -C o -i ek.der 0x1c00002
devid_ossl x509 -in handle:0x01c90000 -noout -subject \
    | grep -q 'CN = idevid-0001' || fail "IDevID certificate in NV"
devid_ossl storeutl -certs handle:0x01c00002 > ek.txt
grep -q '^0: Certificate' ek.txt || fail "storeutl -certs: no EK certificate"
devid_ossl x509 -in handle:0x1c00002 -outform der | cmp -s - ek.der \
    || fail "EK certificate differs"
devid_ossl storeutl handle:0x1c90000 | grep -c '^[0-9]: ' | grep -q '^2$' \
    || fail "storeutl: want the public key and the certificate"
# the store's search criteria hold for TPM names too (checked by the store)
devid_ossl storeutl -subject /CN=idevid-0001 handle:0x1c90000 \
    | grep -c '^[0-9]: ' | grep -q '^2$' || fail "storeutl -subject on NV"
devid_ossl storeutl -certs -subject /CN=ek-cert handle:0x1c90000 \
    > nosubj.out 2> nosubj.err || :
grep -q '^0: ' nosubj.out && fail "storeutl -subject: another subject matched"
grep -q 'nothing matches handle:0x1c90000 and the search criteria' nosubj.err \
    || fail "storeutl -subject, no match: $(cat nosubj.err)"
ok "certificates in NV (IDevID, EK) through the store, also by subject"

# an NV index is no private key; one holding other data is nothing
if devid_ossl pkeyutl -sign -inkey handle:0x1000010 -in data 2> nv.err; then
    fail "an NV index signed"
fi
grep -q 'no matching object' nv.err || fail "NV -inkey: $(cat nv.err)"
printf 'not a key at all' > junk
tpm2_nvdefine -Q -C o -s 16 0x1000012
tpm2_nvwrite -Q -C o -i junk 0x1000012
# (storeutl exits 0 when nothing loads; what counts is that nothing did)
devid_ossl storeutl handle:0x1000012 > junk.out 2> junk.err || :
grep -q '^Total found: 0$' junk.out || fail "junk in NV was taken"
if devid_ossl pkey -pubin -in handle:0x1000012 2> junk.err; then
    fail "junk in NV was taken as a public key"
fi
grep -q 'holds no certificate or public key' junk.err \
    || fail "NV junk: $(cat junk.err)"
ok "NV indices without a key or certificate are refused with devid's reason"
