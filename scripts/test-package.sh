#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages in a fresh Debian 12 root, uses them as an
# administrator would, purges them and checks that nothing is left.
#
#   sh scripts/test-package.sh [DEBDIR]
#
# DEBDIR holds the devid-provider, devid and devid-emulator .deb files
# (default: the folder above the source tree, where
# "dpkg-buildpackage -us -uc -b" puts them). Run as root. Slow (minutes),
# so scripts/test.sh does not run it.
#
# The root is made once, by debootstrap --variant=minbase from the archive
# this machine's apt uses, and kept in $DEVID_PKG_CACHE (default
# /var/cache/devid-test-package). Each run works on an overlay of it, in
# private mount and PID namespaces: the cached root stays pristine, and
# every mount (and process) of the run ends with the namespace, before the
# run's folder is removed.
#
# In the root it:
#  1. installs the tools the test itself uses (softhsm2, openssl, man-db,
#     p11-kit)
#     and what the packages depend on, then lists every file;
#  2. installs the three packages with dpkg;
#  3. runs devid --version and man devid (and the provider and config
#     pages), makes a key in a SoftHSM token with devid keygen, signs with
#     it through an openssl.cnf that activates devid, and checks the
#     signature with OpenSSL's default provider alone, and checks that
#     p11-kit lists the devid PKCS#11 module without any setup;
#  4. purges the packages and lists every file again: any file that was
#     not there in 1. is an error.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
debdir=$(cd "${1:-$top/..}" && pwd)
cache=${DEVID_PKG_CACHE:-/var/cache/devid-test-package}
base=$cache/bookworm
suite=bookworm

die() {
    echo "test-package: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, namespaces, chroot)"

debs=""
for p in devid-provider devid devid-emulator; do
    # the newest build of each package (names are ours: ls is fine)
    # shellcheck disable=SC2012
    f=$(ls -t "$debdir"/"${p}"_*.deb 2>/dev/null | head -n 1)
    [ -n "$f" ] || die "no ${p}_*.deb in $debdir (build with: dpkg-buildpackage -us -uc -b)"
    debs="$debs $f"
done

# The archive apt uses here: a deb822 stanza or a one-line entry for the
# suite (the first one that is not the security archive).
mirror() {
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v s="$suite" '
            /^URIs:/ { u = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) { print u; exit } }
            /^$/ { u = "" }' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed -e 's/\[[^]]*\]//' \
        | awk -v s="$suite" '$1 == "deb" && $3 == s { print $2 }'
}

if [ ! -x "$base/bin/sh" ]; then
    url=$(mirror | grep -v security | head -n 1)
    [ -n "$url" ] || die "no $suite archive in /etc/apt/sources.list*"
    command -v debootstrap >/dev/null || die "debootstrap is not installed"
    echo "test-package: making the $suite root in $base from $url"
    mkdir -p "$cache"
    # a half-made root from an interrupted run has no mounts: debootstrap
    # mounts nothing with --variant=minbase when it is not asked to
    rm -rf "$base.new"
    debootstrap --variant=minbase "$suite" "$base.new" "$url" >"$cache/debootstrap.log" 2>&1 \
        || die "debootstrap failed: see $cache/debootstrap.log"
    mv "$base.new" "$base"
fi

run=$(mktemp -d /var/tmp/devid-test-package.XXXXXX)
mkdir "$run/upper" "$run/work" "$run/root" "$run/debs"
# shellcheck disable=SC2086
cp $debs "$run/debs/"

cat >"$run/inner.sh" <<'INNER'
#!/bin/sh
# runs in the root, as root
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin
step() { echo "== $*"; }
fail() { echo "FAIL: $*"; exit 1; }

# Everything but what a package may rightly leave: logs, caches, apt and
# dpkg bookkeeping, and the test's own files in /tmp.
files() {
    find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run \
        -o -path /tmp -o -path /var/tmp -o -path /var/log -o -path /var/cache \
        -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /root \) -prune \
        -o -print | sort
}

