/* SPDX-License-Identifier: Apache-2.0 */
/* How the TPM 2.0 backend opens a persistent key, against a real swtpm of
 * its own and keys made by tpm2-tools: the key's public area taken back
 * from ESYS (Esys_TR_Serialize, parsed strictly, else TPM2_ReadPublic
 * again), the algorithm read only where a key's caps depend on it, and the
 * forms of a TCTI name (loaded by devid itself or through tctildr). The
 * rest of the backend is test-tpm2-backend.c's. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <tss2/tss2_mu.h>

#include "common/err.h"
#include "provider/backend.h"
#include "provider/prov.h"
#include "tests/unit/swtpm-util.h"
#include "tests/unit/tpm2-util.h"
#include "tpm2/tpm2.h"

static char tdir[256];
static char tcti[128];
static pid_t swtpm_pid = -1;
static struct devid_prov *prov;

static int suite_init(void)
{
    swtpm_pid = tswtpm_start_tmp("devid-tpm2-open", tdir, sizeof(tdir), tcti,
                                 sizeof(tcti));
    if (swtpm_pid < 0) {
        return 1;
    }
    if (!ttpm2_make_tools_keys(tdir)) {
        fprintf(stderr, "tpm2-tools failed: see %s/cmd.log\n", tdir);
        tswtpm_stop(&swtpm_pid);
        return 1;
    }
    prov = devid_prov_new_standalone(NULL);
    return prov == NULL || !devid_config_set(prov, "tcti", tcti);
}

static int suite_clean(void)
{
    char cmd[300];

    devid_prov_free(prov);
    tswtpm_stop(&swtpm_pid);
    if (getenv("DEVID_KEEP_TESTDIR") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
        ttpm2_run(tdir, cmd);
    }
    return 0;
}

/* ---- the public area ESYS keeps ------------------------------------ */

/* When set, the serialized ESYS_TR this test program hands devid has its
 * last byte (in the key's public area) flipped. Defined here, this
 * Esys_TR_Serialize is the one libdevid-core calls; it wraps tpm2-tss's. */
static int corrupt_serialize;

