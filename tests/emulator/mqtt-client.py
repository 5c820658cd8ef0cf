#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A scripted MQTT 3.1.1 client over TLS for the emulator tests: one
connection that runs the steps it is given, in order, and prints what the
server answered, one line each. mosquitto_pub/sub cannot subscribe and
publish on one connection, and mosquitto_rr refuses the wildcard response
filters DPS and IoT Hub answer on, hence this.

usage: mqtt-client.py --port P --cafile F [--cert C --key K] --id ID
                      [--user U] [--host H] [--timeout S] STEP...
steps:
  sub FILTER            SUBSCRIBE at QoS 1; prints "suback CODE"
  pub TOPIC PAYLOAD     PUBLISH at QoS 0 ("-" = empty payload)
  pub1 TOPIC PAYLOAD    PUBLISH at QoS 1; prints "puback"
  pub2 TOPIC PAYLOAD    PUBLISH at QoS 2 (no answer expected)
  recv                  waits for one PUBLISH; prints "msg TOPIC PAYLOAD"
  dps BODY              a DPS registration (DPS-PROTOCOL.md section 2):
                        publishes BODY on the register topic, then polls
                        with the operationId while the answer is 202,
                        waiting retry-after, and repeats a request answered
                        429 or 5xx; prints "msg ..." per answer
  sleep S               waits S seconds
Exit: 0 every step done; 5 CONNACK refused (prints "connack CODE"); 7 the
server closed the connection (prints "closed"); 27 timeout (prints
"timeout"). The codes follow mosquitto_pub's (CONNACK code, MOSQ_ERR_*).
"""
import argparse
import json
import re
import socket
import ssl
import sys
import time


class Closed(Exception):
    pass


class Timeout(Exception):
    pass


def enc_str(s):
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def enc_len(n):
    out = bytearray()
    while True:
        d = n % 128
        n //= 128
        out.append(d | 0x80 if n else d)
        if not n:
            return bytes(out)


class Client:
    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.buf = b""
        self.mid = 0
        self.queued = []            # PUBLISH packets read while waiting

    def send(self, ptype, body):
        self.sock.sendall(bytes([ptype]) + enc_len(len(body)) + body)

    def read_exact(self, n):
        while len(self.buf) < n:
            left = self.deadline - time.time()
            if left <= 0:
                raise Timeout()
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise Timeout()
            except (ConnectionError, ssl.SSLError, OSError):
                chunk = b""
            if not chunk:
                raise Closed()
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def packet(self):
        head = self.read_exact(1)[0]
        n, mult = 0, 1
        while True:
            d = self.read_exact(1)[0]
            n += (d & 0x7F) * mult
            mult *= 128
            if not d & 0x80:
                break
        return head, self.read_exact(n)

    def expect(self, ptype):
        """The next packet of ptype (upper nibble); PUBLISH packets that
        come first are kept for recv."""
        while True:
            head, body = self.packet()
            if head >> 4 == 3:
                self.queued.append((head, body))
                if ptype == 3:
                    return self.queued.pop(0)
                continue
            if head >> 4 == ptype:
                return head, body

    def next_mid(self):
        self.mid = self.mid % 65535 + 1
        return self.mid

    def recv(self):
        head, body = self.queued.pop(0) if self.queued else self.expect(3)
        tl = int.from_bytes(body[:2], "big")
        topic = body[2:2 + tl].decode()
        pos = 2 + tl
        qos = (head >> 1) & 3
        if qos:
            mid = body[pos:pos + 2]
            pos += 2
            self.send(0x40, mid)    # PUBACK
        return topic, body[pos:].decode(errors="replace")


def connect(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(a.cafile)
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
    sock = ctx.wrap_socket(raw, server_hostname=a.host)
    c = Client(sock, time.time() + a.timeout)
    flags = 0x02 | (0x80 if a.user is not None else 0)
    body = enc_str("MQTT") + bytes([4, flags]) + (60).to_bytes(2, "big")
    body += enc_str(a.id)
    if a.user is not None:
        body += enc_str(a.user)
    c.send(0x10, body)
    _, ack = c.expect(2)
    if ack[1] != 0:
        print("connack %d" % ack[1])
        sys.exit(5)
    return c


def publish(c, topic, payload, qos):
    body = enc_str(topic)
    if qos:
        body += c.next_mid().to_bytes(2, "big")
    data = b"" if payload == "-" else payload.encode()
    c.send(0x30 | (qos << 1), body + data)
    if qos == 1:
        c.expect(4)
        print("puback")


def dps(c, body):
    """Register, then poll while 202 (DPS-PROTOCOL.md section 2); a 429 or
    5xx answer repeats the same request after retry-after (1 s without)."""
    rid = 1
    reg = "$dps/registrations/PUT/iotdps-register/?$rid=%d"
    poll = "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=%d" \
        "&operationId=%s"
    op = None
    publish(c, reg % rid, body, 0)
    while True:
        topic, payload = c.recv()
        print("msg %s %s" % (topic, payload))
        m = re.match(r"\$dps/registrations/res/(\d+)/\?(.*)$", topic)
        status = int(m.group(1)) if m else 0
        if status != 202 and status != 429 and status < 500:
            return
        ra = re.search(r"(?:^|&)retry-after=(\d+)", m.group(2))
        time.sleep(int(ra.group(1)) if ra else 1)
        rid += 1
        if status == 202:
            op = json.loads(payload)["operationId"]
        if op is None:
            publish(c, reg % rid, body, 0)
        else:
            publish(c, poll % (rid, op), "-", 0)


def run(c, steps):
    i = 0
    while i < len(steps):
        s = steps[i]
        if s == "sub":
            f = steps[i + 1]
            c.send(0x82, c.next_mid().to_bytes(2, "big") + enc_str(f)
                   + bytes([1]))
            _, ack = c.expect(9)
            print("suback %d" % ack[2])
            i += 2
        elif s in ("pub", "pub1", "pub2"):
            publish(c, steps[i + 1], steps[i + 2],
                    {"pub": 0, "pub1": 1, "pub2": 2}[s])
            i += 3
        elif s == "recv":
            print("msg %s %s" % c.recv())
            i += 1
        elif s == "dps":
            dps(c, steps[i + 1])
            i += 2
        elif s == "sleep":
            time.sleep(float(steps[i + 1]))
            i += 2
        else:
            sys.exit("unknown step %s" % s)
        sys.stdout.flush()
    c.send(0xE0, b"")               # DISCONNECT


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--id", required=True)
    p.add_argument("--user")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("steps", nargs="*")
    a = p.parse_args()
    try:
        run(connect(a), a.steps)
    except Closed:
        print("closed")
        sys.exit(7)
    except Timeout:
        print("timeout")
        sys.exit(27)
    except (ssl.SSLError, ConnectionError) as e:
        print("closed (%s)" % e)
        sys.exit(7)


if __name__ == "__main__":
    main()
