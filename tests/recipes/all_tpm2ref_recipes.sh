#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The recipes with a TPM key: a TSS2 PRIVATE KEY file made inside a fresh
# swtpm is the key file of Python's ssl module, mosquitto_pub, the C agent
# and curl, each unchanged, with devid active through openssl.cnf.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
. "$top_srcdir/tests/recipes/lib-recipes.sh"
SERVER_PID=
BROKER_PID=
SUB_PID=
cleanup() {
    recipes_kill "$SERVER_PID"
    recipes_kill "$SUB_PID"
    recipes_kill "$BROKER_PID"
    devid_tpm_stop
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
recipes_init devid-tpm-recipes
devid_tpm_start "$TESTDIR"
recipes_cnf "$TESTDIR/openssl.cnf" "$DEVID_TCTI"     # now with the swtpm

# the key is made in the TPM; the provider's encoder writes its TSS2 file
openssl genpkey -propquery '?provider=devid' -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt "uri:$TESTDIR/tpm-key.pem" -out tpm.key.pem || fail "genpkey in the TPM"
grep -q 'BEGIN TSS2 PRIVATE KEY' tpm.key.pem || fail "not a TSS2 key file"
openssl req -new -key tpm.key.pem -subj /CN=device-tpm -out tpm.csr || fail "CSR with the TPM key"
pki_client "$TESTDIR" tpm.csr tpm.pem
ok "a TSS2 key file made in the TPM signs a CSR"

recipes_s_server server.log
port=$SERVER_PORT
python3 "$top_srcdir/examples/python-mtls-client.py" "https://localhost:$port/" \
    ca.pem tpm.pem tpm.key.pem > py.out 2>&1 || { cat py.out server.log; fail "python ssl with the TPM key"; }
recipes_kill "$SERVER_PID"
SERVER_PID=
pki_log_has_peer server.log device-tpm || { cat server.log; fail "server did not see the TPM client"; }
ok "python ssl load_cert_chain(keyfile=TSS2 file): mutual TLS with the TPM key"

recipes_mosquitto
port=$BROKER_PORT
recipes_subscribe "$port" 'devices/#' sub.out
mosquitto_pub -h 127.0.0.1 -p "$port" --cafile ca.pem --cert tpm.pem --key tpm.key.pem \
    -i device-tpm -t devices/device-tpm/messages/events/ -m tpm-hello \
    || { cat broker.log; fail "mosquitto_pub with the TPM key"; }
recipes_wait_pid "$SUB_PID" 20
SUB_PID=
grep -q 'tpm-hello' sub.out || { cat sub.out broker.log; fail "message not received"; }
grep -q "u'device-tpm'" broker.log || { cat broker.log; fail "broker log lacks the TPM client identity"; }
ok "mosquitto_pub --key TSS2 file: the broker takes the TPM client's CN and delivers"

if [ -x "$top_builddir/examples/mqtt-agent" ]; then
    recipes_subscribe "$port" 'devices/#' agent.out
    "$top_builddir/examples/mqtt-agent" --host 127.0.0.1 --port "$port" --cafile ca.pem \
        --cert tpm.pem --key tpm.key.pem --id agent-tpm \
        --topic devices/device-tpm/telemetry --count 1 > agent.log 2>&1 \
        || { cat agent.log; fail "mqtt-agent with the TPM key"; }
    recipes_wait_pid "$SUB_PID" 20
    SUB_PID=
    grep -q 'devices/device-tpm/' agent.out || { cat agent.out agent.log; fail "agent telemetry not received"; }
    ok "the libmosquitto agent sends telemetry with the TPM key"
fi

# curl: in the ASan pass it loads devid from the uninstrumented build (see
# devid_needs_curl_with_devid in tests/lib.sh)
devid_needs_curl_with_devid
recipes_s_server server.log
port=$SERVER_PORT
curl -sS --fail --max-time 20 --cacert ca.pem --cert tpm.pem --key tpm.key.pem \
    "https://localhost:$port/" > page.html 2> curl.err || { cat curl.err; fail "curl with the TPM key"; }
pki_page_has_peer page.html device-tpm || fail "server did not see the TPM client (curl)"
ok "curl --key TSS2 file: mutual TLS with the TPM key"
