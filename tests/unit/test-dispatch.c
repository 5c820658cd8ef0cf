/* SPDX-License-Identifier: Apache-2.0 */
/* Every dispatch table the provider exports: each function ID appears once,
 * every entry has a function, and the functions OpenSSL requires for the
 * operation are present; the decoders stay out of public-key decodes. */
#include "config.h"

#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "provider/implementations.h"
#include "provider/provider.h"

struct devid_table {
    const char *name;
    const OSSL_DISPATCH *fns;
    int required[8];            /* function IDs, 0-terminated */
};

static const struct devid_table devid_tables[] = {
    { "keymgmt-ec",
      devid_keymgmt_ec_functions,
      { OSSL_FUNC_KEYMGMT_NEW, OSSL_FUNC_KEYMGMT_FREE, OSSL_FUNC_KEYMGMT_HAS,
        OSSL_FUNC_KEYMGMT_LOAD, OSSL_FUNC_KEYMGMT_GET_PARAMS,
        OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, OSSL_FUNC_KEYMGMT_EXPORT, 0 } },
    { "keymgmt-rsa",
      devid_keymgmt_rsa_functions,
      { OSSL_FUNC_KEYMGMT_NEW, OSSL_FUNC_KEYMGMT_FREE, OSSL_FUNC_KEYMGMT_HAS,
        OSSL_FUNC_KEYMGMT_LOAD, OSSL_FUNC_KEYMGMT_GET_PARAMS,
        OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, OSSL_FUNC_KEYMGMT_EXPORT, 0 } },
    { "keymgmt-rsa-pss",
      devid_keymgmt_rsa_pss_functions,
      { OSSL_FUNC_KEYMGMT_NEW, OSSL_FUNC_KEYMGMT_FREE, OSSL_FUNC_KEYMGMT_HAS,
        OSSL_FUNC_KEYMGMT_LOAD, OSSL_FUNC_KEYMGMT_GET_PARAMS,
        OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, OSSL_FUNC_KEYMGMT_EXPORT, 0 } },
    { "keymgmt-ed25519",
      devid_keymgmt_ed25519_functions,
      { OSSL_FUNC_KEYMGMT_NEW, OSSL_FUNC_KEYMGMT_FREE, OSSL_FUNC_KEYMGMT_HAS,
        OSSL_FUNC_KEYMGMT_LOAD, OSSL_FUNC_KEYMGMT_GET_PARAMS,
        OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, OSSL_FUNC_KEYMGMT_EXPORT, 0 } },
    { "keymgmt-ed448",
      devid_keymgmt_ed448_functions,
      { OSSL_FUNC_KEYMGMT_NEW, OSSL_FUNC_KEYMGMT_FREE, OSSL_FUNC_KEYMGMT_HAS,
        OSSL_FUNC_KEYMGMT_LOAD, OSSL_FUNC_KEYMGMT_GET_PARAMS,
        OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, OSSL_FUNC_KEYMGMT_EXPORT, 0 } },
    { "signature-ecdsa",
      devid_sig_ecdsa_functions,
      { OSSL_FUNC_SIGNATURE_NEWCTX, OSSL_FUNC_SIGNATURE_FREECTX,
        OSSL_FUNC_SIGNATURE_SIGN_INIT, OSSL_FUNC_SIGNATURE_SIGN,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, 0 } },
    { "signature-rsa",
      devid_sig_rsa_functions,
      { OSSL_FUNC_SIGNATURE_NEWCTX, OSSL_FUNC_SIGNATURE_FREECTX,
        OSSL_FUNC_SIGNATURE_SIGN_INIT, OSSL_FUNC_SIGNATURE_SIGN,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT,
        OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS,
        OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, 0 } },
    /* one-shot only: EVP_DigestSign; update/final refuse by name */
    { "signature-ed25519",
      devid_sig_ed25519_functions,
      { OSSL_FUNC_SIGNATURE_NEWCTX, OSSL_FUNC_SIGNATURE_FREECTX,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, OSSL_FUNC_SIGNATURE_DIGEST_SIGN,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, 0 } },
    /* one-shot only: EVP_DigestSign; update/final refuse by name */
    { "signature-ed448",
      devid_sig_ed448_functions,
      { OSSL_FUNC_SIGNATURE_NEWCTX, OSSL_FUNC_SIGNATURE_FREECTX,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, OSSL_FUNC_SIGNATURE_DIGEST_SIGN,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE,
        OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, 0 } },
    { "asym-rsa",
      devid_asym_rsa_functions,
      { OSSL_FUNC_ASYM_CIPHER_NEWCTX, OSSL_FUNC_ASYM_CIPHER_FREECTX,
        OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, OSSL_FUNC_ASYM_CIPHER_DECRYPT,
        0 } },
    { "keyexch-ecdh",
      devid_kex_ecdh_functions,
      { OSSL_FUNC_KEYEXCH_NEWCTX, OSSL_FUNC_KEYEXCH_FREECTX,
        OSSL_FUNC_KEYEXCH_INIT, OSSL_FUNC_KEYEXCH_SET_PEER,
        OSSL_FUNC_KEYEXCH_DERIVE, 0 } },
    { "store",
      devid_store_functions,
      { OSSL_FUNC_STORE_OPEN, OSSL_FUNC_STORE_LOAD, OSSL_FUNC_STORE_EOF,
        OSSL_FUNC_STORE_CLOSE, 0 } },
};

