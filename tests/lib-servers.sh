# SPDX-License-Identifier: Apache-2.0
# Servers the tests start on loopback, on ports nobody can take first:
# openssl s_server binds port 0 and says which port it got; mosquitto and
# nginx, which cannot, start on a port that was free a moment ago, and their
# callers start them again on another one when srv_listens says they lost
# it. Each is stopped by its PID.
# Sourced after tests/lib.sh (fail, devid_freeport), never run.
# shellcheck shell=sh

# srv_s_server LOG ARGS...: openssl s_server ARGS on 127.0.0.1 and a port of
# its own choosing (everything it prints goes to LOG); sets SERVER_PID and
# SERVER_PORT once it listens
srv_s_server() {
    _log=$1
    shift
    # emptied here, not by the background job's redirection: the loop below
    # must never read an earlier server's ACCEPT line
    : > "$_log"
    openssl s_server -accept 127.0.0.1:0 "$@" >> "$_log" 2>&1 &
    SERVER_PID=$!
    _n=0
    SERVER_PORT=""
    while [ -z "$SERVER_PORT" ]; do
        # "ACCEPT 127.0.0.1:PORT" comes once the socket listens
        SERVER_PORT=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$_log")
        [ -n "$SERVER_PORT" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$_log"; fail "openssl s_server exited"; }
        _n=$((_n + 1))
        [ "$_n" -lt 100 ] || { cat "$_log"; fail "openssl s_server does not listen"; }
        sleep 0.1
    done
}

# srv_listens PID PORT: waits (10 s) until process PID listens on
# 127.0.0.1:PORT. Returns 1 when PID exited first (it lost the port, say),
# fails when neither happens.
srv_listens() {
    _n=0
    while [ "$_n" -lt 100 ]; do
        if ss -Hltnp "sport = :$2" 2>/dev/null | grep -q "pid=$1,"; then
            return 0
        fi
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.1
        _n=$((_n + 1))
    done
    fail "process $1 does not listen on port $2"
}
