#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid register through the DPS emulator's fault switches: 429 on register
# and on poll (Retry-After honoured), several assigning polls, 500 and 503
# then success, a dropped connection, and the overall timeout.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-register.sh"
trap reg_cleanup EXIT

reg_setup
emu_conf "$T/config.json" 0 ""
emu_start

# elapsed COMMAND...: runs it, sets MS to the wall time in milliseconds
elapsed() {
    _t0=$(date +%s%N)
    "$@"
    MS=$(( ($(date +%s%N) - _t0) / 1000000 ))
}

# 429 on register, with Retry-After: 2
emu_conf "$T/c.json" 0 '"register_429": 1, "retry_after_429": 2'
emu_use "$T/c.json"
elapsed reg --csr "$T/op.csr" --out-chain "$T/a.pem"
expect_rc 0 "429 on register"
has "$T/err" "DPS throttled (429), retrying in 2 s" "429 progress line with Retry-After"
[ "$(grep -c 'register?api-version=.* -> 429' "$T/emu.log")" = 1 ] || fail "one 429 answered"
[ "$MS" -ge 2000 ] || fail "Retry-After 2 not honoured ($MS ms)"
[ -s "$T/a.pem" ] || fail "no chain after the 429"
ok "429 on register: waited Retry-After (2 s), then assigned ($MS ms)"

# 429 on poll
emu_conf "$T/c.json" 0 '"poll_429": 1, "retry_after_429": 1'
emu_use "$T/c.json"
reg
expect_rc 0 "429 on poll"
has "$T/err" "DPS throttled (429), retrying in" "429 progress line on poll"
[ "$(grep -c 'operations/.* -> 429' "$T/emu.log")" = 1 ] || fail "one poll 429 answered"
ok "429 on poll: the same poll retried, then assigned"

# several assigning polls
n0=$(grep -c 'operations/.* -> 202' "$T/emu.log" || true)
emu_conf "$T/c.json" 3 ""
emu_use "$T/c.json"
reg --csr "$T/op.csr" --out-chain "$T/b.pem"
expect_rc 0 "assigning polls"
[ "$(grep -c 'DPS is assigning, next poll in 1 s' "$T/err")" = 4 ] \
    || fail "expected 4 'assigning' waits (202 register + 3 polls)"
[ $(( $(grep -c 'operations/.* -> 202' "$T/emu.log") - n0 )) = 3 ] || fail "3 polls answered 202"
ok "3 assigning polls, each after Retry-After 1 s, then assigned"

# 500 then success, on register and on poll; 503 on poll
emu_conf "$T/c.json" 0 '"register_500": 1, "poll_500": 1, "poll_503": 1'
emu_use "$T/c.json"
reg --csr "$T/op.csr" --out-chain "$T/c.pem"
expect_rc 0 "500 then success"
has "$T/err" "DPS failed (HTTP 500), retrying in" "500 progress line"
has "$T/err" "DPS failed (HTTP 503), retrying in" "503 progress line"
[ -s "$T/c.pem" ] || fail "no chain after the 5xx answers"
ok "500 on register, 500 and 503 on poll: retried with backoff, then assigned"

# a connection closed without an answer is retried too
emu_conf "$T/c.json" 0 '"close_register": 1'
emu_use "$T/c.json"
reg
expect_rc 0 "dropped connection"
has "$T/err" "DPS closed the connection without an answer" "dropped-connection line"
ok "a dropped connection on register: retried, then assigned"

# the overall timeout, while DPS keeps assigning
emu_conf "$T/c.json" 1000 ""
emu_use "$T/c.json"
elapsed reg --csr "$T/op.csr" --out-chain "$T/t.pem" --timeout 3
expect_rc 8 "timeout"
has "$T/err" "timed out waiting for DPS" "timeout message"
has "$T/err" "3 s timeout" "timeout message names the limit"
has "$T/err" "finish assigning dev-01" "timeout says what it waited for"
[ "$MS" -lt 6000 ] || fail "the timeout took $MS ms"
[ ! -e "$T/t.pem" ] || fail "chain written after a timeout"
ok "timeout: exit 8 after $MS ms, naming what it waited for"

# a timeout while DPS keeps throttling the register
emu_conf "$T/c.json" 0 '"register_429": 100, "retry_after_429": 5'
emu_use "$T/c.json"
reg --timeout 2
expect_rc 8 "throttled past the timeout"
has "$T/err" "accept the registration of dev-01" "timeout names the register step"
has "$T/err" "429" "timeout names the last answer"
ok "throttled past the timeout: exit 8 naming the register step and the 429"

emu_stop
ok "the emulator stopped cleanly"
