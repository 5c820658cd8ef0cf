#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The seam to the hardware holds (docs/architecture.md): see check.py.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
exec python3 "$top_srcdir/tests/layering/check.py" "$top_srcdir"
