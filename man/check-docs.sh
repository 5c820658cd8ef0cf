#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The man pages, docs/ and the example config say what the code does, no
# more and no less: see man/check-docs.py.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
exec python3 "$top_srcdir/man/check-docs.py" "$top_srcdir" "$top_builddir"
