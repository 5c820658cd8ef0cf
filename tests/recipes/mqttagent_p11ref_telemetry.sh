#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Recipe (docs/recipes.md, "a C agent on libmosquitto"): examples/mqtt-agent,
# a telemetry agent that only calls mosquitto_tls_set(cafile, cert, key),
# publishes with a key in the token (the key file is a reference file) to a
# broker requiring client certificates; a subscriber receives the telemetry.
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
AGENT=$top_builddir/examples/mqtt-agent
[ -x "$AGENT" ] || fail "$AGENT not built (make check builds it)"
recipes_init devid-agent
recipes_token_key agent device-agent-7

recipes_mosquitto
port=$BROKER_PORT
recipes_subscribe "$port" 'devices/device-agent-7/#' sub.txt
# mosquitto_sub -C 1 stops after one message: the agent sends three, the
# broker log shows all of them arriving
"$AGENT" --host 127.0.0.1 --port "$port" --cafile ca.pem --cert agent.pem \
    --key agent.key.pem --id agent-7 --topic devices/device-agent-7/telemetry \
    --count 3 > agent.out 2>&1 || { cat agent.out broker.log; fail "mqtt-agent"; }
grep -q '3 message(s) acknowledged' agent.out || { cat agent.out; fail "agent output"; }
recipes_wait_pid "$SUB_PID" 20
SUB_PID=
grep -q '^devices/device-agent-7/telemetry {"seq":1,"temperature":21.0,' sub.txt \
    || { cat sub.txt; fail "the subscriber did not get the telemetry"; }
grep -q "as agent-7 .*u'device-agent-7'" broker.log \
    || { cat broker.log; fail "broker log lacks the agent's identity"; }
[ "$(grep -c "Received PUBLISH from agent-7 (d0, q1" broker.log)" = 3 ] \
    || { cat broker.log; fail "the broker did not get 3 QoS 1 messages"; }
ok "mqtt-agent (mosquitto_tls_set with a reference key file) sent 3 messages as device-agent-7"
