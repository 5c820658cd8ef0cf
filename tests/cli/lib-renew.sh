# SPDX-License-Identifier: Apache-2.0
# Helpers for renewal and trust tests: an emulator config with short-lived
# certificates (operational certificates may authenticate to DPS again, as
# the "operational" group trusts the device issuing root), its reload by
# SIGHUP, and publish/subscribe checks through the hub stand-in.
# Sourced after tests/lib.sh and tests/cli/lib-provision.sh.
# shellcheck shell=sh

# renew_config FILE [EXTRA_JSON_MEMBERS]: validity 120 s for every issuance
renew_config() {
    cat > "$1" <<JSON
{
  "policies": {"short": {"key_types": ["P-256", "P-384"], "validity": "120s"}},
  "enrollment_groups": [
    {"id": "factory", "ca": "factory", "policy": "short"},
    {"id": "operational", "ca": "device", "policy": "short"}
  ]${2:+,
  $2}
}
JSON
}

# renew_reload FILE [EXTRA]: rewrites the config and waits for the SIGHUP
# reload, and for the hub stand-in to present the emulator's server root
renew_reload() {
    _gen=$(cat "$PROV_EMU/dps.generation" 2>/dev/null || echo 0)
    renew_config "$1" "${2:-}"
    kill -HUP "$(cat "$PROV_EMU/dps.pid")"
    _i=0
    while [ "$(cat "$PROV_EMU/dps.generation" 2>/dev/null || echo 0)" = "$_gen" ]; do
        _i=$((_i + 1))
        [ "$_i" -lt 100 ] || fail "the emulator did not reload its config"
        sleep 0.1
    done
    _i=0
    while [ -f "$PROV_EMU/hub.pid" ] \
        && [ "$(cat "$PROV_EMU/hub.root" 2>/dev/null)" != "$(cat "$PROV_EMU/server-root")" ]; do
        _i=$((_i + 1))
        [ "$_i" -lt 100 ] || fail "the hub did not follow the server root switch"
        sleep 0.1
    done
}

# renew_check_publish NAME REGID MSG: publishes as the device and checks the
# service subscriber receives the message
renew_check_publish() {
    prov_expect_telemetry "$1" "$2" "$3"
}
