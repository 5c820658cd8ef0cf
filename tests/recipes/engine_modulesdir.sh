#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The ENGINE "devid" finds the provider where devid was installed, also
# when that is not OpenSSL's modules folder (./configure
# --with-modulesdir=/opt/devid/lib/ossl-modules): it looks there after
# OpenSSL's own places, and names both when the provider is in neither.
# The engine under test is built with a modulesdir of this test's own
# (tests/recipes/recipes.inc); nothing activates devid in openssl.cnf.
set -euf
. "$top_srcdir/tests/lib.sh"
moddir=$top_builddir/tests/recipes/moddir/ossl-modules
devid_tmpdir
trap 'rm -rf "$TESTDIR" "$moddir"' EXIT
cd "$TESTDIR"
[ -f "$top_builddir/tests/recipes/moddir/.libs/devid.so" ] \
    || fail "the test's engine was not built (make check builds it)"

devid_mktoken "$TESTDIR" devid-moddir
devid_p11tool --keypairgen --key-type EC:prime256v1 --id 0c --label mod \
    >/dev/null
uri="pkcs11:token=devid-moddir;object=mod;type=private?module-path=$SOFTHSM_MODULE&pin-value=$DEVID_USER_PIN"
# OpenSSL's places hold no devid: an empty $OPENSSL_MODULES, no config
mkdir empty
OPENSSL_MODULES=$TESTDIR/empty
OPENSSL_ENGINES=$top_builddir/tests/recipes/moddir/.libs
OPENSSL_CONF=/dev/null
export OPENSSL_MODULES OPENSSL_ENGINES OPENSSL_CONF

rm -rf "$moddir"
if openssl pkey -engine devid -inform engine -in "$uri" -pubout \
    > none.pem 2> none.err; then
    fail "the engine loaded a key with no provider anywhere"
fi
grep -q "cannot load the OpenSSL provider 'devid': no devid.so in $TESTDIR/empty (\$OPENSSL_MODULES) nor in $moddir (devid's modulesdir)" none.err \
    || fail "the error does not name both places: $(cat none.err)"
ok "no provider: the engine's error names \$OPENSSL_MODULES and devid's modulesdir"

mkdir -p "$moddir"
cp "$top_builddir/.libs/devid.so" "$moddir/devid.so"
openssl pkey -engine devid -inform engine -in "$uri" -pubout > pub.pem \
    2> pub.err || fail "engine key load from devid's modulesdir: $(cat pub.err)"
grep -q 'BEGIN PUBLIC KEY' pub.pem || fail "no public key"
printf 'modulesdir\n' > data
openssl dgst -sha256 -engine devid -keyform engine -sign "$uri" -out sig \
    data 2> sign.err || fail "signing through the engine: $(cat sign.err)"
openssl dgst -sha256 -verify pub.pem -signature sig data >/dev/null \
    || fail "the signature does not verify"
ok "the engine loads the provider from devid's modulesdir and signs"
