#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ECDH context parameters on a token EC key: "openssl cms -decrypt -inkey
# pkcs11:..." opens messages encrypted to the key's certificate (X9.63 KDF,
# standard and cofactor ECDH), and pkeyutl -derive with the KDF parameters
# gives what the default provider gives.
set -euf
. "$top_srcdir/tests/lib.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-cms
devid_p11tool --keypairgen --key-type EC:secp384r1 --id 0c --label cms \
    --usage-derive --usage-sign >/dev/null
uri="pkcs11:token=devid-cms;object=cms;type=private?pin-value=$DEVID_USER_PIN"

devid_ossl req -x509 -new -key "$uri" -subj /CN=cms-token -days 2 \
    -out ec.crt || fail "req -x509"
head -c 1000 /dev/urandom > msg
for opts in '' '-keyopt ecdh_kdf_md:sha384' '-keyopt ecdh_cofactor_mode:1'; do
    # shellcheck disable=SC2086
    openssl cms -encrypt -binary -aes128 -recip ec.crt $opts -in msg \
        -out msg.cms || fail "cms -encrypt $opts"
    devid_ossl cms -decrypt -binary -in msg.cms -recip ec.crt -inkey "$uri" \
        -out msg.out || fail "cms -decrypt ($opts)"
    cmp -s msg msg.out || fail "cms -decrypt ($opts): wrong plaintext"
done
ok "cms -decrypt with a token EC key (X9.63 KDF, cofactor)"

devid_ossl pkey -in "$uri" -pubout -out ec.pubpem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out peer.key
openssl pkey -in peer.key -pubout -out peer.pub
devid_ossl pkeyutl -derive -inkey "$uri" -peerkey peer.pub -out k1 \
    -pkeyopt kdf-type:X963KDF -pkeyopt kdf-digest:SHA512 \
    -pkeyopt kdf-outlen:100 -pkeyopt hexkdf-ukm:a1b2c3
openssl pkeyutl -derive -inkey peer.key -peerkey ec.pubpem -out k2 \
    -pkeyopt kdf-type:X963KDF -pkeyopt kdf-digest:SHA512 \
    -pkeyopt kdf-outlen:100 -pkeyopt hexkdf-ukm:a1b2c3
cmp -s k1 k2 || fail "X9.63 KDF differs from the default provider"
ok "kdf-type, kdf-digest, kdf-outlen and kdf-ukm on a token key"