TSS2_RC Esys_TR_Serialize(ESYS_CONTEXT *esys, ESYS_TR object, uint8_t **buf,
                          size_t *len)
{
    TSS2_RC (*real)(ESYS_CONTEXT *, ESYS_TR, uint8_t **, size_t *);
    TSS2_RC rc;

    *(void **)&real = dlsym(RTLD_NEXT, "Esys_TR_Serialize");
    if (real == NULL) {
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    rc = real(esys, object, buf, len);
    if (rc == TSS2_RC_SUCCESS && corrupt_serialize && *len > 0) {
        (*buf)[*len - 1] ^= 0x01;
    }
    return rc;
}

/* 1 when a and b marshal to the same bytes. */
static int same_public(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b)
{
    uint8_t ba[sizeof(*a)], bb[sizeof(*b)];
    size_t la = 0, lb = 0;

    return Tss2_MU_TPM2B_PUBLIC_Marshal(a, ba, sizeof(ba), &la)
               == TSS2_RC_SUCCESS
           && Tss2_MU_TPM2B_PUBLIC_Marshal(b, bb, sizeof(bb), &lb)
                  == TSS2_RC_SUCCESS
           && la == lb && memcmp(ba, bb, la) == 0;
}

/* The public area ESYS hands back for handle equals what TPM2_ReadPublic
 * returns. */
static void check_tr_public(TPM2_HANDLE handle)
{
    struct devid_tpm2 *st = NULL;
    TPM2B_PUBLIC known, *read = NULL;
    ESYS_TR tr = ESYS_TR_NONE;

    CU_ASSERT_FATAL(devid_tpm2_esys_acquire(prov, &st) == 1);
    CU_ASSERT(Esys_TR_FromTPMPublic(st->esys, handle, ESYS_TR_NONE,
                                    ESYS_TR_NONE, ESYS_TR_NONE, &tr)
              == TSS2_RC_SUCCESS);
    CU_ASSERT(Esys_ReadPublic(st->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, &read, NULL, NULL)
              == TSS2_RC_SUCCESS);
    CU_ASSERT_TRUE(devid_tpm2_tr_public(st, tr, handle, &known));
    CU_ASSERT_TRUE(read != NULL && same_public(&known, read));
    /* another handle's public area is not taken for this one */
    CU_ASSERT_FALSE(devid_tpm2_tr_public(st, tr, handle + 1, &known));
    Esys_Free(read);
    devid_tpm2_esys_release(st);
}

static void test_public_from_esys(void)
{
    check_tr_public(0x81000020); /* EC P-256 */
    check_tr_public(0x81000021); /* RSA-2048 */
}

/* A serialized ESYS_TR that is not exactly what we expect is refused, and
 * a key whose serialized form is corrupted still opens with its real
 * public area (read again from the TPM). */
static void test_public_serialized_refused(void)
{
    const TPM2_HANDLE h = 0x81000020;
    struct devid_tpm2 *st = NULL;
    struct devid_key *key, *again;
    TPM2B_PUBLIC pub;
    ESYS_TR tr = ESYS_TR_NONE;
    uint8_t *buf = NULL, bad[4096];
    size_t len = 0, nlen;

    CU_ASSERT_FATAL(devid_tpm2_esys_acquire(prov, &st) == 1);
    CU_ASSERT(Esys_TR_FromTPMPublic(st->esys, h, ESYS_TR_NONE, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &tr)
              == TSS2_RC_SUCCESS);
    CU_ASSERT(Esys_TR_Serialize(st->esys, tr, &buf, &len) == TSS2_RC_SUCCESS);
    devid_tpm2_esys_release(st);
    CU_ASSERT_FATAL(buf != NULL && len > 12 && len < sizeof(bad));
    CU_ASSERT_TRUE(devid_tpm2_pub_from_serialized(buf, len, h, &pub));
    nlen = (size_t)buf[4] << 8 | buf[5];
    /* one byte short, one byte more */
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(buf, len - 1, h, &pub));
    memcpy(bad, buf, len);
    bad[len] = 0;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len + 1, h, &pub));
    /* another handle */
    memcpy(bad, buf, len);
    bad[3] ^= 0x01;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    /* not a key resource (IESYSC_NV_RSRC) */
    memcpy(bad, buf, len);
    bad[6 + nlen + 3] = 2;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    /* a Name of another length, a Name that is not the public area's */
    memcpy(bad, buf, len);
    bad[5] = (uint8_t)(bad[5] + 1);
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    memcpy(bad, buf, len);
    bad[6 + nlen - 1] ^= 0x01;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    /* a public area that is not the Name's */
    memcpy(bad, buf, len);
    bad[len - 1] ^= 0x01;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    /* a TPM2B_PUBLIC size that does not match its contents */
    memcpy(bad, buf, len);
    bad[6 + nlen + 4 + 1] ^= 0x01;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    Esys_Free(buf);

    /* the open falls back to TPM2_ReadPublic: the right public key */
    key = ttpm2_open_key(prov, "handle:0x81000020", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    corrupt_serialize = 1;
    again = ttpm2_open_key(prov, "handle:0x81000020", NULL);
    corrupt_serialize = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    CU_ASSERT_EQUAL(again->pub.point_len, key->pub.point_len);
    CU_ASSERT_EQUAL(memcmp(again->pub.point, key->pub.point,
                           key->pub.point_len),
                    0);
    CU_ASSERT_EQUAL(again->caps, key->caps);
    CU_ASSERT_TRUE(ttpm2_sign_verify(again, "SHA256", DEVID_SIG_ECDSA));
    devid_key_free(again);
    devid_key_free(key);
}

/* ---- caps and the TCTI -------------------------------------------- */

/* What pv's TPM context did: whether it has read the TPM's algorithms
 * (TPM2_GetCapability) and whether it opened its TCTI without tctildr.
 * Each is 1 or 0; both are -1 without a context. */
struct ctx_did {
    int algs_read;
    int tcti_own;
};

static struct ctx_did ctx_did(struct devid_prov *pv)
{
    struct ctx_did did = { -1, -1 };
    struct devid_tpm2 *st = NULL;

