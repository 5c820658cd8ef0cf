# SPDX-License-Identifier: Apache-2.0
# Sets the emptyAuth field of a TSS2 PRIVATE KEY file (PEM, rewritten in
# place): "empty" writes emptyAuth TRUE (the key has no auth value),
# "required" leaves the field out (absent: the key needs its auth value).
# tpm2_encodeobject's -p meant emptyAuth TRUE up to tpm2-tools 5.7 and
# FALSE from 5.8, so the tests state the field with this instead.
# Usage: python3 tss2-keyfile-auth.py FILE empty|required
import base64, os, sys


def tlv(buf, i):
    """The (tag, header length, body length) of the DER element at i."""
    tag, n = buf[i], buf[i + 1]
    if n < 0x80:
        return tag, 2, n
    k = n & 0x7F
    return tag, 2 + k, int.from_bytes(buf[i + 2:i + 2 + k], "big")


def enc(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


path, mode = sys.argv[1], sys.argv[2]
if mode not in ("empty", "required"):
    sys.exit("tss2-keyfile-auth.py: mode must be empty or required")
lines = open(path).read().split("\n")
begin = lines.index("-----BEGIN TSS2 PRIVATE KEY-----")
end = lines.index("-----END TSS2 PRIVATE KEY-----")
der = base64.b64decode("".join(lines[begin + 1:end]))
tag, hl, bl = tlv(der, 0)
if tag != 0x30 or hl + bl != len(der):
    sys.exit("tss2-keyfile-auth.py: %s: not a DER SEQUENCE" % path)
parts, i = [], hl
while i < len(der):
    _, h, b = tlv(der, i)
    parts.append(der[i:i + h + b])
    i += h + b
# type OID first, then [0] emptyAuth when present
rest = [p for p in parts[1:] if p[0] != 0xA0]
auth = [enc(0xA0, b"\x01\x01\xff")] if mode == "empty" else []
b64 = base64.b64encode(enc(0x30, b"".join([parts[0]] + auth + rest))).decode()
with open(path + ".tmp", "w") as out:
    out.write("-----BEGIN TSS2 PRIVATE KEY-----\n")
    for j in range(0, len(b64), 64):
        out.write(b64[j:j + 64] + "\n")
    out.write("-----END TSS2 PRIVATE KEY-----\n")
os.replace(path + ".tmp", path)
