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
 * same goes for some of OpenSSL 3.0's own (oom_known_bug,
 * oom_spared_caller): these are library bugs devid cannot avoid.
 *
 * Not swept here: the install path (tools/cmd-install.c lives in the devid
 * binary, not in a library this program can link) and TPM keys.
 * DEVID_OOM_TRACE=1 prints each allocation made to fail. */
#include "config.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <limits.h>
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

/* ---- the failing allocator ------------------------------------------ */

static long oom_countdown = -1; /* allocations until one fails; -1 none */
static const char *oom_file;    /* where the armed failure happened */
static int oom_line;

static long oom_skipped; /* spared, not failed */

/* Whether the allocation is one not to fail, because the library that makes
 * it breaks on its failure whatever its caller does:
 * - SoftHSM2's code is on the call stack;
 * - OpenSSL 3.0's ASN1_item_sign_ctx decodes the signature's
 *   AlgorithmIdentifier into the X509_REQ's embedded X509_ALGOR, which
 *   ASN1_item_d2i_ex frees (a bad free) when it runs out of memory;
 * - ASN1_item_sign_ex's EVP_MD_CTX_new (digest.c) fails with no error;
 * - OSSL_STORE_load makes an EVP_PKEY for the key data the provider's
 *   keymgmt load() handed over, and leaks that key data when it fails: so
 *   under OSSL_STORE_load only devid's own allocations fail (own). */
static int oom_spared_caller(const char *file, int own)
{
    void *bt[128];
    Dl_info info;
    int n = backtrace(bt, 128), i, d2i = 0, sign = 0, sign_ex = 0, store = 0;

    for (i = 0; i < n; i++) {
        if (dladdr(bt[i], &info) == 0) {
            continue;
        }
        if (info.dli_fname != NULL
            && strstr(info.dli_fname, "softhsm") != NULL) {
            return 1;
        }
        if (info.dli_sname != NULL) {
            d2i |= strcmp(info.dli_sname, "ASN1_item_d2i_ex") == 0;
            sign |= strcmp(info.dli_sname, "ASN1_item_sign_ctx") == 0;
            sign_ex |= strcmp(info.dli_sname, "ASN1_item_sign_ex") == 0;
            store |= strcmp(info.dli_sname, "OSSL_STORE_load") == 0;
        }
    }
    return (d2i && sign) || (store && !own)
           || (sign_ex && !sign && file != NULL
               && strstr(file, "evp/digest.c") != NULL);
}

/* Allocations whose failure breaks the library that made them, whatever
 * its caller does: OpenSSL 3.0's OSSL_STORE_open_ex releases its loader
 * once too often when its context allocation (store_lib.c) fails, and a
 * later OSSL_STORE_close frees it twice. */
static int oom_known_bug(const char *file)
{
    size_t n = file != NULL ? strlen(file) : 0;

    return n >= 24 && strcmp(file + n - 24, "crypto/store/store_lib.c") == 0;
}

static int oom_fail_now(const char *file, int line)
{
    if (oom_countdown < 0) {
        return 0;
    }
    if (oom_countdown > 0) {
        oom_countdown--;
        return 0;
    }
    if (oom_known_bug(file) || oom_spared_caller(file, toom_in_devid(file))) {
        oom_skipped++;
        return 0; /* the next allocation fails instead */
    }
    oom_countdown = -1;
    if (getenv("DEVID_OOM_TRACE") != NULL) {
        fprintf(stderr, "oom: failing %s:%d\n", file, line);
    }
    /* one failure per run, then plain again. OpenSSL 3.6 allocates
     * without a file name in places: still a failure, not devid's */
    oom_file = file != NULL ? file : "(no file)";
    oom_line = line;
    return 1;
}

static void *oom_malloc(size_t n, const char *file, int line)
{
    return oom_fail_now(file, line) ? NULL : malloc(n);
}

static void *oom_realloc(void *p, size_t n, const char *file, int line)
{
    return oom_fail_now(file, line) ? NULL : realloc(p, n);
}

static void oom_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

/* Empties the error queue: 0 when it was empty, 2 when it held devid's
 * DEVID_R_MALLOC (raised through libcrypto's ERR with devid's library code,
 * or through the core with the dynamic code OpenSSL gave the provider), 1
 * when it held other errors only. */
static char queue_last[256]; /* the last error queue_drain saw */

static int queue_drain(void)
{
    unsigned long e;
    int found = 0;

    queue_last[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, queue_last, sizeof(queue_last));
        if (ERR_GET_REASON(e) == DEVID_R_MALLOC
            && (ERR_GET_LIB(e) == devid_err_lib()
                || ERR_GET_LIB(e) >= ERR_LIB_USER)) {
            found = 2;
        } else if (found == 0) {
            found = 1;
        }
    }
    return found;
}

typedef int (*oom_step_fn)(void);

