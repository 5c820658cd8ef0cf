#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Recipe (docs/recipes.md, "mosquitto_pub with the engine"):
#   mosquitto_pub --tls-engine devid --keyform engine --key dev.key.pem
# publishes to a broker that requires a client certificate; the key stays
# in the token and is reached through the ENGINE "devid", named by its
# reference file (mosquitto 2.0 accepts only a file name as key id). A
# subscriber receives each message and the broker log names the device.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/recipes/lib-recipes.sh"
BROKER_PID=
SUB_PID=
cleanup() {
    recipes_kill "$SUB_PID" "$BROKER_PID"
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
recipes_init devid-mqeng
recipes_need_engine
recipes_token_key mqeng device-mq-engine

recipes_mosquitto
port=$BROKER_PORT

# publish WHAT KEY: one message through the engine, received by mosquitto_sub
n=0
publish() {
    n=$((n + 1))
    recipes_subscribe "$port" devices/device-mq-engine/telemetry "sub-$n.txt"
    mosquitto_pub -h 127.0.0.1 -p "$port" --cafile ca.pem --cert mqeng.pem \
        --tls-engine devid --keyform engine --key "$2" -i "pub-eng-$n" \
        -t devices/device-mq-engine/telemetry -m "engine message $n" -q 1 \
        > pub.err 2>&1 || { cat pub.err broker.log; fail "mosquitto_pub --tls-engine devid: $1"; }
    recipes_wait_pid "$SUB_PID" 20
    SUB_PID=
    grep -q "^devices/device-mq-engine/telemetry engine message $n\$" "sub-$n.txt" \
        || { cat "sub-$n.txt" broker.log; fail "the subscriber did not get message $n"; }
    grep -q "as pub-eng-$n .*u'device-mq-engine'" broker.log \
        || { cat broker.log; fail "broker log lacks the client's identity ($1)"; }
    ok "mosquitto_pub --tls-engine devid --keyform engine: $1"
}

publish "reference file as the engine's key id" mqeng.key.pem

# mosquitto 2.0's mosquitto_tls_set() fopen()s the key name whatever the
# key form (2.1 checks only PEM keys): a pkcs11: URI is refused before the
# engine sees it, so with 2.0 clients the engine's key id is the reference
# file. Make sure that refusal stays what docs/recipes.md says it is.
uri="pkcs11:token=devid-mqeng;object=mqeng;type=private"
if mosquitto_pub -h 127.0.0.1 -p "$port" --cafile ca.pem --cert mqeng.pem \
    --tls-engine devid --keyform engine --key "$uri" -t x -m x > pub.err 2>&1; then
    ok "mosquitto_pub --tls-engine devid --keyform engine --key pkcs11:... works (mosquitto >= 2.1)"
else
    grep -q 'Problem setting TLS options: File not found' pub.err \
        || { cat pub.err; fail "unexpected mosquitto_pub error for a pkcs11: key id"; }
    ok "mosquitto 2.0 refuses a pkcs11: key id itself (documented; use the reference file)"
fi
