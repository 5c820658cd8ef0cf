#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid renew and devid rollback with certificates that live 120 s: a
# renewal switches to a new key and certificate that the hub accepts; DPS
# answering 500 or a hub refusing the new certificate leaves the old
# identity in use and status says why; rollback returns to the previous
# identity; on-change runs after a switch.
set -euf
# full-length waits between DPS tries: the emulator's poll limit (more
# than 5 polls in 10 s is throttled, as DPS does) stays on in this test
DEVID_TEST_WAIT_DIVISOR=1
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
. "$top_srcdir/tests/cli/lib-renew.sh"
. "$top_srcdir/tests/lib-servers.sh"
devid_tmpdir
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
    prov_emulators_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" dev-hsm
printf '%s' "$DEVID_USER_PIN" > pin
chmod 600 pin   # devid refuses PIN files others can read
renew_config "$TESTDIR/emu.json"
prov_emulators "$TESTDIR" "$TESTDIR/emu.json"
prov_device hsm hsm-01 "pkcs11:token=dev-hsm;object=device" \
    "pkcs11:token=dev-hsm;object=onboarding"
conf="$TESTDIR/hsm.conf"
printf 'hub-port = %s\ndps-timeout = 4\non-change = echo "$DEVID_IDENTITY" >> %s/hook.log\n' \
    "$HUB_PORT" "$TESTDIR" >> "$conf"
"$DEVID" --config "$conf" provision 2> prov.err || { cat prov.err; fail "provision"; }
first=$(readlink hsm/current)

"$DEVID" --config "$conf" --json renew > r0.json 2> r0.err || { cat r0.err; fail "renew (not due)"; }
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["changed"] == "no"' r0.json \
    || { cat r0.json; fail "renew changed a fresh certificate"; }
[ "$(readlink hsm/current)" = "$first" ] || fail "renew (not due) switched"
ok "renew with 120 s left of 120 s (renew-before 20%): nothing to do"

"$DEVID" --config "$conf" --json renew --before 200s > r1.json 2> r1.err || { cat r1.err; fail "renew --before 200s"; }
second=$(readlink hsm/current)
[ "$second" != "$first" ] || fail "renew did not switch"
grep -q 'accepted the new identity' r1.err || fail "no hub test handshake reported"
python3 - r1.json "$TESTDIR/hsm/state.json" "${first#identities/}" <<'PY' || fail "renew output/state"
import json, sys
r = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
assert r["changed"] == "yes" and r["previous"] == sys.argv[3], r
assert s["previous"] == sys.argv[3] and s["key"].startswith("pkcs11:token=dev-hsm;object=device-"), s
PY
grep -q 'authenticating with the current certificate' r1.err || fail "not authenticated by the current certificate"
openssl x509 -in "hsm/$first/chain.pem" -noout -pubkey > old.pub
openssl x509 -in hsm/device-chain.pem -noout -pubkey > new.pub
! cmp -s old.pub new.pub || fail "the new certificate has the old key"
grep -q "${second#identities/}" hook.log || fail "on-change did not run"
renew_check_publish hsm hsm-01 '{"renewed":1}' || fail "mosquitto_pub with the renewed identity"
ok "renew: new key and certificate, switched after the hub accepted it; on-change ran; mosquitto_pub publishes"

# DPS answers 500 until the (short) timeout: the old identity stays
renew_reload "$TESTDIR/emu.json" '"faults": {"register_500": 1000}'
rc=0
"$DEVID" --config "$conf" renew --force 2> r2.err || rc=$?
case $rc in 4|5|8) ;; *) cat r2.err; fail "renew against DPS 500: exit $rc" ;; esac
[ "$(readlink hsm/current)" = "$second" ] || fail "a failed renewal switched"
"$DEVID" --config "$conf" --json status > s2.json || true
python3 - s2.json <<'PY' || { cat s2.json; fail "status after a failed renewal"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["renewal"]["result"] == "failed" and d["renewal"]["step"] == "register", d
assert any("renewal failed" in p for p in d["problems"]), d
PY
renew_check_publish hsm hsm-01 '{"after":500}' || fail "publish after the failed renewal"
renew_reload "$TESTDIR/emu.json"
ok "renew with DPS answering 500: exit $rc, old identity in use, status reports the failure"

# a hub that refuses the new certificate (it trusts another CA)
srv_s_server sserver.log -cert "$PROV_EMU/server-a/cert.pem" \
    -key "$PROV_EMU/server-a/cert.key" -Verify 1 -CAfile "$FACTORY_ROOT"
SRV_PID=$SERVER_PID
port=$SERVER_PORT
rc=0
"$DEVID" --config "$conf" renew --force --hub-port "$port" 2> r3.err || rc=$?
[ "$rc" -eq 4 ] || { cat r3.err; fail "renew with a refusing hub: exit $rc, want 4"; }
grep -q 'test connection to the hub' r3.err || { cat r3.err; fail "no hub error"; }
[ "$(readlink hsm/current)" = "$second" ] || fail "renewal switched although the hub refused"
kill "$SRV_PID" 2>/dev/null || true
SRV_PID=
renew_check_publish hsm hsm-01 '{"after":"refused"}' || fail "publish after the refused renewal"
ok "renew with a hub that refuses the new certificate: exit 4, old identity in use"

"$DEVID" --config "$conf" rollback 2> rb.err || { cat rb.err; fail "rollback"; }
[ "$(readlink hsm/current)" = "$first" ] || fail "rollback did not return to the first identity"
"$DEVID" --config "$conf" status > /dev/null || fail "status after rollback"
renew_check_publish hsm hsm-01 '{"rolled":"back"}' || fail "publish after rollback"
ok "rollback: back to the previous identity; status healthy; mosquitto_pub publishes"

rc=0
"$DEVID" --config "$conf" rollback 2> rb2.err || rc=$?
[ "$rc" -ne 0 ] || fail "rollback past the first identity succeeded"
grep -q 'nothing to roll back' rb2.err || { cat rb2.err; fail "unclear rollback error"; }
ok "rollback with no previous identity: exit $rc, clear error"

# pruning: keep-identities = 2 keeps the two newest (and current/previous)
printf 'keep-identities = 2\ndps-timeout = 60\n' >> "$conf"
"$DEVID" --config "$conf" renew --force 2> r4.err || { cat r4.err; fail "renew 4"; }
"$DEVID" --config "$conf" renew --force 2> r5.err || { cat r5.err; fail "renew 5"; }
n=$(ls hsm/identities | wc -l)
[ "$n" -le 3 ] || { ls hsm/identities; fail "$n identities kept with keep-identities = 2"; }
renew_check_publish hsm hsm-01 '{"pruned":1}' || fail "publish after pruning"
ok "old identity directories pruned (keep-identities = 2: $n left)"
