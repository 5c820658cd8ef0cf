#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ECDH context parameters as OpenSSL's own provider has them, with a TPM EC
# key made by tpm2-tools (P-384, a key auth value, under an RSA primary
# persisted at 0x81000007): "openssl cms -decrypt -inkey" opens messages
# encrypted to the key's certificate (X9.63 KDF with SHA-1, SHA-256 and
# SHA-384, standard and cofactor ECDH); pkeyutl -derive with kdf-type,
# kdf-digest, kdf-outlen and kdf-ukm gives what the default provider gives;
# parameters devid cannot honour are refused with devid's reason.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
devid_tmpdir
trap 'devid_tpm_stop; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"
TSS2_LOG=all+none
export TSS2_LOG

tpm2_createprimary -Q -C o -G rsa2048 -c prim.ctx
tpm2_evictcontrol -Q -C o -c prim.ctx 0x81000007
tpm2_flushcontext -t
tpm2_create -Q -C 0x81000007 -G ecc384 -u ec.pub -r ec.priv -p 'cms key auth'
tpm2_encodeobject -C 0x81000007 -u ec.pub -r ec.priv -o ec.pem
devid_tpm_keyfile_auth ec.pem required
KEYPASS='cms key auth'
export KEYPASS
P="-passin env:KEYPASS"

# shellcheck disable=SC2086
devid_ossl req -x509 -new -key ec.pem $P -subj /CN=cms-device -days 2 \
    -out ec.crt || fail "req -x509"
head -c 1000 /dev/urandom > msg
for opts in '' '-keyopt ecdh_kdf_md:sha256' '-keyopt ecdh_kdf_md:sha384' \
    '-keyopt ecdh_cofactor_mode:1' \
    '-keyopt ecdh_kdf_md:sha256 -keyopt ecdh_cofactor_mode:1'; do
    # shellcheck disable=SC2086
    openssl cms -encrypt -binary -aes256 -recip ec.crt $opts -in msg \
        -out msg.cms || fail "cms -encrypt $opts"
    # shellcheck disable=SC2086
    devid_ossl cms -decrypt -binary -in msg.cms -recip ec.crt -inkey ec.pem \
        $P -out msg.out || fail "cms -decrypt ($opts)"
    cmp -s msg msg.out || fail "cms -decrypt ($opts): wrong plaintext"
done
ok "cms -decrypt with a TPM EC key (X9.63 KDF SHA-1/256/384, cofactor)"

# the parameters themselves, against the default provider
# shellcheck disable=SC2086
devid_ossl pkey -in ec.pem $P -pubout -out ec.pubpem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out peer.key
openssl pkey -in peer.key -pubout -out peer.pub
for kdf in 'SHA256 32 0102030405' 'SHA384 77 00' 'SHA1 16 cafe'; do
    # shellcheck disable=SC2086
    set -- $kdf
    # shellcheck disable=SC2086
    devid_ossl pkeyutl -derive -inkey ec.pem $P -peerkey peer.pub -out k1 \
        -pkeyopt kdf-type:X963KDF -pkeyopt "kdf-digest:$1" \
        -pkeyopt "kdf-outlen:$2" -pkeyopt "hexkdf-ukm:$3" \
        -pkeyopt ecdh_cofactor_mode:1 || fail "derive with KDF $kdf"
    openssl pkeyutl -derive -inkey peer.key -peerkey ec.pubpem -out k2 \
        -pkeyopt kdf-type:X963KDF -pkeyopt "kdf-digest:$1" \
        -pkeyopt "kdf-outlen:$2" -pkeyopt "hexkdf-ukm:$3"
    [ "$(wc -c < k1)" -eq "$2" ] || fail "KDF $kdf: $(wc -c < k1) bytes"
    cmp -s k1 k2 || fail "KDF $kdf: differs from the default provider"
done
# shellcheck disable=SC2086
devid_ossl pkeyutl -derive -inkey ec.pem $P -peerkey peer.pub -out z1 \
    -pkeyopt ecdh_cofactor_mode:0
openssl pkeyutl -derive -inkey peer.key -peerkey ec.pubpem -out z2
cmp -s z1 z2 || fail "plain ECDH differs from the default provider"
ok "kdf-type, kdf-digest, kdf-outlen, kdf-ukm and ecdh_cofactor_mode"

# refused with devid's reason
# shellcheck disable=SC2086
if devid_ossl pkeyutl -derive -inkey ec.pem $P -peerkey peer.pub -out k3 \
    -pkeyopt kdf-type:HKDF 2> kdf.err; then
    fail "an HKDF kdf-type was taken"
fi
grep -q 'invalid parameter' kdf.err || fail "kdf-type: $(cat kdf.err)"
grep -q "ECDH KDF 'HKDF' (only X963KDF)" kdf.err \
    || fail "kdf-type: no detail: $(cat kdf.err)"
# shellcheck disable=SC2086
if devid_ossl pkeyutl -derive -inkey ec.pem $P -peerkey peer.pub -out k4 \
    -pkeyopt kdf-type:X963KDF -pkeyopt kdf-digest:SHA256 2> len.err; then
    fail "a KDF without an output length was taken"
fi
grep -q 'X9.63 KDF needs kdf-digest and kdf-outlen' len.err \
    || fail "kdf-outlen: $(cat len.err)"
ok "an unknown KDF or a KDF without its length is refused"
