# SPDX-License-Identifier: Apache-2.0
# Helpers for the devid-pkcs11.so tests: the module from the build, a
# server that asks for a client certificate, and the certificate the
# client presented. Sourced after tests/lib.sh and tests/cli/lib-provision.sh.
# shellcheck shell=sh
# top_srcdir, top_builddir: set by make check (AM_TESTS_ENVIRONMENT)
: "${top_srcdir:?}" "${top_builddir:?}"

P11MOD=$top_builddir/.libs/devid-pkcs11.so
[ -f "$P11MOD" ] || fail "no $P11MOD"

# gnutls-cli, p11tool and java cannot run with the ASan runtime preloaded:
# p11-kit's destructor hangs at exit on glibc's setlocale lock, as curl does
# (tests/lib.sh). In the ASan pass they run without it and load the module
# of the uninstrumented build DEVID_PLAIN_BUILDDIR; everything else
# (pkcs11-tool, NSS, the CUnit program) keeps the ASan build.
P11MOD_PLAIN=$P11MOD
p11m_plain() {
    "$@"
}

# p11m_needs_plain: called first by a test that runs those programs
p11m_needs_plain() {
    if [ -z "${DEVID_ASAN_PRELOAD:-}" ]; then
        return 0
    fi
    P11MOD_PLAIN=${DEVID_PLAIN_BUILDDIR:-}/.libs/devid-pkcs11.so
    if [ -z "${DEVID_PLAIN_BUILDDIR:-}" ] || [ ! -f "$P11MOD_PLAIN" ]; then
        echo "SKIP: gnutls-cli cannot run with the ASan runtime preloaded; set DEVID_PLAIN_BUILDDIR to an uninstrumented build of this tree (scripts/test.sh does)"
        exit 77
    fi
    # shellcheck disable=SC2317 # redefined here, called by the helpers below
    p11m_plain() {
        env -u LD_PRELOAD "$@"
    }
    echo "note: ASan pass: gnutls-cli, p11tool and java load $P11MOD_PLAIN"
}

# p11m_tool ARGS...: pkcs11-tool --module on the module. OpenSC 0.26+
# (Debian 13, sid) loads modules with RTLD_DEEPBIND, which the ASan runtime
# refuses (it aborts, naming RTLD_DEEPBIND): there, in the ASan pass,
# pkcs11-tool runs without the runtime on the module of the uninstrumented
# build, as gnutls-cli does; the CUnit program keeps the ASan build.
p11m_tool() {
    if [ -z "${P11M_TOOL_MOD:-}" ]; then
        P11M_TOOL_MOD=$P11MOD
        if [ -n "${DEVID_ASAN_PRELOAD:-}" ] \
            && pkcs11-tool --module "$P11MOD" -I 2>&1 | grep -q RTLD_DEEPBIND; then
            p11m_needs_plain
            P11M_TOOL_MOD=$P11MOD_PLAIN
            echo "note: ASan pass: pkcs11-tool (RTLD_DEEPBIND) loads $P11M_TOOL_MOD"
        fi
    fi
    if [ "$P11M_TOOL_MOD" = "$P11MOD" ]; then
        pkcs11-tool --module "$P11MOD" "$@"
    else
        p11m_plain pkcs11-tool --module "$P11M_TOOL_MOD" "$@"
    fi
}

# p11m_server DIR: openssl s_server on a free port asking for a client
# certificate (-Verify 1) trusting DIR/client-ca.pem; one connection each
# start. Sets P11M_PORT, P11M_SPID; its output goes to DIR/server.out. Its
# stdin stays open (a FIFO held by a sleep, P11M_HOLD) as s_server stops
# at the end of its input.
p11m_server() {
    P11M_PORT=$(devid_freeport)
    rm -f "$1/server.in"
    mkfifo "$1/server.in"
    sleep 60 > "$1/server.in" &
    P11M_HOLD=$!
    openssl s_server -accept "127.0.0.1:$P11M_PORT" -naccept 1 \
        -cert "$1/server.pem" -key "$1/server.key" \
        -CAfile "$1/client-ca.pem" -partial_chain -Verify 1 -verify_return_error \
        > "$1/server.out" 2>&1 < "$1/server.in" &
    P11M_SPID=$!
    devid_wait_port "$P11M_PORT"
}

# p11m_gnutls TOKEN: gnutls-cli mutual TLS with the key and certificate of
# the token by their pkcs11: URIs; extra gnutls-cli arguments follow
p11m_gnutls() {
    _tok=$1
    shift
    echo hello | p11m_plain timeout 30 gnutls-cli --provider "$P11MOD_PLAIN" -p "$P11M_PORT" \
        --x509cafile "$TESTDIR/ca.pem" \
        --x509keyfile "pkcs11:token=$_tok;object=device;type=private" \
        --x509certfile "pkcs11:token=$_tok;object=device;type=cert" \
        "$@" localhost > "$TESTDIR/gnutls.out" 2>&1
}

# p11m_client_fpr: SHA-256 fingerprint of the certificate the last
# connection presented (s_server prints it as PEM)
p11m_client_fpr() {
    wait "$P11M_SPID" 2>/dev/null || true
    kill "$P11M_HOLD" 2>/dev/null || true
    sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' \
        "$TESTDIR/server.out" | openssl x509 -noout -fingerprint -sha256
}

# p11m_leaf_fpr STATEDIR: fingerprint of the current identity's leaf
p11m_leaf_fpr() {
    openssl x509 -in "$1/current/chain.pem" -noout -fingerprint -sha256
}

# p11m_sign_check TOKEN STATEDIR [pkcs11-tool args]: signs with the key
# labelled "device" through the module (ECDSA-SHA256) and verifies the
# signature with the current leaf's public key
p11m_sign_check() {
    _tok=$1
    _sd=$2
    shift 2
    echo "devid p11module $$" > "$TESTDIR/tbs.txt"
    p11m_tool --token-label "$_tok" "$@" --sign \
        --mechanism ECDSA-SHA256 --label device --signature-format openssl \
        -i "$TESTDIR/tbs.txt" -o "$TESTDIR/tbs.sig" > "$TESTDIR/sign.out" 2>&1 \
        || return 1
    openssl x509 -in "$_sd/current/chain.pem" -noout -pubkey > "$TESTDIR/leaf-pub.pem"
    openssl dgst -sha256 -verify "$TESTDIR/leaf-pub.pem" \
        -signature "$TESTDIR/tbs.sig" "$TESTDIR/tbs.txt" > /dev/null
}

# p11m_p11tool_cert TOKEN: the certificate labelled "device", as p11tool
# exports it, to stdout as a fingerprint
p11m_p11tool_fpr() {
    p11m_plain p11tool --provider "$P11MOD_PLAIN" --export "pkcs11:token=$1;object=device;type=cert" \
        | openssl x509 -noout -fingerprint -sha256
}

# p11m_java: the Java client (SunPKCS11) in mutual TLS to the server
p11m_java() {
    printf 'name = devid\nlibrary = %s\nslotListIndex = 0\n' "$P11MOD_PLAIN" > "$TESTDIR/sunpkcs11.cfg"
    p11m_plain timeout 120 java "$top_srcdir/tests/p11module/P11Client.java" \
        "$TESTDIR/sunpkcs11.cfg" "$TESTDIR/ca.pem" "$P11M_PORT" > "$TESTDIR/java.out" 2>&1
}
