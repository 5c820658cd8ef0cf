# SPDX-License-Identifier: Apache-2.0
# Shared helpers for shell tests: sourced, never run. Every test gets its own
# temporary directory, SoftHSM2 tokens and loopback ports.
# shellcheck shell=sh

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${OPENSSL_MODULES:=$top_builddir/.libs}"
export OPENSSL_MODULES

# tests/run-sh stops a test that runs past its time limit with TERM: exit,
# so that the test's EXIT trap (its cleanup) still stops what it started.
trap 'echo "stopped by a signal" >&2; exit 143' TERM INT HUP

# ASan builds: programs that load our instrumented modules need the ASan
# runtime first. Leak checking is the unit tests' job; here it would report
# the uninstrumented programs' own allocations.
if [ -n "${DEVID_ASAN_PRELOAD:-}" ]; then
    LD_PRELOAD=$DEVID_ASAN_PRELOAD
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:detect_odr_violation=0}
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
    # Programs that never load our modules run without the ASan runtime:
    # tpm2-tools hang in it (glibc locale lock), and need not have it.
    for _tool in tpm2_startup tpm2_createprimary tpm2_create tpm2_load \
        tpm2_evictcontrol tpm2_flushcontext tpm2_getcap tpm2_readpublic \
        tpm2_encodeobject tpm2_print tpm2_createek tpm2_createak \
        tpm2_nvdefine tpm2_nvwrite tpm2_nvread tpm2_nvundefine; do
        eval "$_tool() { env -u LD_PRELOAD $_tool \"\$@\"; }"
    done
fi

# devid_needs_curl_with_devid: curl 7.88 deadlocks in setlocale() when the
# ASan runtime is preloaded, and it cannot load our ASan-built modules
# without it. A test that runs curl with devid calls this first. In the ASan
# pass curl, and only curl, then runs without the ASan runtime and loads
# devid from the uninstrumented build DEVID_PLAIN_BUILDDIR (scripts/test.sh
# names its default build): tests/plain-curl/curl comes first on PATH.
# Everything else the test runs keeps the ASan build. Without that build the
# test cannot check what it is for: it reports SKIP (77) and says why.
devid_needs_curl_with_devid() {
    if [ -z "${DEVID_ASAN_PRELOAD:-}" ]; then
        return 0
    fi
    if [ -z "${DEVID_PLAIN_BUILDDIR:-}" ] \
        || [ ! -f "$DEVID_PLAIN_BUILDDIR/.libs/devid.so" ]; then
        echo "SKIP: curl cannot run with the ASan runtime preloaded; set DEVID_PLAIN_BUILDDIR to an uninstrumented build of this tree (scripts/test.sh does) for curl to use"
        exit 77
    fi
    DEVID_REAL_CURL=$(command -v curl) || fail "curl is not installed"
    PATH=$top_srcdir/tests/plain-curl:$PATH
    export DEVID_REAL_CURL DEVID_PLAIN_BUILDDIR PATH
    echo "note: ASan pass: curl runs without the ASan runtime, with devid from $DEVID_PLAIN_BUILDDIR"
}

DEVID_USER_PIN=${DEVID_USER_PIN:-1234}
DEVID_SO_PIN=${DEVID_SO_PIN:-12345678}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

ok() {
    echo "ok: $*"
}

# devid_tmpdir: makes $TESTDIR, removed by devid_cleanup
devid_tmpdir() {
    TESTDIR=$(mktemp -d "${TMPDIR:-/tmp}/devid-test.XXXXXX")
    export TESTDIR
}

# devid_mktoken DIR LABEL: a fresh SoftHSM2 token store in DIR with one
# initialised token; exports SOFTHSM2_CONF. More tokens: devid_addtoken.
devid_mktoken() {
    mkdir -p "$1/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
        "$1" > "$1/softhsm2.conf"
    SOFTHSM2_CONF="$1/softhsm2.conf"
    export SOFTHSM2_CONF
    devid_addtoken "$2"
}

# devid_addtoken LABEL: one more token in the current SOFTHSM2_CONF store
devid_addtoken() {
    softhsm2-util --init-token --free --label "$1" \
        --so-pin "$DEVID_SO_PIN" --pin "$DEVID_USER_PIN" >/dev/null
}

# devid_p11tool ARGS...: pkcs11-tool on the SoftHSM module, logged in
# (without devid: not through OPENSSL_CONF, and without the ASan runtime,
# which aborts on OpenSC 0.27's dlopen of the module with RTLD_DEEPBIND;
# an ASan-built devid cannot load without that runtime)
devid_p11tool() {
    env -u LD_PRELOAD -u OPENSSL_CONF pkcs11-tool --module "$SOFTHSM_MODULE" \
        --login --pin "$DEVID_USER_PIN" "$@"
}

# devid_freeport: prints a TCP port on 127.0.0.1 nobody listens on now
devid_freeport() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# devid_freeport_pair: a port P with P and P+1 both free on 127.0.0.1 (swtpm
# and its TCTI use P+1 for control). P is drawn below the kernel's ephemeral
# range: a port from bind(0) is ephemeral, and under load its neighbour is
# often the local end of some outgoing connection.
devid_freeport_pair() {
    python3 - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    p = random.randrange(10000, max(10002, lo - 1))
    socks = []
    try:
        for q in (p, p + 1):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", q))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(p)
    break
else:
    raise SystemExit("no free port pair")
PY
}

# devid_wait_port PORT [SECONDS]: waits until something listens on PORT
# (without connecting: a one-shot server must keep its accept for the test)
devid_wait_port() {
    _n=0
    while [ "$_n" -lt "$((${2:-10} * 10))" ]; do
        if [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; then
            return 0
        fi
        sleep 0.1
        _n=$((_n + 1))
    done
    fail "nothing listens on port $1"
}

# OpenSSL with devid next to default, as every test uses it
DEVID_PROVIDERS="-provider default -provider devid"

# devid_ossl ARGS...: openssl with both providers loaded on the command line
devid_ossl() {
    _cmd=$1
    shift
    # shellcheck disable=SC2086
    openssl "$_cmd" $DEVID_PROVIDERS "$@"
}

# devid_mkca DIR: a software CA in DIR (ca.pem, ca.key)
devid_mkca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$1/ca.key" -out "$1/ca.pem" -days 2 -subj "/CN=devid test CA" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# devid_mkserver DIR NAME ALG: a software server cert NAME.pem/NAME.key
# signed by DIR/ca; ALG is "ec" or "rsa"
devid_mkserver() {
    if [ "$3" = rsa ]; then
        _opt="-newkey rsa:2048"
    else
        _opt="-newkey ec -pkeyopt ec_paramgen_curve:P-256"
    fi
    # shellcheck disable=SC2086
    openssl req -new $_opt -nodes -keyout "$1/$2.key" -out "$1/$2.csr" \
        -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$1/$2.ext"
    openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
        -CAcreateserial -days 2 -extfile "$1/$2.ext" -out "$1/$2.pem" 2>/dev/null
}

# devid_sign_csr DIR CSR OUT [EXT]: CA-signs a CSR into a client certificate
devid_sign_csr() {
    printf 'extendedKeyUsage=clientAuth\n' > "$1/client.ext"
    openssl x509 -req -in "$2" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
        -CAcreateserial -days 2 -extfile "$1/client.ext" -out "$3" 2>/dev/null
}
