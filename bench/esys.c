/* SPDX-License-Identifier: Apache-2.0 */
/* The raw TPM paths the bench compares devid with, on the same key at a
 * persistent handle:
 *   sign    Esys_Sign per second (one ESYS context: one TPM, serialised)
 *   first   a fresh process's first signature: TCTI + Esys_Initialize,
 *           the key's handle, Esys_Sign (phases as bench/first.c)
 * A program of its own, so that the other drivers do not have tpm2-tss
 * loaded before devid loads it. Prints one JSON object. */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "bench/bench.h"

struct devid_bench_esys {
    ESYS_CONTEXT *esys;
    ESYS_TR key;
    TPMT_SIG_SCHEME scheme;
    TPM2B_DIGEST digest;
    pthread_mutex_t lock;         /* one TPM, one context */
};

static int devid_bench_esys_op(void *arg, int t)
{
    struct devid_bench_esys *b = arg;
    TPMT_TK_HASHCHECK ticket = { TPM2_ST_HASHCHECK, TPM2_RH_NULL, { 0 } };
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC rc;

    pthread_mutex_lock(&b->lock);
    rc = Esys_Sign(b->esys, b->key, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                   ESYS_TR_NONE, &b->digest, &b->scheme, &ticket, &sig);
    pthread_mutex_unlock(&b->lock);
    Esys_Free(sig);
    return rc == TSS2_RC_SUCCESS;
}

/* Context and key, phase by phase when ph is not NULL. */
static void devid_bench_esys_setup(struct devid_bench_esys *b,
                                   const char *tcti_conf, unsigned long handle,
                                   int alg, struct devid_bench_phases *ph)
{
    TSS2_TCTI_CONTEXT *tcti = NULL;

    memset(b, 0, sizeof(*b));
    if (Tss2_TctiLdr_Initialize(tcti_conf, &tcti) != TSS2_RC_SUCCESS
        || Esys_Initialize(&b->esys, tcti, NULL) != TSS2_RC_SUCCESS) {
        devid_bench_die("TPM context");
    }
    if (ph != NULL) {
        devid_bench_phase(ph, "load");
    }
    if (Esys_TR_FromTPMPublic(b->esys, (TPM2_HANDLE)handle, ESYS_TR_NONE,
                              ESYS_TR_NONE, ESYS_TR_NONE, &b->key)
        != TSS2_RC_SUCCESS) {
        devid_bench_die("key handle");
    }
    if (ph != NULL) {
        devid_bench_phase(ph, "find");
    }
    b->scheme.scheme = alg == DEVID_BENCH_EC      ? TPM2_ALG_ECDSA
                       : alg == DEVID_BENCH_PSS   ? TPM2_ALG_RSAPSS
                                                  : TPM2_ALG_RSASSA;
    b->scheme.details.any.hashAlg = TPM2_ALG_SHA256;
    b->digest.size = 32;
    memset(b->digest.buffer, 0x5a, 32);
    pthread_mutex_init(&b->lock, NULL);
}

static void devid_bench_esys_usage(void)
{
    fprintf(stderr,
            "usage: devid-bench-esys --mode sign|first --tcti CONF"
            " --handle 0x81... --alg ec|pkcs1|pss\n"
            "  [--threads N] [--seconds S | --count N] [--warmup N]\n"
            "  [--ext-pid PID] [--label TEXT]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "mode", 1, NULL, 'm' },    { "tcti", 1, NULL, 'C' },
        { "handle", 1, NULL, 'H' },  { "alg", 1, NULL, 'a' },
        { "threads", 1, NULL, 't' }, { "seconds", 1, NULL, 's' },
        { "count", 1, NULL, 'n' },   { "warmup", 1, NULL, 'w' },
        { "ext-pid", 1, NULL, 'x' }, { "label", 1, NULL, 'l' },
        { NULL, 0, NULL, 0 }
    };
    struct devid_bench_run run = { 1, 1.0, 0, 5, 0 };
    struct devid_bench_esys b;
    struct devid_bench_phases ph;
    struct devid_bench_times tm;
    const char *mode = NULL, *tcti = NULL, *label = "";
    unsigned long handle = 0;
    unsigned long ops;
    int alg = DEVID_BENCH_EC;
    int c;

    devid_bench_phases_start(&ph);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': mode = optarg; break;
        case 'C': tcti = optarg; break;
        case 'H': handle = strtoul(optarg, NULL, 0); break;
        case 'a': alg = devid_bench_alg(optarg); break;
        case 't': run.threads = (int)strtol(optarg, NULL, 10); break;
        case 's': run.seconds = strtod(optarg, NULL); break;
        case 'n': run.count = strtoul(optarg, NULL, 10); break;
        case 'w': run.warmup = strtoul(optarg, NULL, 10); break;
        case 'x': run.ext_pid = strtol(optarg, NULL, 10); break;
        case 'l': label = optarg; break;
        default: devid_bench_esys_usage();
        }
    }
    if (mode == NULL || tcti == NULL || handle == 0 || alg == 0) {
        devid_bench_esys_usage();
    }
    if (strcmp(mode, "first") == 0) {
        devid_bench_phases_start(&ph);
        devid_bench_esys_setup(&b, tcti, handle, alg, &ph);
        if (!devid_bench_esys_op(&b, 0)) {
            devid_bench_die("Esys_Sign");
        }
        devid_bench_phase(&ph, "sign");
        devid_bench_phases_print(&ph, label, "raw-esys");
        return 0;
    }
    if (strcmp(mode, "sign") != 0) {
        devid_bench_esys_usage();
    }
    devid_bench_esys_setup(&b, tcti, handle, alg, NULL);
    ops = devid_bench_go(&run, devid_bench_esys_op, &b, &tm);
    if (ops == 0) {
        devid_bench_die("a signature failed");
    }
    printf("{\"driver\": \"sign\", \"label\": \"%s\", \"mode\": \"esys\", "
           "\"threads\": %d, ",
           label, run.threads);
    devid_bench_print_times(ops, &tm);
    printf("}\n");
    return 0;
}
