#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# DPS emulator: survives malformed and hostile clients (garbage instead of
# TLS, plain HTTP, huge bodies, deep JSON, idle and slow connections, many
# connections) and provisions a factory line of 50 devices concurrently;
# exits cleanly afterwards (sanitizer builds fail the exit on leaks).
set -eu
# shellcheck source=tests/emulator/lib-emu.sh
. "$(dirname "$0")/lib-emu.sh"
trap emu_cleanup EXIT

"$EMU_BIN" init --state "$STATE" 2>/dev/null
onboard dev-01 dev-01
cat > "$T/config.json" <<JSON
{
  "id_scope": "$SCOPE",
  "assigning_polls": 1,
  "retry_after": 0,
  "connection_timeout": 2,
  "enrollment_groups": [{"id": "factory", "ca": "factory"}]
}
JSON
emu_start "$T/config.json"
alive() {
    code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 '{"registrationId":"dev-01"}')
    kill -0 "$EMU_PID" && [ "$code" = 202 ]
}

say "garbage instead of TLS, plain HTTP, aborted handshakes"
python3 - "$PORT" <<'PY' || fail "the garbage client failed"
import os, socket, sys
port = int(sys.argv[1])
for payload in (os.urandom(4096), b"\x16\x03\x01\x00\x05hello", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b""):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(payload)
    s.settimeout(5)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
PY
check "survives garbage" alive
curl -s -o /dev/null "http://127.0.0.1:$PORT/$SCOPE/registrations/x/register" || true
check "survives plain HTTP" alive
for _ in 1 2 3; do openssl s_client -connect "127.0.0.1:$PORT" < /dev/null > /dev/null 2>&1 || true; done
check "survives handshakes without requests" alive

say "bodies"
python3 -c 'print("{\"registrationId\":\"dev-01\",\"payload\":\"" + "x" * 200000 + "\"}")' > "$T/big.json"
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 "$(cat "$T/big.json")")
check "200 KB body: 413/413001" error_is "$code" 413 413001
head -c 5000000 /dev/zero | tr '\0' 'x' > "$T/huge"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$STATE/server-a/root.pem" \
    --cert "$T/dev-01.pem" --key "$T/dev-01.key" -X PUT -H 'Content-Type: application/json' \
    --data-binary "@$T/huge" "$BASE/dev-01/register?api-version=$GA" || true)
check "5 MB body: refused with 413 (or the connection closed), $code" sh -c "[ '$code' = 413 ] || [ '$code' = 000 ]"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$STATE/server-a/root.pem" \
    --cert "$T/dev-01.pem" --key "$T/dev-01.key" -X PUT -H 'Content-Type: application/json' \
    -H 'Content-Length: 999999999' --data-binary '{}' "$BASE/dev-01/register?api-version=$GA" || true)
check "lying Content-Length refused ($code)" sh -c "[ '$code' = 413 ] || [ '$code' = 400 ] || [ '$code' = 000 ]"
deep=$(python3 -c 'print("[" * 5000 + "]" * 5000)')
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 "$deep")
check "5000-deep JSON: 400/400006" error_is "$code" 400 400006
code=$(dps PUT "dev-01/register?api-version=$GA" dev-01 "$(printf '{"registrationId":"dev-01","payload":"\377\376"}')")
check "invalid UTF-8 does not crash ($code)" alive
check "survives the bodies" alive

say "idle and slow clients are dropped after connection_timeout (2 s)"
if python3 - "$PORT" <<'PY'
import socket, ssl, sys, time
port = int(sys.argv[1])
t0 = time.time()
socks = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(100)]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
slow = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 5))
slow.sendall(b"PUT /0ne00000001/regis")
for s in socks + [slow]:
    s.settimeout(10)
    try:
        while s.recv(1024):
            pass
    except OSError:
        pass
took = time.time() - t0
print("100 idle TCP + 1 slow TLS client closed after %.1f s" % took)
sys.exit(0 if took < 8 else 1)
PY
then ok "idle connections were closed"; else fail "idle connections were closed"; fi
check "survives 100 idle connections" alive

say "a factory line: 50 devices register concurrently"
i=0
while [ $i -lt 50 ]; do onboard "line-$i" "line-$i"; i=$((i + 1)); done
if python3 - "$PORT" "$T" "$STATE" <<'PY'
import concurrent.futures, http.client, json, ssl, sys
port, t, state = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def one(i):
    rid = "line-%d" % i
    ctx = ssl.create_default_context(cafile=state + "/server-a/root.pem")
    ctx.load_cert_chain(t + "/%s.pem" % rid, t + "/%s.key" % rid)
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)
    base = "/0ne00000001/registrations/" + rid
    c.request("PUT", base + "/register?api-version=2021-06-01",
              json.dumps({"registrationId": rid}), {"Content-Type": "application/json"})
    r = c.getresponse(); body = json.loads(r.read())
    assert r.status == 202, (rid, r.status, body)
    for _ in range(10):
        c.request("GET", base + "/operations/" + body["operationId"] + "?api-version=2021-06-01")
        r = c.getresponse(); res = json.loads(r.read())
        if r.status == 200:
            return res["registrationState"]["deviceId"] == rid and res["status"] == "assigned"
    return False
with concurrent.futures.ThreadPoolExecutor(10) as ex:
    results = list(ex.map(one, range(50)))
print("%d of 50 assigned" % sum(results))
sys.exit(0 if all(results) else 1)
PY
then ok "all 50 assigned"; else fail "all 50 assigned"; fi
emu_stop
finish
