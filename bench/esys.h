/* SPDX-License-Identifier: Apache-2.0 */
/* The raw TPM signature the bench compares devid with: Esys_Sign on a
 * persistent key with a password session and a null ticket, one TPM
 * command per signature. Shared by bench/devid-bench-esys and the TLS
 * limit of bench/devid-bench-tls-esys; built only by `make bench`. */
#ifndef DEVID_BENCH_ESYS_H
#define DEVID_BENCH_ESYS_H

#include <pthread.h>
#include <tss2/tss2_esys.h>

#include "bench/bench.h"

/* One ESYS context on one key. */
struct devid_bench_esys {
    ESYS_CONTEXT *esys;
    ESYS_TR key;
    TPMT_SIG_SCHEME scheme;
    TPM2B_DIGEST digest;
    pthread_mutex_t lock; /* one TPM, one context */
};

/** Opens the TCTI tcti_conf (through tctildr), an ESYS context and the key
 *  at handle, set up to sign a SHA-256 digest with alg (DEVID_BENCH_EC,
 *  _PKCS1, _PSS); ends the phases "load" and "find" of ph when ph is not
 *  NULL. Exits through devid_bench_die on failure; the context lives until
 *  the process ends. */
void devid_bench_esys_setup(struct devid_bench_esys *b, const char *tcti_conf,
                            unsigned long handle, int alg,
                            struct devid_bench_phases *ph);

/** One Esys_Sign with b (a struct devid_bench_esys *); 1 on success. A
 *  devid_bench_op. */
int devid_bench_esys_op(void *b, int t);

#endif
