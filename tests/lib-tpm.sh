# SPDX-License-Identifier: Apache-2.0
# Shell helpers for TPM tests: a fresh swtpm (TPM 2.0, socket mode on
# loopback, state in a temporary directory) per test. Sourced, never run.
# Needs tests/lib.sh sourced first (fail, devid_freeport).
# shellcheck shell=sh

# devid_tpm_start DIR: starts swtpm with its state in DIR/tpm, waits until it
# answers, runs TPM2_Startup(CLEAR) and exports DEVID_TPM_PORT, DEVID_TCTI,
# TPM2TOOLS_TCTI and TPM2OPENSSL_TCTI. Stop it with devid_tpm_stop.
devid_tpm_start() {
    mkdir -p "$1/tpm"
    _try=0
    while :; do
        DEVID_TPM_PORT=$(devid_freeport_pair)
        _ctrl=$((DEVID_TPM_PORT + 1))
        # swtpm never uses our modules: no ASan runtime (the ASan pass
        # preloads it into every program, see tests/lib.sh) and no
        # openssl.cnf of the test's, which would load our ASan-built
        # provider into it
        env -u LD_PRELOAD OPENSSL_CONF=/dev/null swtpm socket --tpm2 \
            --tpmstate dir="$1/tpm" \
            --server type=tcp,bindaddr=127.0.0.1,port="$DEVID_TPM_PORT" \
            --ctrl type=tcp,bindaddr=127.0.0.1,port="$_ctrl" \
            --flags not-need-init --pid file="$1/tpm/swtpm.pid" \
            --log file="$1/tpm/swtpm.log" --daemon 2>"$1/tpm/start.err" && break
        _try=$((_try + 1))
        # a port of the pair may have been taken since: pick another pair
        [ "$_try" -lt 5 ] || fail "swtpm does not start: $(cat "$1/tpm/start.err"
            tail -5 "$1/tpm/swtpm.log" 2>/dev/null)"
    done
    DEVID_TPM_DIR="$1/tpm"
    DEVID_TCTI="swtpm:host=127.0.0.1,port=$DEVID_TPM_PORT"
    TPM2TOOLS_TCTI=$DEVID_TCTI
    TPM2OPENSSL_TCTI=$DEVID_TCTI
    export DEVID_TPM_PORT DEVID_TPM_DIR DEVID_TCTI TPM2TOOLS_TCTI TPM2OPENSSL_TCTI
    _n=0
    until tpm2_startup -c >/dev/null 2>&1; do
        _n=$((_n + 1))
        [ "$_n" -lt 50 ] || fail "swtpm on port $DEVID_TPM_PORT does not answer"
        sleep 0.1
    done
}

# devid_tpm_stop: stops the swtpm started by devid_tpm_start (if any) and
# returns once it has gone: SIGTERM, then SIGKILL after 5 s (swtpm 0.10 at
# times keeps polling in its main loop after SIGTERM, and a test that
# expects an unreachable TPM then hung on its open port)
devid_tpm_stop() {
    if [ -n "${DEVID_TPM_DIR:-}" ] && [ -f "$DEVID_TPM_DIR/swtpm.pid" ]; then
        _pid=$(cat "$DEVID_TPM_DIR/swtpm.pid")
        kill "$_pid" 2>/dev/null || :
        _n=0
        while kill -0 "$_pid" 2>/dev/null && [ "$_n" -lt 50 ]; do
            sleep 0.1
            _n=$((_n + 1))
        done
        if kill -0 "$_pid" 2>/dev/null; then
            echo "note: swtpm $_pid did not exit on SIGTERM: killed"
            kill -KILL "$_pid" 2>/dev/null || :
        fi
        rm -f "$DEVID_TPM_DIR/swtpm.pid"
    fi
}

# devid_tpm_lockout_counter: prints TPM2_PT_LOCKOUT_COUNTER (decimal)
devid_tpm_lockout_counter() {
    tpm2_getcap properties-variable \
        | sed -n 's/^ *TPM2_PT_LOCKOUT_COUNTER: *\(0x[0-9a-fA-F]*\).*/\1/p' \
        | { read -r _v && printf '%d\n' "$_v"; }
}

# devid_tpm_keyfile_auth FILE empty|required: states the emptyAuth field of
# the TSS2 key file FILE, which tpm2_encodeobject's -p cannot do across
# versions (its meaning flipped in tpm2-tools 5.8)
devid_tpm_keyfile_auth() {
    python3 "${top_srcdir:?}/tests/tss2-keyfile-auth.py" "$1" "$2" \
        || fail "cannot set emptyAuth in $1"
}

# devid_tpm2_openssl ARGS...: openssl with tpm2-openssl's provider reachable
# (OPENSSL_MODULES points at our build, so give the system modules directory)
devid_tpm2_openssl() {
    OPENSSL_MODULES=$(pkg-config --variable=modulesdir libcrypto 2>/dev/null \
        || echo /usr/lib/x86_64-linux-gnu/ossl-modules) openssl "$@"
}
