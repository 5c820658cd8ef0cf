#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The seam to the hardware, checked from the source (docs/architecture.md):

1. common/ includes nothing from the folders above it.
2. The folder include graph (from #include lines) has no circle, so no
   circle between provider/ and a backend either.
3. provider/ names no PKCS#11 or TSS identifier, string or header outside
   the registry entry (provider/registry.c); comments may mention them.
4. The engine shim, the CLI and the PKCS#11 module (p11module/) reach
   backends only through the registry:
   no backend table or backend function by name, no backend chosen by
   comparing its name, no key names of a backend taken apart by hand.

Prints one line per violation and exits 1 when there is any."""
import os
import re
import sys

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
FOLDERS = ["common", "provider", "pkcs11", "tpm2", "engine-compat", "tools", "emulator", "p11module"]
BACKENDS = ["pkcs11", "tpm2"]
REGISTRY = "provider/registry.c"

include_re = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources(folder):
    d = os.path.join(top, folder)
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if name.endswith((".c", ".h")):
            yield folder + "/" + name


def read(rel):
    with open(os.path.join(top, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


def strip_comments(text):
    """C source without comments; string literals are kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


problems = []
for folder in FOLDERS:
    if not list(sources(folder)):
        problems.append(f"{folder}/: no C sources under {top} (wrong tree?)")
edges = {f: set() for f in FOLDERS}
for folder in FOLDERS:
    for rel in sources(folder):
        for kind, inc in include_re.findall(read(rel)):
            target = inc.split("/")[0]
            if kind == '"' and target in FOLDERS and target != folder:
                edges[folder].add(target)
                if folder == "common":
                    problems.append(f"{rel}: common/ includes {inc} from a layer above")
            if folder == "provider" and rel != REGISTRY:
                if target in BACKENDS or inc.startswith(("p11-kit/", "tss2/")):
                    problems.append(f"{rel}: provider/ includes {inc}")

# circles in the folder graph
state = {}


def visit(node, path):
    state[node] = 1
    for nxt in sorted(edges[node]):
        if state.get(nxt) == 1:
            cyc = path[path.index(nxt):] + [nxt] if nxt in path else path + [nxt]
            problems.append("include circle: " + " -> ".join(cyc))
        elif nxt not in state:
            visit(nxt, path + [nxt])
    state[node] = 2


for f in FOLDERS:
    if f not in state:
        visit(f, [f])

# backend names in provider/ code
backend_ident = re.compile(
    r"\b(CK[A-Z]?_[A-Z0-9_]+|CKR_\w+|C_[A-Z]\w+|Esys_\w+|Tss2_\w+|TPM2_\w+|TSS2_\w+|ESYS_\w+|TPM2B_\w+|"
    r"TPMT_\w+|TPMS_\w+|P11Kit\w*|p11_kit_\w+|devid_p11_\w+|devid_tpm2_\w+|devid_pkcs11_\w+)\b")
string_re = re.compile(r'"(?:[^"\\]|\\.)*"')
backend_word = re.compile(r"pkcs11|pkcs#11|tss2|tpm2|handle:", re.I)
for rel in sources("provider"):
    if rel == REGISTRY:
        continue
    code = strip_comments(read(rel))
    for lineno, line in enumerate(code.split("\n"), 1):
        m = backend_ident.search(line)
        if m:
            problems.append(f"{rel}:{lineno}: backend identifier {m.group(0)}")
        for s in string_re.findall(line):
            if backend_word.search(s):
                problems.append(f"{rel}:{lineno}: backend name in string {s}")

# the engine shim and the CLI
by_name = re.compile(r"\b(devid_pkcs11_backend|devid_tpm2_backend|devid_p11_\w+|devid_tpm2_\w+)\b")
name_cmp = re.compile(r"str(n)?(case)?cmp\s*\(\s*[\w>.-]*ops->name")
hand_parse = re.compile(r'str(n)?cmp\s*\([^;]*"(pkcs11:|handle:)"')
for folder in ("engine-compat", "tools", "p11module"):
    for rel in sources(folder):
        code = strip_comments(read(rel))
        for lineno, line in enumerate(code.split("\n"), 1):
            for rx, what in ((by_name, "names a backend directly"),
                             (name_cmp, "chooses a backend by its name"),
                             (hand_parse, "takes a backend's key name apart by hand")):
                m = rx.search(line)
                if m:
                    problems.append(f"{rel}:{lineno}: {what}: {m.group(0)}")

for p in problems:
    print("layering: " + p)
if problems:
    sys.exit(1)
print("layering: common/ depends on nothing above it; no include circle; "
      "provider/, engine-compat/, tools/ and p11module/ reach backends only through the registry")
