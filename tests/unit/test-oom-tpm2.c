/* SPDX-License-Identifier: Apache-2.0 */
/* Out of memory with TPM keys (issue 14, item 10), as test-oom-keys.c does
 * for PKCS#11 keys: with the devid provider built in, opening a TSS2 key
 * file (OSSL_STORE: the file loader and devid's decoder), signing with it
 * (EVP_PKEY_sign) and making a CSR with it (X509_REQ_sign) run with their
 * n-th allocation failing, for every n (oom-util.c). Each call must
 * succeed or fail with an error queued, DEVID_R_MALLOC when the allocation
 * was devid's own, never crash or leak (ASan builds check), and leave no
 * transient object in the TPM: this program starts its own swtpm, which
 * has no resource manager and three object slots, and counts them after
 * each sweep. The keys are made by tpm2-openssl under a persistent SRK
 * (0x81000001), an EC P-256 and an RSA-2048 key. */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "common/err.h"
#include "provider/prov.h"
#include "provider/provider.h"
#include "provider/ref-file.h"
#include "tests/unit/oom-util.h"
#include "tests/unit/swtpm-util.h"
#include "tests/unit/tpm2-util.h"

#define OOM_MAX_STEPS 20000
#define OOM_LIB_RUNS 1000

static char tdir[256];
static char tcti[128];
static char ec_file[300], rsa_file[300];
static pid_t swtpm_pid = -1;
static OSSL_PROVIDER *ossl_default, *ossl_devid;
static EVP_PKEY *ec_pkey, *rsa_pkey; /* opened once, plainly */

/* ---- swtpm (as test-tpm2-backend.c starts it) -------------------------- */

/* The transient objects loaded in the TPM now (tpm2_getcap), or -1. */
static int transient_count(void)
{
    char cmd[512], line[256];
    FILE *p;
    int n = 0;

    snprintf(cmd, sizeof(cmd), "tpm2_getcap handles-transient 2>/dev/null");
    p = popen(cmd, "r");
    if (p == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), p) != NULL) {
        n += strstr(line, "0x80") != NULL;
    }
    return pclose(p) == 0 ? n : -1;
}

/* ---- the suite ---------------------------------------------------------- */

static int suite_init(void)
{
    struct devid_prov *prov;

    swtpm_pid = tswtpm_start_tmp("devid-oomt", tdir, sizeof(tdir), tcti,
                                 sizeof(tcti));
    if (swtpm_pid < 0) {
        return 1;
    }
    /* the SRK persistent at 0x81000001 (no resource manager: flush the
     * transient copies tpm2-tools leave) and two keys under it */
    if (!ttpm2_run(tdir,
                   "F='tpm2_flushcontext -t'"
                   " && tpm2_createprimary -C o -G ecc -c srk.ctx"
                   " && tpm2_evictcontrol -C o -c srk.ctx 0x81000001 && $F"
                   " && openssl genpkey -provider tpm2 -provider default"
                   " -algorithm EC -pkeyopt group:P-256"
                   " -pkeyopt parent:0x81000001 -out ec.tss && $F"
                   " && openssl genpkey -provider tpm2 -provider default"
                   " -algorithm RSA -pkeyopt bits:2048"
                   " -pkeyopt parent:0x81000001 -out rsa.tss && $F")) {
        fprintf(stderr, "tpm2-tools/tpm2-openssl failed: see %s/cmd.log\n",
                tdir);
        tswtpm_stop(&swtpm_pid);
        return 1;
    }
    snprintf(ec_file, sizeof(ec_file), "%s/ec.tss", tdir);
    snprintf(rsa_file, sizeof(rsa_file), "%s/rsa.tss", tdir);
    ossl_default = OSSL_PROVIDER_load(NULL, "default");
    if (ossl_default == NULL
        || !OSSL_PROVIDER_add_builtin(NULL, "devid", devid_provider_init)) {
        return 1;
    }
    ossl_devid = OSSL_PROVIDER_load(NULL, "devid");
    prov = ossl_devid != NULL ? OSSL_PROVIDER_get0_provider_ctx(ossl_devid)
                              : NULL;
    if (prov == NULL || !devid_config_set(prov, "tcti", tcti)) {
        return 1;
    }
    ec_pkey = toom_load_key(ec_file);
    rsa_pkey = toom_load_key(rsa_file);
    return ec_pkey == NULL || rsa_pkey == NULL;
}