static int devid_table_has(const OSSL_DISPATCH *fns, int id)
{
    int n = 0;

    for (; fns->function_id != 0; fns++) {
        if (fns->function_id == id) {
            n++;
        }
    }
    return n;
}

static void test_tables_unique_and_complete(void)
{
    size_t i;

    for (i = 0; i < sizeof(devid_tables) / sizeof(devid_tables[0]); i++) {
        const struct devid_table *t = &devid_tables[i];
        const OSSL_DISPATCH *d;
        const int *r;

        for (d = t->fns; d->function_id != 0; d++) {
            CU_ASSERT_PTR_NOT_NULL(d->function);
            CU_ASSERT_EQUAL(devid_table_has(t->fns, d->function_id), 1);
        }
        for (r = t->required; *r != 0; r++) {
            if (devid_table_has(t->fns, *r) != 1) {
                fprintf(stderr, "%s lacks function %d\n", t->name, *r);
                CU_FAIL("required function missing");
            }
        }
    }
}

/* Every algorithm list ends, and every entry has a name, properties and a
 * table; decoders and encoders have the functions their operation needs. */
static void test_algorithm_lists(void)
{
    const OSSL_ALGORITHM *lists[] = { devid_decoders, devid_encoders };
    const int needed[] = { OSSL_FUNC_DECODER_DECODE, OSSL_FUNC_ENCODER_ENCODE };
    size_t i;

    for (i = 0; i < 2; i++) {
        const OSSL_ALGORITHM *a;

        for (a = lists[i]; a->algorithm_names != NULL; a++) {
            CU_ASSERT_PTR_NOT_NULL(a->property_definition);
            CU_ASSERT_PTR_NOT_NULL_FATAL(a->implementation);
            CU_ASSERT_EQUAL(devid_table_has(a->implementation, needed[i]), 1);
        }
    }
}

/* One decoder per name: OpenSSL 3.0 compares every decoder of every
 * provider with each certificate's key type as it parses the certificate
 * (OSSL_DECODER_CTX_add_extra), so each entry in devid_decoders[] costs a
 * program that loads a CA bundle, even one that uses no devid key. */
static void test_decoders_one_per_name(void)
{
    const OSSL_ALGORITHM *a, *b;

    for (a = devid_decoders; a->algorithm_names != NULL; a++) {
        for (b = a + 1; b->algorithm_names != NULL; b++) {
            if (strcmp(a->algorithm_names, b->algorithm_names) == 0) {
                fprintf(stderr, "two decoders named %s\n", a->algorithm_names);
                CU_FAIL("a decoder name twice in devid_decoders[]");
            }
        }
    }
}

/* The decoders OpenSSL sets up to decode an EC key from DER with the given
 * selection, in libctx. */
static int devid_decoders_for(OSSL_LIB_CTX *libctx, const char *structure,
                              int selection)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
        &pkey, "DER", structure, "EC", selection, libctx, NULL);
    int n = OSSL_DECODER_CTX_get_num_decoders(dctx);

    OSSL_DECODER_CTX_free(dctx);
    return n;
}

/* A certificate's public key (SubjectPublicKeyInfo, public selection) is
 * decoded by as many decoders with devid loaded as without, but for
 * devid's PEM unwrapper, which OpenSSL 3.0 adds to any DER chain: devid's
 * key decoders decline public-only selections (a reference file names a
 * private key), so every certificate parse in a program that uses no
 * devid key does not pay for them. Private-key decodes still get them:
 * the EC one and the PEM unwrapper. */
static void test_decoders_skip_public_decodes(void)
{
    OSSL_LIB_CTX *plain = OSSL_LIB_CTX_new();
    OSSL_LIB_CTX *with = OSSL_LIB_CTX_new();
    OSSL_PROVIDER *p[3] = { NULL, NULL, NULL };

    CU_ASSERT_FATAL(plain != NULL && with != NULL);
    CU_ASSERT_FATAL(OSSL_PROVIDER_add_builtin(with, "devid",
                                              devid_provider_init) == 1);
    p[0] = OSSL_PROVIDER_load(plain, "default");
    p[1] = OSSL_PROVIDER_load(with, "default");
    p[2] = OSSL_PROVIDER_load(with, "devid");
    CU_ASSERT_FATAL(p[0] != NULL && p[1] != NULL && p[2] != NULL);
    CU_ASSERT(devid_decoders_for(with, "SubjectPublicKeyInfo",
                                 EVP_PKEY_PUBLIC_KEY)
              <= devid_decoders_for(plain, "SubjectPublicKeyInfo",
                                    EVP_PKEY_PUBLIC_KEY) + 1);
    CU_ASSERT(devid_decoders_for(with, NULL, EVP_PKEY_KEYPAIR)
              >= devid_decoders_for(plain, NULL, EVP_PKEY_KEYPAIR) + 2);
    OSSL_PROVIDER_unload(p[2]);
    OSSL_PROVIDER_unload(p[1]);
    OSSL_PROVIDER_unload(p[0]);
    OSSL_LIB_CTX_free(with);
    OSSL_LIB_CTX_free(plain);
}

