#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Ed25519 and Ed448 keys in a SoftHSM2 token: generated in the token by
# openssl genpkey through devid (and one by pkcs11-tool, as another program
# leaves it), loaded by URI and by reference file, printed with -text, and
# signing in one call (pkeyutl -rawin, req, x509) with the default provider
# verifying, and verifying by the key's URI. A message given in parts, a digest, and an EdDSA key in a TPM
# are refused with devid's reasons; the devid CLI makes ed25519 keys and
# CSRs with them.
set -euf
. "$top_srcdir/tests/lib.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-ed
PIN="?pin-value=$DEVID_USER_PIN"
printf 'hello devid, in one piece' > data

# genpkey in the token, pkcs11-provider's way of naming where
devid_ossl genpkey -propquery '?provider=devid' -algorithm ED25519 \
    -pkeyopt "pkcs11_uri:pkcs11:token=devid-ed;object=ed25519$PIN" -out ed25519.ref \
    || fail "genpkey ED25519 in the token"
devid_ossl genpkey -propquery '?provider=devid' -algorithm ED448 \
    -pkeyopt "pkcs11_uri:pkcs11:token=devid-ed;object=ed448$PIN" -out ed448.ref \
    || fail "genpkey ED448 in the token"
grep -q 'BEGIN PKCS#11 PROVIDER URI' ed25519.ref || fail "genpkey wrote no reference file"
ok "genpkey makes Ed25519 and Ed448 keys in the token"
# another program's key: OpenSC names the curve by a PrintableString
devid_p11tool --keypairgen --key-type EC:edwards25519 --id 03 --label tool25519 >/dev/null
devid_p11tool --list-objects --type privkey > objects.txt
[ "$(grep -c 'EC_EDWARDS\|EC-EDWARDS\|Private Key Object' objects.txt)" -ge 3 ] \
    || { cat objects.txt; fail "the token does not list three EdDSA keys"; }

for k in ed25519 ed448 tool25519; do
    case $k in ed448) alg=ED448 size=114 ;; *) alg=ED25519 size=64 ;; esac
    uri="pkcs11:token=devid-ed;object=$k;type=private$PIN"
    devid_ossl pkey -in "$uri" -pubout -out "$k.pub" || fail "$k: no public half"
    openssl pkey -pubin -in "$k.pub" -noout -text | grep -q "^$alg Public-Key" \
        || fail "$k: the public half is not an $alg key"
    devid_ossl pkey -in "$uri" -noout -text > "$k.txt" || fail "$k: pkey -text"
    grep -q "^$alg Public-Key" "$k.txt" && grep -q 'private key: in the hardware' "$k.txt" \
        || { cat "$k.txt"; fail "$k: -text does not show the key"; }
    ok "$k: public half exported and printed as $alg"

    devid_ossl pkeyutl -sign -rawin -inkey "$uri" -in data -out "$k.sig" \
        || fail "$k: pkeyutl -sign -rawin"
    [ "$(wc -c < "$k.sig")" -eq "$size" ] || fail "$k: signature is not $size bytes"
    openssl pkeyutl -verify -rawin -pubin -inkey "$k.pub" -in data -sigfile "$k.sig" \
        | grep -q 'Verified Successfully' || fail "$k: signature does not verify"
    ok "$k: one-shot signature verifies with the default provider"
    # verification named by the token key's URI: its public half, in software
    devid_ossl pkeyutl -verify -rawin -inkey "$uri" -in data -sigfile "$k.sig" \
        | grep -q 'Verified Successfully' || fail "$k: no verification by the key's URI"
    printf 'tampered' > tampered
    if devid_ossl pkeyutl -verify -rawin -inkey "$uri" -in tampered -sigfile "$k.sig" \
        > out.txt 2>&1; then
        fail "$k: a signature over other data verified"
    fi
    grep -q 'Signature Verification Failure' out.txt || { cat out.txt; fail "$k: no verification failure"; }
    ok "$k: verification by the key's URI (and a wrong message fails)"
    # the public key object alone (type=public)
    devid_ossl pkey -pubin -in "pkcs11:token=devid-ed;object=$k;type=public" -pubout \
        -out "$k.pubobj" || fail "$k: the public key object does not load"
    cmp -s "$k.pub" "$k.pubobj" || fail "$k: the public key object is another key"
    devid_ossl pkeyutl -verify -rawin -pubin -inkey "pkcs11:token=devid-ed;object=$k;type=public" \
        -in data -sigfile "$k.sig" | grep -q 'Verified Successfully' \
        || fail "$k: no verification with the public key object"
    ok "$k: the public key object (type=public) loads and verifies"

    devid_ossl req -new -key "$uri" -subj "/CN=device-$k" -out "$k.csr" || fail "$k: req"
    openssl req -verify -noout -in "$k.csr" 2>&1 | grep -q 'verify OK' \
        || fail "$k: CSR does not verify"
    openssl req -in "$k.csr" -noout -text | grep -q "Signature Algorithm: $alg" \
        || fail "$k: CSR not signed as $alg"
    devid_ossl req -x509 -new -key "$uri" -subj "/CN=self-$k" -days 2 -out "$k.crt" \
        || fail "$k: self-signed certificate"
    openssl verify -CAfile "$k.crt" "$k.crt" > /dev/null || fail "$k: certificate does not verify"
    ok "$k: CSR and certificate signed as $alg"
