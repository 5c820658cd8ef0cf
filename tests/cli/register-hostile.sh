#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid register against a fake DPS (python3 HTTPS on loopback) that
# answers what the emulator never would: broken JSON, a 200 without status,
# an issued chain for another key, no chain for our CSR, undecodable
# certificates, an oversized body, an error without details; and the
# request itself (headers, body, URL-encoded operation IDs) is checked.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-pki.sh"
. "$top_srcdir/tests/cli/lib-register.sh"
trap reg_cleanup EXIT

reg_setup
mkdir "$T/ca"
pki_ca "$T/ca"
pki_server "$T/ca" server ec

# the fake DPS: answers PUT and GET from $T/mode.json, read per request,
# and appends each request (method, path, headers, body) to $T/requests
cat > "$T/fake.py" <<'PY'
import http.server, json, ssl, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def answer(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        with open(d + "/requests", "a") as f:
            f.write(json.dumps({"method": method, "path": self.path,
                                "headers": dict(self.headers), "body": body}) + "\n")
        mode = json.load(open(d + "/mode.json"))[method]
        if "need_path" in mode and mode["need_path"] not in self.path:
            mode = {"status": 404, "body": "{\"errorCode\":404001,\"message\":\"bad path\"}"}
        out = mode.get("body", "").encode()
        if "size" in mode:
            out = b"{\"x\":\"" + b"a" * mode["size"] + b"\"}"
        self.send_response(mode["status"])
        for k, v in mode.get("headers", {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        try:
            self.wfile.write(out)
        except OSError:
            pass
    def do_PUT(self):
        self.answer("PUT")
    def do_GET(self):
        self.answer("GET")
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/ca/server.pem", d + "/ca/server.key")
s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(d + "/fake.port.tmp", "w").write(str(s.server_address[1]))
import os; os.rename(d + "/fake.port.tmp", d + "/fake.port")
s.serve_forever()
PY
echo '{}' > "$T/mode.json"
python3 "$T/fake.py" "$T" 2>> "$T/fake.log" &
FAKE_PID=$!
i=0
while [ ! -s "$T/fake.port" ]; do
    kill -0 "$FAKE_PID" 2>/dev/null || fail "the fake DPS exited"
    [ "$i" -lt 100 ] || fail "the fake DPS did not start"
    sleep 0.1
    i=$((i + 1))
done
PORT=$(cat "$T/fake.port")

# b64 CERT.pem: base64 DER on one line
b64() { openssl x509 -in "$1" -outform DER | openssl base64 -A; }

# certificates: one for our CSR's key, one for another key, both from the
# test CA, so the fake DPS can hand out good and bad chains
pki_client "$T/ca" "$T/op.csr" "$T/good-leaf.pem"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
    -keyout "$T/other.key" -subj /CN=dev-01 -out "$T/other.csr" 2>/dev/null
pki_client "$T/ca" "$T/other.csr" "$T/bad-leaf.pem"
GOOD="\"$(b64 "$T/good-leaf.pem")\", \"$(b64 "$T/ca/ca.pem")\""
BAD="\"$(b64 "$T/bad-leaf.pem")\", \"$(b64 "$T/ca/ca.pem")\""

# mode PUT_STATUS PUT_BODY [GET_STATUS GET_BODY [PUT_HEADERS [GET_NEED_PATH]]]
mode() {
    python3 - "$T/mode.json" "$@" <<'PY'
import json, sys
a = sys.argv[2:] + [""] * 6
m = {"PUT": {"status": int(a[0]), "body": a[1],
             "headers": json.loads(a[4] or "{}")}}
if a[2]:
    m["GET"] = {"status": int(a[2]), "body": a[3], "headers": {"Retry-After": "1"}}
    if a[5]:
        m["GET"]["need_path"] = a[5]
json.dump(m, open(sys.argv[1], "w"))
PY
}

# fake ARGS...: devid register against the fake DPS (trusting its CA)
fake() {
    RC=0
    "$DEVID" --config "$T/devid.conf" register --id-scope "$SCOPE" \
        --registration-id dev-01 --auth-key "$T/onb.ref" \
        --auth-cert "$T/onb.pem" --endpoint "127.0.0.1:$PORT" \
        --trust "$T/ca/ca.pem" --timeout 15 "$@" > "$T/out" 2> "$T/err" || RC=$?
}

ASSIGNED='"registrationId":"dev-01","assignedHub":"hub.example","deviceId":"dev-01","status":"assigned","substatus":"initialAssignment"'

# the request, and a good answer: fields in another order, unknown fields,
# an operation ID that needs URL encoding, Retry-After clamped
mode 202 '{"status":"assigning","operationId":"5.ab/c d+e"}' \
    200 "{\"future\":{\"x\":[1,2]},\"registrationState\":{\"issuedCertificateChain\":[$GOOD],\"payload\":{},\"x509\":{},$ASSIGNED,\"etag\":null},\"status\":\"assigned\",\"operationId\":\"5.ab/c d+e\"}" \
    '{"Retry-After": "9999"}' '/operations/5.ab%2Fc%20d%2Be?api-version=2025-07-01-preview'
fake --csr "$T/op.csr" --out-chain "$T/good.pem"
expect_rc 0 "good answer from the fake DPS"
has "$T/out" "assigned_hub: hub.example" "hub from the fake DPS"
has "$T/err" "next poll in 1 s" "Retry-After 9999 clamped to 1 s"
[ "$(split_chain "$T/good.pem" "$T/g")" = 2 ] || fail "good chain not written"
python3 - "$T/requests" "$(openssl req -in "$T/op.csr" -outform DER | openssl base64 -A)" <<'PY' || fail "request checks"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
put, get = reqs[0], reqs[1]
assert put["method"] == "PUT", put
assert put["path"] == "/0ne00000001/registrations/dev-01/register?api-version=2025-07-01-preview", put["path"]
h = {k.lower(): v for k, v in put["headers"].items()}
assert h["content-type"] == "application/json; charset=utf-8", h
assert h["accept"] == "application/json", h
assert h["user-agent"].startswith("devid/"), h
assert "authorization" not in h and "expect" not in h, h
body = json.loads(put["body"])
assert body == {"registrationId": "dev-01", "csr": sys.argv[2]}, body
assert get["method"] == "GET" and get["body"] == "", get
assert "content-type" not in {k.lower() for k in get["headers"]}, get
PY
ok "request: PUT path, headers, body with base64 DER csr; GET with encoded operation ID"
ok "answer: any member order and unknown members accepted, Retry-After clamped"

# malformed JSON
mode 202 '{"operationId": "x", "status": '
fake
expect_rc 4 "malformed JSON"
has "$T/err" "malformed DPS answer" "malformed JSON message"
ok "malformed JSON: exit 4, 'malformed DPS answer'"

# not JSON at all, and JSON with data after it
mode 200 '<html>gateway</html>'
fake
expect_rc 4 "HTML answer"
has "$T/err" "malformed DPS answer: not JSON" "HTML message"
mode 200 '{"status":"assigned"} {"status":"failed"}'
fake
expect_rc 4 "trailing data"
has "$T/err" "malformed DPS answer" "trailing data message"
ok "non-JSON and trailing data: exit 4"

# a 200 without status
mode 200 '{"operationId":"x","registrationState":{"assignedHub":"h"}}'
fake
expect_rc 4 "200 without status"
has "$T/err" "malformed DPS answer: no status" "missing status message"
ok "200 without status: exit 4"

# wrong member types
mode 200 "{\"status\":\"assigned\",\"registrationState\":{$ASSIGNED,\"assignedHub\":7}}"
fake
expect_rc 4 "wrong type"
has "$T/err" "malformed DPS answer" "wrong type message"
ok "assignedHub of the wrong type: exit 4"

# assigned without a hub
mode 200 '{"status":"assigned","registrationState":{"deviceId":"dev-01"}}'
fake
expect_rc 4 "assigned without hub"
has "$T/err" "assignedHub" "assigned without hub message"
ok "assigned without assignedHub: exit 4"

# an issued chain for another key: refused, nothing written
mode 200 "{\"status\":\"assigned\",\"registrationState\":{$ASSIGNED,\"issuedCertificateChain\":[$BAD]}}"
fake --csr "$T/op.csr" --out-chain "$T/bad.pem"
expect_rc 9 "chain for another key"
has "$T/err" "not for our key" "key mismatch message"
[ ! -e "$T/bad.pem" ] || fail "a chain for another key was written"
ok "issued leaf for another key: exit 9, nothing written"

# a chain out of order
mode 200 "{\"status\":\"assigned\",\"registrationState\":{$ASSIGNED,\"issuedCertificateChain\":[\"$(b64 "$T/good-leaf.pem")\",\"$(b64 "$T/bad-leaf.pem")\"]}}"
fake --csr "$T/op.csr" --out-chain "$T/order.pem"
expect_rc 9 "chain out of order"
has "$T/err" "out of order" "order message"
[ ! -e "$T/order.pem" ] || fail "a chain out of order was written"
ok "issued chain out of order: exit 9, nothing written"

# a CSR was sent but no chain came back
mode 200 "{\"status\":\"assigned\",\"registrationState\":{$ASSIGNED,\"issuedCertificateChain\":null}}"
fake --csr "$T/op.csr" --out-chain "$T/nochain.pem"
expect_rc 9 "no chain for the CSR"
has "$T/err" "issued no certificate" "no chain message"
[ ! -e "$T/nochain.pem" ] || fail "something written without a chain"
ok "CSR sent, chain null: exit 9"

# without a CSR a null chain is fine
fake
expect_rc 0 "null chain without CSR"
ok "no CSR, chain null: assigned"

# undecodable certificate data
mode 200 "{\"status\":\"assigned\",\"registrationState\":{$ASSIGNED,\"issuedCertificateChain\":[\"-----BEGIN CERTIFICATE-----\"]}}"
fake --csr "$T/op.csr" --out-chain "$T/junk.pem"
expect_rc 9 "undecodable chain"
has "$T/err" "issuedCertificateChain[0] is not a base64 DER certificate" "undecodable message"
ok "PEM armour in issuedCertificateChain: exit 9"

# an oversized answer is cut off, not swallowed
python3 -c 'import json; json.dump({"PUT": {"status": 200, "size": 3000000}}, open("'"$T/mode.json"'", "w"))'
fake
expect_rc 4 "oversized body"
has "$T/err" "over 1048576 bytes" "oversized message"
ok "a 3 MB answer: exit 4 at the 1 MiB cap"

# an error without details, and one with them
mode 403 'Forbidden'
fake
expect_rc 5 "403 without details"
has "$T/err" "HTTP 403" "403 message"
mode 401 '{"errorCode":401002,"trackingId":"t-1","message":"Unauthorized","timestampUtc":"x"}'
fake
expect_rc 5 "401 with details"
has "$T/err" "401002 Unauthorized" "401 message"
has "$T/err" "trackingId t-1" "trackingId in the message"
ok "401/403: exit 5 with DPS's errorCode, message and trackingId when given"

# an unknown terminal status is not taken for success
mode 200 '{"status":"weird","operationId":"x"}' 200 '{"status":"weird"}'
fake --timeout 3
expect_rc 8 "unknown status"
ok "an unknown status keeps polling until the timeout (exit 8)"