/* A core of another OpenSSL major version (a second libcrypto in the
 * process: a PKCS#11 module linked to OpenSSL 3 inside an OpenSSL 4
 * program) does not get an instance; the one of devid's own version does. */
static char fake_core_version[16];

static int fake_core_get_params(const OSSL_CORE_HANDLE *handle,
                                OSSL_PARAM params[])
{
    OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_CORE_VERSION);

    (void)handle;
    return p == NULL || OSSL_PARAM_set_utf8_ptr(p, fake_core_version);
}

static int fake_core_errors; /* errors raised through the fake core */

static void fake_core_new_error(const OSSL_CORE_HANDLE *handle)
{
    (void)handle;
    fake_core_errors++;
}

static void fake_core_set_error_debug(const OSSL_CORE_HANDLE *handle,
                                      const char *file, int line,
                                      const char *func)
{
    (void)handle;
    (void)file;
    (void)line;
    (void)func;
}

static void fake_core_vset_error(const OSSL_CORE_HANDLE *handle,
                                 uint32_t reason, const char *fmt, va_list args)
{
    (void)handle;
    (void)reason;
    (void)fmt;
    (void)args;
}

static void test_other_core_refused(void)
{
    const OSSL_DISPATCH in[] = {
        { OSSL_FUNC_CORE_GET_PARAMS, (void (*)(void))fake_core_get_params },
        { OSSL_FUNC_CORE_NEW_ERROR, (void (*)(void))fake_core_new_error },
        { OSSL_FUNC_CORE_SET_ERROR_DEBUG,
          (void (*)(void))fake_core_set_error_debug },
        { OSSL_FUNC_CORE_VSET_ERROR, (void (*)(void))fake_core_vset_error },
        { 0, NULL }
    };
    OSSL_PARAM gen[3];
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    unsigned long e;
    const OSSL_DISPATCH *out = NULL;
    OSSL_LIB_CTX *with = OSSL_LIB_CTX_new();
    OSSL_PROVIDER *prov = NULL;
    void *provctx = NULL;

    /* devid started in its own core, as a program loads it; then the
     * other library's core asks (the module is loaded after the program
     * started devid): refused, and devid's errors still reach its own */
    CU_ASSERT_FATAL(with != NULL);
    CU_ASSERT_FATAL(
        OSSL_PROVIDER_add_builtin(with, "devid", devid_provider_init) == 1);
    prov = OSSL_PROVIDER_load(with, "devid");
    CU_ASSERT_FATAL(prov != NULL);
    BIO_snprintf(fake_core_version, sizeof(fake_core_version), "%d.0.0",
                 OPENSSL_VERSION_MAJOR + 1);
    CU_ASSERT_EQUAL(devid_provider_init(NULL, in, &out, &provctx), 0);
    CU_ASSERT(provctx == NULL);
    ctx = EVP_PKEY_CTX_new_from_name(with, "EC", "provider=devid");
    CU_ASSERT_FATAL(ctx != NULL);
    gen[0] = OSSL_PARAM_construct_utf8_string("group", (char *)"P-256", 0);
    gen[1] = OSSL_PARAM_construct_utf8_string("uri", (char *)"nokey:x", 0);
    gen[2] = OSSL_PARAM_construct_end();
    ERR_clear_error();
    CU_ASSERT(EVP_PKEY_keygen_init(ctx) == 1
              && EVP_PKEY_CTX_set_params(ctx, gen) == 1
              && EVP_PKEY_generate(ctx, &pkey) <= 0);
    e = ERR_peek_error();
    CU_ASSERT_EQUAL(fake_core_errors, 0);
    CU_ASSERT(e != 0 && ERR_GET_LIB(e) != ERR_LIB_EVP);
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(with);
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("dispatch", NULL, NULL);
    CU_add_test(suite, "test_tables_unique_and_complete",
                test_tables_unique_and_complete);
    CU_add_test(suite, "test_algorithm_lists", test_algorithm_lists);
    CU_add_test(suite, "test_decoders_one_per_name",
                test_decoders_one_per_name);
    CU_add_test(suite, "test_decoders_skip_public_decodes",
                test_decoders_skip_public_decodes);
    CU_add_test(suite, "test_other_core_refused", test_other_core_refused);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
