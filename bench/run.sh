#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid's benchmarks in one command (docs/bench.md):
#   sh bench/run.sh [--quick] [--out DIR] [--builddir DIR] [--cpu N] [--keep]
# Installs what it needs (as scripts/install-deps.sh does), builds devid and
# the bench drivers, makes its own SoftHSM token and swtpm on free loopback
# ports, and measures, interleaved round by round and pinned to one CPU:
# signatures per second (devid, raw C_Sign on the token object and on a
# session copy, raw Esys_Sign, libp11's engine, tpm2-openssl, software),
# mutual TLS handshakes per second, time to the first signature, whole
# `openssl dgst -sign` processes, the cost of an unused devid, peak RSS, and
# provisioning through the DPS emulator. Writes DIR/raw.jsonl (every
# sample), DIR/results.json, DIR/results.md (the table, also printed) and
# DIR/chart.png. About 10 minutes on 2 cores; --quick about 3.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BENCH_TOP=$top
quick=0
keep=0
out=$top/bench/out
builddir=$top/build/bench
BENCH_CPU=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1; shift ;;
    --keep) keep=1; shift ;;
    --out) out=$2; shift 2 ;;
    --builddir) builddir=$2; shift 2 ;;
    --cpu) BENCH_CPU=$2; shift 2 ;;
    -h|--help) sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$BENCH_CPU" ] || BENCH_CPU=$(($(nproc) - 1))
# many short interleaved rounds rather than a few long ones: a burst of
# load from elsewhere then spoils one sample of every variant, not all the
# samples of one
# (the TPM's rounds are more: swtpm's CPU time per command varies more
# from round to round than anything in-process)
if [ "$quick" = 1 ]; then
    ROUNDS=2 SECS=0.4 TPM_ROUNDS=2 TPM_SECS=0.5 REPS=5 DEVICES="1 5" CG=50
    CG_TLS=0
else
    ROUNDS=5 SECS=1 TPM_ROUNDS=9 TPM_SECS=1.5 REPS=25 DEVICES="1 50" CG=200
    CG_TLS=10
fi
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
# shellcheck source=bench/provision.sh
. "$top/bench/provision.sh"
# shellcheck source=bench/callgrind.sh
. "$top/bench/callgrind.sh"

# ---- what it needs --------------------------------------------------------
sh "$top/scripts/install-deps.sh"
missing=""
for p in gnuplot-nox libengine-pkcs11-openssl tpm2-openssl util-linux \
    valgrind; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    bench_say "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
bench_say "building devid in $builddir"
sh "$top/scripts/build.sh" "$builddir"
make -C "$builddir" -s bench >/dev/null
BENCH_BUILD=$(cd "$builddir" && pwd)
BENCH_DEVID=$BENCH_BUILD/devid
BENCH_DEVID_SO=$BENCH_BUILD/.libs/devid.so
BENCH_TPM2_SO=$(pkg-config --variable=modulesdir libcrypto)/tpm2.so
SIGN=$BENCH_BUILD/bench/devid-bench-sign
TLS=$BENCH_BUILD/bench/devid-bench-tls
FIRST=$BENCH_BUILD/bench/devid-bench-first
CORE=$BENCH_BUILD/bench/devid-bench-core
ESYS=$BENCH_BUILD/bench/devid-bench-esys
TLS_ESYS=$BENCH_BUILD/bench/devid-bench-tls-esys
unset OPENSSL_MODULES OPENSSL_ENGINES DEVID_DEBUG || :

