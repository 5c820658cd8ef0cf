#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""HTTPS GET with a client certificate whose key is in a token or TPM.

Python's ssl module is unchanged: load_cert_chain() gets the certificate
and the key's reference file, and OpenSSL hands the reference file to the
devid provider, which openssl.cnf activates (OPENSSL_CONF). Usage:

    OPENSSL_CONF=/etc/devid/openssl.cnf \\
        python3 python-mtls-client.py URL CA.pem CERT.pem KEY-REFERENCE.pem
"""
import http.client
import ssl
import sys
import urllib.parse


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    url, cafile, certfile, keyfile = argv[1:]
    parts = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    # the only devid-specific line there is: a reference file as keyfile
    ctx.load_cert_chain(certfile, keyfile=keyfile)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443,
                                       context=ctx, timeout=20)
    conn.connect()
    version = conn.sock.version()
    conn.request("GET", parts.path or "/")
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    sys.stdout.write(body.decode("utf-8", "replace"))
    print("status %d over %s" % (resp.status, version), file=sys.stderr)
    return 0 if resp.status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
