#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The man pages and docs/ say what the code does, no more and no less.

    check-docs.py TOP_SRCDIR TOP_BUILDDIR

What the code has is read from the code itself:
  - verbs and global options: `devid --help`; each verb's options:
    `devid VERB --help` (every --word in it, minus the global options);
  - settings: the devid_setting_defs[] table of tools/settings.c;
  - provider settings: every `struct devid_backend_setting` table in
    provider/, pkcs11/, tpm2/ (and any other folder with one);
  - exit codes: enum devid_exit in tools/tool.h;
  - emulator commands and options: `devid-dps-emulator --help`,
    `devid-emulators --help`, `devid-hub-standin --help`.
Each must appear in its man page (man/*.scd, in the section named below)
and in docs/, and each entry of those sections and of the docs' tables must
exist in the code. Every failure says what is missing and where to add it.
Each setting must also have a line in dist/devid.conf.example, and each
docs/*.md must be installed (dist_doc_DATA in man/Makefile.inc).
"""
import os
import re
import subprocess
import sys

top, build = sys.argv[1], sys.argv[2]
problems = []

# an option, but not the "--out-" of "--out-*"
OPT = re.compile(r"(?<![\w-])--([a-z0-9]+(?:-[a-z0-9]+)*)(?![\w*-])")


def fail(msg):
    problems.append(msg)


def read(rel):
    with open(os.path.join(top, rel), encoding="utf-8") as f:
        return f.read()


def run_help(argv):
    # --help goes to stdout with status 0; take stderr too, for scripts
    # that print usage there
    p = subprocess.run(argv + ["--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, check=False)
    if p.returncode != 0:
        fail("%s --help exited %d:\n%s" % (" ".join(argv), p.returncode,
                                           p.stdout))
    return p.stdout


def opts(text):
    return {"--" + m.group(1) for m in OPT.finditer(text)}


# ---- scdoc sources -------------------------------------------------------

def scd_plain(text):
    """scdoc markup off: \\x -> x, *bold* and _underline_ markers dropped
    where they are markup (underscores inside words are literal)."""
    text = text.replace("\\_", "\x00").replace("\\*", "\x01")
    text = text.replace("*", "")
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", "", text)
    return text.replace("\x00", "_").replace("\x01", "*").replace("\\\\", "\\")


def scd_sections(rel):
    """{section title: {subsection title or "": raw text}}"""
    secs = {}
    sec = sub = None
    for line in read(rel).splitlines():
        if line.startswith("# "):
            sec, sub = line[2:].strip(), ""
            secs[sec] = {"": ""}
        elif line.startswith("## ") and sec is not None:
            sub = scd_plain(line[3:]).strip()
            secs[sec][sub] = ""
        elif sec is not None:
            secs[sec][sub] += line + "\n"
    return secs


def section(rel, name):
    secs = scd_sections(rel)
    if name not in secs:
        fail("%s: no section '# %s'" % (rel, name))
        return {"": ""}
    return secs[name]


def terms(text):
    """Entries of a scdoc term list: lines starting with *...* at the left
    margin whose description follows, indented by a tab."""
    out = []
    lines = text.splitlines() + [""]
    for line, nxt in zip(lines, lines[1:]):
        if line.startswith("*") and nxt.startswith("\t"):
            out.append(scd_plain(line).strip())
    return out


def term_opts(text):
    """Options an entry documents: every option of the entry's line
    ("*--days* _N_, *--seconds* _N_" documents both)."""
    return {o for t in terms(text) if t.startswith("--") for o in opts(t)}


# ---- markdown tables in docs/ -----------------------------------------------

def md_first_cells(rel, header):
    """First cells (backquotes dropped) of the table whose header row's
    first cell is header."""
    rows, inside = [], False
    for line in read(rel).splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not inside and cells[0].lower() == header.lower():
                inside = True
                continue
            if inside and not set(cells[0]) <= set("-: "):
                rows.append(line.strip().strip("|").split(" | ")[0]
                            .strip().replace("`", ""))
        elif inside:
            break
    if not inside:
        fail("%s: no table with a '%s' column" % (rel, header))
    return rows


def docs_text():
    d = os.path.join(top, "docs")
    return "\n".join(read(os.path.join("docs", f))
                     for f in sorted(os.listdir(d)) if f.endswith(".md"))


DOCS = docs_text()


def in_docs(word):
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), DOCS)


# ---- what the code has ----------------------------------------------------

devid = os.path.join(build, "devid")
main_help = run_help([devid])
m = re.search(r"^Verbs:\n(.*?)\n\n", main_help, re.S | re.M)
verbs = [l.split()[0] for l in m.group(1).splitlines()] if m else []
if not verbs:
    fail("devid --help: no 'Verbs:' list found")
m = re.search(r"^Global options:\n(.*?)\n\n", main_help, re.S | re.M)
global_opts = opts(m.group(1)) if m else set()
global_opts.add("--help")
verb_opts = {v: opts(run_help([devid, v])) - global_opts
             for v in verbs}

src = read("tools/settings.c")
m = re.search(r"devid_setting_defs\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
settings = re.findall(r'(?:DEVID_SETTING\w*\(|\{)\s*"([^"]+)"', m.group(1)) \
    if m else []
if not settings:
    fail("tools/settings.c: devid_setting_defs[] not found or empty")

prov_settings = []
for dirpath, dirs, files in os.walk(top):
    # not into build trees (a distcheck's sources are inside one), hidden
    # folders or the packaging
    dirs[:] = [d for d in dirs if not (d.startswith(("build", ".", "_build"))
                                       or d in ("debian", "autom4te.cache"))
               and not os.path.exists(os.path.join(dirpath, d, "config.status"))]
    for f in files:
        if not f.endswith(".c"):
            continue
        rel = os.path.relpath(os.path.join(dirpath, f), top)
        text = read(rel)
        for t in re.finditer(r"const struct devid_backend_setting\s+\w+\[\]"
                             r"\s*=\s*\{(.*?)\n\};", text, re.S):
            prov_settings += re.findall(r'\{\s*"([^"]+)"', t.group(1))
if not prov_settings:
    fail("no struct devid_backend_setting table found")

exits = {int(n): name for name, n in
         re.findall(r"\b(DEVID_EXIT_\w+)\s*=\s*(\d+)", read("tools/tool.h"))}
if not exits:
    fail("tools/tool.h: enum devid_exit not found")

emu = os.path.join(build, "devid-dps-emulator")
emu_help = run_help([emu])
emu_cmds = ["serve", "init", "issue-onboarding", "issue-device"]
emu_cmds = [c for c in emu_cmds if re.search(r"^  %s\s" % c, emu_help, re.M)]
for c in re.findall(r"^  ([a-z][a-z-]+)\s{2,}", emu_help, re.M):
    if c not in emu_cmds:
        emu_cmds.append(c)
emu_opts = opts(emu_help)
scripts = {}
for s in ("devid-emulators", "devid-hub-standin"):
    # the usage block only: the rest quotes other programs' options
    h = run_help(["sh", os.path.join(top, "emulator", s)]).split("\n\n")[0]
    scripts[s] = (re.findall(r"^(?:usage:)?\s+%s ([a-z]+)" % s, h, re.M),
                  opts(h) | {"--help"})

# ---- devid(1) ---------------------------------------------------------------

P = "man/devid.1.scd"
cmds = section(P, "COMMANDS")
for v in verbs:
    if v not in cmds:
        fail("%s: verb '%s' has no '## %s' subsection in # COMMANDS"
             % (P, v, v))
        continue
    have = term_opts(cmds[v])
    for o in sorted(verb_opts[v] - have):
        fail("%s: option %s of 'devid %s' (in its --help) is not an entry "
             "(a line '*%s*') of '## %s'" % (P, o, v, o, v))
    for o in sorted(have - verb_opts[v]):
        fail("%s: '## %s' documents %s, which 'devid %s --help' does not "
             "have" % (P, v, o, v))
for v in cmds:
    if v and v not in verbs:
        fail("%s: '## %s' documents a verb devid --help does not list"
             % (P, v))
have = term_opts(section(P, "OPTIONS")[""])
for o in sorted(global_opts - have):
    fail("%s: global option %s (devid --help) is missing from # OPTIONS"
         % (P, o))
for o in sorted(have - global_opts):
    fail("%s: # OPTIONS documents %s, which devid --help does not have"
         % (P, o))
have = {int(t.split()[0]) for t in terms(section(P, "EXIT STATUS")[""])
        if t.split()[0].isdigit()}
for n in sorted(set(exits) - have):
    fail("%s: exit code %d (%s, tools/tool.h) is missing from # EXIT STATUS"
         % (P, n, exits[n]))
for n in sorted(have - set(exits)):
    fail("%s: # EXIT STATUS documents %d, which enum devid_exit lacks"
         % (P, n))

# ---- devid.conf(5) ----------------------------------------------------------

P = "man/devid.conf.5.scd"
have = [t.split()[0] for t in terms(section(P, "SETTINGS")[""])]
for s in settings:
    if s not in have:
        fail("%s: setting '%s' (tools/settings.c) has no entry '*%s* = ...' "
             "in # SETTINGS" % (P, s, s))
for s in have:
    if s not in settings:
        fail("%s: # SETTINGS documents '%s', which tools/settings.c lacks"
             % (P, s))

# ---- devid-provider(7) ------------------------------------------------------

P = "man/devid-provider.7.scd"
OSSL_KEYS = ("module", "activate")  # OpenSSL's own, not the provider's
have = [t.split()[0] for t in terms(section(P, "PROVIDER SETTINGS")[""])]
for s in prov_settings:
    if s not in have:
        fail("%s: provider setting '%s' (a devid_backend_setting table) has "
             "no entry '*%s* = ...' in # PROVIDER SETTINGS" % (P, s, s))
for s in have:
    if s not in prov_settings and s not in OSSL_KEYS:
        fail("%s: # PROVIDER SETTINGS documents '%s', which no "
             "devid_backend_setting table has" % (P, s))

# ---- emulator pages ---------------------------------------------------------

P = "man/devid-dps-emulator.1.scd"
cmds = section(P, "COMMANDS")
for c in emu_cmds:
    if c not in cmds:
        fail("%s: command '%s' (devid-dps-emulator --help) has no '## %s' "
             "in # COMMANDS" % (P, c, c))
for c in cmds:
    if c and c not in emu_cmds:
        fail("%s: '## %s' documents a command devid-dps-emulator lacks"
             % (P, c))
have = term_opts(section(P, "OPTIONS")[""])
for o in sorted(emu_opts - have):
    fail("%s: option %s (devid-dps-emulator --help) is missing from "
         "# OPTIONS" % (P, o))
for o in sorted(have - emu_opts):
    fail("%s: # OPTIONS documents %s, which devid-dps-emulator --help lacks"
         % (P, o))
for s, (scmds, sopts) in scripts.items():
    P = "man/%s.1.scd" % s
    cmds = section(P, "COMMANDS")
    for c in scmds:
        if c not in cmds:
            fail("%s: command '%s' (%s --help) has no '## %s' in # COMMANDS"
                 % (P, c, s, c))
    for c in cmds:
        if c and c not in scmds:
            fail("%s: '## %s' documents a command %s lacks" % (P, c, s))
    have = term_opts(section(P, "OPTIONS")[""])
    for o in sorted(sopts - have):
        fail("%s: option %s (%s --help) is missing from # OPTIONS"
             % (P, o, s))
    for o in sorted(have - sopts):
        fail("%s: # OPTIONS documents %s, which %s --help lacks" % (P, o, s))

# ---- the example config -----------------------------------------------------

P = "dist/devid.conf.example"
have = re.findall(r"^#?\s*([a-z0-9-]+)\s*=", read(P), re.M)
for s in settings:
    if s not in have:
        fail("%s: setting '%s' has no line '# %s = ...'" % (P, s, s))
for s in have:
    if s not in settings:
        fail("%s: '%s' is not a setting tools/settings.c has" % (P, s))

# ---- docs/ ------------------------------------------------------------------

D = "docs/cli.md"
rows = [r.split()[0] for r in md_first_cells(D, "verb") if r.split()]
for v in verbs:
    if v not in rows:
        fail("%s: verb '%s' has no row in the verb table" % (D, v))
for v in rows:
    if v not in verbs:
        fail("%s: the verb table lists '%s', which devid --help lacks"
             % (D, v))
for row in md_first_cells(D, "verb"):
    v = row.split()[0] if row.split() else ""
    for o in sorted(opts(row) - verb_opts.get(v, set()) - global_opts):
        fail("%s: the row of '%s' shows %s, which 'devid %s --help' does "
             "not have" % (D, v, o, v))
for o in sorted(global_opts):
    if not in_docs(o):
        fail("docs/: global option %s (devid --help) appears in no docs/*.md "
             "(add it to %s)" % (o, D))
for v in verbs:
    for o in sorted(verb_opts[v]):
        if not in_docs(o):
            fail("docs/: option %s (devid %s --help) appears in no "
                 "docs/*.md (add it to the verb's row in %s)" % (o, v, D))
rows = md_first_cells(D, "name")
for s in settings:
    if s not in rows:
        fail("%s: setting '%s' (tools/settings.c) has no row in the "
             "settings table" % (D, s))
for s in rows:
    if s not in settings:
        fail("%s: the settings table lists '%s', which tools/settings.c "
             "lacks" % (D, s))
rows = {int(r) for r in md_first_cells(D, "code") if r.isdigit()}
for n in sorted(set(exits) - rows):
    fail("%s: exit code %d (%s) has no row in the exit code table"
         % (D, n, exits[n]))
for n in sorted(rows - set(exits)):
    fail("%s: the exit code table lists %d, which enum devid_exit lacks"
         % (D, n))

D = "docs/openssl-cnf.md"
rows = md_first_cells(D, "key")
for s in prov_settings:
    if s not in rows:
        fail("%s: provider setting '%s' has no row in the settings table"
             % (D, s))
for s in rows:
    if s not in prov_settings and s not in OSSL_KEYS:
        fail("%s: the settings table lists '%s', which no "
             "devid_backend_setting table has" % (D, s))

D = "docs/emulator.md"
for c in emu_cmds:
    if not in_docs("devid-dps-emulator " + c) and c != "serve":
        fail("%s: command 'devid-dps-emulator %s' is not documented" % (D, c))
tools = {"devid-dps-emulator": emu_opts}
tools.update({s: o for s, (_c, o) in scripts.items()})
for row in md_first_cells(D, "command"):
    t = row.split()[0] if row.split() else ""
    if t in tools:
        for o in sorted(opts(row) - tools[t]):
            fail("%s: the row '%s' shows %s, which %s --help lacks"
                 % (D, row, o, t))
for t, o in tools.items():
    for x in sorted(o - {"--help"}):
        if not in_docs(x):
            fail("docs/: option %s (%s --help) appears in no docs/*.md"
                 % (x, t))

# every page of docs/ is installed into $(docdir)
inc = read("man/Makefile.inc")
m = re.search(r"^dist_doc_DATA\s*=(.*?)(?<!\\)\n", inc, re.S | re.M)
listed = set(m.group(1).replace("\\", " ").split()) if m else set()
for f in sorted(os.listdir(os.path.join(top, "docs"))):
    if f.endswith(".md") and "docs/" + f not in listed:
        fail("man/Makefile.inc: docs/%s is not in dist_doc_DATA, so make "
             "install leaves it out" % f)

if problems:
    print("The documentation and the code disagree:")
    for p in problems:
        print("  - " + p)
    sys.exit(1)
print("man pages and docs/ match the code: %d verbs, %d settings, "
      "%d provider settings, %d exit codes, %d emulator commands"
      % (len(verbs), len(settings), len(prov_settings), len(exits),
         len(emu_cmds)))
