#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bad input fails in each program's usual error output, naming the key:
# reference files that name a missing token or object, corrupt reference
# files (both PEM labels), a missing TPM handle, and a good reference file
# while devid is not loaded; for openssl, curl and mosquitto_pub (whose
# usual error output is -d, where libmosquitto prints OpenSSL's errors).
# Through the engine, pkcs11: URIs also carry devid's reason.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/recipes/lib-recipes.sh"
devid_needs_curl_with_devid
SERVER_PID=
BROKER_PID=
cleanup() {
    recipes_kill "$SERVER_PID" "$BROKER_PID"
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
recipes_init devid-err
recipes_need_engine
recipes_token_key good device-good

# mkref URI: a PKCS#11 PROVIDER URI reference file for URI on stdout (the
# DER body by hand: SEQUENCE { VisibleString desc, UTF8String uri })
mkref() {
    python3 - "$1" <<'PY'
import base64, sys
def tlv(tag, body):
    n = len(body)
    if n < 128:
        head = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + head + body
der = tlv(0x30, tlv(0x1a, b"PKCS#11 Provider URI v1.0")
          + tlv(0x0c, sys.argv[1].encode()))
b64 = base64.b64encode(der).decode()
print("-----BEGIN PKCS#11 PROVIDER URI-----")
for i in range(0, len(b64), 64):
    print(b64[i:i + 64])
print("-----END PKCS#11 PROVIDER URI-----")
PY
}
mkref "pkcs11:token=no-such-token;object=good;type=private" > no-token.pem
mkref "pkcs11:token=devid-err;object=no-such-key;type=private" > no-object.pem
printf -- '-----BEGIN PKCS#11 PROVIDER URI-----\nMAMCAQA=\n-----END PKCS#11 PROVIDER URI-----\n' > corrupt-p11.pem
printf -- '-----BEGIN TSS2 PRIVATE KEY-----\nMAMCAQA=\n-----END TSS2 PRIVATE KEY-----\n' > corrupt-tss2.pem
printf x > data

recipes_s_server server.log
sport=$SERVER_PORT
recipes_mosquitto
mport=$BROKER_PORT

# expect_fail WHAT TEXT CMD...: CMD fails and its output holds TEXT; its
# exit code is left in $rc
expect_fail() {
    what=$1
    pattern=$2
    shift 2
    rc=0
    "$@" > out.txt 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then
        fail "$what: succeeded"
    fi
    out_has "$what" "$pattern"
    # programs may echo their own arguments; devid's messages (the lines
    # with its reason, and the engine's "devid: " lines) must not
    if grep -F -e "$pattern" -e 'devid: ' out.txt | grep -qF "pin-value=$DEVID_USER_PIN"; then
        cat out.txt
        fail "$what: a PIN in a devid error"
    fi
    ok "$what: $(grep -m1 -F -- "$pattern" out.txt)"
}

# out_has WHAT TEXT: the output of the last expect_fail holds TEXT
out_has() {
    grep -qF -- "$2" out.txt || { cat out.txt; fail "$1: no '$2'"; }
}

# bad_key FILE [REASON]: each program refuses FILE and names it; openssl
# and mosquitto_pub -d print OpenSSL's error queue, which holds devid's
# REASON. curl prints neither the queue nor a reason of devid's, and its
# exit code for a key it cannot load differs between versions (58 in 8.14,
# 43 in 8.23): it must fail and name FILE, and devid's reason for
# FILE is the one openssl and mosquitto_pub print.
bad_key() {
    expect_fail "openssl, $1" "$1" \
        openssl pkeyutl -sign -inkey "$1" -in data -out sig
    [ -z "${2:-}" ] || out_has "openssl, $1" "$2"
    expect_fail "curl, $1" "$1" \
        curl -sS --max-time 20 --cacert ca.pem --cert good.pem --key "$1" \
        "https://localhost:$sport/"
    expect_fail "mosquitto_pub, $1" "$1" \
        mosquitto_pub -d -h 127.0.0.1 -p "$mport" --cafile ca.pem \
        --cert good.pem --key "$1" -t x -m x
    [ -z "${2:-}" ] || out_has "mosquitto_pub, $1" "$2"
}

bad_key no-token.pem 'no matching token'
bad_key no-object.pem 'no matching object'
bad_key corrupt-p11.pem 'invalid key reference file'
bad_key corrupt-tss2.pem 'invalid key reference file'

# openssl prints the error queue: devid's reason for each file is in it
expect_fail "openssl, reason for no-token.pem" 'no matching token' \
    openssl pkeyutl -sign -inkey no-token.pem -in data -out sig
expect_fail "openssl, reason for no-object.pem" 'no matching object' \
    openssl pkeyutl -sign -inkey no-object.pem -in data -out sig
expect_fail "openssl, reason for corrupt-tss2.pem" 'invalid key reference file' \
    openssl pkeyutl -sign -inkey corrupt-tss2.pem -in data -out sig

# the same through the engine: the key id is named, and for a URI devid's
# own reason comes first
expect_fail "openssl -engine devid, missing token" 'no matching token' \
    openssl pkeyutl -engine devid -keyform engine -sign -in data -out sig \
    -inkey "pkcs11:token=no-such-token;object=good;type=private?pin-value=$DEVID_USER_PIN"
out_has "openssl -engine devid, missing token" 'pin-value=***'
expect_fail "openssl -engine devid, missing object" 'no matching object' \
    openssl pkeyutl -engine devid -keyform engine -sign -in data -out sig \
    -inkey "pkcs11:token=devid-err;object=no-such-key;type=private"
grep -q 'devid: no private key from pkcs11:token=devid-err;object=no-such-key' out.txt \
    || { cat out.txt; fail "the engine's error does not name the key"; }
# curl prints no error queue and does not name an engine key (nor is its
# exit code the same across versions): it must fail
rc=0
curl -sS --max-time 20 --cacert ca.pem --cert good.pem --engine devid \
    --key-type ENG --key "pkcs11:token=devid-err;object=no-such-key;type=private" \
    "https://localhost:$sport/" > out.txt 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat out.txt; fail "curl --engine devid, missing object: succeeded"; }
ok "curl --engine devid, missing object: refused (curl exit code $rc)"
expect_fail "mosquitto_pub --tls-engine devid, corrupt file" \
    'invalid key reference file' \
    mosquitto_pub -d -h 127.0.0.1 -p "$mport" --cafile ca.pem --cert good.pem \
    --tls-engine devid --keyform engine --key corrupt-p11.pem -t x -m x
out_has "mosquitto_pub --tls-engine devid, corrupt file" '"corrupt-p11.pem"'

# a TPM handle nothing is persisted at
expect_fail "openssl, missing TPM handle" 'handle:0x81000099' \
    openssl pkeyutl -sign -inkey handle:0x81000099 -in data -out sig

# a good reference file while devid is not loaded (no openssl.cnf)
export OPENSSL_CONF=/dev/null
bad_key good.key.pem
