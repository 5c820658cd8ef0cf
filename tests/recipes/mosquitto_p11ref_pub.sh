#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Recipe (docs/recipes.md, "mosquitto_pub"): mosquitto_pub publishes to a
# real mosquitto broker that requires a client certificate and takes its CN
# as the user name (examples/mosquitto-broker.conf), with the key in the
# token named by a reference file (--key dev.key.pem, devid active through
# openssl.cnf); a mosquitto_sub subscriber receives the message.
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
recipes_init devid-mqtt

recipes_mosquitto
port=$BROKER_PORT
for alg in ec rsa ed25519; do
    recipes_token_key "mq-$alg" "device-mq-$alg" "$alg"
    recipes_subscribe "$port" "devices/device-mq-$alg/telemetry" "sub-$alg.txt"
    mosquitto_pub -h 127.0.0.1 -p "$port" --cafile ca.pem \
        --cert "mq-$alg.pem" --key "mq-$alg.key.pem" -i "pub-$alg" \
        -t "devices/device-mq-$alg/telemetry" -m "hello from $alg" -q 1 \
        > pub.err 2>&1 || { cat pub.err broker.log; fail "mosquitto_pub with mq-$alg.key.pem"; }
    recipes_wait_pid "$SUB_PID" 20
    SUB_PID=
    grep -q "^devices/device-mq-$alg/telemetry hello from $alg\$" "sub-$alg.txt" \
        || { cat "sub-$alg.txt" broker.log; fail "the subscriber did not get the $alg message"; }
    # mosquitto logs the client's certificate CN as its user name
    grep -q "as pub-$alg .*u'device-mq-$alg'" broker.log \
        || { cat broker.log; fail "broker log lacks the $alg client's identity"; }
    ok "mosquitto_pub --key mq-$alg.key.pem: published as device-mq-$alg, subscriber got it"
done

# a client without a certificate is turned away by the broker
if mosquitto_pub -h 127.0.0.1 -p "$port" --cafile ca.pem -i nocert \
    -t devices/x/telemetry -m x > pub.err 2>&1; then
    fail "the broker accepted a client without a certificate"
fi
ok "the broker refuses a client without a certificate"