/* Runs step with the n-th allocation failing, for every n it reaches. */
static void oom_sweep(const char *what, oom_step_fn step)
{
    long n;
    int r, q, own = 0, other = 0;

    CU_ASSERT_EQUAL_FATAL(step(), 1);
    for (n = 0; n < OOM_MAX_STEPS; n++) {
        ERR_clear_error();
        oom_file = NULL;
        oom_countdown = n;
        r = step();
        oom_countdown = -1;
        if (oom_file == NULL) {
            CU_ASSERT_EQUAL(r, 1);
            break;
        }
        if (r == 1) {
            continue; /* it did without that allocation */
        }
        q = queue_drain();
        if (toom_in_devid(oom_file)) {
            own++;
            if (q != 2) {
                fprintf(stderr,
                        "\n  %s: allocation at %s:%d failed, "
                        "no DEVID_R_MALLOC queued (last: %s)\n",
                        what, oom_file, oom_line, queue_last);
            }
            CU_ASSERT(q == 2);
        } else {
            other++;
            if (q == 0) {
                fprintf(stderr,
                        "\n  %s: allocation at %s:%d failed, "
                        "no error queued\n",
                        what, oom_file, oom_line);
            }
            CU_ASSERT(q != 0);
        }
    }
    CU_ASSERT(n < OOM_MAX_STEPS);
    CU_ASSERT(own > 0);
    printf("\n  %s: %ld allocations failed in turn; the call failed for %d "
           "of devid's own and %d inside libraries\n",
           what, n, own, other);
    ERR_clear_error();
    /* what the sweep made the provider drop (a session, a module) comes
     * back on the next plain call */
    CU_ASSERT_EQUAL(step(), 1);
}

/* ---- the provider and the token -------------------------------------- */

static OSSL_PROVIDER *ossl_default, *ossl_devid;
static EVP_PKEY *ec_pkey, *rsa_pkey, *ed_pkey; /* opened once, plainly */

static EVP_PKEY *load_key(const char *uri)
{
    OSSL_STORE_CTX *store;
    OSSL_STORE_INFO *info;
    EVP_PKEY *pkey = NULL;

    store = OSSL_STORE_open(uri, UI_null(), NULL, NULL, NULL);
    if (store == NULL) {
        return NULL;
    }
    while (pkey == NULL && !OSSL_STORE_eof(store)) {
        info = OSSL_STORE_load(store);
        if (info == NULL) {
            if (OSSL_STORE_error(store)) {
                break;
            }
            continue;
        }
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) {
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        }
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    return pkey;
}

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
    ec_pkey = load_key(URI_EC);
    rsa_pkey = load_key(URI_RSA);
    ed_pkey = load_key(URI_ED);
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

static int step_load_ec(void)
{
    EVP_PKEY *pkey = load_key(URI_EC);

    if (pkey == NULL) {
        return 0;
    }
    EVP_PKEY_free(pkey);
    return 1;
}

static int step_load_rsa(void)
{
    EVP_PKEY *pkey = load_key(URI_RSA);

    if (pkey == NULL) {
        return 0;
    }
    EVP_PKEY_free(pkey);
    return 1;
}

/* an Ed25519 key: its Edwards-curve attributes (pkcs11/object-ed.c) */
static int step_load_ed(void)
{
    EVP_PKEY *pkey = load_key(URI_ED);

    if (pkey == NULL) {
        return 0;
    }
    EVP_PKEY_free(pkey);
    return 1;
}

/* EVP_PKEY_sign of a SHA-256 digest (test-p11-backend checks signatures;
 * the CSR steps verify theirs). */
static int sign_digest(EVP_PKEY *pkey)
{
    unsigned char dg[32], sig[512];
    size_t siglen = sizeof(sig);
    EVP_PKEY_CTX *ctx;
    int ok;

    memset(dg, 0x5a, sizeof(dg));
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1
         && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1
         && EVP_PKEY_sign(ctx, sig, &siglen, dg, sizeof(dg)) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static int step_sign_ec(void)
{
    return sign_digest(ec_pkey);
}

static int step_sign_rsa(void)
{
    return sign_digest(rsa_pkey);
}

/* A CSR as the CLI makes one: subject CN, the key's public half, signed by
 * the key with SHA-256 (X509_REQ_sign: EVP_DigestSign through devid). The
 * CLI tests check such CSRs. No Ed25519 CSR here: SoftHSM 2.6.1 leaks the
 * CKA_EC_PARAMS it decodes in every C_SignInit of an EdDSA key, which the
 * ASan pass would report as this program's leak. */
static int make_csr(EVP_PKEY *pkey)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    int ok;

    ok = req != NULL && name != NULL
         && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       (const unsigned char *)"oom-device", -1,
                                       -1, 0)
                == 1
         && X509_REQ_set_subject_name(req, name) == 1
         && X509_REQ_set_pubkey(req, pkey) == 1
         && X509_REQ_sign(req, pkey, EVP_sha256()) > 0;
    X509_NAME_free(name);
    X509_REQ_free(req);
    return ok;
}

static int step_csr_ec(void)
{
    return make_csr(ec_pkey);
}

static int step_csr_rsa(void)
{
    return make_csr(rsa_pkey);
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

    void *warm[4];

    if (!CRYPTO_set_mem_functions(oom_malloc, oom_realloc, oom_free)) {
        fprintf(stderr, "CRYPTO_set_mem_functions refused: OpenSSL "
                        "allocated before main\n");
        return 1;
    }
    /* backtrace() loads libgcc on its first call: not inside an allocator */
    backtrace(warm, 4);
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
