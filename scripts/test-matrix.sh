#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The test suite on the OpenSSL versions devid supports beyond the host's
# (Debian 12, OpenSSL 3.0):
#   trixie    Debian 13, OpenSSL 3.5: the whole suite (see run_root)
#   sid       Debian sid, OpenSSL 3.6: the whole suite (see run_root)
#   ossl4     Debian sid plus experimental's OpenSSL 4.0: a -Werror build,
#             and every test whose programs use that libssl (see ossl4_run)
# Each root is made once with debootstrap --variant=minbase from the Debian
# archive this machine's apt uses, and kept under $DEVID_MATRIX_CACHE
# (default /var/cache/devid-matrix) for later runs. Every run happens in a
# private mount and PID namespace: the mounts a root needs (/proc, /dev,
# /tmp) and every process a test leaves behind go away with it.
#   scripts/test-matrix.sh [--prepare] [trixie|sid|ossl4 ...]   (default: all)
# --prepare only makes (or checks) the roots and runs no test.
# Needs root, util-linux's unshare and Debian's archive (it installs
# debootstrap itself). Exits non-zero when any root fails.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${DEVID_MATRIX_CACHE:-/var/cache/devid-matrix}
prepare=""
if [ "${1:-}" = --prepare ]; then
    prepare=1
    shift
fi
roots=${*:-trixie sid ossl4}

say() {
    printf '== matrix: %s\n' "$*"
}

die() {
    printf 'matrix: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, namespaces)"

# mirror: the first Debian archive URI apt uses here (one-line or deb822)
mirror() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        sed -n -e 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' \
            -e 's/^URIs: *\([^ ]*\).*/\1/p' "$f"
    done | grep -v -e security -e '^cdrom' | grep -m1 /debian
}

# mounted_under DIR: prints the mount points at or below DIR (none: empty)
mounted_under() {
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

# safe_rm DIR: removes DIR, refusing while anything is mounted inside it
safe_rm() {
    [ -e "$1" ] || return 0
    _m=$(mounted_under "$1")
    [ -z "$_m" ] || die "not removing $1: mounted inside: $_m"
    rm -rf "$1"
}

# in_ns ROOT COMMAND...: runs COMMAND chrooted in ROOT inside a new mount
# and PID namespace with /proc, /dev and a fresh /tmp; the namespace (its
# mounts and any process left running) ends when COMMAND does
in_ns() {
    _root=$1
    shift
    cp /etc/resolv.conf "$_root/etc/resolv.conf" 2>/dev/null || :
    unshare --mount --pid --fork --propagation private \
        --mount-proc="$_root/proc" sh -euc '
        r=$1; shift
        mount --rbind /dev "$r/dev"
        mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
        mount -t sysfs sysfs "$r/sys"
        exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" "$@"
    ' in_ns "$_root" "$@"
}

# apt_conf ROOT: the root's apt accepts a frozen archive snapshot (Release
# files past Valid-Until); signatures are still checked
apt_conf() {
    cat > "$1/etc/apt/apt.conf.d/99devid-matrix" <<'CONF'
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
Acquire::Retries "3";
CONF
}

# make_root NAME SUITE: debootstraps $cache/NAME once; a root is only
# kept (renamed into place) when debootstrap finished
make_root() {
    _dir=$cache/$1
    if [ -f "$_dir/.devid-matrix-ok" ]; then
        return 0
    fi
    say "$1: making a Debian $2 root (debootstrap --variant=minbase, $archive)"
    safe_rm "$_dir.new"
    safe_rm "$_dir"
    mkdir -p "$cache/debs/$2"
    # in its own mount namespace too: debootstrap mounts /proc and /sys
    # inside the root, and those mounts must not outlive it
    if ! unshare --mount --propagation private debootstrap --variant=minbase \
        --cache-dir="$cache/debs/$2" \
        --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
        "$2" "$_dir.new" "$archive" > "$cache/logs/$1-debootstrap.log" 2>&1; then
        tail -20 "$cache/logs/$1-debootstrap.log"
        die "$1: debootstrap failed (log: $cache/logs/$1-debootstrap.log)"
    fi
    apt_conf "$_dir.new"
    touch "$_dir.new/.devid-matrix-ok"
    mv "$_dir.new" "$_dir"
}

# ossl4_prepare ROOT: adds experimental and installs its OpenSSL (the
# development files and the openssl binary); fails unless that is 4.x
ossl4_prepare() {
    _r=$1
    if [ ! -f "$_r/.devid-matrix-ossl4" ]; then
        echo "deb $archive experimental main" > "$_r/etc/apt/sources.list.d/experimental.list"
        in_ns "$_r" sh -c 'apt-get update -qq && apt-cache policy libssl-dev openssl' \
            > "$cache/logs/ossl4-policy.log" 2>&1 \
            || { cat "$cache/logs/ossl4-policy.log"; die "ossl4: apt-get update failed"; }
        sed 's/^/   /' "$cache/logs/ossl4-policy.log"
        _v=$(in_ns "$_r" sh -c "apt-cache madison libssl-dev | awk '/experimental/ { print \$3; exit }'")
        case "$_v" in
            4.*) ;;
            *) die "ossl4: experimental has libssl-dev '${_v:-none}', not OpenSSL 4" ;;
        esac
        say "ossl4: installing OpenSSL $_v from experimental"
        in_ns "$_r" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t experimental libssl-dev openssl' \
            > "$cache/logs/ossl4-install.log" 2>&1 \
            || { tail -20 "$cache/logs/ossl4-install.log"; die "ossl4: installing OpenSSL 4 failed"; }
        touch "$_r/.devid-matrix-ossl4"
    fi
}

