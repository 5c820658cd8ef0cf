#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14, item 5: a tpm2-openssl key file under a persistent SRK
# (parent 0x81000001, not the owner hierarchy) loads and signs through
# devid, and the signature verifies with OpenSSL's default provider. In the
# sanitizer build (--enable-ubsan, -fno-sanitize-recover) this is the run
# that proves the parent-handle check has no undefined shift left.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
devid_tmpdir
trap 'devid_tpm_stop; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"

# the SRK, persistent at 0x81000001, and a key under it made by tpm2-openssl
tpm2_createprimary -C o -G ecc -c srk.ctx >/dev/null || fail "tpm2_createprimary"
tpm2_evictcontrol -C o -c srk.ctx 0x81000001 >/dev/null || fail "tpm2_evictcontrol"
# no resource manager on swtpm: free the transient copy
tpm2_flushcontext -t >/dev/null || fail "tpm2_flushcontext"
devid_tpm2_openssl genpkey -provider tpm2 -provider default -algorithm EC \
    -pkeyopt group:P-256 -pkeyopt parent:0x81000001 -out key.tss 2>err.txt \
    || { cat err.txt; fail "tpm2-openssl genpkey under 0x81000001"; }
devid_tpm2_openssl pkey -provider tpm2 -provider default -in key.tss -pubout \
    -out pub.pem 2>err.txt || { cat err.txt; fail "tpm2-openssl public key"; }
python3 - key.tss <<'PY' || fail "the key file does not name parent 0x81000001"
import base64, sys
body = base64.b64decode("".join(l for l in open(sys.argv[1]).read().splitlines()
                                if not l.startswith("-----")))
# parent INTEGER 0x81000001 (DER: 02 05 00 81 00 00 01)
assert bytes.fromhex("02050081000001") in body, body.hex()
PY
ok "a tpm2-openssl EC key under the persistent SRK 0x81000001"

printf 'hello devid' > data
openssl dgst -sha256 -binary data > data.sha256
devid_ossl pkeyutl -sign -inkey key.tss -in data.sha256 -out sig 2>err.txt \
    || { cat err.txt; fail "devid cannot sign with the key under 0x81000001"; }
openssl pkeyutl -verify -pubin -inkey pub.pem -in data.sha256 -sigfile sig \
    >/dev/null || fail "the signature does not verify"
devid_ossl pkey -in key.tss -pubout -out devid-pub.pem 2>err.txt \
    || { cat err.txt; fail "devid public key"; }
cmp -s pub.pem devid-pub.pem || fail "devid's public key differs from tpm2-openssl's"
ok "devid loads it, signs, and the signature verifies with the default provider"
