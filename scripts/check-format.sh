#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs clang-format (.clang-format at the top of the tree) on the C lines
# changed since a base, and fails if their formatting differs. Lines nobody
# touched are never reformatted.
#   scripts/check-format.sh [--fix] [BASE]
# BASE: a commit; default origin/main if it exists, else main, else HEAD
# (then only the uncommitted changes count). The changes are the working tree,
# uncommitted edits and untracked .c/.h files included, against the commit
# where the branch left BASE. --fix rewrites those lines in place instead.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd -P)
fix=""
if [ "${1:-}" = "--fix" ]; then
    fix=-i
    shift
fi
base=${1:-}

# (a tarball unpacked inside some other checkout is not a checkout either)
if [ "$(git -C "$top" rev-parse --show-toplevel 2>/dev/null)" != "$top" ]; then
    echo "check-format: $top is not a git checkout: no changed lines to check"
    exit 0
fi
cfdiff=${CLANG_FORMAT_DIFF:-}
if [ -z "$cfdiff" ]; then
    for c in clang-format-diff clang-format-diff-14 clang-format-diff-15 \
        clang-format-diff-16; do
        if command -v "$c" >/dev/null 2>&1; then
            cfdiff=$c
            break
        fi
    done
fi
if [ -z "$cfdiff" ] || ! command -v clang-format >/dev/null 2>&1; then
    echo "check-format: clang-format and clang-format-diff are needed" \
        "(Debian package clang-format; scripts/install-deps.sh installs it)"
    exit 1
fi

cd "$top"
if [ -z "$base" ]; then
    for b in origin/main main HEAD; do
        if git rev-parse --verify -q "$b^{commit}" >/dev/null; then
            base=$b
            break
        fi
    done
fi
from=$(git merge-base "$base" HEAD)
echo "check-format: C lines changed since $base ($(git rev-parse --short "$from")), $(clang-format --version)"

patch=$(mktemp)
out=$(mktemp)
trap 'rm -f "$patch" "$out"' EXIT
git diff -U0 --no-color --no-ext-diff "$from" -- '*.c' '*.h' >"$patch"
git ls-files --others --exclude-standard -- '*.c' '*.h' | while read -r f; do
    git diff -U0 --no-color --no-index /dev/null "$f" >>"$patch" || true
done

# shellcheck disable=SC2086
"$cfdiff" -p1 -style file $fix <"$patch" >"$out"
if [ -n "$fix" ]; then
    echo "check-format: changed lines reformatted"
elif [ -s "$out" ]; then
    cat "$out"
    echo "check-format: the changed lines above are not formatted as .clang-format says;"
    echo "check-format: apply the diff, or run 'make format'"
    exit 1
fi
