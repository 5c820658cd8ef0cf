#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14, item 1: a leaf that devid could not use never replaces one that
# works. Against a hostile DPS that signs our CSR but makes the leaf not
# valid yet, expired, named after another device, or signed by an impostor
# CA, provision --force, renew and install each exit 9, write nothing (no
# certificate object in the token, no identity directory) and keep the old
# identity in use.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-register.sh"
. "$top_srcdir/tests/cli/lib-hostile.sh"
trap reg_cleanup EXIT

hostile_setup

# a good identity first
hostile_mode '{}'
dev provision
expect_rc 0 "provision with a good leaf"
first=$(readlink "$T/dev/current")
certs=$(token_certs)
ids=$(identities)
[ "$certs" -ge 1 ] || fail "no certificate object after provision"
ok "provision with a good leaf: identity $first, $certs certificate objects"

# unchanged DESCRIPTION: the old identity is in use, nothing was added
unchanged() {
    [ "$(readlink "$T/dev/current")" = "$first" ] || fail "$1: current switched"
    [ "$(token_certs)" = "$certs" ] || fail "$1: certificate objects changed"
    [ "$(identities)" = "$ids" ] || fail "$1: an identity directory was made"
}

# refused MODE TEXT DESCRIPTION: provision --force and renew --force both
# refuse what the fake DPS issues in MODE, and install refuses that chain
refused() {
    hostile_mode "$1"
    dev provision --force
    expect_rc 9 "provision: $3"
    has "$T/err" "$2" "provision: $3: message"
    hasnt "$T/err" "provisioned" "provision: $3: success claimed"
    unchanged "provision: $3"
    cp "$T/last-chain.pem" "$T/bad.pem"
    dev renew --force
    expect_rc 9 "renew: $3"
    has "$T/err" "$2" "renew: $3: message"
    unchanged "renew: $3"
    dev install --cert "$T/bad.pem" --key "$T/op.ref" --to files \
        --state-dir "$T/inst"
    expect_rc 9 "install: $3"
    has "$T/err" "$2" "install: $3: message"
    [ ! -e "$T/inst/current" ] || fail "install: $3: installed"
    ok "$3: provision --force, renew and install exit 9, nothing written"
}

refused '{"start": 172800, "end": 2592000}' "not valid yet" \
    "a leaf valid only from 2 days ahead"
refused '{"start": -864000, "end": -60}' "has expired" "an expired leaf"
refused '{"cn": "dev-02"}' "subject CN is not the registration ID dev-01" \
    "a leaf for another registration ID"
refused '{"cn": "dev-01x"}' "subject CN is not the registration ID dev-01" \
    "a leaf whose CN only starts with the registration ID"
refused '{"signer": "impostor"}' "does not verify" \
    "a leaf signed by another CA of the same name"

# status still describes the first identity and finds nothing wrong with it
dev status
expect_rc 0 "status after the refusals"
ok "status: the old identity in use"

# the good case through renew: the checks do not refuse a good leaf
hostile_mode '{}'
dev renew --force
[ "$RC" -ne 9 ] || { cat "$T/err"; fail "renew refused a good leaf"; }
ok "a good leaf passes the checks in renew (exit $RC at the hub test)"
