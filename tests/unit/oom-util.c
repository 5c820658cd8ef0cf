/* SPDX-License-Identifier: Apache-2.0 */
/* The failing allocator and the sweep of the allocation-failure tests (see
 * oom-util.h). OpenSSL's allocator is replaced (CRYPTO_set_mem_functions)
 * by one that fails the n-th allocation once, for n = 0, 1, 2, ... The
 * allocator is process-wide, so some allocations are spared (toom_spared):
 * the next one fails instead. DEVID_OOM_TRACE=1 prints each allocation
 * made to fail. */
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
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "tests/unit/oom-util.h"

const char TOOM_TOOLS[] = "tools/ (malloc)";

static int toom_in_devid_path(const char *file);

/* Allocation sites name their file with a string literal: the answer for
 * each pointer is kept (realpath per allocation is slow). */
int toom_in_devid(const char *file)
{
    static struct {
        const char *file;
        int in;
    } seen[256];
    static size_t n_seen;
    size_t i;
    int in;

    if (file == TOOM_TOOLS) {
        return 1;
    }
    for (i = 0; i < n_seen; i++) {
        if (seen[i].file == file) {
            return seen[i].in;
        }
    }
    in = toom_in_devid_path(file);
    if (n_seen < sizeof(seen) / sizeof(seen[0])) {
        seen[n_seen].file = file;
        seen[n_seen++].in = in;
    }
    return in;
}

