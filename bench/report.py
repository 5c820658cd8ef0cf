#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/run.sh's report: reads OUT/raw.jsonl (every sample of a run) and
writes OUT/results.json, OUT/results.md (the table: every figure with its
limit, the ratio, the target of issue 13 and whether it is met) and
OUT/chart.gp + OUT/chart.dat for gnuplot (OUT/chart.png).

usage: report.py RAW.jsonl OUTDIR
       report.py --meta QUICK CPU TOPDIR     (one JSON line about the run)
       callgrind_annotate --inclusive=yes F | report.py --callgrind LABEL N
                                             (one JSON line: Ir per operation)

Throughputs are operations per CPU-second of the processes doing the work
(the driver, plus swtpm on TPM paths): on a machine shared with other work
that is what a CPU of its own would do, where wall-clock rates also count
the time others had the CPU (they are in raw.jsonl too). Times are CPU
milliseconds the same way. Figures are medians over the rounds; a ratio is
the median of the per-round ratios (the runs of one round are next to each
other in time, so a slow minute cancels out), and time deltas are medians
of per-round differences."""
import json
import os
import platform
import statistics
import subprocess
import sys
from collections import defaultdict

ALGS = [("ec256", "ECDSA P-256"), ("ec384", "ECDSA P-384"),
        ("pkcs1", "RSA-2048 PKCS#1"), ("pss", "RSA-2048 PSS")]


def med(xs):
    return statistics.median(xs) if xs else None


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def meta(quick, cpu, top):
    pkgs = {}
    for p in ("openssl", "softhsm2", "p11-kit", "libtss2-esys-3.0.2-0",
              "swtpm", "libengine-pkcs11-openssl", "tpm2-openssl"):
        pkgs[p] = sh("dpkg-query", "-W", "-f=${Version}", p)
    model = ""
    for line in sh("lscpu").splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    print(json.dumps({
        "driver": "meta", "quick": quick == "1", "cpu": int(cpu),
        "cpus": os.cpu_count(), "cpu_model": model,
        "kernel": platform.release(),
        "os": sh("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
        "commit": sh("git", "-C", top, "describe", "--always", "--dirty"),
        "date": sh("date", "-u", "+%Y-%m-%dT%H:%MZ"),
        "packages": pkgs}))


class Report:
    def __init__(self, lines):
        self.meta = {}
        self.sign = defaultdict(list)     # label -> [record per round]
        self.tls = defaultdict(list)
        self.proc = {}
        self.prov = defaultdict(list)
        self.batch = {}
        self.cg = {}
        for rec in lines:
            d = rec.get("driver")
            if d == "meta":
                self.meta = rec
            elif d == "sign":
                self.sign[rec["label"]].append(rec)
            elif d == "tls":
                self.tls[rec["label"]].append(rec)
            elif d == "proc":
                self.proc[rec["label"]] = rec
            elif d == "provision":
                self.prov[rec["count"]].append(rec)
            elif d == "provision-batch":
                self.batch[rec["count"]] = rec
            elif d == "callgrind":
                self.cg[rec["label"]] = rec
        self.rows = []
        self.chart = []

    # ---- helpers ---------------------------------------------------------
    def rates(self, table, label):
        return [r.get("cpu_rate") or r["rate"] for r in table.get(label, [])]

    def ratio(self, table, label, limit_label):
        a = self.rates(table, label)
        b = self.rates(table, limit_label)
        return med([x / y for x, y in zip(a, b) if y > 0])

    def row(self, section, what, value, unit, limit_name=None, limit=None,
            ratio=None, target=None, op=">=", note=""):
        met = None
        if target is not None and ratio is not None:
            met = ratio >= target if op == ">=" else ratio <= target
        self.rows.append({"section": section, "what": what, "value": value,
                          "unit": unit, "limit_name": limit_name,
                          "limit": limit, "ratio": ratio, "target": target,
                          "target_op": op, "met": met, "note": note})

    # ---- sections ----------------------------------------------------------
    def p11(self):
        for name, title in ALGS:
            for t in (1, 2):
                p = "sign/p11/%s/t%d/" % (name, t)
                lim = med(self.rates(self.sign, p + "raw-copy"))
                if lim is None:
                    continue
                sec = "PKCS#11 signatures/s, %s, %d thread%s" % (
                    title, t, "s" if t > 1 else "")
                ln = "raw C_Sign, session copy"
                self.row(sec, ln + " (the limit)", lim, "sign/s")
                for impl, what, target in (
                        ("devid", "devid", 0.97),
                        ("raw-token", "raw C_Sign, token object", None),
                        ("libp11", "libp11 engine 0.4.12", None)):
                    r = self.ratio(self.sign, p + impl, p + "raw-copy")
                    self.row(sec, what, med(self.rates(self.sign, p + impl)),
                             "sign/s", ln, lim, r, target)
                    self.chart.append(("p11", "%s %dt" % (title, t), impl, r))

    def tpm(self):
        for name, title in (("ec256", "ECDSA P-256"), ("pss", "RSA-2048 PSS")):
            p = "sign/tpm/%s/t1/" % name
            lim = med(self.rates(self.sign, p + "raw-esys"))
            if lim is None:
                continue
            sec = "TPM (swtpm) signatures/s, %s" % title
            self.row(sec, "raw Esys_Sign (the limit)", lim, "sign/s")
            for impl, what, target in (("devid", "devid", 0.95),
                                       ("tpm2-openssl",
                                        "tpm2-openssl 1.1.1", None)):
                r = self.ratio(self.sign, p + impl, p + "raw-esys")
                self.row(sec, what, med(self.rates(self.sign, p + impl)),
                         "sign/s", "raw Esys_Sign", lim, r, target)
                self.chart.append(("tpm", title, impl, r))

    def tls_rows(self):
        for v in ("1.2", "1.3"):
            sec = "TLS %s mutual handshakes/s, client key ECDSA P-256" % v
            sw = self.rates(self.tls, "tls/%s/software" % v)
            if not sw:
                continue
            self.row(sec, "client key in software", med(sw), "hs/s")
            # the TPM's raw signatures come from the TLS rounds themselves
            # (older runs: from the signing rounds, minutes apart)
            tpm_raw = "tls/raw-esys" if self.sign.get("tls/raw-esys") \
                else "sign/tpm/ec256/t1/raw-esys"
            for src, raw_label, rname in (
                    ("token", "sign/p11/ec256/t1/raw-copy",
                     "raw C_Sign (copy)"),
                    ("tpm", tpm_raw, "raw Esys_Sign")):
                hs = self.rates(self.tls, "tls/%s/%s" % (v, src))
                raw = self.rates(self.sign, raw_label)
                # the handshake can at best cost a software handshake plus
                # one raw signature of the key's home
                lims = [1.0 / (1.0 / a + 1.0 / b) for a, b in zip(sw, raw)]
                ratios = [h / l for h, l in zip(hs, lims)]
                target = 0.90 if (src == "tpm" and v == "1.3") else None
                self.row(sec, "client key in the %s (devid)" % (
                    "token" if src == "token" else "TPM"), med(hs), "hs/s",
                    "1/(1/software + 1/%s)" % rname, med(lims), med(ratios),
                    target)
                self.chart.append(("tls", "TLS %s" % v, src, med(ratios)))
            # the same sum measured as it occurs: a software handshake and
            # a raw Esys_Sign one after the other, sharing the CPU with
            # swtpm as devid's handshake does
            together = self.rates(self.tls, "tls/%s/tpm-limit" % v)
            if together:
                hs = self.rates(self.tls, "tls/%s/tpm" % v)
                self.row(sec, "client key in the TPM (devid), against the "
                         "limit measured in one loop", med(hs), "hs/s",
                         "software handshake + raw Esys_Sign, one loop",
                         med(together), self.ratio(self.tls, "tls/%s/tpm" % v,
                                                   "tls/%s/tpm-limit" % v))

    def psamples(self, label, field):
        """per round: field of the sample, plus swtpm's CPU when counted"""
        out = []
        for x in self.proc.get(label, {}).get("samples", []):
            out.append(x[field] + x.get("ext_cpu_ms", 0))
        return out

    def pdelta(self, a, b, field="total_cpu_ms"):
        """median over rounds of a's field minus b's field"""
        return med([x - y for x, y in zip(self.psamples(a, field),
                                           self.psamples(b, field))])

    def pmed(self, a, field="total_cpu_ms"):
        return med(self.psamples(a, field))

    def first(self):
        for home, raw_what in (("p11", "raw: dlopen, C_Initialize, slot, "
                                "C_Login, find, C_Sign"),
                               ("tpm", "raw: TCTI, Esys_Initialize, key "
                                "handle, Esys_Sign")):
            raw = "first/%s/raw" % home
            dev = "first/%s/devid" % home
            if raw not in self.proc or dev not in self.proc:
                continue
            sec = "Time to first signature, %s, in-process (CPU ms)" % (
                "PKCS#11 (SoftHSM)" if home == "p11" else
                "TPM (swtpm, its CPU included)")
            self.row(sec, raw_what, self.pmed(raw), "ms")
            # devid: OpenSSL's configuration with devid, key load, first
            # EVP_PKEY_sign, less what the same configuration costs without
            # devid (a TLS program pays that anyway)
            # devid: OpenSSL's configuration with devid, OpenSSL's first
            # algorithm fetch, key load, first EVP_PKEY_sign; less what the
            # same program pays without devid for the configuration and
            # that fetch (first.c --mode fetch, plain configuration): a
            # program that signs through OpenSSL pays both, and devid's
            # share of the fetch is in its own row below
            sd = self.psamples(dev, "total_cpu_ms")
            sp = self.psamples("first/fetch/plain", "total_cpu_ms")
            si = self.psamples("first/init/plain", "total_cpu_ms")
            sr = self.psamples(raw, "total_cpu_ms")
            devid = [d - p for d, p in zip(sd, sp)]
            # all of the fetch counted as devid's: only the configuration
            # without devid taken off
            conserv = [d - p for d, p in zip(sd, si)]
            # the raw TPM program links tpm2-tss and loads it before main,
            # where its clock does not run; devid.so loads it on its first
            # TPM use, inside the clock. devid is judged against the raw
            # path with that load counted (first.c --mode load-tss2, per
            # round); the figure against raw as timed is shown too.
            sl = self.psamples("first/tpm/load-tss2", "total_cpu_ms") \
                if home == "tpm" else []
            base, base_name = sr, "raw"
            if sl and len(sl) == len(sr):
                base = [r + l for r, l in zip(sr, sl)]
                base_name = "raw with tpm2-tss load"
                self.row(sec, "raw, with loading tpm2-tss (libtss2-esys, "
                         "-tctildr), which it does before main",
                         med(base), "ms")
            if devid:
                self.row(sec, "devid: provider init, key load, "
                         "EVP_PKEY_sign (less what the program pays without "
                         "devid: configuration, first fetch)", med(devid),
                         "ms", base_name, med(base),
                         med([x - r for x, r in zip(devid, base)]), 0.5,
                         "<=", "ratio column: devid - raw, in ms")
            self.row(sec, "the same, all of OpenSSL's first algorithm fetch "
                     "counted as devid's", med(conserv), "ms", base_name,
                     med(base), med([x - r for x, r in zip(conserv, base)]),
                     None, "<=", "ratio column: devid - raw, in ms")
            if base is not sr:
                self.row(sec, "the same, against raw as timed in its main "
                         "(tpm2-tss loaded before)", med(conserv), "ms",
                         "raw", self.pmed(raw),
                         med([x - r for x, r in zip(conserv, sr)]), None,
                         "<=", "ratio column: devid - raw, in ms")
        fetch = [[x["cpu_ms"].get("fetch", 0)
                  for x in self.proc.get(lab, {}).get("samples", [])]
                 for lab in ("first/fetch/devid", "first/fetch/plain")]
        if fetch[0] and fetch[1]:
            self.row("Time to first signature: OpenSSL's first algorithm "
                     "fetch, no key (CPU ms)", "with devid active",
                     med(fetch[0]),
                     "ms", "without devid", med(fetch[1]),
                     med([a - b for a, b in zip(*fetch)]), None, "<=",
                     "ratio column: devid's share, in ms")
        init = self.pdelta("first/init/devid", "first/init/plain")
        if init is not None:
            self.row("Cost of an active, unused devid (CPU ms)",
                     "in-process: OpenSSL configuration with devid - without",
                     init, "ms", None, None, init, 0.5, "<=",
                     "ratio column: the difference, in ms")
        whole = self.pdelta("unused/devid", "unused/plain", "proc_cpu_ms")
        if whole is not None:
            self.row("Cost of an active, unused devid (CPU ms)",
                     "whole process: openssl dgst (no key), devid in "
                     "openssl.cnf - not", whole, "ms", None, None, whole,
                     0.5, "<=", "ratio column: the difference, in ms")
        bundle = self.pdelta("unused-bundle/devid", "unused-bundle/plain",
                             "proc_cpu_ms")
        if bundle is not None:
            self.row("Cost of an active, unused devid (CPU ms)",
                     "whole process: openssl verify with the system CA "
                     "bundle, devid in openssl.cnf - not", bundle, "ms",
                     None, None, bundle, 0.5, "<=",
                     "ratio column: the difference, in ms")

    def dgst(self):
        sec = ("Whole process: openssl dgst -sha256 -sign (CPU ms, swtpm's "
               "included)")
        base = self.pmed("dgst/software", "proc_cpu_ms")
        for lab, what in (("dgst/software", "software key file"),
                          ("dgst/devid-token", "devid, token key"),
                          ("dgst/libp11-token", "libp11 engine, token key"),
                          ("dgst/devid-tpm", "devid, TPM key"),
                          ("dgst/tpm2-openssl", "tpm2-openssl, TPM key")):
            v = self.pmed(lab, "proc_cpu_ms")
            if v is None:
                continue
            self.row(sec, what, v, "ms", "software key file", base,
                     None if lab == "dgst/software" else v - base, None,
                     ">=", "ratio column: minus the software key, in ms")

    def first_phases(self):
        out = {}
        for lab in ("first/p11/raw", "first/p11/devid-core",
                    "first/p11/devid", "first/tpm/raw", "first/tpm/load-tss2",
                    "first/tpm/devid", "first/init/devid", "first/init/plain",
                    "first/fetch/devid", "first/fetch/plain"):
            s = self.proc.get(lab, {}).get("samples", [])
            if not s:
                continue
            out[lab] = {k: med([x["cpu_ms"][k] for x in s])
                        for k in s[0]["cpu_ms"]}
            out[lab]["total"] = med([x["total_cpu_ms"] for x in s])
            if any(x.get("ext_cpu_ms") for x in s):
                out[lab]["swtpm"] = med([x["ext_cpu_ms"] for x in s])
        return out

    def rss(self):
        sec = "Peak RSS over the same run with a software key (KiB)"
        pairs = [("sign/p11/ec256/t1/devid", "sign/sw/ec256/t1/software",
                  "sign, ECDSA P-256, token key via devid"),
                 ("sign/p11/ec256/t1/raw-copy", "sign/sw/ec256/t1/software",
                  "sign, ECDSA P-256, raw C_Sign (SoftHSM's own share)"),
                 ("sign/p11/ec256/t1/devid", "sign/p11/ec256/t1/raw-copy",
                  "sign, ECDSA P-256, token key via devid over raw C_Sign "
                  "(devid's own share: p11-kit, devid.so)"),
                 ("sign/p11/pss/t1/devid", "sign/sw/pss/t1/software",
                  "sign, RSA-2048 PSS, token key via devid"),
                 ("sign/tpm/ec256/t1/devid", "sign/sw/ec256/t1/software",
                  "sign, ECDSA P-256, TPM key via devid")]
        tables = [(self.sign, a, b, w) for a, b, w in pairs]
        for v in ("1.2", "1.3"):
            for src in ("token", "tpm"):
                tables.append((self.tls, "tls/%s/%s" % (v, src),
                               "tls/%s/software" % v,
                               "TLS %s, client key in the %s via devid"
                               % (v, "token" if src == "token" else "TPM")))
        for table, a, b, what in tables:
            ra = [r["maxrss_kb"] for r in table.get(a, [])]
            rb = [r["maxrss_kb"] for r in table.get(b, [])]
            if not ra or not rb:
                continue
            d = med([x - y for x, y in zip(ra, rb)])
            base = "raw C_Sign" if b.endswith("raw-copy") else "software key"
            self.row(sec, what, med(ra), "KiB", base, med(rb), d,
                     None if "raw" in what else 2048, "<=",
                     "ratio column: the difference, in KiB")

    def provision(self):
        out = {}
        for n in sorted(self.prov):
            recs = self.prov[n]
            steps = {k: med([r["timings_ms"][k] for r in recs])
                     for k in ("keygen", "csr", "install")}
            # registration less the poll waits DPS asks for (at least 1 s)
            steps["register"] = med([r["timings_ms"]["register"]
                                     - r.get("poll_wait_ms", 0)
                                     for r in recs])
            steps["poll_wait"] = med([r.get("poll_wait_ms", 0) for r in recs])
            steps["process"] = med([r["wall_ms"] for r in recs])
            sec = "Provisioning, %d device%s (wall ms per device, median)" % (
                n, "s" if n > 1 else "")
            for k, what in (("keygen", "keygen (EC P-256 in the token)"),
                            ("csr", "CSR signed in the token"),
                            ("register", "DPS registration, less Retry-After"),
                            ("poll_wait", "Retry-After waited (not counted)"),
                            ("install", "install chain into the token"),
                            ("process", "whole devid provision process")):
                self.row(sec, what, steps[k], "ms")
            b = self.batch.get(n)
            if b:
                self.row(sec, "batch wall time", b["wall_s"], "s")
            out[n] = steps
        return out

    def callgrind_rows(self):
        pairs = (("ECDSA P-256", "cg/p11/ec256/raw-copy", "cg/p11/ec256/devid"),
                 ("RSA-2048 PSS", "cg/p11/pss/raw-copy", "cg/p11/pss/devid"))
        for title, raw, dev in pairs:
            r = self.cg.get(raw)
            d = self.cg.get(dev)
            if r is None or d is None:
                continue
            sec = ("Instructions per signature, %s, session copy "
                   "(callgrind, 1 thread)" % title)
            self.row(sec, "raw C_SignInit + C_Sign", r["ir_per_op"], "Ir")
            self.row(sec, "devid, EVP_PKEY_sign", d["ir_per_op"], "Ir",
                     "raw", r["ir_per_op"], r["ir_per_op"] / d["ir_per_op"])
            self.row(sec, "what devid and EVP add (all but the module's "
                     "C_SignInit + C_Sign)", d["own_per_op"], "Ir",
                     "raw's own", r["own_per_op"], None, None, ">=",
                     "the rest is the module's, the same in both")
        for v, sw, tok, swd in (("1.3", "cg/tls/1.3/software",
                                 "cg/tls/1.3/token",
                                 "cg/tls/1.3/software-devid-active"),):
            a = self.cg.get(sw)
            if a is None:
                continue
            sec = "Instructions per TLS %s mutual handshake (callgrind)" % v
            self.row(sec, "client key in software", a["ir_per_op"], "Ir")
            for lab, what in ((swd, "client key in software, devid active"),
                              (tok, "client key in the token (devid)")):
                b = self.cg.get(lab)
                if b is not None:
                    self.row(sec, what, b["ir_per_op"], "Ir", "software",
                             a["ir_per_op"], a["ir_per_op"] / b["ir_per_op"])

    # ---- output -------------------------------------------------------------
    def build(self):
        self.p11()
        self.tpm()
        self.tls_rows()
        self.first()
        self.dgst()
        self.callgrind_rows()
        self.rss()
        self.phases = self.first_phases()
        self.provisioning = self.provision()

    def markdown(self):
        m = self.meta
        q = " (--quick)" if m.get("quick") else ""
        out = ["## devid bench%s" % q, "",
               "%s, %s, %d CPUs, pinned to CPU %s; %s; commit %s; %s." % (
                   m.get("cpu_model", "?"), m.get("os", "?"),
                   m.get("cpus") or 0, m.get("cpu", "?"),
                   ", ".join("%s %s" % kv for kv in
                             m.get("packages", {}).items() if kv[1]),
                   m.get("commit", "?"), m.get("date", "?")), "",
               "| measurement | value | limit | ratio | target | met |",
               "| --- | ---: | ---: | ---: | ---: | :---: |"]
        sec = None
        for r in self.rows:
            if r["section"] != sec:
                sec = r["section"]
                out.append("| **%s** | | | | | |" % sec)
            val = fmt(r["value"], r["unit"])
            lim = ("%s %s" % (fmt(r["limit"], r["unit"]), r["limit_name"])
                   if r["limit"] is not None else (r["limit_name"] or ""))
            if r["ratio"] is None:
                ratio = ""
            elif r["unit"] in ("ms", "KiB", "s"):
                ratio = "%+.2f" % r["ratio"] if r["unit"] == "ms" \
                    else "%+.0f" % r["ratio"]
            else:
                ratio = "%.3f" % r["ratio"]
            tgt = ""
            if r["target"] is not None:
                tgt = ("%s %s" % ("≥" if r["target_op"] == ">=" else "≤",
                                  r["target"]))
            met = {True: "yes", False: "**no**", None: ""}[r["met"]]
            out.append("| %s | %s | %s | %s | %s | %s |" % (
                r["what"], val, lim, ratio, tgt, met))
        if self.cg:
            out += ["", "Instructions per operation on the signing path "
                    "(callgrind, inclusive, per operation):", ""]
            for lab, rec in sorted(self.cg.items()):
                out.append("- `%s`: total %s; %s" % (lab, "{:,.0f}".format(
                    rec["ir_per_op"]), ", ".join(
                    "%s %s" % (k, "{:,.0f}".format(v))
                    for k, v in sorted(rec["funcs"].items(),
                                       key=lambda kv: -kv[1]))))
        out += ["", "Phases of the first signature (CPU ms, median):", ""]
        for lab, ph in self.phases.items():
            out.append("- `%s`: %s" % (lab, ", ".join(
                "%s %.3f" % (k, v) for k, v in ph.items())))
        out.append("")
        return "\n".join(out)

    def gnuplot(self, outdir):
        with open(os.path.join(outdir, "chart.dat"), "w") as f:
            f.write("# label kind raw-token/token libp11/tpm2-openssl devid\n")
            groups = defaultdict(dict)
            order = []
            for kind, label, impl, r in self.chart:
                key = (kind, label)
                if key not in groups:
                    order.append(key)
                groups[key][impl] = r if r is not None else 0
            for kind, label in order:
                g = groups[(kind, label)]
                if kind == "p11":
                    vals = (g.get("raw-token", 0), g.get("libp11", 0),
                            g.get("devid", 0))
                elif kind == "tpm":
                    vals = (0, g.get("tpm2-openssl", 0), g.get("devid", 0))
                else:
                    vals = (g.get("token", 0), 0, g.get("tpm", 0))
                f.write('"%s" %s %.4f %.4f %.4f\n' % (
                    label.replace("RSA-2048 ", "RSA ").replace("ECDSA ", ""),
                    kind, *vals))
        m = self.meta
        title = "devid bench%s, %s, one CPU" % (
            " (--quick)" if m.get("quick") else "", m.get("cpu_model", ""))
        gp = GNUPLOT % {"out": os.path.join(outdir, "chart.png"),
                        "dat": os.path.join(outdir, "chart.dat"),
                        "title": title.replace('"', "'")}
        with open(os.path.join(outdir, "chart.gp"), "w") as f:
            f.write(gp)


