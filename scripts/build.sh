#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the packages, then configures and builds devid in a build folder.
#   scripts/build.sh BUILDDIR [configure options...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$1
shift
sh "$top/scripts/install-deps.sh"
if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
    (cd "$top" && autoreconf -fi >/dev/null 2>&1)
fi
mkdir -p "$builddir"
cd "$builddir"
# configure again when the options differ from the last run's: the demo
# and the test suite share build folders but not options (test hooks)
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ] \
    || [ "$(cat .devid-configure-args 2>/dev/null)" != "$*" ]; then
    "$top/configure" --quiet "$@"
    printf '%s\n' "$*" >.devid-configure-args
fi
make -j"$(nproc)" >/dev/null
