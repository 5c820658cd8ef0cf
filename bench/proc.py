#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs whole processes, interleaved, pinned to one CPU, and writes one JSON
line per variant with every sample: the wall time of the process, and when
the process prints a JSON object (bench/devid-bench-first), that object.

usage: proc.py SPEC.json REPS CPU [EXT_PID] >> raw.jsonl
       proc.py --one OUT.json CMD...   runs CMD once (its output passed on)
                                       and writes {"wall_ms": ...} to OUT

SPEC is a list of {"label", "argv", "env" (added to the environment),
"kind" ("first" keeps the printed object), "group", "ext" (true: the
process makes EXT_PID work, swtpm, whose CPU time is counted too)}. Each
round runs every variant once, so slow drifts of a shared machine hit
every variant alike; odd rounds in reverse order, so that no variant
always runs after the same one. Every sample has proc_wall_ms, proc_cpu_ms (the
process's user + system time) and ext_cpu_ms."""
import glob
import json
import os
import resource
import subprocess
import sys
import time


def ext_cpu_ms(pid):
    """CPU time of every thread of pid so far, from schedstat (ns)."""
    total = 0
    for f in glob.glob("/proc/%s/task/*/schedstat" % pid):
        try:
            total += int(open(f).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e6


def children_cpu_ms():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * 1000.0


def run_once(variant, cpu, ext):
    env = dict(os.environ)
    env.update(variant.get("env", {}))
    # taskset execs the program: its CPU time is the program's
    argv = ["taskset", "-c", str(cpu)] + variant["argv"]
    e = ext if variant.get("ext") else None
    e0 = ext_cpu_ms(e) if e else 0
    c0 = children_cpu_ms()
    t = time.perf_counter()
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    ms = (time.perf_counter() - t) * 1000.0
    cpu_ms = children_cpu_ms() - c0
    ext_ms = ext_cpu_ms(e) - e0 if e else 0
    if r.returncode != 0:
        sys.stderr.write("bench: %s failed (%d): %s\n"
                         % (variant["label"], r.returncode, r.stderr[-2000:]))
        sys.exit(1)
    obj = {}
    if variant.get("kind") == "first":
        lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
        obj = json.loads(lines[-1])
    obj.update({"proc_wall_ms": ms, "proc_cpu_ms": cpu_ms,
                "ext_cpu_ms": ext_ms})
    return obj


def one():
    t = time.perf_counter()
    r = subprocess.run(sys.argv[3:])
    ms = (time.perf_counter() - t) * 1000.0
    with open(sys.argv[2], "w") as f:
        json.dump({"wall_ms": ms}, f)
    sys.exit(r.returncode)


def main():
    if sys.argv[1] == "--one":
        one()
    spec = json.load(open(sys.argv[1]))
    reps = int(sys.argv[2])
    cpu = sys.argv[3]
    ext = sys.argv[4] if len(sys.argv) > 4 else None
    samples = {v["label"]: [] for v in spec}
    # one untimed round first: page cache, dynamic loader caches
    for v in spec:
        run_once(v, cpu, ext)
    # every other round in reverse order: what ran just before a process
    # changes its CPU time (caches, the dynamic loader's pages) by as much
    # as 0.3 ms, so no variant may always follow the same one (unused
    # devid, which always came after a TPM process, while its twin without
    # devid came after it: +0.45 ms; alternating: +0.07 to +0.20)
    for i in range(reps):
        for v in (spec if i % 2 == 0 else spec[::-1]):
            samples[v["label"]].append(run_once(v, cpu, ext))
    for v in spec:
        print(json.dumps({"driver": "proc", "group": v.get("group", ""),
                          "label": v["label"], "kind": v.get("kind", "wall"),
                          "samples": samples[v["label"]]}))


if __name__ == "__main__":
    main()
