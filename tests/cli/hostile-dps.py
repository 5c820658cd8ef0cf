# SPDX-License-Identifier: Apache-2.0
# A hostile DPS for the tests (issue 14): an HTTPS server on a free loopback
# port that signs the CSR of each registration with a test CA, as DPS does,
# but with what DIR/mode.json asks for, read per request:
#   start, end   validity as seconds from now (default -60, 86400)
#   cn           the leaf's subject CN (default: the registration ID)
#   signer       "ca" (default) or "impostor": a second CA with the same
#                name but another key signs the leaf, while the chain still
#                carries the first CA
#   state        members merged into registrationState (assignedHub,
#                deviceId, errorMessage...)
#   status       the operation status (default "assigned")
#   http         an HTTP status to answer instead, with body "body" (JSON)
# Usage: hostile-dps.py DIR; DIR/ca and DIR/impostor hold ca.pem/ca.key,
# DIR/ca/server.pem/.key the server's certificate. Writes the port to
# DIR/fake.port and the last chain it issued to DIR/last-chain.pem.
import base64, datetime, http.server, json, os, ssl, subprocess, sys

d = sys.argv[1]
CNF = """[ca]
default_ca = dflt
[dflt]
database = {d}/index.txt
new_certs_dir = {d}/issued
serial = {d}/serial
default_md = sha256
policy = pol
unique_subject = no
email_in_dn = no
x509_extensions = leaf
[pol]
commonName = supplied
[leaf]
# stated, not left to openssl ca: 3.2+ adds key identifiers by default. No
# authority key identifier: an impostor leaf then matches its chain's CA by
# name alone, and only its signature gives it away (what the test is for)
basicConstraints = critical, CA:FALSE
subjectKeyIdentifier = none
authorityKeyIdentifier = none
"""


def stamp(offset):
    t = datetime.datetime.now(datetime.timezone.utc)
    return (t + datetime.timedelta(seconds=offset)).strftime("%Y%m%d%H%M%SZ")


def issue(csr_b64, regid, mode):
    os.makedirs(d + "/issued", exist_ok=True)
    if not os.path.exists(d + "/serial"):
        open(d + "/index.txt", "w").close()
        open(d + "/serial", "w").write("1000\n")
        open(d + "/ca.cnf", "w").write(CNF.format(d=d))
    open(d + "/req.der", "wb").write(base64.b64decode(csr_b64))
    subprocess.run(["openssl", "req", "-inform", "DER", "-in", d + "/req.der",
                    "-out", d + "/req.pem"], check=True)
    signer = d + "/" + ("impostor" if mode.get("signer") == "impostor" else "ca")
    subprocess.run(["openssl", "ca", "-batch", "-config", d + "/ca.cnf",
                    "-cert", signer + "/ca.pem", "-keyfile", signer + "/ca.key",
                    "-in", d + "/req.pem", "-out", d + "/leaf.pem", "-notext",
                    "-subj", "/CN=" + mode.get("cn", regid),
                    "-startdate", stamp(mode.get("start", -60)),
                    "-enddate", stamp(mode.get("end", 86400))],
                   check=True, capture_output=True)
    chain = []
    for f in (d + "/leaf.pem", d + "/ca/ca.pem"):
        der = subprocess.run(["openssl", "x509", "-in", f, "-outform", "DER"],
                             check=True, capture_output=True).stdout
        chain.append(base64.b64encode(der).decode())
    with open(d + "/last-chain.pem", "w") as out:
        out.write(open(d + "/leaf.pem").read() + open(d + "/ca/ca.pem").read())
    return chain


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(n).decode() or "{}")
        mode = json.load(open(d + "/mode.json"))
        if "http" in mode:
            self.send_json(mode["http"], json.dumps(mode.get("body", {})).encode())
            return
        regid = req.get("registrationId", "")
        state = {"registrationId": regid, "assignedHub": "hub.example",
                 "deviceId": regid, "status": mode.get("status", "assigned"),
                 "substatus": "initialAssignment"}
        if "csr" in req:
            state["issuedCertificateChain"] = issue(req["csr"], regid, mode)
        state.update(mode.get("state", {}))
        body = json.dumps({"operationId": "op-1",
                           "status": mode.get("status", "assigned"),
                           "registrationState": state}).encode()
        self.send_json(200, body)

    def send_json(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/ca/server.pem", d + "/ca/server.key")
s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(d + "/fake.port.tmp", "w").write(str(s.server_address[1]))
os.rename(d + "/fake.port.tmp", d + "/fake.port")
s.serve_forever()