step "the test's tools and the packages' dependencies"
apt-get update -qq
apt-get install -y -qq --no-install-recommends softhsm2 openssl man-db p11-kit >/dev/null
deps=$(for d in /debs/*.deb; do dpkg-deb -f "$d" Depends; done | paste -sd, -)
apt-get satisfy -y -qq --no-install-recommends "$deps" >/dev/null
files >/tmp/files.before

step "install"
dpkg -i /debs/*.deb
dpkg -L devid-provider devid devid-emulator | sort -u >/tmp/owned

step "devid --version"
devid --version
devid --version | grep -q '^devid [0-9]' || fail "devid --version"

step "man devid"
MANPAGER=cat MANWIDTH=80 man devid >/tmp/man.txt 2>/tmp/man.err \
    || { cat /tmp/man.err; fail "man devid"; }
grep -q 'devid keygen' /tmp/man.txt || fail "man devid has no keygen"
grep -q 'EXIT STATUS' /tmp/man.txt || fail "man devid has no EXIT STATUS"
sed -n '1,12p' /tmp/man.txt
for page in devid.conf devid-provider devid-dps-emulator devid-emulators devid-hub-standin; do
    MANPAGER=cat man "$page" >/dev/null 2>&1 || fail "man $page"
done
[ -f /lib/systemd/system/devid-renew.timer ] || fail "no devid-renew.timer"
[ -f /etc/devid/devid.conf.example ] || fail "no devid.conf.example"
devid-dps-emulator --help >/dev/null || fail "devid-dps-emulator --help"

step "a key in a SoftHSM token, made by devid keygen"
mkdir -p /tmp/tokens
printf 'directories.tokendir = /tmp/tokens\nobjectstore.backend = file\n' >/tmp/softhsm2.conf
export SOFTHSM2_CONF=/tmp/softhsm2.conf
softhsm2-util --init-token --free --label dev --pin 1234 --so-pin 123456 >/dev/null
printf '1234\n' >/tmp/pin
chmod 600 /tmp/pin
module=$(dpkg -L softhsm2 libsofthsm2 2>/dev/null | grep '/libsofthsm2\.so$' | head -n 1)
[ -n "$module" ] || fail "libsofthsm2.so not found"
cat >/tmp/devid.conf <<EOF
pkcs11-module-path = $module
pin-source = file:/tmp/pin
EOF
devid --config /tmp/devid.conf keygen --type ec-p256 --out /tmp/device-key.pem \
    'pkcs11:token=dev;object=device'
grep -q 'BEGIN PKCS#11 PROVIDER URI' /tmp/device-key.pem || fail "no reference file"

step "sign through an openssl.cnf that activates devid"
cat >/tmp/openssl.cnf <<EOF
openssl_conf = openssl_init

[openssl_init]
providers = provider_sect

[provider_sect]
default = default_sect
devid = devid_sect

[default_sect]
activate = 1

[devid_sect]
pkcs11-module-path = $module
pkcs11-module-token-pin = file:/tmp/pin
activate = 1
EOF
OPENSSL_CONF=/tmp/openssl.cnf openssl list -providers | grep -q devid \
    || fail "devid is not active"
printf 'telemetry\n' >/tmp/msg
OPENSSL_CONF=/tmp/openssl.cnf openssl dgst -sha256 -sign /tmp/device-key.pem \
    -out /tmp/msg.sig /tmp/msg
OPENSSL_CONF=/tmp/openssl.cnf openssl pkey -in /tmp/device-key.pem -pubout -out /tmp/pub.pem
# verified by OpenSSL alone: the signature is real
OPENSSL_CONF=/dev/null openssl dgst -sha256 -verify /tmp/pub.pem \
    -signature /tmp/msg.sig /tmp/msg
step "p11-kit finds the PKCS#11 module with no setup"
p11-kit list-modules 2>/dev/null | grep -q 'devid' \
    || fail "p11-kit does not list the devid module"
step "the ENGINE"
OPENSSL_CONF=/dev/null openssl engine -t devid | grep -q available \
    || fail "the devid engine does not load"

step "purge"
dpkg --purge devid-emulator devid devid-provider
files >/tmp/files.after
if ! diff -u /tmp/files.before /tmp/files.after >/tmp/left; then
    cat /tmp/left
    fail "the purge left files behind (+ lines above)"
fi
if dpkg -l 'devid*' 2>/dev/null | grep -q '^[a-z][a-z] '; then
    dpkg -l 'devid*'
    fail "dpkg still knows a devid package"
fi
step "PASS: installed, used, purged; nothing left"
INNER

rc=0
# The mounts live in the namespace only: when it ends they are gone.
# shellcheck disable=SC2016 # expanded by the inner shell, from its $1 $2
unshare --mount --pid --fork --propagation private /bin/sh -eu -c '
    run=$1 base=$2
    mount -t overlay overlay \
        -o "lowerdir=$base,upperdir=$run/upper,workdir=$run/work" "$run/root"
    mount -t proc proc "$run/root/proc"
    mkdir -p "$run/root/debs"
    mount --bind "$run/debs" "$run/root/debs"
    cp /etc/resolv.conf "$run/root/etc/resolv.conf"
    cp "$run/inner.sh" "$run/root/inner.sh"
    exec chroot "$run/root" /bin/sh /inner.sh
' sh "$run" "$base" || rc=$?

# never remove a folder with something mounted in it
if grep -q " $run" /proc/self/mountinfo; then
    die "mounts left under $run; not removing it"
fi
rm -rf "$run"
[ "$rc" = 0 ] || die "FAILED (exit $rc)"
echo "test-package: PASS"
