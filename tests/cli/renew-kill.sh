#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# SIGKILL during devid renew at each step (DEVID_TEST_PAUSE=STEP makes it
# wait there): the device always still connects, with the old identity or
# the new one, and a later renewal succeeds.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
. "$top_srcdir/tests/cli/lib-renew.sh"
prov_need_test_hooks
devid_tmpdir
REN_PID=
cleanup() {
    [ -n "$REN_PID" ] && kill -9 "$REN_PID" 2>/dev/null || true
    prov_emulators_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" dev-hsm
printf '%s' "$DEVID_USER_PIN" > pin
chmod 600 pin   # devid refuses PIN files others can read
renew_config "$TESTDIR/emu.json" '"faults": {"poll_limit": false}'
prov_emulators "$TESTDIR" "$TESTDIR/emu.json"
prov_device hsm hsm-01 "pkcs11:token=dev-hsm;object=device" \
    "pkcs11:token=dev-hsm;object=onboarding"
conf="$TESTDIR/hsm.conf"
printf 'hub-port = %s\ndps-timeout = 30\n' "$HUB_PORT" >> "$conf"
"$DEVID" --config "$conf" provision 2> prov.err || { cat prov.err; fail "provision"; }

for step in key csr register install hub-check switch switched; do
    before=$(readlink hsm/current)
    DEVID_TEST_PAUSE=$step "$DEVID" --config "$conf" renew --force > "kill-$step.out" 2> "kill-$step.err" &
    REN_PID=$!
    i=0
    until grep -q "test pause at $step" "kill-$step.err"; do
        i=$((i + 1))
        [ "$i" -lt 300 ] || { cat "kill-$step.err"; fail "renew never reached $step"; }
        kill -0 "$REN_PID" 2>/dev/null || { cat "kill-$step.err"; fail "renew ended before $step"; }
        sleep 0.1
    done
    kill -9 "$REN_PID"
    wait "$REN_PID" 2>/dev/null || true
    REN_PID=
    after=$(readlink hsm/current)
    case $step in
        switched) [ "$after" != "$before" ] || fail "killed after the switch: not switched" ;;
        *) [ "$after" = "$before" ] || fail "killed at $step: switched anyway" ;;
    esac
    "$DEVID" --config "$conf" status > "status-$step.txt" || { cat "status-$step.txt"; fail "status after SIGKILL at $step"; }
    renew_check_publish hsm hsm-01 "{\"killed\":\"$step\"}" || fail "no publish after SIGKILL at $step"
    ok "SIGKILL at $step: the device publishes with the $( [ "$after" = "$before" ] && echo old || echo new ) identity"
done

"$DEVID" --config "$conf" renew --force 2> final.err || { cat final.err; fail "renew after the kills"; }
renew_check_publish hsm hsm-01 '{"final":1}' || fail "publish after the final renewal"
ok "a renewal after the interrupted ones succeeds"
