#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Instructions per operation, counted by callgrind (repeatable where timings
# are not): the signing driver's loop only (--toggle-collect), split by
# function. Sourced by run.sh after bench/lib.sh, with its token set up:
#   bench_callgrind LABEL CNF COUNT DRIVER ARGS...
# prints one JSON line: Ir per operation in total and for the functions on
# the signing path (inclusive), and the module's share (C_SignInit +
# C_Sign), so that "what devid adds" is the total less the module's share.
# shellcheck shell=sh

bench_callgrind() {
    _label=$1 _cnf=$2 _count=$3
    shift 3
    _out=$BENCH_WORK/callgrind.$(printf '%s' "$_label" | tr '/' '_')
    OPENSSL_CONF=$_cnf valgrind --tool=callgrind \
        --toggle-collect=devid_bench_loop --callgrind-out-file="$_out" \
        "$@" --count "$_count" --warmup 3 >/dev/null 2>"$_out.err" \
        || bench_die "callgrind $_label: $(tail -5 "$_out.err")"
    callgrind_annotate --inclusive=yes --threshold=100 "$_out" 2>/dev/null \
        | python3 "$BENCH_TOP/bench/report.py" --callgrind "$_label" "$_count"
}
