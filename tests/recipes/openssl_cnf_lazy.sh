#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The openssl.cnf of docs/openssl-cnf.md activates devid for every program,
# so it must cost nothing to programs that use no devid key: such a process
# loads the provider but never loads a PKCS#11 module or opens a TPM
# (checked with the provider's debug log and with strace). With the same
# configuration a devid key still works, and then the module is loaded.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/recipes/lib-recipes.sh"
devid_needs_curl_with_devid
SERVER_PID=
cleanup() {
    recipes_kill "$SERVER_PID"
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
command -v strace >/dev/null || fail "strace is not installed"
recipes_init devid-lazy
recipes_soft_client soft software-client
recipes_token_key tok token-client

# traced_curl KEY LOG: curl with the client key KEY to a server requiring
# a client certificate, under strace (files opened) and DEVID_DEBUG
traced_curl() {
    cert=${1%.key.pem}
    cert=${cert%.key}.pem
    recipes_s_server server.log
    port=$SERVER_PORT
    rm -f "$2.debug" "$2.strace"
    DEVID_DEBUG=file:$TESTDIR/$2.debug strace -f -qq -o "$2.strace" \
        -e trace=open,openat curl -sS --fail --max-time 20 --cacert ca.pem \
        --cert "$cert" --key "$1" "https://localhost:$port/" > page.html 2> curl.err \
        || { cat curl.err server.log; fail "curl with $1 under strace"; }
    recipes_kill "$SERVER_PID"
    SERVER_PID=
    touch "$2.debug"
}

# the files a PKCS#11 or TPM start would open (tpm2-tss and the TCTI
# modules, which devid or tctildr load on a TPM key's first use)
BACKEND_FILES='softhsm|p11-kit-proxy|opensc-pkcs11|pkcs11/|/dev/tpm|libtss2-tcti-|swtpm'

traced_curl soft.key idle
grep -q 'provider: initialised' idle.debug \
    || { cat idle.debug; fail "devid was not loaded from openssl.cnf (test is void)"; }
grep -q '/devid\.so"' idle.strace || fail "strace did not see devid.so being opened"
if grep -q 'pkcs11: loading module' idle.debug; then
    cat idle.debug
    fail "a process using no devid key loaded a PKCS#11 module"
fi
# any attempt counts, even one that found nothing (ENOENT)
if grep -E "$BACKEND_FILES" idle.strace > touched.txt; then
    cat touched.txt
    fail "a process using no devid key touched a token or TPM"
fi
ok "devid active but unused: no PKCS#11 module loaded, no TPM opened (debug log and strace)"

traced_curl tok.key.pem used
grep -q 'pkcs11: loading module' used.debug \
    || { cat used.debug; fail "no module load logged when a devid key is used"; }
grep -v ENOENT used.strace | grep -q 'libsofthsm2\.so' \
    || fail "strace did not see the PKCS#11 module when a devid key is used"
pki_page_has_peer page.html token-client || fail "token key not used"
ok "same openssl.cnf, devid key used: module loaded on first use, handshake done"
