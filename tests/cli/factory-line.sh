#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Factory line: many devices provisioned in a row against one emulator
# (DEVID_FACTORY_COUNT, default 50; 10 in ASan builds), each then publishes
# once and the hub receives every message. Per-device timings are printed.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
devid_tmpdir
SUB_PID=
cleanup() {
    [ -n "$SUB_PID" ] && kill "$SUB_PID" 2>/dev/null || true
    prov_emulators_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

count=${DEVID_FACTORY_COUNT:-50}
if [ -n "${DEVID_ASAN_PRELOAD:-}" ]; then
    count=${DEVID_FACTORY_COUNT:-10}
fi
devid_mktoken "$TESTDIR" line
printf '%s' "$DEVID_USER_PIN" > pin
chmod 600 pin   # devid refuses PIN files others can read
printf '{"assigning_polls": 0, "retry_after": 1, "enrollment_groups": [{"id": "factory", "ca": "factory"}]}\n' > emu.json
prov_emulators "$TESTDIR" "$TESTDIR/emu.json"

mosquitto_sub -h 127.0.0.1 -p "$HUB_PORT" --cafile "$DPS_ROOT" --cert "$HUB_SERVICE_CERT" \
    --key "$HUB_SERVICE_KEY" -i service -t 'devices/#' -v -C "$count" -W 600 > got.txt &
SUB_PID=$!
start=$(date +%s)
i=1
while [ "$i" -le "$count" ]; do
    id=$(printf 'line-%03d' "$i")
    prov_device "$id" "$id" "pkcs11:token=line;object=$id" "pkcs11:token=line;object=$id-onb" 2>/dev/null
    "$DEVID" --config "$TESTDIR/$id.conf" --json provision > "$id.json" 2> "$id.err" \
        || { cat "$id.err"; fail "$id: provision"; }
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d["timings_ms"]; print("%s: keygen %.0f ms, csr %.0f ms, register %.0f ms, install %.0f ms" % (sys.argv[2], t["keygen"], t["csr"], t["register"], t["install"]))' "$id.json" "$id"
    prov_publish "$id" "$id" "{\"n\":$i}" || fail "$id: publish"
    i=$((i + 1))
done
wait "$SUB_PID" || true
SUB_PID=
got=$(grep -c '^devices/line-[0-9]*/messages/events/ {"n":[0-9]*}$' got.txt || true)
[ "$got" -eq "$count" ] || fail "the hub received $got of $count messages"
ok "$count devices provisioned in a row in $(( $(date +%s) - start )) s; the hub received all $count messages"