static int toom_in_devid_path(const char *file)
{
    static const char *const dirs[] = { "common/", "provider/", "pkcs11/",
                                        "tpm2/", NULL };
    char top[PATH_MAX], real[PATH_MAX];
    const char *rel;
    size_t n, i;

    if (file == NULL || realpath(DEVID_TEST_SRCDIR, top) == NULL
        || realpath(file, real) == NULL) {
        return 0;
    }
    n = strlen(top);
    if (strncmp(real, top, n) != 0 || real[n] != '/') {
        return 0;
    }
    rel = real + n + 1;
    for (i = 0; dirs[i] != NULL; i++) {
        if (strncmp(rel, dirs[i], strlen(dirs[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- the failing allocator ------------------------------------------ */

static long oom_countdown = -1; /* allocations until one fails; -1 none */
static const char *oom_file;    /* where the armed failure happened */
static int oom_line;
static int oom_failed;   /* an allocation failed in this run */
static int oom_own_only; /* count and fail devid's own only */
static long oom_skipped; /* spared, not failed */

/* Whether the allocation is one not to fail, because the library that makes
 * it breaks on its failure whatever its caller does:
 * - SoftHSM2's code is on the call stack (it crashes on some: EC_KEY_new's
 *   NULL used unchecked in C_SignInit);
 * - OpenSSL 3.0's ASN1_item_sign_ctx decodes the signature's
 *   AlgorithmIdentifier into the X509_REQ's embedded X509_ALGOR, which
 *   ASN1_item_d2i_ex frees (a bad free) when it runs out of memory;
 * - ASN1_item_sign_ex's EVP_MD_CTX_new (digest.c) fails with no error;
 * - OSSL_STORE_load makes an EVP_PKEY for the key data the provider's
 *   keymgmt load() handed over, and leaks that key data when it fails: so
 *   under OSSL_STORE_load only devid's own allocations fail (own);
 * - OpenSSL 3.0's OSSL_STORE_open_ex releases its loader once too often
 *   when its context allocation (store_lib.c) fails, and a later
 *   OSSL_STORE_close frees it twice. */
static int toom_in_store_load; /* toom_load_key is in OSSL_STORE_load */

static int toom_spared(const char *file, int own)
{
    void *bt[128];
    Dl_info info;
    int n, i, d2i = 0, sign = 0, sign_ex = 0, store = 0;
    size_t len = file != NULL ? strlen(file) : 0;

    /* none of the rules spares devid's own allocations, and the walk of
     * the stack is slow: not for them, nor under toom_load_key's
     * OSSL_STORE_load */
    if (own) {
        return 0;
    }
    if (toom_in_store_load) {
        return 1;
    }
    if (len >= 24 && strcmp(file + len - 24, "crypto/store/store_lib.c") == 0) {
        return 1;
    }
    n = backtrace(bt, 128);
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

static long oom_calls; /* allocations made, for toom_count */

int toom_fail_now(const char *file, int line)
{
    oom_calls++;
    if (oom_countdown < 0) {
        return 0;
    }
    if (oom_own_only && !toom_in_devid(file)) {
        return 0;
    }
    if (oom_countdown > 0) {
        oom_countdown--;
        return 0;
    }
    if (toom_spared(file, toom_in_devid(file))) {
        oom_skipped++;
        return 0; /* the next allocation fails instead */
    }
    oom_countdown = -1;
    if (getenv("DEVID_OOM_TRACE") != NULL) {
        fprintf(stderr, "oom: failing %s:%d\n", file != NULL ? file : "?",
                line);
    }
    oom_file = file; /* one failure per run, then plain again */
    oom_line = line;
    oom_failed = 1;
    return 1;
}

volatile int toom_inside; /* volatile: GCC assumes malloc reads no global */

static void *oom_malloc(size_t n, const char *file, int line)
{
    void *p;

    if (toom_fail_now(file, line)) {
        return NULL;
    }
    toom_inside++;
    p = malloc(n);
    toom_inside--;
    return p;
}

static void *oom_realloc(void *p, size_t n, const char *file, int line)
{
    void *q;

    if (toom_fail_now(file, line)) {
        return NULL;
    }
    toom_inside++;
    q = realloc(p, n);
    toom_inside--;
    return q;
}

static void oom_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

int toom_setup(void)
{
    void *warm[4];

    if (!CRYPTO_set_mem_functions(oom_malloc, oom_realloc, oom_free)) {
        fprintf(stderr, "CRYPTO_set_mem_functions refused: OpenSSL "
                        "allocated before main\n");
        return 0;
    }
    /* backtrace() loads libgcc on its first call: not inside an allocator */
    backtrace(warm, 4);
    return 1;
}

int toom_queue_drain(char *last, size_t size)
{
    unsigned long e;
    int found = 0;

    last[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, last, size);
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

int toom_judge_queue(int r, const char *file, int line, void *arg)
{
    char last[256];
    int q;

    (void)arg;
    if (r == 1) {
        ERR_clear_error();
        return 1; /* it did without that allocation */
    }
    q = toom_queue_drain(last, sizeof(last));
    if (file == NULL) {
        fprintf(stderr,
                "\n  the call failed with no allocation failed "
                "(last: %s)\n",
                last);
        return 0;
    }
    if (toom_in_devid(file) && q != 2) {
        fprintf(stderr,
                "\n  allocation at %s:%d failed, no DEVID_R_MALLOC "
                "queued (last: %s)\n",
                file, line, last);
        return 0;
    }
    if (q == 0) {
        fprintf(stderr, "\n  allocation at %s:%d failed, no error queued\n",
                file, line);
        return 0;
    }
    return 1;
}

long toom_count(toom_step_fn step, void *arg)
{
    long before;

    /* the first call fills caches (fetched algorithms, loaded objects)
     * that the sweep's calls find filled */
    step(arg);
    before = oom_calls;
    step(arg);
    ERR_clear_error();
    return oom_calls - before;
}

long toom_sweep(const char *what, toom_step_fn step, toom_judge_fn judge,
                void *arg, long stride, long max)
{
    long n, runs = 0, own = 0, other = 0;
    int r;

    ERR_clear_error();
    r = step(arg);
    CU_ASSERT_EQUAL_FATAL(r, 1);
    CU_ASSERT_FATAL(judge(r, NULL, 0, arg));
    oom_own_only = stride == 0;
    for (n = 0; runs<max; n += stride> 0 ? stride : 1, runs++) {
        ERR_clear_error();
        oom_file = NULL;
        oom_failed = 0;
        oom_countdown = n;
        r = step(arg);
        oom_countdown = -1;
        if (!oom_failed) {
            CU_ASSERT_EQUAL(r, 1);
            CU_ASSERT(judge(r, NULL, 0, arg));
            break;
        }
        if (toom_in_devid(oom_file)) {
            own++;
        } else {
            other++;
        }
        if (!judge(r, oom_file, oom_line, arg)) {
            fprintf(stderr, "  (%s: allocation %ld failed)\n", what, n);
            CU_FAIL("a failed allocation was not handled");
        }
    }
    oom_own_only = 0;
    CU_ASSERT(runs < max);
    if (stride == 0) {
        printf("\n  %s: %ld runs (each of devid's own allocations failing "
               "in turn, %ld spared)\n",
               what, runs, oom_skipped);
    } else {
        printf("\n  %s: %ld runs (every %ld. allocation failing in turn, "
               "%ld spared); %ld failed one of devid's own, %ld one inside "
               "libraries\n",
               what, runs, stride, oom_skipped, own, other);
    }
    oom_skipped = 0;
    ERR_clear_error();
    /* what the sweep made the provider drop (a session, a module) comes
     * back on the next plain call */
    r = step(arg);
    CU_ASSERT_EQUAL(r, 1);
    CU_ASSERT(judge(r, NULL, 0, arg));
    return own;
}

/* ---- the key calls ---------------------------------------------------- */

EVP_PKEY *toom_load_key(const char *uri)
{
    OSSL_STORE_CTX *store;
    OSSL_STORE_INFO *info;
    EVP_PKEY *pkey = NULL;

    store = OSSL_STORE_open(uri, UI_null(), NULL, NULL, NULL);
    if (store == NULL) {
        return NULL;
    }
    while (pkey == NULL && !OSSL_STORE_eof(store)) {
        toom_in_store_load = 1;
        info = OSSL_STORE_load(store);
        toom_in_store_load = 0;
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

int toom_sign_digest(EVP_PKEY *pkey)
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

int toom_make_csr(EVP_PKEY *pkey)
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