GNUPLOT = r"""# made by bench/report.py
set terminal pngcairo size 1200,820 font "DejaVu Sans,10"
set output "%(out)s"
set termoption noenhanced
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:1.3]
set ytics 0,0.1,1.2
set grid ytics
set key top left horizontal samplen 2
set xtics nomirror
set ylabel "fraction of the limit"
set multiplot title "%(title)s" font ",12"
set size 1,0.48
set origin 0,0.47
set title "PKCS#11 (SoftHSM) signatures/s as a share of raw C_Sign on a session copy (target for devid: 0.97)"
plot "< grep ' p11 ' %(dat)s" using 3:xtic(1) title "raw C_Sign, token object" lc rgb "#bbbbbb", \
     '' using 4 title "libp11 engine" lc rgb "#e69f00", \
     '' using 5 title "devid" lc rgb "#0072b2", \
     0.97 with lines dt 2 lw 2 lc rgb "#d55e00" title "target 0.97"
set size 0.5,0.47
set origin 0,0
set title "TPM (swtpm) signatures/s vs raw Esys_Sign (target 0.95)"
plot "< grep ' tpm ' %(dat)s" using 4:xtic(1) title "tpm2-openssl" lc rgb "#e69f00", \
     '' using 5 title "devid" lc rgb "#0072b2", \
     0.95 with lines dt 2 lw 2 lc rgb "#d55e00" title "target 0.95"
set origin 0.5,0
set title "Mutual TLS handshakes/s vs 1/(1/software + 1/raw signature)"
plot "< grep ' tls ' %(dat)s" using 3:xtic(1) title "devid, token key" lc rgb "#56b4e9", \
     '' using 5 title "devid, TPM key" lc rgb "#0072b2", \
     0.90 with lines dt 2 lw 2 lc rgb "#009e73" title "target 0.90"
unset multiplot
"""


