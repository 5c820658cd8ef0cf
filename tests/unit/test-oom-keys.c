/* SPDX-License-Identifier: Apache-2.0 */
/* Out of memory on the paths that use a key, as test-oom.c does for the
 * parsers: OpenSSL's allocator is replaced (CRYPTO_set_mem_functions) by one
 * that fails the n-th allocation, for n = 0, 1, 2, ... until a call makes no
 * more allocations than that. The calls go through OpenSSL with the devid
 * provider built in, as the CLI's: opening a key on a SoftHSM2 token
 * (OSSL_STORE), signing with it (EVP_PKEY_sign) and making a CSR with it
 * (X509_REQ_sign). Each call must succeed or fail with an error queued,
 * DEVID_R_MALLOC when the allocation was devid's own; it must never crash
 * or leak (ASan builds check the leaks). The allocator is process-wide:
 * an allocation made with SoftHSM2 on the call stack (its own use of
 * libcrypto) is never the one that fails, the next one is, since SoftHSM2
 * crashes on some (EC_KEY_new's NULL used unchecked in C_SignInit). The
 * same goes for some of OpenSSL 3.0's own (oom-util.c): these are library
 * bugs devid cannot avoid. TPM keys: test-oom-tpm2.c; the install path:
 * test-oom-install.c. DEVID_OOM_TRACE=1 prints each allocation made to
 * fail. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "tests/unit/oom-util.h"
#include "provider/provider.h"
#include "tests/unit/test-p11-util.h"

#define OOM_MAX_STEPS 20000
#define TOKEN "devid-oom"
#define URI_EC                                                                 \
    "pkcs11:token=" TOKEN ";object=ec256;type=private"                         \
    "?pin-value=" TP11_PIN
#define URI_RSA                                                                \
    "pkcs11:token=" TOKEN ";object=rsa2048;type=private"                       \
    "?pin-value=" TP11_PIN
#define URI_ED                                                                 \
    "pkcs11:token=" TOKEN ";object=ed25519;type=private"                       \
    "?pin-value=" TP11_PIN

/* Runs step with the n-th allocation failing, for every n it reaches;
 * some must be devid's own. */
static void oom_sweep(const char *what, toom_step_fn step)
{
    CU_ASSERT(toom_sweep(what, step, toom_judge_queue, NULL, 1, OOM_MAX_STEPS)
              > 0);
}

/* ---- the provider and the token -------------------------------------- */

static OSSL_PROVIDER *ossl_default, *ossl_devid;
static EVP_PKEY *ec_pkey, *rsa_pkey, *ed_pkey; /* opened once, plainly */

static int suite_init(void)
{
    struct devid_prov *prov;

    if (tp11_softhsm_setup() == NULL || !tp11_token_init(TOKEN)
        || !tp11_keygen(TOKEN, "EC:prime256v1", "01", "ec256")
        || !tp11_keygen(TOKEN, "rsa:2048", "02", "rsa2048")
        || !tp11_keygen(TOKEN, "EC:edwards25519", "03", "ed25519")) {
        return 1;
    }
    ossl_default = OSSL_PROVIDER_load(NULL, "default");
    if (ossl_default == NULL
        || !OSSL_PROVIDER_add_builtin(NULL, "devid", devid_provider_init)) {
        return 1;
    }
    ossl_devid = OSSL_PROVIDER_load(NULL, "devid");
    prov = ossl_devid != NULL ? OSSL_PROVIDER_get0_provider_ctx(ossl_devid)
                              : NULL;
    if (prov == NULL
        || !devid_config_set(prov, "pkcs11-module-path", TP11_SOFTHSM)) {
        return 1;
    }
    ec_pkey = toom_load_key(URI_EC);
    rsa_pkey = toom_load_key(URI_RSA);
    ed_pkey = toom_load_key(URI_ED);
    return ec_pkey == NULL || rsa_pkey == NULL || ed_pkey == NULL;
}

static int suite_clean(void)
{
    EVP_PKEY_free(ec_pkey);
    EVP_PKEY_free(rsa_pkey);
    EVP_PKEY_free(ed_pkey);
    OSSL_PROVIDER_unload(ossl_devid);
    OSSL_PROVIDER_unload(ossl_default);
    tp11_softhsm_cleanup();
    return 0;
}

/* ---- the steps -------------------------------------------------------- */

static int step_load_ec(void *arg)
{
    EVP_PKEY *pkey = toom_load_key(URI_EC);

    (void)arg;
    if (pkey == NULL) {
        return 0;
    }
    EVP_PKEY_free(pkey);
    return 1;
}

static int step_load_rsa(void *arg)
{
    EVP_PKEY *pkey = toom_load_key(URI_RSA);

    (void)arg;
    if (pkey == NULL) {
        return 0;
    }
    EVP_PKEY_free(pkey);
    return 1;
}

/* an Ed25519 key: its Edwards-curve attributes (pkcs11/object-ed.c) */
static int step_load_ed(void *arg)
{
    EVP_PKEY *pkey = toom_load_key(URI_ED);

    (void)arg;
    if (pkey == NULL) {
        return 0;
    }
    EVP_PKEY_free(pkey);
    return 1;
}

static int step_sign_ec(void *arg)
{
    (void)arg;
    return toom_sign_digest(ec_pkey);
}

static int step_sign_rsa(void *arg)
{
    (void)arg;
    return toom_sign_digest(rsa_pkey);
}

static int step_csr_ec(void *arg)
{
    (void)arg;
    return toom_make_csr(ec_pkey);
}

/* No Ed25519 CSR here: SoftHSM 2.6.1 leaks the CKA_EC_PARAMS it decodes in
 * every C_SignInit of an EdDSA key, which the ASan pass would report as
 * this program's leak. */
static int step_csr_rsa(void *arg)
{
    (void)arg;
    return toom_make_csr(rsa_pkey);
}

static void test_load_oom(void)
{
    oom_sweep("open an EC key (OSSL_STORE)", step_load_ec);
    oom_sweep("open an RSA key (OSSL_STORE)", step_load_rsa);
    oom_sweep("open an Ed25519 key (OSSL_STORE)", step_load_ed);
}

static void test_sign_oom(void)
{
    oom_sweep("EVP_PKEY_sign, EC", step_sign_ec);
    oom_sweep("EVP_PKEY_sign, RSA", step_sign_rsa);
}

static void test_csr_oom(void)
{
    oom_sweep("X509_REQ_sign, EC", step_csr_ec);
    oom_sweep("X509_REQ_sign, RSA", step_csr_rsa);
}

int main(void)
{
    CU_pSuite s;
    unsigned int failures;

    if (!toom_setup()) {
        return 1;
    }
    /* no system openssl.cnf: it might load another copy of devid */
    if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL)) {
        return 1;
    }
    DEVID_RAISE(NULL, DEVID_R_BAD_URI, "warm-up");
    ERR_clear_error();
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("oom-p11-keys", suite_init, suite_clean);
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
