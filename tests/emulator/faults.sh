#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# DPS emulator: each fault-injection switch (closed connections, 429 with
# Retry-After, 500, 503 on register and on poll, slow answers, the
# per-device poll limit, the server root switch) and SIGHUP reloads.
set -eu
# shellcheck source=tests/emulator/lib-emu.sh
. "$(dirname "$0")/lib-emu.sh"
trap emu_cleanup EXIT

"$EMU_BIN" init --state "$STATE" 2>/dev/null
onboard dev-01 dev-01
conf() {
    cat > "$T/$1" <<JSON
{
  "id_scope": "$SCOPE",
  "assigning_polls": ${3:-0},
  "enrollment_groups": [{"id": "factory", "ca": "factory"}],
  ${4:-}
  "faults": {$2}
}
JSON
}
conf c1.json '"close_register": 1, "register_429": 1, "register_500": 1, "register_503": 1,
  "close_poll": 1, "poll_429": 1, "poll_500": 1, "poll_503": 1, "retry_after_429": 2,
  "poll_limit": 0'
cp "$T/c1.json" "$T/config.json"
emu_start "$T/config.json"

say "register faults, in order: close, 429, 500, 503, then success"
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "closed connection (no HTTP answer)" sh -c "echo '$code' | grep -q '^000'"
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "429/429001" error_is "$code" 429 429001
check "429 carries Retry-After: 2" eq "$(header Retry-After)" 2
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "500/500000" error_is "$code" 500 500000
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "503/503000" error_is "$code" 503 503000
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "then 202" eq "$code" 202
op=$(j 'd["operationId"]')

say "poll faults, in order: close, 429, 500, 503, then the result"
code=$(dps GET "dev-01/operations/$op?api-version=$GA" dev-01)
check "closed connection" sh -c "echo '$code' | grep -q '^000'"
code=$(dps GET "dev-01/operations/$op?api-version=$GA" dev-01)
check "429/429001 with Retry-After: 2" error_is "$code" 429 429001
check "  Retry-After: 2" eq "$(header Retry-After)" 2
code=$(dps GET "dev-01/operations/$op?api-version=$GA" dev-01)
check "500/500000" error_is "$code" 500 500000
code=$(dps GET "dev-01/operations/$op?api-version=$GA" dev-01)
check "503/503000" error_is "$code" 503 503000
code=$(dps GET "dev-01/operations/$op?api-version=$GA" dev-01)
check "then 200 assigned" eq "$code/$(j 'd["status"]')" 200/assigned

say "SIGHUP re-arms the counters"
emu_reload "$T/c1.json"
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "closed connection again after the reload" sh -c "echo '$code' | grep -q '^000'"

say "slow answers"
conf c2.json '"delay_ms": 1200, "poll_limit": 0'
emu_reload "$T/c2.json"
t0=$(date +%s%N)
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "answer 202 after >= 1200 ms (took $ms ms)" test "$code" = 202 -a "$ms" -ge 1200
curl -s -o /dev/null --max-time 0.3 --cacert "$STATE/server-a/root.pem" --cert "$T/dev-01.pem" \
    --key "$T/dev-01.key" -X PUT -H 'Content-Type: application/json' -d '{}' \
    "$BASE/dev-01/register?api-version=$GA" || true
sleep 1.2   # the delayed answer now meets a closed connection
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "a client giving up during a slow answer does not hurt" eq "$code" 202

say "per-device poll limit: more than 5 polls in 10 s gives 429"
conf c3.json '"poll_limit": 1' 20
emu_reload "$T/c3.json"
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
op=$(j 'd["operationId"]')
for n in 1 2 3 4 5; do
    code=$(dps GET "dev-01/operations/$op?api-version=$GA" dev-01)
    check "poll $n: 202" eq "$code" 202
done
code=$(dps GET "dev-01/operations/$op?api-version=$GA" dev-01)
check "poll 6: 429/429001" error_is "$code" 429 429001
check "  with Retry-After" test -n "$(header Retry-After)"

say "server root switch A -> B (root migration)"
conf c4.json '"poll_limit": 0' 0 '"server_root": "B", "trust_bundle": ["A", "B"],'
emu_reload "$T/c4.json"
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "a client trusting only root A now fails TLS" sh -c "echo '$code' | grep -q '^000'"
ROOT_CA=$STATE/server-b/root.pem
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "a client trusting root B succeeds" eq "$code" 202
check "server certificate chains to root B" sh -c "echo | openssl s_client -connect 127.0.0.1:$PORT -CAfile '$STATE/server-b/root.pem' -verify_return_error -verify_hostname localhost 2>/dev/null | grep -q 'Verify return code: 0'"
code=$(register dev-01 dev-01 "$LEGACY" '{}')
check "legacy trustBundle lists roots A and B" eq "$(j 'len(d["registrationState"]["trustBundle"]["certificates"])')" 2
conf c5.json '"poll_limit": 0'
emu_reload "$T/c5.json"
ROOT_CA=""
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "switched back to root A" eq "$code" 202

say "a broken config on SIGHUP keeps the running one"
echo '{"nonsense": 1}' > "$T/config.json"
gen=$(cat "$STATE/dps.generation")
kill -HUP "$EMU_PID"
i=0
while ! grep -q "reload failed" "$T/emu.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "reload refused and logged" grep -q 'unknown key "nonsense"' "$T/emu.log"
check "generation unchanged" eq "$(cat "$STATE/dps.generation")" "$gen"
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{}')
check "still serving" eq "$code" 202
emu_stop
finish