# copy_source ROOT: the work tree's files (tracked and untracked, not
# ignored: no build output) into ROOT/src, fresh each run
copy_source() {
    safe_rm "$1/src"
    mkdir -p "$1/src"
    if [ -d "$top/.git" ] || [ -f "$top/.git" ]; then
        (cd "$top" && git ls-files -z --cached --others --exclude-standard \
            | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
            | tar --null -T - -cf -) | tar -C "$1/src" -xf -
    else
        (cd "$top" && tar --exclude=./build -cf - .) | tar -C "$1/src" -xf -
    fi
}

# totals LOG...: "N passed, N failed, N skipped" summed over automake logs
totals() {
    awk '/^# PASS:/ { p += $3 } /^# (FAIL|ERROR|XPASS):/ { f += $3 }
        /^# SKIP:/ { s += $3 }
        END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$@"
}

# run_root NAME: the whole suite in root NAME, as the first pass of
# scripts/test.sh runs it: scripts/build.sh (which installs the packages
# with scripts/install-deps.sh) with -Werror and the test hooks, then make
# check, where a skipped test fails. test.sh's ASan/UBSan pass (the same
# tests again) and fuzzing run on the host only: in every root they would
# double CI's time and install clang there.
run_root() {
    _r=$cache/$1
    copy_source "$_r"
    say "$1: scripts/build.sh and make check (log: $cache/logs/$1.log)"
    _rc=0
    in_ns "$_r" sh -c '
        set -e
        cd /src
        sh scripts/build.sh build/default --enable-werror --enable-test-hooks
        if ! make -C build/default -j"$(nproc)" check > build/default/check.log 2>&1; then
            grep -E "^(FAIL|ERROR|XPASS)" build/default/check.log || :
            for l in $(grep -lE "^(FAIL|ERROR)" $(find build/default/tests -name "*.log")); do
                echo "---- $l"; tail -40 "$l"
            done
            exit 1
        fi
        grep "^# [A-Z]*: " build/default/check.log
        if grep -qE "^# SKIP: *[1-9]" build/default/check.log; then
            grep "^SKIP" build/default/check.log
            echo "tests were skipped: that counts as a failure"
            exit 1
        fi
    ' > "$cache/logs/$1.log" 2>&1 || _rc=$?
    sed 's/^/   /' "$cache/logs/$1.log" | grep -v -e '^   make\[' | tail -40
    _ver=$(in_ns "$_r" openssl version 2>/dev/null || echo "openssl ?")
    _logs=$(ls "$_r"/src/build/*/check.log 2>/dev/null || :)
    # shellcheck disable=SC2086
    _sum=$( [ -n "$_logs" ] && totals $_logs || echo "0 passed, 0 failed, 0 skipped")
    # the builds whose make check ran (test.sh stops after a failed pass)
    _builds=$(for _l in $_logs; do basename "$(dirname "$_l")"; done | tr '\n' ' ')
    printf '%s: %s: %s (builds: %s)\n' "$1" "$_ver" "$_sum" "${_builds% }" >> "$summary"
    return "$_rc"
}

# ossl4_run: OpenSSL 4.0 in sid. sid's libcurl, libevent_openssl,
# libmosquitto, Python's ssl module, curl, mosquitto and nginx are all linked
# to OpenSSL 3 (libssl.so.3), so:
# - configure must refuse the CLI and emulator (they hand OpenSSL objects to
#   libcurl and libevent) and name both libraries: checked here;
# - the build leaves them out (--disable-tools), and the ENGINE shim too
#   (no ENGINE API in 4.0), with -Werror;
# - every test whose programs use OpenSSL 4 runs: the unit tests (their own
#   programs), tests/tls and tests/tpm2 (the openssl binary, which is 4.0),
#   the PKCS#11 module's tests that need no devid CLI, and the source
#   checks (python3 without ssl); SoftHSM, pkcs11-tool and
#   tpm2-tools link OpenSSL 3 but run in their own processes, or behind
#   PKCS#11 and TSS2 calls that pass no OpenSSL object;
# - the tests in tests/recipes are skipped, each named with its reason.
ossl4_run() {
    _r=$cache/ossl4
    _log=$cache/logs/ossl4.log
    copy_source "$_r"
    say "ossl4: configure must refuse the CLI against sid's libcurl (log: $_log)"
    : > "$_log"
    if in_ns "$_r" sh -c 'cd /src && sh scripts/build.sh build/refuse --enable-werror' >> "$_log" 2>&1; then
        echo "ossl4: configure accepted a libcurl linked to OpenSSL 3" | tee -a "$summary"
        return 1
    fi
    if ! grep -q 'libcurl.*libssl\.so\.3.*OpenSSL 4' "$_log"; then
        tail -5 "$_log"
        echo "ossl4: configure failed, not naming libcurl's libssl.so.3 and OpenSSL 4" | tee -a "$summary"
        return 1
    fi
    grep 'configure: error' "$_log" | sed 's/^/   /'
    say "ossl4: build (--enable-werror --disable-tools) and make check"
    _rc=0
    in_ns "$_r" sh -c '
        set -e
        cd /src
        sh scripts/build.sh build/ossl4 --enable-werror --disable-tools 2>&1 | grep -i engine || :
        all=$(printf "print-tests:\n\t@echo \$(TESTS)\n" | make -s -C build/ossl4 -f Makefile -f - print-tests)
        run="" skipped=""
        for t in $all; do
            case "$t" in
                tests/recipes/*) skipped="$skipped $t" ;;
                *) run="$run $t" ;;
            esac
        done
        for t in $skipped; do
            echo "SKIP (not run here): $t: runs curl, mosquitto, nginx or python3 ssl, linked to libssl.so.3"
        done
        echo "not built here: tests/cli, tests/emulator and the tests/p11module tests that provision with the CLI (--disable-tools: libcurl and libevent_openssl link libssl.so.3)"
        echo "not built here: the ENGINE recipe tests (OpenSSL 4.0 has no ENGINE API)"
        make -C build/ossl4 -j"$(nproc)" check TESTS="$run" > build/ossl4/check.log 2>&1 || {
            grep -E "^(FAIL|ERROR)" build/ossl4/check.log
            for l in $(grep -lE "^(FAIL|ERROR)" $(find build/ossl4/tests -name "*.log")); do
                echo "---- $l"; tail -30 "$l"
            done
            exit 1
        }
        grep "^# [A-Z]*: " build/ossl4/check.log
    ' >> "$_log" 2>&1 || _rc=$?
    grep -v -e '^make\[' -e '^---- ' "$_log" | sed -n '/WARNING.*ENGINE/,$p' | sed 's/^/   /'
    _ver=$(in_ns "$_r" openssl version 2>/dev/null || echo "openssl ?")
    _sum=$(totals "$_r/src/build/ossl4/check.log" 2>/dev/null || echo "0 passed, 0 failed, 0 skipped")
    _nskip=$(grep -c '^SKIP (not run here)' "$_log" || :)
    printf 'ossl4: %s: %s (default build; %s recipe tests not run: other libssl)\n' \
        "$_ver" "$_sum" "$_nskip" >> "$summary"
    return "$_rc"
}

set_summary() {
    summary=$cache/logs/summary.txt
    : > "$summary"
}

mkdir -p "$cache/logs"
archive=$(mirror)
[ -n "$archive" ] || die "no Debian archive found in /etc/apt/sources.list*"
command -v debootstrap >/dev/null 2>&1 || {
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
command -v unshare >/dev/null 2>&1 || die "needs unshare (util-linux)"

# one matrix run at a time on this machine: roots are shared state
exec 9> "$cache/lock"
flock 9
set_summary

failed=""
for name in $roots; do
    case "$name" in
        trixie) make_root trixie trixie ;;
        sid) make_root sid sid ;;
        ossl4) make_root ossl4 sid && ossl4_prepare "$cache/ossl4" ;;
        *) die "unknown root $name (trixie, sid, ossl4)" ;;
    esac
    [ -z "$prepare" ] || continue
    case "$name" in
        ossl4) ossl4_run || failed="$failed $name" ;;
        *) run_root "$name" || failed="$failed $name" ;;
    esac
done
[ -z "$prepare" ] || exit 0
say "summary"
cat "$summary"
[ -z "$failed" ] || die "failed in:$failed"
# the closing line: all roots together
grep -o '[0-9]* passed, [0-9]* failed' "$summary" \
    | awk '{ p += $1; f += $3 } END { printf "matrix: %d passed, %d failed\n", p, f }'
