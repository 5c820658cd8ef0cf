#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Key files under a persistent parent that has an auth value (made by
# tpm2-tools, and by tpm2-openssl with its parent/parent-auth options): the
# parent's auth comes from the tpm2-parent-auth setting (a value, file:PATH,
# or ask = the passphrase callback) or tpm2-openssl's
# TPM2OPENSSL_PARENT_AUTH. A refused parent auth reaches the TPM once: the
# lockout counter rises by exactly one, however many keys and decoders try.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
devid_tmpdir
trap 'devid_tpm_stop; rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"
TSS2_LOG=all+none
export TSS2_LOG

# a DA-protected storage parent (no noDA) with an auth value
tpm2_createprimary -Q -C o -G ecc256 -p 'parent pw' -c prim.ctx
tpm2_evictcontrol -Q -C o -c prim.ctx 0x81000008
tpm2_flushcontext -t
tpm2_create -Q -C 0x81000008 -P 'parent pw' -G ecc256 -u a.pub -r a.priv
tpm2_encodeobject -C 0x81000008 -P 'parent pw' -u a.pub -r a.priv -o a.pem
devid_tpm_keyfile_auth a.pem empty
tpm2_create -Q -C 0x81000008 -P 'parent pw' -G rsa2048 -u b.pub -r b.priv
tpm2_encodeobject -C 0x81000008 -P 'parent pw' -u b.pub -r b.priv -o b.pem
devid_tpm_keyfile_auth b.pem empty
devid_tpm2_openssl genpkey -provider tpm2 -provider base -algorithm EC \
    -pkeyopt group:P-256 -pkeyopt parent:0x81000008 \
    -pkeyopt 'parent-auth:parent pw' -out t.pem \
    || fail "tpm2-openssl genpkey under the parent"
tpm2_flushcontext -t
printf 'parent pw\n' > ppw
printf 'hello devid' > data

# conf SETTING: an openssl.cnf with both providers and one more setting
conf() {
    cat > devid.cnf <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
devid = devid_sect
[default_sect]
activate = 1
[devid_sect]
module = $OPENSSL_MODULES/devid.so
tcti = $DEVID_TCTI
$1
activate = 1
CNF
}
# sign KEY [ARGS]: sign with devid through openssl.cnf, verify in software
sign() {
    _k=$1
    shift
    OPENSSL_CONF=$TESTDIR/devid.cnf openssl dgst -sha256 -sign "$_k" "$@" \
        -out "$_k.sig" data || return 1
    OPENSSL_CONF=$TESTDIR/devid.cnf openssl pkey -in "$_k" "$@" -pubout \
        -out "$_k.pub" || return 1
    openssl dgst -sha256 -verify "$_k.pub" -signature "$_k.sig" data \
        | grep -q 'Verified OK'
}

start=$(devid_tpm_lockout_counter)
conf 'tpm2-parent-auth = parent pw'
for k in a.pem b.pem t.pem; do
    sign "$k" || fail "$k: tpm2-parent-auth as a value"
done
ok "tpm2-parent-auth = VALUE (tpm2-tools and tpm2-openssl keys)"
conf "tpm2-parent-auth = file:$TESTDIR/ppw"
sign a.pem || fail "tpm2-parent-auth = file:"
ok "tpm2-parent-auth = file:PATH"
conf 'tpm2-parent-auth = ask'
sign b.pem -passin 'pass:parent pw' || fail "tpm2-parent-auth = ask"
ok "tpm2-parent-auth = ask (the passphrase callback)"
conf ''
TPM2OPENSSL_PARENT_AUTH='parent pw' sign t.pem \
    || fail "TPM2OPENSSL_PARENT_AUTH"
ok "TPM2OPENSSL_PARENT_AUTH (tpm2-openssl's variable)"
[ "$(devid_tpm_lockout_counter)" -eq "$start" ] \
    || fail "the right parent auth raised the lockout counter"

# a file that cannot be read: nothing reaches the TPM
conf "tpm2-parent-auth = file:$TESTDIR/missing"
if sign a.pem 2> missing.err; then
    fail "a missing parent auth file was accepted"
fi
grep -q 'cannot read PIN source' missing.err \
    || fail "missing file: not devid's reason: $(cat missing.err)"
# ask without a callback answer
conf 'tpm2-parent-auth = ask'
if sign a.pem < /dev/null 2> ask.err; then
    fail "ask without an answer was accepted"
fi
grep -q 'PIN or auth value required' ask.err \
    || fail "ask: not devid's reason: $(cat ask.err)"
[ "$(devid_tpm_lockout_counter)" -eq "$start" ] \
    || fail "a parent auth that was never sent raised the lockout counter"
ok "an unreadable file or no answer fails before the TPM"

# the wrong value: refused once, never retried. openssl's decoders try the
# file more than once, and the s_server below opens two keys under the
# same parent: still exactly one failure at the TPM.
conf 'tpm2-parent-auth = not the pw'
if sign a.pem 2> wrong.err; then
    fail "a wrong parent auth was accepted"
fi
grep -q 'PIN or auth value incorrect' wrong.err \
    || fail "wrong auth: not devid's reason: $(cat wrong.err)"
grep -q 'parent 0x81000008 refused the auth value' wrong.err \
    || fail "wrong auth: the reason does not name the parent"
[ "$(devid_tpm_lockout_counter)" -eq "$((start + 1))" ] \
    || fail "lockout counter rose by $(($(devid_tpm_lockout_counter) - start)), not 1"
ok "a refused parent auth raises the lockout counter by exactly one"
