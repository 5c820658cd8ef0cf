# SPDX-License-Identifier: Apache-2.0
# The tests' software PKI: a CA, server and client certificates, all with
# their extensions stated explicitly. OpenSSL 3.0 adds key identifiers on
# its own, OpenSSL 4.0 does not, and Python 3.13+ (VERIFY_X509_STRICT)
# rejects a chain without them, so nothing here relies on defaults.
# Names are printed and compared in fixed formats (RFC 2253, "CN=x", or one
# field a line): OpenSSL 3.2 changed the default from "CN = x", so no test
# relies on the default. Sourced, never run.
# shellcheck shell=sh

# the name format for every "openssl ... -nameopt" in the tests
PKI_NAMEOPT=RFC2253

# pki_ca DIR: a software CA in DIR (ca.pem, ca.key)
pki_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$1/ca.key" -out "$1/ca.pem" -days 2 -subj "/CN=devid test CA" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign \
        -addext subjectKeyIdentifier=hash \
        -addext authorityKeyIdentifier=keyid:always 2>/dev/null \
        || fail "test CA in $1"
}

# pki_sign DIR CSR OUT KIND [KEYUSAGE]: DIR's CA signs CSR into OUT, a
# leaf for KIND "server" (localhost, 127.0.0.1) or "client"
pki_sign() {
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,${5:-digitalSignature}"
        echo "subjectKeyIdentifier=hash"
        echo "authorityKeyIdentifier=keyid:always"
        if [ "$4" = server ]; then
            echo "extendedKeyUsage=serverAuth"
            echo "subjectAltName=DNS:localhost,IP:127.0.0.1"
        else
            echo "extendedKeyUsage=clientAuth"
        fi
    } > "$3.ext"
    openssl x509 -req -in "$2" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
        -CAcreateserial -days 2 -extfile "$3.ext" -out "$3" 2>/dev/null \
        || fail "$1's CA does not sign $2"
}

# pki_server DIR NAME ALG: a software server key and certificate
# DIR/NAME.key, DIR/NAME.pem from DIR's CA; ALG is "ec" or "rsa"
pki_server() {
    if [ "$3" = rsa ]; then
        set -- "$1" "$2" "-newkey rsa:2048" digitalSignature,keyEncipherment
    else
        set -- "$1" "$2" "-newkey ec -pkeyopt ec_paramgen_curve:P-256" digitalSignature
    fi
    # shellcheck disable=SC2086
    openssl req -new $3 -nodes -keyout "$1/$2.key" -out "$1/$2.csr" \
        -subj "/CN=localhost" 2>/dev/null || fail "server key $2"
    pki_sign "$1" "$1/$2.csr" "$1/$2.pem" server "$4"
}

# pki_client DIR CSR OUT: DIR's CA signs CSR into the client certificate OUT
pki_client() {
    pki_sign "$1" "$2" "$3" client
}

# pki_log_has_peer LOG CN: LOG (openssl s_server or s_client run with
# -nameopt "$PKI_NAMEOPT") verified a peer certificate whose subject is
# exactly CN=CN
pki_log_has_peer() {
    grep -qx "depth=0 CN=$2" "$1"
}

# pki_page_has_peer PAGE CN: the page of "openssl s_server -www -nameopt
# $PKI_NAMEOPT" shows a client certificate whose subject is exactly CN=CN
pki_page_has_peer() {
    grep -a -qx " *Subject: CN=$2" "$1"
}
