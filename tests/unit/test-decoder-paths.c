/* SPDX-License-Identifier: Apache-2.0 */
/* The ways a program reads a reference file without OSSL_STORE, each of
 * which builds its own decoder chain: PEM_read_bio_PrivateKey (PEM ->
 * devid's PEM step -> devid's DER step), PEM_read_bio_PUBKEY on a file
 * naming a public key (PEM step -> SubjectPublicKeyInfo), and
 * d2i_PrivateKey_bio on the DER body (OpenSSL asks for the structure
 * "type-specific"). The shell tests read reference files through
 * OSSL_STORE ("openssl pkey -in"); these are the paths a change to
 * devid_decoders[] can break unseen. devid.so is loaded as a program
 * loads it, from an openssl.cnf, with a fresh SoftHSM2 token. */
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
#include <openssl/x509.h>

#include "tests/unit/test-p11-util.h"

#define TOKEN "devid-dec"
#define URI_LABEL "PKCS#11 PROVIDER URI"

static char cnf[256];
static OSSL_LIB_CTX *libctx;
static OSSL_PROVIDER *prov[2];

/* A fresh token with an EC and an RSA key; devid and default in a fresh
 * library context, devid's settings naming the token's module and PIN. */
static int suite_init(void)
{
    const char *dir = getenv("OPENSSL_MODULES");
    FILE *f;
    int fd;

    if (dir == NULL) {
        fprintf(stderr, "OPENSSL_MODULES is not set\n");
        return 1;
    }
    if (tp11_softhsm_setup() == NULL || !tp11_token_init(TOKEN)
        || !tp11_keygen(TOKEN, "EC:prime256v1", "0a", "ec")
        || !tp11_keygen(TOKEN, "rsa:2048", "0b", "rsa")) {
        return 1;
    }
    snprintf(cnf, sizeof(cnf), "%s/devid-dec-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    fd = mkstemp(cnf);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        return 1;
    }
    fprintf(f,
            "openssl_conf = openssl_init\n"
            "[openssl_init]\nproviders = provider_sect\n"
            "[provider_sect]\ndevid = devid_sect\n"
            "[devid_sect]\nmodule = %s/devid.so\n"
            "pkcs11-module-path = %s\n"
            "pkcs11-module-token-pin = %s\n",
            dir, TP11_SOFTHSM, TP11_PIN);
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
    tp11_softhsm_cleanup();
    return unlink(cnf) != 0;
}

/* A reference body as pkcs11-provider writes it: SEQUENCE { VisibleString
 * "PKCS#11 Provider URI v1.0", UTF8String uri }. Returns its length. */
static size_t ref_der(const char *uri, unsigned char *out, size_t n)
{
    static const char version[] = "PKCS#11 Provider URI v1.0";
    size_t vlen = sizeof(version) - 1;
    size_t ulen = strlen(uri);
    size_t body = 2 + vlen + 2 + ulen;

    CU_ASSERT_FATAL(ulen < 128 && body < 128 && body + 2 <= n);
    out[0] = 0x30;
    out[1] = (unsigned char)body;
    out[2] = 0x1a;
    out[3] = (unsigned char)vlen;
    memcpy(out + 4, version, vlen);
    out[4 + vlen] = 0x0c;
    out[5 + vlen] = (unsigned char)ulen;
    memcpy(out + 6 + vlen, uri, ulen);
    return body + 2;
}

/* A memory BIO holding the reference to uri, in PEM or DER. */
static BIO *ref_bio(const char *uri, int pem)
{
    unsigned char der[256];
    size_t len = ref_der(uri, der, sizeof(der));
    BIO *mem = BIO_new(BIO_s_mem());

    CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
    if (pem) {
        CU_ASSERT_FATAL(PEM_write_bio(mem, URI_LABEL, "", der, (long)len) > 0);
    } else {
        CU_ASSERT_FATAL(BIO_write(mem, der, (int)len) == (int)len);
    }
    return mem;
}

/* The public key at uri, through OSSL_STORE, as SubjectPublicKeyInfo DER
 * (OPENSSL_free); NULL when it cannot be had. */