    if (devid_tpm2_esys_acquire(pv, &st)) {
        did.algs_read = st->caps_read;
        did.tcti_own = st->tcti_own;
        devid_tpm2_esys_release(st);
    }
    return did;
}

/* A key with a scheme of its own opens without TPM2_GetCapability (the TPM
 * implements the scheme it accepted the key with) and offers that scheme
 * only; so does an EC key without one (ECDSA and ECDH are devid's only ways
 * for it); an RSA key without one makes devid read the TPM's algorithms. */
static void test_caps_without_algs(void)
{
    struct devid_prov *pv = devid_prov_new_standalone(NULL);
    struct devid_key *key;

    CU_ASSERT_PTR_NOT_NULL_FATAL(pv);
    CU_ASSERT_FATAL(devid_config_set(pv, "tcti", tcti) == 1);
    key = ttpm2_open_key(pv, "handle:0x81000022", NULL);
    CU_ASSERT_PTR_NOT_NULL(key);
    if (key != NULL) {
        CU_ASSERT_EQUAL(key->caps, DEVID_CAP_SIGN_ECDSA);
        CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
        devid_key_free(key);
    }
    CU_ASSERT_EQUAL(ctx_did(pv).algs_read, 0);
    key = ttpm2_open_key(pv, "handle:0x81000020", NULL);
    CU_ASSERT_PTR_NOT_NULL(key);
    if (key != NULL) {
        CU_ASSERT_EQUAL(key->caps,
                        DEVID_CAP_SIGN_ECDSA | DEVID_CAP_DERIVE_ECDH);
        CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
        devid_key_free(key);
    }
    CU_ASSERT_EQUAL(ctx_did(pv).algs_read, 0);
    key = ttpm2_open_key(pv, "handle:0x81000021", NULL);
    CU_ASSERT_PTR_NOT_NULL(key);
    if (key != NULL) {
        CU_ASSERT_TRUE((key->caps & DEVID_CAP_SIGN_PSS) != 0);
        devid_key_free(key);
    }
    CU_ASSERT_EQUAL(ctx_did(pv).algs_read, 1);
    devid_prov_free(pv);
}

/* "swtpm:CONF" is loaded from libtss2-tcti-swtpm.so.0 by devid itself; a
 * library file name goes through tctildr and reaches the same TPM; a plain
 * name without a library goes through tctildr too, which fails. */
static void test_tcti_forms(void)
{
    char viafile[256];
    struct devid_prov *pv;
    struct devid_key *key;

    CU_ASSERT_EQUAL(ctx_did(prov).tcti_own, 1);
    snprintf(viafile, sizeof(viafile), "libtss2-tcti-swtpm.so.0:%s",
             strchr(tcti, ':') + 1);
    pv = devid_prov_new_standalone(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pv);
    CU_ASSERT_FATAL(devid_config_set(pv, "tcti", viafile) == 1);
    key = ttpm2_open_key(pv, "handle:0x81000020", NULL);
    CU_ASSERT_PTR_NOT_NULL(key);
    if (key != NULL) {
        CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
        devid_key_free(key);
    }
    CU_ASSERT_EQUAL(ctx_did(pv).tcti_own, 0);
    devid_prov_free(pv);
    pv = devid_prov_new_standalone(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pv);
    CU_ASSERT_FATAL(devid_config_set(pv, "tcti", "nosuchtcti:x=1") == 1);
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(ttpm2_open_key(pv, "handle:0x81000020", NULL));
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_TPM_UNREACHABLE);
    ERR_clear_error();
    devid_prov_free(pv);
}

int main(void)
{
    CU_pSuite s;
    unsigned int failures;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("tpm2-open", suite_init, suite_clean);
    CU_add_test(s, "test_public_from_esys", test_public_from_esys);
    CU_add_test(s, "test_public_serialized_refused",
                test_public_serialized_refused);
    CU_add_test(s, "test_caps_without_algs", test_caps_without_algs);
    CU_add_test(s, "test_tcti_forms", test_tcti_forms);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failures == 0 ? 0 : 1;
}
