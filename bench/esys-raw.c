/* SPDX-License-Identifier: Apache-2.0 */
/* The raw Esys_Sign of the bench (bench/esys.h). */
#include "config.h"

#include <string.h>
#include <tss2/tss2_tctildr.h>

#include "bench/esys.h"

int devid_bench_esys_op(void *arg, int t)
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

void devid_bench_esys_setup(struct devid_bench_esys *b, const char *tcti_conf,
                            unsigned long handle, int alg,
                            struct devid_bench_phases *ph)
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
    b->scheme.scheme = alg == DEVID_BENCH_EC    ? TPM2_ALG_ECDSA
                       : alg == DEVID_BENCH_PSS ? TPM2_ALG_RSAPSS
                                                : TPM2_ALG_RSASSA;
    b->scheme.details.any.hashAlg = TPM2_ALG_SHA256;
    b->digest.size = 32;
    memset(b->digest.buffer, 0x5a, 32);
    pthread_mutex_init(&b->lock, NULL);
}
