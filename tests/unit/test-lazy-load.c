/* SPDX-License-Identifier: Apache-2.0 */
/* devid.so loads p11-kit and tpm2-tss on first use (common/lazy.h): a
 * program that activates devid and uses none of its keys maps neither, and
 * the first use of a backend maps its libraries. This program links only
 * libcrypto, as an OpenSSL program does, and looks at its own
 * /proc/self/maps. devid's child library context is made on first use too:
 * its trace (DEVID_DEBUG) says when. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>

static char cnf[256];
static char trace[256];
static char module[1024];
static OSSL_LIB_CTX *libctx;
static OSSL_PROVIDER *prov[2];

/* 1 when a library whose file name starts with prefix is mapped. */
static int mapped(const char *prefix)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        const char *base = strrchr(line, '/');

        found = base != NULL && strncmp(base + 1, prefix, strlen(prefix)) == 0;
    }
    fclose(f);
    return found;
}

/* How many lines of devid's trace contain text. */
static int traced(const char *text)
{
    FILE *f = fopen(trace, "r");
    char line[4096];
    int n = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, text) != NULL;
    }
    fclose(f);
    return n;
}

/* devid and default in a fresh library context, devid's settings naming
 * a PKCS#11 module and a TCTI that are not there: nothing is reached until
 * a key is asked for. */
static int suite_init(void)
{
    const char *dir = getenv("OPENSSL_MODULES");
    FILE *f;
    int fd;

    if (dir == NULL) {
        fprintf(stderr, "OPENSSL_MODULES is not set\n");
        return 1;
    }
    snprintf(module, sizeof(module), "%s/devid.so", dir);
    snprintf(cnf, sizeof(cnf), "%s/devid-lazy-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    snprintf(trace, sizeof(trace), "%s/devid-lazy-trace-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    fd = mkstemp(trace);
    if (fd < 0) {
        return 1;
    }
    close(fd);
    {
        char env[300];

        snprintf(env, sizeof(env), "file:%s", trace);
        setenv("DEVID_DEBUG", env, 1);
    }
    fd = mkstemp(cnf);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        return 1;
    }
    fprintf(f,
            "openssl_conf = openssl_init\n"
            "[openssl_init]\nproviders = provider_sect\n"
            "[provider_sect]\ndevid = devid_sect\n"
            "[devid_sect]\nmodule = %s\n"
            "pkcs11-module-path = /nonexistent/devid-lazy.so\n"
#ifdef DEVID_HAVE_TPM2
            "tcti = swtpm:host=127.0.0.1,port=1\n"
#endif
            ,
            module);
    fclose(f);
    libctx = OSSL_LIB_CTX_new();
    return libctx == NULL || OSSL_LIB_CTX_load_config(libctx, cnf) != 1
           || (prov[0] = OSSL_PROVIDER_load(libctx, "default")) == NULL
           || (prov[1] = OSSL_PROVIDER_load(libctx, "devid")) == NULL;
}

static int suite_clean(void)
{
    OSSL_PROVIDER_unload(prov[1]);
    OSSL_PROVIDER_unload(prov[0]);
    OSSL_LIB_CTX_free(libctx);
    return unlink(trace) != 0 || unlink(cnf) != 0;
}

/* Opens name through OSSL_STORE and loads from it; the key is not there,
 * so this fails, after the backend has been asked. */
static void store_try(const char *name)
{
    OSSL_STORE_CTX *s = OSSL_STORE_open_ex(name, libctx, NULL, UI_null(), NULL,
                                           NULL, NULL, NULL);
    OSSL_STORE_INFO *info = NULL;

    while (s != NULL && !OSSL_STORE_eof(s)
           && (info = OSSL_STORE_load(s)) != NULL) {
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(s);
    ERR_clear_error();
}

/* A software key made and used with devid active: devid is asked for
 * algorithms (it has none of these) and makes no library context; the
 * provider's own start is in the trace, so the trace is being written. */
static void test_unused_makes_no_libctx(void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(libctx, NULL, "EC", "P-256");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[128];
    size_t len = sizeof(sig);

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    CU_ASSERT(
        EVP_DigestSignInit_ex(md, NULL, "SHA256", libctx, NULL, key, NULL) == 1
        && EVP_DigestSign(md, sig, &len, (const unsigned char *)"x", 1) == 1);
    CU_ASSERT_EQUAL(traced("provider: initialised"), 1);
    CU_ASSERT_EQUAL(traced("library context made"), 0);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
}

/* Software keys and certificates with devid active: a key made, written,
 * read back through the decoders (devid's among them) and used. */
static void test_unused_maps_nothing(void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(libctx, NULL, "EC", "P-256");
    EVP_PKEY *back = NULL;
    BIO *mem = BIO_new(BIO_s_mem());
    unsigned char sig[128];
    size_t len = sizeof(sig);
    EVP_PKEY_CTX *ctx = NULL;
    static const unsigned char dgst[32] = { 1 };

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
    CU_ASSERT(PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL));
    back = PEM_read_bio_PrivateKey_ex(mem, NULL, NULL, NULL, libctx, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    ctx = EVP_PKEY_CTX_new_from_pkey(libctx, back, NULL);
    CU_ASSERT(ctx != NULL && EVP_PKEY_sign_init(ctx) == 1
              && EVP_PKEY_sign(ctx, sig, &len, dgst, sizeof(dgst)) == 1);
    CU_ASSERT_EQUAL(mapped("libp11-kit"), 0);
    CU_ASSERT_EQUAL(mapped("libtss2-"), 0);
    /* devid's PEM step read the key's PEM (it is not a reference) through
     * a BIO of devid's library context: made now, and once */
    CU_ASSERT_EQUAL(traced("library context made"), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(back);
    EVP_PKEY_free(key);
    BIO_free(mem);
}

/* A PKCS#11 name maps p11-kit, and only it. */
static void test_pkcs11_maps_p11kit(void)
{
    store_try("pkcs11:token=devid-lazy;object=none;type=private");
    CU_ASSERT_EQUAL(mapped("libp11-kit"), 1);
    CU_ASSERT_EQUAL(mapped("libtss2-"), 0);
}

#ifdef DEVID_HAVE_TPM2
/* A TPM name maps the TCTI's library, which devid opens itself for
 * "swtpm:..." without the TCTI loader (the TPM is not there: nothing
 * more). */
static void test_tpm2_maps_tss2(void)
{
    store_try("handle:0x81000001");
    CU_ASSERT_EQUAL(mapped("libtss2-tcti-swtpm"), 1);
    CU_ASSERT_EQUAL(mapped("libtss2-tctildr"), 0);
}
#endif

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("lazy-load", suite_init, suite_clean);
    /* in this order: the first test needs a process that has used no key */
    CU_add_test(suite, "unused devid makes no library context",
                test_unused_makes_no_libctx);
    CU_add_test(suite, "unused devid maps neither library",
                test_unused_maps_nothing);
    CU_add_test(suite, "a PKCS#11 name maps p11-kit", test_pkcs11_maps_p11kit);
#ifdef DEVID_HAVE_TPM2
    CU_add_test(suite, "a TPM name maps tpm2-tss", test_tpm2_maps_tss2);
#endif
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