def fmt(v, unit):
    if v is None:
        return ""
    if unit in ("sign/s", "hs/s"):
        return "%.0f %s" % (v, unit) if v >= 100 else "%.1f %s" % (v, unit)
    if unit == "ms":
        return "%.2f ms" % v
    if unit == "s":
        return "%.1f s" % v
    if unit == "KiB":
        return "%.0f KiB" % v
    if unit == "Ir":
        return "{:,.0f} Ir".format(v)
    return "%s" % v


# functions on the signing path, as callgrind_annotate names them
CG_FUNCS = ("C_SignInit", "C_Sign", "EVP_PKEY_sign", "devid_sig_sign",
            "devid_sig_ecdsa_der", "devid_p11_ops_sign", "devid_p11_sign_call",
            "devid_p11_ops_ready", "devid_p11_sign_once",
            "devid_p11_session_take", "devid_p11_session_give",
            "devid_p11_copy_handle", "devid_bench_p11_op",
            "devid_bench_evp_op", "devid_bench_tls_op",
            "OSSL_DECODER_CTX_new_for_pkey", "EVP_DigestSign")


def callgrind(label, count):
    """Reads callgrind_annotate --inclusive=yes from stdin."""
    import re
    total = 0
    funcs = {}
    for line in sys.stdin:
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S.*)$", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        what = m.group(2)
        if what.startswith("PROGRAM TOTALS"):
            total = ir
            continue
        name = what.split(" [")[0].rsplit(":", 1)[-1].strip()
        if name in CG_FUNCS and name not in funcs:
            funcs[name] = ir
    n = float(count)
    module = funcs.get("C_SignInit", 0) + funcs.get("C_Sign", 0)
    print(json.dumps({"driver": "callgrind", "label": label, "count": count,
                      "ir_per_op": total / n, "module_per_op": module / n,
                      "own_per_op": (total - module) / n,
                      "funcs": {k: v / n for k, v in funcs.items()}}))


def main():
    if sys.argv[1] == "--meta":
        meta(*sys.argv[2:5])
        return
    if sys.argv[1] == "--callgrind":
        callgrind(sys.argv[2], int(sys.argv[3]))
        return
    lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
    outdir = sys.argv[2]
    rep = Report(lines)
    rep.build()
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"meta": rep.meta, "rows": rep.rows,
                   "callgrind": rep.cg,
                   "first_phases": rep.phases,
                   "provisioning": rep.provisioning}, f, indent=1)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(rep.markdown())
    rep.gnuplot(outdir)


if __name__ == "__main__":
    main()