static unsigned char *store_spki(const char *uri, int *len)
{
    OSSL_STORE_CTX *s = OSSL_STORE_open_ex(uri, libctx, NULL, UI_null(), NULL,
                                           NULL, NULL, NULL);
    OSSL_STORE_INFO *info = NULL;
    unsigned char *der = NULL;

    while (s != NULL && der == NULL && !OSSL_STORE_eof(s)
           && (info = OSSL_STORE_load(s)) != NULL) {
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PUBKEY) {
            *len = i2d_PUBKEY(OSSL_STORE_INFO_get0_PUBKEY(info), &der);
        }
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(s);
    return der;
}

/* key has the public half of the token's key named object, and is held by
 * devid when resident says so (else by OpenSSL's default provider). */
static void check_key(EVP_PKEY *key, const char *object, int resident)
{
    char uri[128];
    unsigned char *want = NULL;
    unsigned char *got = NULL;
    int want_len = 0;
    int got_len;

    if (key == NULL) {
        ERR_print_errors_fp(stderr);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_STRING_EQUAL(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(key)),
                           resident ? "devid" : "default");
    snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN ";object=%s;type=public",
             object);
    want = store_spki(uri, &want_len);
    got_len = i2d_PUBKEY(key, &got);
    CU_ASSERT_PTR_NOT_NULL(want);
    CU_ASSERT(want_len > 0 && got_len == want_len && got != NULL
              && memcmp(got, want, (size_t)got_len) == 0);
    OPENSSL_free(want);
    OPENSSL_free(got);
}

/* The three ways to read a reference file that do not go through
 * OSSL_STORE, each as its callers use it. */
static EVP_PKEY *read_pem_private(BIO *in)
{
    return PEM_read_bio_PrivateKey_ex(in, NULL, NULL, NULL, libctx, NULL);
}

static EVP_PKEY *read_pem_public(BIO *in)
{
    return PEM_read_bio_PUBKEY_ex(in, NULL, NULL, NULL, libctx, NULL);
}

static EVP_PKEY *read_der_private(BIO *in)
{
    return d2i_PrivateKey_ex_bio(in, NULL, libctx, NULL);
}

/* Reads the reference file (PEM when pem, else its DER body) of the EC
 * and the RSA key's object of type with read, and checks the key: the
 * resident one, or an ordinary software key for a public one. */
static void read_both(const char *type, int pem, EVP_PKEY *(*read)(BIO *),
                      int resident)
{
    const char *objects[] = { "ec", "rsa" };
    size_t i;

    for (i = 0; i < 2; i++) {
        char uri[128];
        BIO *in;
        EVP_PKEY *key;

        snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN ";object=%s;type=%s",
                 objects[i], type);
        in = ref_bio(uri, pem);
        key = read(in);
        check_key(key, objects[i], resident);
        EVP_PKEY_free(key);
        BIO_free(in);
    }
}

/* PEM_read_bio_PrivateKey_ex on a private key's reference file gives the
 * resident key. */
static void test_pem_private(void)
{
    read_both("private", 1, read_pem_private, 1);
}

/* PEM_read_bio_PUBKEY_ex on a reference file naming a public key gives
 * that public key, as an ordinary software key. */
static void test_pem_public(void)
{
    read_both("public", 1, read_pem_public, 0);
}

/* d2i_PrivateKey_ex_bio on the DER body of a private key's reference file
 * (SSL_CTX_use_PrivateKey_file with SSL_FILETYPE_ASN1 reads it so) gives
 * the resident key. */
static void test_der_private(void)
{
    read_both("private", 0, read_der_private, 1);
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("decoder-paths", suite_init, suite_clean);
    CU_add_test(suite, "PEM_read_bio_PrivateKey of a reference file",
                test_pem_private);
    CU_add_test(suite, "PEM_read_bio_PUBKEY of a type=public reference",
                test_pem_public);
    CU_add_test(suite, "d2i_PrivateKey_bio of a DER reference",
                test_der_private);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
