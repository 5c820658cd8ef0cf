#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TPM failures reach the user as devid's reasons: a key file whose private
# blob was altered is refused by the TPM itself (TPM error), a persistent
# handle with no key is not found, and a TPM that has gone away is
# unreachable. Runs against a fresh swtpm.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
devid_tmpdir
trap 'devid_tpm_stop; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"

# expect_fail REASON-TEXT KEY: signing with KEY fails and says REASON-TEXT
expect_fail() {
    if devid_ossl pkeyutl -sign -inkey "$2" -in data.sha256 -out sig > out.txt 2>&1; then
        fail "signing with $2 succeeded"
    fi
    grep -qF "$1" out.txt || { cat out.txt; fail "no '$1' for $2"; }
    ok "$1: $2"
}

printf 'hello devid' > data
openssl dgst -sha256 -binary data > data.sha256
devid_ossl genpkey -propquery provider=devid -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt "uri:$TESTDIR/good.tss" -out good.ref || fail "genpkey in the TPM"
devid_ossl pkeyutl -sign -inkey good.tss -in data.sha256 -out sig \
    || fail "the untouched key file does not sign"
ok "the untouched key file signs"

# one byte of the encrypted private area flipped (the privkey OCTET STRING
# comes last in the file): the TPM's integrity check refuses to load it
python3 - good.tss bad.tss <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().splitlines()
body = bytearray(base64.b64decode("".join(l for l in lines
                                          if not l.startswith("-----"))))
body[-10] ^= 0x55
b64 = base64.b64encode(bytes(body)).decode()
with open(sys.argv[2], "w") as f:
    f.write("-----BEGIN TSS2 PRIVATE KEY-----\n")
    for i in range(0, len(b64), 64):
        f.write(b64[i:i + 64] + "\n")
    f.write("-----END TSS2 PRIVATE KEY-----\n")
PY
expect_fail 'TPM error' bad.tss

expect_fail 'no matching object' handle:0x81000099

devid_tpm_stop
expect_fail 'TPM unreachable' good.tss
