# SPDX-License-Identifier: Apache-2.0
# Helpers for bench/run.sh: its own SoftHSM token, swtpm and certificates in
# one work directory, every process it starts stopped by its PID. Sourced,
# never run. Nothing here is shared with tests/: the bench must not change
# when the test helpers do.
# shellcheck shell=sh

BENCH_PIN=1234
BENCH_SO_PIN=12345678
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
BENCH_TPM_PID=

bench_die() {
    echo "bench: $*" >&2
    exit 1
}

bench_say() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# bench_freeport: a TCP port nobody listens on now (and its successor,
# for swtpm's control channel)
bench_freeport() {
    python3 - <<'EOF'
import socket
for _ in range(50):
    a = socket.socket()
    a.bind(("127.0.0.1", 0))
    p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1))
    except OSError:
        a.close()
        continue
    a.close()
    b.close()
    print(p)
    break
EOF
}

# bench_pin CMD...: CMD pinned to the bench CPU
bench_pin() {
    taskset -c "$BENCH_CPU" "$@"
}

# bench_token DIR: a SoftHSM store in DIR with token "bench" holding
# ec256, ec384 and rsa2048 (sensitive, not extractable, as devid keygen
# makes them); exports SOFTHSM2_CONF
bench_token() {
    mkdir -p "$1/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$1" > "$1/softhsm2.conf"
    SOFTHSM2_CONF=$1/softhsm2.conf
    export SOFTHSM2_CONF
    softhsm2-util --init-token --free --label bench --so-pin "$BENCH_SO_PIN" \
        --pin "$BENCH_PIN" >/dev/null || bench_die "softhsm2-util"
    for k in "EC:prime256v1 01 ec256" "EC:secp384r1 02 ec384" \
        "rsa:2048 03 rsa2048"; do
        # shellcheck disable=SC2086
        set -- $k
        pkcs11-tool --module "$SOFTHSM_MODULE" --token-label bench --login \
            --pin "$BENCH_PIN" --keypairgen --key-type "$1" --id "$2" \
            --label "$3" --usage-sign >/dev/null 2>&1 \
            || bench_die "pkcs11-tool keygen $3"
    done
}

# bench_tpm_start DIR: swtpm on free loopback ports, pinned to the bench
# CPU like everything measured; exports BENCH_TCTI and TPM2TOOLS_TCTI
bench_tpm_start() {
    mkdir -p "$1/tpm"
    _try=0
    while :; do
        _port=$(bench_freeport)
        taskset -c "$BENCH_CPU" swtpm socket --tpm2 --tpmstate dir="$1/tpm" \
            --server type=tcp,bindaddr=127.0.0.1,port="$_port" \
            --ctrl type=tcp,bindaddr=127.0.0.1,port="$((_port + 1))" \
            --flags not-need-init --pid file="$1/tpm/swtpm.pid" \
            --log file="$1/tpm/swtpm.log" --daemon 2>"$1/tpm/start.err" && break
        _try=$((_try + 1))
        [ "$_try" -lt 5 ] || bench_die "swtpm does not start: $(cat "$1/tpm/start.err")"
    done
    BENCH_TPM_PID=$(cat "$1/tpm/swtpm.pid")
    BENCH_TCTI="swtpm:host=127.0.0.1,port=$_port"
    TPM2TOOLS_TCTI=$BENCH_TCTI
    export BENCH_TCTI TPM2TOOLS_TCTI
    _n=0
    until tpm2_startup -c >/dev/null 2>&1; do
        _n=$((_n + 1))
        [ "$_n" -lt 50 ] || bench_die "swtpm does not answer"
        sleep 0.1
    done
}

bench_tpm_stop() {
    if [ -n "$BENCH_TPM_PID" ]; then
        kill "$BENCH_TPM_PID" 2>/dev/null || :
        BENCH_TPM_PID=
    fi
}

# bench_cnf FILE [devid|tpm2|none]: an openssl.cnf that activates default
# and, after it, the named provider with the bench's settings
bench_cnf() {
    {
        printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n'
        printf '[provider_sect]\ndefault = default_sect\n'
        case $2 in
        devid) printf 'devid = devid_sect\n' ;;
        tpm2) printf 'tpm2 = tpm2_sect\n' ;;
        esac
        printf '[default_sect]\nactivate = 1\n'
        case $2 in
        devid)
            printf '[devid_sect]\nmodule = %s\n' "$BENCH_DEVID_SO"
            printf 'pkcs11-module-path = %s\n' "$SOFTHSM_MODULE"
            printf 'pkcs11-module-token-pin = %s\n' "$BENCH_PIN"
            [ -z "${BENCH_TCTI:-}" ] || printf 'tcti = %s\n' "$BENCH_TCTI"
            printf 'activate = 1\n'
            ;;
        tpm2)
            printf '[tpm2_sect]\nmodule = %s\nactivate = 1\n' "$BENCH_TPM2_SO"
            ;;
        esac
    } > "$1"
}

# bench_cert DIR NAME KEYNAME CNF: a client certificate for a key by name
# (a file, a URI or a handle) from the bench CA, its CSR signed through the
# providers CNF activates
bench_cert() {
    OPENSSL_CONF=$4 openssl req -new -key "$3" -subj "/CN=$2" \
        -out "$1/$2.csr" 2>"$1/$2.err" || bench_die "CSR for $2: $(cat "$1/$2.err")"
    openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
        -CAcreateserial -days 2 -out "$1/$2.pem" 2>/dev/null \
        || bench_die "certificate for $2"
}

# bench_ca DIR: the CA, the server's software key and certificate, a
# software client key and certificate
bench_ca() {
    _dir=$1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$1/ca.key" -out "$1/ca.pem" -subj /CN=bench-ca -days 2 \
        2>/dev/null || bench_die "CA"
    for n in server sw; do
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -out "$1/$n.key" 2>/dev/null || bench_die "key $n"
        bench_cert "$1" "$n" "$1/$n.key" /dev/null
    done
    for k in "ec384 EC ec_paramgen_curve:P-384" "rsa2048 RSA rsa_keygen_bits:2048"; do
        # shellcheck disable=SC2086
        set -- $k
        openssl genpkey -algorithm "$2" -pkeyopt "$3" -out "$_dir/sw-$1.key" \
            2>/dev/null || bench_die "key sw-$1"
    done
}
