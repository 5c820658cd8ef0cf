# SPDX-License-Identifier: Apache-2.0
# Writes the TPM2B_PUBLIC stored in a TSS2 PRIVATE KEY PEM file, so that
# tpm2_print -t TPM2B_PUBLIC can show the key's object attributes.
#   python3 tests/tss2-public.py KEY.pem OUT.bin
import base64
import sys


def tlv(buf, i):
    """Returns (tag, value, next index) of the DER TLV at i."""
    tag, n = buf[i], buf[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[i:i + k], "big")
        i += k
    return tag, buf[i:i + n], i + n


def main():
    lines = [l for l in open(sys.argv[1]) if not l.startswith("-----")]
    der = base64.b64decode("".join(lines))
    _, body, _ = tlv(der, 0)
    i, strings = 0, []
    while i < len(body):
        tag, val, i = tlv(body, i)
        if tag == 0x04:             # OCTET STRING: pubkey, then privkey
            strings.append(val)
    with open(sys.argv[2], "wb") as out:
        out.write(strings[0])


main()