done

# the reference files genpkey wrote open the same keys, also from DER
for k in ed25519 ed448; do
    devid_ossl pkey -in "$k.ref" -passin "pass:$DEVID_USER_PIN" -pubout -out "$k.ref.pub" \
        || fail "$k: reference file does not load"
    cmp -s "$k.pub" "$k.ref.pub" || fail "$k: the reference file opens another key"
    devid_ossl pkeyutl -sign -rawin -inkey "$k.ref" -passin "pass:$DEVID_USER_PIN" \
        -in data -out "$k.ref.sig" || fail "$k: signing through the reference file"
    openssl pkeyutl -verify -rawin -pubin -inkey "$k.pub" -in data -sigfile "$k.ref.sig" \
        | grep -q 'Verified Successfully' || fail "$k: reference-file signature does not verify"
    openssl asn1parse -in "$k.ref" -out "$k.ref.der" -noout || fail "$k: reference body"
    devid_ossl pkey -in "$k.ref.der" -inform DER -passin "pass:$DEVID_USER_PIN" -pubout \
        -out "$k.der.pub" || fail "$k: DER reference does not load"
    cmp -s "$k.pub" "$k.der.pub" || fail "$k: the DER reference opens another key"
    # written back out by devid's encoders: the same reference, PEM and DER
    devid_ossl pkey -in "$k.ref" -passin "pass:$DEVID_USER_PIN" -out "$k.ref2" \
        && cmp -s "$k.ref" "$k.ref2" || fail "$k: pkey -out writes another reference"
    # DER: OpenSSL 3.0 asks for any DER structure (devid writes the
    # reference); 4.0 asks for PrivateKeyInfo for EdDSA keys, which devid
    # refuses with its reason rather than write a reference as PKCS#8
    if devid_ossl pkey -in "$k.ref" -passin "pass:$DEVID_USER_PIN" -outform DER \
        -out "$k.out.der" > out.txt 2>&1; then
        cmp -s "$k.ref.der" "$k.out.der" || fail "$k: pkey -outform DER writes another reference"
    else
        grep -q 'private key material cannot be exported' out.txt \
            || { cat out.txt; fail "$k: pkey -outform DER fails without devid's reason"; }
        echo "note: this OpenSSL asks for PKCS#8 DER: refused by devid"
    fi
    ok "$k: reference file (PEM and DER) opens, signs and is written back"
done

# the store lists them as what they are
devid_ossl storeutl -keys "pkcs11:token=devid-ed$PIN" > list.txt
[ "$(grep -c 'Pkey' list.txt)" -ge 3 ] || { cat list.txt; fail "storeutl: keys missing"; }
ok "storeutl lists the EdDSA keys"

# refused, each with devid's reason: a digest and a message in parts
# (tests/tls/ed-stream.py drives EVP_DigestSignInit_ex and
# EVP_DigestSignUpdate, which no openssl command does with an EdDSA key),
# a variant that is not pure EdDSA
uri="pkcs11:token=devid-ed;object=ed25519;type=private$PIN"
python3 "$top_srcdir/tests/tls/ed-stream.py" "$uri" > out.txt 2>&1 \
    || { cat out.txt; fail "ed-stream.py"; }
sed -n '/^digest:/,/^update:/p' out.txt > digest.txt
grep -q 'invalid parameter' digest.txt \
    && grep -q 'no digest may be chosen (got SHA256)' digest.txt \
    || { cat out.txt; fail "a digest for Ed25519: no devid reason"; }
ok "a digest for EdDSA is refused"
sed -n '/^update:/,$p' out.txt > update.txt
grep -q 'operation not supported' update.txt \
    && grep -q 'message given in parts' update.txt \
    || { cat out.txt; fail "EVP_DigestSignUpdate: no devid reason"; }
