/* SPDX-License-Identifier: Apache-2.0 */
/* Shared parts of the bench drivers in bench/: a clock, a loop run by N
 * threads for a time or a count, key loading through OpenSSL, and one JSON
 * line of results. Built only by `make bench`; never part of `make check`. */
#ifndef DEVID_BENCH_H
#define DEVID_BENCH_H

#include <stddef.h>
#include <openssl/evp.h>

/* One operation of a benchmark, run by thread t; returns 1 on success. */
typedef int devid_bench_op(void *arg, int t);

/* How a benchmark loop runs. */
struct devid_bench_run {
    int threads;         /* 1..DEVID_BENCH_MAX_THREADS */
    double seconds;      /* run for this long ... */
    unsigned long count; /* ... or this many operations per thread (> 0) */
    unsigned long warmup; /* operations per thread before the clock starts */
    long ext_pid;        /* another process doing the work (swtpm), or 0 */
};

/* What the measured part of a run took. On a machine shared with other
 * work, CPU time is what the operations cost; wall time also counts the
 * time others had the CPU. */
struct devid_bench_times {
    double wall;         /* seconds */
    double cpu;          /* CPU seconds of this process */
    double ext_cpu;      /* CPU seconds of run.ext_pid, 0 without one */
};

#define DEVID_BENCH_MAX_THREADS 16

/** Monotonic time in seconds. */
double devid_bench_now(void);

/** Runs op on r->threads threads and returns the operations done (all
 *  threads); *tm gets the times of the measured part. Returns 0 when an
 *  operation failed (the failing thread stops the run). The loop itself is
 *  devid_bench_loop, for callgrind's --toggle-collect. */
unsigned long devid_bench_go(const struct devid_bench_run *r,
                             devid_bench_op *op, void *arg,
                             struct devid_bench_times *tm);

/** CPU seconds used by this process so far. */
double devid_bench_cpu(void);

/** CPU seconds used so far by every thread of process pid (from
 *  /proc/PID/task/TID/schedstat), or 0 when pid is 0 or gone. */
double devid_bench_ext_cpu(long pid);

/** Prints the common fields of a result as JSON members (no braces):
 *  ops, seconds, rate, cpu_s, ext_cpu_s, cpu_rate, maxrss_kb. */
void devid_bench_print_times(unsigned long ops,
                             const struct devid_bench_times *tm);

/** The measured loop of one thread (count 0: until the run stops). Not
 *  static, so that callgrind can name it. */
unsigned long devid_bench_loop(devid_bench_op *op, void *arg, int t,
                               unsigned long count, int *ok);

/** Peak resident set size of this process in KiB (getrusage). */
long devid_bench_maxrss_kb(void);

/** Prints ERR's queue and a message to stderr, then exits 2. */
void devid_bench_die(const char *what);

/** Loads a private key by name through OSSL_STORE (a file, a pkcs11: URI,
 *  handle:0x81...): the providers come from OPENSSL_CONF; propq (may be
 *  NULL) is the property query, e.g. "?provider=tpm2" as tpm2-openssl
 *  asks. */
EVP_PKEY *devid_bench_load_key(const char *name, const char *propq);

/** Loads a private key through an ENGINE (libp11's "pkcs11"): module and
 *  pin are set as the engine's MODULE_PATH and PIN controls. */
EVP_PKEY *devid_bench_engine_key(const char *engine, const char *module,
                                 const char *pin, const char *name);

/** Parses "ec", "pkcs1" or "pss"; returns 0 for anything else. */
int devid_bench_alg(const char *s);

/* The phases of a first signature, each in wall and in CPU milliseconds:
 * on a machine shared with other work the CPU time is what a phase costs
 * (every phase is CPU work in this process, but for the TPM's, which
 * swtpm does: run.sh adds swtpm's CPU time to those). */
#define DEVID_BENCH_PHASES 6

struct devid_bench_phases {
    const char *name[DEVID_BENCH_PHASES];
    double ms[DEVID_BENCH_PHASES];
    double cpu_ms[DEVID_BENCH_PHASES];
    int n;
    double t;
    double c;
};

/** Starts the clocks of ph. */
void devid_bench_phases_start(struct devid_bench_phases *ph);

/** Ends the current phase, named name, and starts the next. */
void devid_bench_phase(struct devid_bench_phases *ph, const char *name);

/** Prints {"driver": "first", "label", "mode", "ms": {...}, "total_ms",
 *  "cpu_ms": {...}, "total_cpu_ms", "maxrss_kb"} and a newline. */
void devid_bench_phases_print(const struct devid_bench_phases *ph,
                              const char *label, const char *mode);

#define DEVID_BENCH_EC 1
#define DEVID_BENCH_PKCS1 2
#define DEVID_BENCH_PSS 3

/** Sets up ctx (already initialised for signing) for alg: SHA-256, and for
 *  PSS a salt as long as the digest (TLS 1.3's). Returns 1 or 0. */
int devid_bench_sign_params(EVP_PKEY_CTX *ctx, int alg);

#endif
