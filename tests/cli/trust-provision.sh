#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14, item 3: provision applies the legacy DPS trustBundle through the
# lifecycle renew uses. Only CA certificates (CA:TRUE with keyCertSign)
# become anchors, the manifest records them with the bundle's etag, and a
# later bundle removes what it no longer holds. install --trust-bundle
# follows the same rules.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-register.sh"
. "$top_srcdir/tests/cli/lib-hostile.sh"
trap reg_cleanup EXIT

hostile_setup
printf 'trust-dir = %s\n' "$T/trust" >> "$T/dev.conf"
mkdir "$T/other"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/other/ca.key" -out "$T/other/ca.pem" -days 2 \
    -subj "/CN=devid other CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
# a CA certificate whose key may not sign certificates
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/nosign.key" -out "$T/nosign.pem" -days 2 \
    -subj "/CN=devid CA without keyCertSign" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,digitalSignature 2>/dev/null
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
CA=$(fp "$T/ca/ca.pem")
OTHER=$(fp "$T/other/ca.pem")
LEAF=$(fp "$T/ca/server.pem")
NOSIGN=$(fp "$T/nosign.pem")

# bundle ETAG PEM...: the fake DPS's mode with a legacy trustBundle
bundle() {
    python3 - "$T/mode.json" "$@" <<'PY'
import json, sys
etag, pems = sys.argv[2], sys.argv[3:]
certs = [{"certificate": open(p).read(), "metadata": {}} for p in pems]
json.dump({"state": {"trustBundle": {"etag": etag, "certificates": certs}}},
          open(sys.argv[1], "w"))
PY
}

# anchors: the SHA-256 fingerprints of the hashed files in trust-dir
anchors() {
    find "$T/trust" -name '????????.*' -type f | while read -r f; do
        fp "$f"
    done | sort | tr '\n' ' '
}

# manifest KEY: a member of the trust manifest (lists space-separated)
manifest() {
    python3 - "$T/trust/.devid-trust.json" "$1" <<'PY'
import json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print(" ".join(sorted(v)) if isinstance(v, list) else v)
PY
}

sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }

bundle '"e1"' "$T/ca/ca.pem" "$T/ca/server.pem" "$T/other/ca.pem" "$T/nosign.pem"
dev provision
expect_rc 0 "provision with a trust bundle"
[ "$(anchors)" = "$(sorted "$CA" "$OTHER")" ] \
    || fail "anchors after the first bundle: $(anchors)"
[ "$(manifest bundle_etag)" = '"e1"' ] || fail "manifest etag: $(manifest bundle_etag)"
[ "$(manifest bundle) " = "$(sorted "$CA" "$OTHER")" ] || fail "manifest bundle: $(manifest bundle)"
has "$T/err" "not a CA certificate" "the left-out certificates are not reported"
case "$(anchors)" in *"$LEAF"*|*"$NOSIGN"*) fail "a non-CA anchor" ;; esac
ok "provision: the bundle's 2 CA certificates are anchors, the leaf and the CA without keyCertSign are not; manifest has etag e1"

bundle '"e2"' "$T/other/ca.pem"
dev provision --force
expect_rc 0 "provision with a second bundle"
[ "$(anchors)" = "$(sorted "$OTHER")" ] || fail "anchors after the second bundle: $(anchors)"
[ "$(manifest bundle_etag)" = '"e2"' ] || fail "manifest etag e2"
ok "provision --force with bundle e2: the anchor e2 no longer holds is removed"

bundle '"e2"' "$T/other/ca.pem" "$T/ca/ca.pem"
dev provision --force
expect_rc 0 "provision with the same etag"
[ "$(anchors)" = "$(sorted "$OTHER")" ] || fail "an unchanged etag was applied"
ok "the same etag again: skipped"

# install --trust-bundle: the same rules, and it replaces the DPS bundle
cat "$T/ca/ca.pem" "$T/ca/server.pem" > "$T/local-bundle.pem"
hostile_mode '{}'
dev provision --force
expect_rc 0 "provision without a bundle"
cp "$T/last-chain.pem" "$T/chain.pem"
dev install --cert "$T/chain.pem" --key "$T/op.ref" --trust-bundle "$T/local-bundle.pem"
expect_rc 0 "install --trust-bundle"
[ "$(anchors)" = "$(sorted "$CA")" ] || fail "anchors after install: $(anchors)"
ok "install --trust-bundle: only the CA certificate, and the older bundle's anchor removed"