grep -q '^one-shot: ok' out.txt || { cat out.txt; fail "EVP_DigestSign after the refusal"; }
ok "a message in parts is refused, one call still signs"
if devid_ossl pkeyutl -sign -rawin -inkey "$uri" -in data -out x.sig \
    -pkeyopt instance:Ed25519ph > out.txt 2>&1; then
    fail "Ed25519ph was signed as pure Ed25519"
fi
grep -q 'operation not supported' out.txt && grep -q 'signs pure Ed25519 only' out.txt \
    || { cat out.txt; fail "Ed25519ph: no devid reason"; }
ok "Ed25519ph is refused"

# a token that does not list CKM_EDDSA (the fault module in front of
# SoftHSM fails C_GetMechanismList): the key is refused at init, by name
faults=$top_builddir/tests/faults/.libs/libdevid-p11-faults.so
[ -f "$faults" ] || fail "no fault module at $faults (make check builds it)"
if DEVID_FAULTS=C_GetMechanismList=CKR_GENERAL_ERROR devid_ossl pkeyutl -sign -rawin \
    -inkey "pkcs11:token=devid-ed;object=ed25519;type=private?module-path=$faults&pin-value=$DEVID_USER_PIN" \
    -in data -out x.sig > out.txt 2>&1; then
    fail "an EdDSA signature without CKM_EDDSA"
fi
grep -q 'mechanism not supported by the key or token' out.txt \
    && grep -q 'the hardware offers no Ed25519 signature' out.txt \
    || { cat out.txt; fail "no CKM_EDDSA: no devid reason"; }
ok "a token without CKM_EDDSA: refused when signing starts"

# CKA_ALLOWED_MECHANISMS: a key allowed CKM_EDDSA signs, one allowed only
# another mechanism is refused when signing starts
devid_p11tool --keypairgen --key-type EC:edwards25519 --id 0a --label ed-allowed \
    --usage-sign --allowed-mechanisms EDDSA >/dev/null \
    || fail "pkcs11-tool cannot make a key with --allowed-mechanisms EDDSA"
devid_p11tool --keypairgen --key-type EC:edwards25519 --id 0b --label ed-denied \
    --usage-sign --allowed-mechanisms ECDSA >/dev/null \
    || fail "pkcs11-tool cannot make a key with --allowed-mechanisms ECDSA"
devid_ossl pkeyutl -sign -rawin -inkey "pkcs11:token=devid-ed;object=ed-allowed;type=private$PIN" \
    -in data -out allowed.sig || fail "a key allowed CKM_EDDSA does not sign"
if devid_ossl pkeyutl -sign -rawin -inkey "pkcs11:token=devid-ed;object=ed-denied;type=private$PIN" \
    -in data -out denied.sig > out.txt 2>&1; then
    fail "a key not allowed CKM_EDDSA signed"
fi
grep -q 'mechanism not supported by the key or token' out.txt \
    || { cat out.txt; fail "a key not allowed CKM_EDDSA: no devid reason"; }
ok "CKA_ALLOWED_MECHANISMS: CKM_EDDSA allowed signs, not allowed is refused"

# the CLI: keygen --type ed25519 and a CSR from it
DEVID=$top_builddir/devid
if [ ! -x "$DEVID" ]; then
    echo "note: no devid CLI in this build (--disable-tools): keygen not tried"
else
    "$DEVID" keygen --type ed25519 --out cli.ref \
        "pkcs11:token=devid-ed;object=cli-ed$PIN" > keygen.txt 2>&1 \
        || { cat keygen.txt; fail "devid keygen --type ed25519"; }
    "$DEVID" csr --key "pkcs11:token=devid-ed;object=cli-ed;type=private$PIN" --cn cli \
        --out cli.csr > csr.txt 2>&1 || { cat csr.txt; fail "devid csr with an Ed25519 key"; }
    openssl req -verify -noout -in cli.csr 2>&1 | grep -q 'verify OK' \
        || fail "devid csr: the Ed25519 CSR does not verify"
    openssl req -in cli.csr -noout -text | grep -q 'Signature Algorithm: ED25519' \
        || fail "devid csr: not signed as ED25519"
    "$DEVID" keygen --type ed25519 --out cli2.ref \
        "pkcs11:token=devid-ed;object=cli-ed$PIN" > keygen.txt 2>&1 \
        || { cat keygen.txt; fail "devid keygen does not reuse its ed25519 key"; }
    cmp -s cli.ref cli2.ref || fail "keygen made a second key"
    ok "devid keygen --type ed25519 makes (then reuses) a key; devid csr signs with it"
fi
