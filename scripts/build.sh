#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the packages, then configures and builds devid in a build folder.
#   scripts/build.sh BUILDDIR [configure options...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$1
shift
sh "$top/scripts/install-deps.sh"
stale=""
for f in "$top/configure.ac" "$top"/m4/devid.m4; do
    [ "$f" -nt "$top/configure" ] && stale=1
done
if [ ! -x "$top/configure" ] || [ -n "$stale" ]; then
    # quiet when it works; its own words (a missing macro, say) when not
    if ! (cd "$top" && autoreconf -fi) > "$top/autoreconf.log" 2>&1; then
        cat "$top/autoreconf.log" >&2
        echo "devid: autoreconf failed" >&2
        exit 1
    fi
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