# ---- its own token, TPM and certificates ------------------------------------
BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/devid-bench.XXXXXX")
BENCH_EMU=
cleanup() {
    bench_tpm_stop
    if [ -n "$BENCH_EMU" ]; then
        "$top/emulator/devid-emulators" stop --state "$BENCH_EMU" >/dev/null 2>&1 || :
    fi
    if [ "$keep" = 1 ]; then
        echo "bench: work directory kept: $BENCH_WORK" >&2
    else
        rm -rf "$BENCH_WORK"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
w=$BENCH_WORK
mkdir -p "$out"
raw=$out/raw.jsonl
: > "$raw"
python3 "$top/bench/report.py" --meta "$quick" "$BENCH_CPU" "$top" >> "$raw"

bench_say "SoftHSM token, swtpm, keys and certificates in $w"
bench_token "$w"
bench_tpm_start "$w"
TPM2OPENSSL_TCTI=$BENCH_TCTI
export TPM2OPENSSL_TCTI
bench_cnf "$w/devid.cnf" devid
bench_cnf "$w/tpm2.cnf" tpm2
bench_cnf "$w/plain.cnf" none
TPM_EC=0x81000101
TPM_RSA=0x81000102
for k in "EC group:P-256 $TPM_EC" "RSA bits:2048 $TPM_RSA"; do
    # shellcheck disable=SC2086
    set -- $k
    OPENSSL_CONF=$w/devid.cnf openssl genpkey -propquery '?provider=devid' \
        -algorithm "$1" -pkeyopt "$2" -pkeyopt "uri:handle:$3" \
        -out "$w/tpm-$3.ref" 2>"$w/genpkey.err" \
        || bench_die "TPM key $1: $(cat "$w/genpkey.err")"
done
URI_EC256="pkcs11:token=bench;object=ec256;type=private"
# the CA bundle a TLS client loads on every run (Debian's ca-certificates),
# or our own CA when there is none
BENCH_BUNDLE=/etc/ssl/certs/ca-certificates.crt
[ -s "$BENCH_BUNDLE" ] || BENCH_BUNDLE=$w/ca.pem
bench_ca "$w"
bench_cert "$w" token "$URI_EC256" "$w/devid.cnf"
bench_cert "$w" tpm "handle:$TPM_EC" "$w/devid.cnf"
openssl x509 -in "$BENCH_BUNDLE" -out "$w/root.pem" || bench_die "CA bundle"
printf 'devid bench data\n' > "$w/data"
{
    printf 'openssl_conf = openssl_init\n[openssl_init]\nengines = engine_sect\n'
    printf '[engine_sect]\npkcs11 = pkcs11_sect\n[pkcs11_sect]\nengine_id = pkcs11\n'
    printf 'MODULE_PATH = %s\nPIN = %s\n' "$SOFTHSM_MODULE" "$BENCH_PIN"
} > "$w/libp11.cnf"

# ---- signatures per second ------------------------------------------------
# sign LABEL CNF ARGS...: one run of the signing driver
sign() {
    _label=$1 _cnf=$2
    shift 2
    OPENSSL_CONF=$_cnf bench_pin "$SIGN" --seconds "$SECS" --label "$_label" \
        "$@" >> "$raw" || bench_die "$_label"
}

# the PKCS#11 keys: name alg object
P11_KEYS="ec256:ec:ec256 ec384:ec:ec384 pkcs1:pkcs1:rsa2048 pss:pss:rsa2048"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    bench_say "signatures, PKCS#11, round $r of $ROUNDS"
    for k in $P11_KEYS; do
        name=${k%%:*} rest=${k#*:}
        alg=${rest%%:*} obj=${rest#*:}
        uri="pkcs11:token=bench;object=$obj;type=private"
        case $obj in
        ec256) swkey=$w/sw.key ;;
        *) swkey=$w/sw-$obj.key ;;
        esac
        for t in 1 2; do
            p="sign/p11/$name/t$t"
            sign "$p/raw-copy" "$w/plain.cnf" --mode p11 --copy --alg "$alg" \
                --threads "$t" --module "$SOFTHSM_MODULE" --token bench \
                --object "$obj" --pin "$BENCH_PIN"
            sign "$p/devid" "$w/devid.cnf" --mode evp --alg "$alg" \
                --threads "$t" --key "$uri"
            sign "$p/raw-token" "$w/plain.cnf" --mode p11 --alg "$alg" \
                --threads "$t" --module "$SOFTHSM_MODULE" --token bench \
                --object "$obj" --pin "$BENCH_PIN"
            sign "$p/libp11" "$w/plain.cnf" --mode evp --alg "$alg" \
                --threads "$t" --engine pkcs11 --module "$SOFTHSM_MODULE" \
                --pin "$BENCH_PIN" --key "$uri"
        done
        sign "sign/sw/$name/t1/software" "$w/plain.cnf" --mode evp \
            --alg "$alg" --key "$swkey"
    done
    r=$((r + 1))
done

SECS_P11=$SECS
SECS=$TPM_SECS
r=1
while [ "$r" -le "$TPM_ROUNDS" ]; do
    bench_say "signatures, TPM, round $r of $TPM_ROUNDS"
    for k in "ec256:ec:$TPM_EC" "pss:pss:$TPM_RSA"; do
        name=${k%%:*} rest=${k#*:}
        alg=${rest%%:*} h=${rest#*:}
        p="sign/tpm/$name/t1"
        bench_pin "$ESYS" --mode sign --seconds "$SECS" --label "$p/raw-esys" \
            --alg "$alg" --tcti "$BENCH_TCTI" --handle "$h" \
            --ext-pid "$BENCH_TPM_PID" >> "$raw" || bench_die "$p/raw-esys"
        sign "$p/devid" "$w/devid.cnf" --mode evp --alg "$alg" \
            --key "handle:$h" --ext-pid "$BENCH_TPM_PID"
        sign "$p/tpm2-openssl" "$w/tpm2.cnf" --mode evp --alg "$alg" \
            --key "handle:$h" --propq '?provider=tpm2' --ext-pid "$BENCH_TPM_PID"
    done
    r=$((r + 1))
done

# ---- TLS handshakes per second ---------------------------------------------
# As many rounds as the TPM's signatures (the TPM rows are the noisiest).
# Each round also measures the TPM rows' limits next to them: a raw
# Esys_Sign rate, for 1/(1/software + 1/raw), and a software handshake
# followed by one raw Esys_Sign (devid-bench-tls-esys), the same sum
# measured as it occurs in a handshake (docs/bench.md).
SECS=$SECS_P11
r=1
while [ "$r" -le "$TPM_ROUNDS" ]; do
    bench_say "TLS handshakes, round $r of $TPM_ROUNDS"
    OPENSSL_CONF=$w/plain.cnf bench_pin "$ESYS" --mode sign --alg ec \
        --tcti "$BENCH_TCTI" --handle "$TPM_EC" --seconds "$SECS" \
        --ext-pid "$BENCH_TPM_PID" --label "tls/raw-esys" >> "$raw" \
        || bench_die "tls/raw-esys"
    for v in 1.2 1.3; do
        for src in "software:$w/plain.cnf:$w/sw.pem:$w/sw.key" \
            "token:$w/devid.cnf:$w/token.pem:$URI_EC256" \
            "tpm:$w/devid.cnf:$w/tpm.pem:handle:$TPM_EC"; do
            name=${src%%:*} rest=${src#*:}
            cnf=${rest%%:*} rest=${rest#*:}
            cert=${rest%%:*} key=${rest#*:}
            OPENSSL_CONF=$cnf bench_pin "$TLS" --version "$v" --ca "$w/ca.pem" \
                --server-cert "$w/server.pem" --server-key "$w/server.key" \
                --client-cert "$cert" --client-key "$key" --seconds "$SECS" \
                --ext-pid "$BENCH_TPM_PID" --label "tls/$v/$name" >> "$raw" \
                || bench_die "tls/$v/$name"
        done
        OPENSSL_CONF=$w/plain.cnf bench_pin "$TLS_ESYS" --version "$v" \
            --ca "$w/ca.pem" --server-cert "$w/server.pem" \
            --server-key "$w/server.key" --client-cert "$w/sw.pem" \
            --client-key "$w/sw.key" --raw-tcti "$BENCH_TCTI" \
            --raw-handle "$TPM_EC" --seconds "$SECS" \
            --ext-pid "$BENCH_TPM_PID" --label "tls/$v/tpm-limit" >> "$raw" \
            || bench_die "tls/$v/tpm-limit"
    done
    r=$((r + 1))
done

# ---- whole processes: first signature, openssl dgst, unused devid ---------
bench_say "first signatures and whole processes ($REPS rounds)"
python3 - "$w" "$FIRST" "$SOFTHSM_MODULE" "$BENCH_PIN" "$URI_EC256" \
    "$BENCH_TCTI" "$TPM_EC" "$CORE" "$ESYS" "$BENCH_BUNDLE" \
    > "$w/proc.json" <<'EOF'
import json, sys
w, first, module, pin, uri, tcti, h, core, esys, bundle = sys.argv[1:]
def cnf(name): return {"OPENSSL_CONF": "%s/%s.cnf" % (w, name)}
dgst = ["openssl", "dgst", "-sha256", "-out", "/dev/null"]
spec = [
    {"group": "first", "label": "first/p11/raw", "kind": "first", "env": cnf("plain"),
     "argv": [first, "--mode", "raw-p11", "--module", module, "--token", "bench",
              "--object", "ec256", "--pin", pin]},
    {"group": "first", "label": "first/p11/devid", "kind": "first", "env": cnf("devid"),
     "argv": [first, "--mode", "evp", "--key", uri]},
    {"group": "first", "label": "first/p11/devid-core", "kind": "first", "env": cnf("plain"),
     "argv": [core, module, pin, uri, "core"]},
    {"group": "first", "label": "first/tpm/raw", "kind": "first", "env": cnf("plain"), "ext": True,
     "argv": [esys, "--mode", "first", "--alg", "ec", "--tcti", tcti,
              "--handle", h]},
    {"group": "first", "label": "first/tpm/load-tss2", "kind": "first", "env": cnf("plain"),
     "argv": [first, "--mode", "load-tss2"]},
    {"group": "first", "label": "first/tpm/devid", "kind": "first", "env": cnf("devid"), "ext": True,
     "argv": [first, "--mode", "evp", "--key", "handle:" + h]},
    {"group": "first", "label": "first/init/devid", "kind": "first", "env": cnf("devid"),
     "argv": [first, "--mode", "init"]},
    {"group": "first", "label": "first/init/plain", "kind": "first", "env": cnf("plain"),
     "argv": [first, "--mode", "init"]},
    {"group": "first", "label": "first/fetch/devid", "kind": "first", "env": cnf("devid"),
     "argv": [first, "--mode", "fetch"]},
    {"group": "first", "label": "first/fetch/plain", "kind": "first", "env": cnf("plain"),
     "argv": [first, "--mode", "fetch"]},
    {"group": "dgst", "label": "dgst/software", "env": cnf("plain"),
     "argv": dgst + ["-sign", w + "/sw.key", w + "/data"]},
    {"group": "dgst", "label": "dgst/devid-token", "env": cnf("devid"),
     "argv": dgst + ["-sign", uri, w + "/data"]},
    {"group": "dgst", "label": "dgst/libp11-token", "env": cnf("libp11"),
     "argv": dgst + ["-engine", "pkcs11", "-keyform", "engine", "-sign",
                     uri, w + "/data"]},
    {"group": "dgst", "label": "dgst/devid-tpm", "env": cnf("devid"), "ext": True,
     "argv": dgst + ["-sign", "handle:" + h, w + "/data"]},
    {"group": "dgst", "label": "dgst/tpm2-openssl", "env": cnf("tpm2"), "ext": True,
     "argv": dgst + ["-propquery", "?provider=tpm2", "-sign", "handle:" + h,
                     w + "/data"]},
    {"group": "unused", "label": "unused/devid", "env": cnf("devid"),
     "argv": dgst + [w + "/data"]},
    {"group": "unused", "label": "unused/plain", "env": cnf("plain"),
     "argv": dgst + [w + "/data"]},
    {"group": "unused", "label": "unused-bundle/devid", "env": cnf("devid"),
     "argv": ["openssl", "verify", "-CAfile", bundle, w + "/root.pem"]},
    {"group": "unused", "label": "unused-bundle/plain", "env": cnf("plain"),
     "argv": ["openssl", "verify", "-CAfile", bundle, w + "/root.pem"]},
]
json.dump(spec, sys.stdout, indent=1)
EOF
python3 "$top/bench/proc.py" "$w/proc.json" "$REPS" "$BENCH_CPU" \
    "$BENCH_TPM_PID" >> "$raw" \
    || bench_die "whole-process runs"

# ---- instructions per operation (callgrind) --------------------------------
bench_say "instructions per signature and per handshake (callgrind)"
bench_callgrind cg/p11/ec256/raw-copy "$w/plain.cnf" "$CG" "$SIGN" --mode p11 \
    --copy --alg ec --module "$SOFTHSM_MODULE" --token bench --object ec256 \
    --pin "$BENCH_PIN" >> "$raw"
bench_callgrind cg/p11/ec256/devid "$w/devid.cnf" "$CG" "$SIGN" --mode evp \
    --alg ec --key "$URI_EC256" >> "$raw"
if [ "$CG_TLS" -gt 0 ]; then
    bench_callgrind cg/p11/pss/raw-copy "$w/plain.cnf" 40 "$SIGN" --mode p11 \
        --copy --alg pss --module "$SOFTHSM_MODULE" --token bench \
        --object rsa2048 --pin "$BENCH_PIN" >> "$raw"
    bench_callgrind cg/p11/pss/devid "$w/devid.cnf" 40 "$SIGN" --mode evp \
        --alg pss --key "pkcs11:token=bench;object=rsa2048;type=private" >> "$raw"
    for src in "software:$w/plain.cnf:$w/sw.pem:$w/sw.key" \
        "software-devid-active:$w/devid.cnf:$w/sw.pem:$w/sw.key" \
        "token:$w/devid.cnf:$w/token.pem:$URI_EC256"; do
        name=${src%%:*} rest=${src#*:}
        cnf=${rest%%:*} rest=${rest#*:}
        cert=${rest%%:*} key=${rest#*:}
        bench_callgrind "cg/tls/1.3/$name" "$cnf" "$CG_TLS" "$TLS" \
            --version 1.3 --ca "$w/ca.pem" --server-cert "$w/server.pem" \
            --server-key "$w/server.key" --client-cert "$cert" \
            --client-key "$key" >> "$raw"
    done
fi

# ---- provisioning -----------------------------------------------------------
bench_tpm_stop
for n in $DEVICES; do
    bench_say "provisioning $n device(s) through the DPS emulator"
    bench_provision "$w" "$n" >> "$raw"
done

# ---- the report -------------------------------------------------------------
python3 "$top/bench/report.py" "$raw" "$out"
gnuplot "$out/chart.gp" || bench_die "gnuplot"
cat "$out/results.md"
bench_say "written: $out/results.md, $out/results.json, $out/chart.png, $raw"