static int suite_clean(void)
{
    char cmd[400];

    EVP_PKEY_free(ec_pkey);
    EVP_PKEY_free(rsa_pkey);
    OSSL_PROVIDER_unload(ossl_devid);
    OSSL_PROVIDER_unload(ossl_default);
    tswtpm_stop(&swtpm_pid);
    if (getenv("DEVID_KEEP_TESTDIR") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
        if (system(cmd) != 0) {
            fprintf(stderr, "cannot remove %s\n", tdir);
        }
    }
    return 0;
}

/* ---- the steps ---------------------------------------------------------- */

static int step_load(void *arg)
{
    EVP_PKEY *pkey;

    /* the decoders' short-lived cache would answer instead of the TPM */
    devid_ref_cache_free(OSSL_PROVIDER_get0_provider_ctx(ossl_devid));
    pkey = toom_load_key(arg);
    if (pkey == NULL) {
        return 0;
    }
    EVP_PKEY_free(pkey);
    return 1;
}

static int step_sign(void *arg)
{
    return toom_sign_digest(*(EVP_PKEY **)arg);
}

static int step_csr(void *arg)
{
    return toom_make_csr(*(EVP_PKEY **)arg);
}

/* The sweeps of step with arg: each of devid's own allocations failing in
 * turn, then every stride-th of all, with a stride that makes about
 * OOM_LIB_RUNS runs (a TPM call takes milliseconds and the libraries make
 * thousands of allocations; DEVID_OOM_STRIDE=1 fails every one). No
 * transient object may be left in the TPM. */
static void oom_sweep(const char *what, toom_step_fn step, void *arg)
{
    const char *s = getenv("DEVID_OOM_STRIDE");
    long total = toom_count(step, arg);
    long stride = total / OOM_LIB_RUNS + 1;
    int before = transient_count(), after; /* after a plain run, as after
                                            * the sweep */
    char title[160];

    if (s != NULL && atol(s) > 0) {
        stride = atol(s);
    }
    CU_ASSERT_FATAL(before >= 0);
    snprintf(title, sizeof(title), "%s, devid's own allocations", what);
    CU_ASSERT(toom_sweep(title, step, toom_judge_queue, arg, 0, OOM_MAX_STEPS)
              > 0);
    snprintf(title, sizeof(title), "%s, all %ld allocations", what, total);
    toom_sweep(title, step, toom_judge_queue, arg, stride, OOM_MAX_STEPS);
    after = transient_count();
    if (after > before) {
        fprintf(stderr,
                "\n  %s: %d transient objects in the TPM, %d "
                "before\n",
                what, after, before);
    }
    /* fewer is fine: the provider drops what it keeps loaded for a while */
    CU_ASSERT(after >= 0 && after <= before);
}

static void test_load_oom(void)
{
    oom_sweep("open a TPM EC key file (OSSL_STORE)", step_load, ec_file);
    oom_sweep("open a TPM RSA key file (OSSL_STORE)", step_load, rsa_file);
}

static void test_sign_oom(void)
{
    oom_sweep("EVP_PKEY_sign, TPM EC", step_sign, &ec_pkey);
    oom_sweep("EVP_PKEY_sign, TPM RSA", step_sign, &rsa_pkey);
}

static void test_csr_oom(void)
{
    oom_sweep("X509_REQ_sign, TPM EC", step_csr, &ec_pkey);
    oom_sweep("X509_REQ_sign, TPM RSA", step_csr, &rsa_pkey);
}

int main(void)
{
    CU_pSuite s;
    unsigned int failures;

    if (!toom_setup()) {
        return 1;
    }
    /* tss2's own warnings (the TPM's object slots are full, and devid
     * makes room) would drown the test's */
    setenv("TSS2_LOG", "all+none", 0);
    /* no system openssl.cnf: it might load another copy of devid */
    if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL)) {
        return 1;
    }
    DEVID_RAISE(NULL, DEVID_R_BAD_URI, "warm-up");
    ERR_clear_error();
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("oom-tpm2-keys", suite_init, suite_clean);
    CU_add_test(s, "test_load_oom", test_load_oom);
    CU_add_test(s, "test_sign_oom", test_sign_oom);
    CU_add_test(s, "test_csr_oom", test_csr_oom);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    OPENSSL_cleanup();
    return failures == 0 ? 0 : 1;
}
