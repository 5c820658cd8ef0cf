#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package devid needs to build, test and run its demo
# (Debian 12; the same names serve Debian 13 and sid), and with --fuzz,
# also what scripts/fuzz.sh needs.
# Safe to run again: apt-get skips what is already installed.
set -eu

# What the scripts and tests run, beside the build: openssl, softhsm2-util,
# pkcs11-tool (opensc), swtpm, tpm2_* (tpm2-tools), curl, mosquitto and
# its clients, nginx, python3, strace, ss (iproute2), timeout and friends
# (coreutils), objdump (binutils, for configure), clang-format and git
# (make check-style).
PKGS="build-essential binutils autoconf automake libtool pkg-config
  libssl-dev openssl libp11-kit-dev p11-kit libcunit1-dev
  softhsm2 opensc gnutls-bin libnss3-tools
  libtss2-dev tpm2-tools swtpm swtpm-tools tpm2-openssl
  libjson-c-dev libevent-dev libcurl4-openssl-dev curl
  mosquitto mosquitto-clients libmosquitto-dev mosquitto-dev
  nginx python3 strace ltrace valgrind ca-certificates
  iproute2 coreutils clang-format git scdoc"

# --fuzz: also clang and its libFuzzer runtime, for scripts/fuzz.sh only
if [ "${1:-}" = --fuzz ]; then
    PKGS="$PKGS clang libclang-rt-dev"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "devid: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# The machine's own services (a packaged mosquitto or nginx) are left as
# they are: tests start their own instances on free loopback ports.
exit 0
