/* SPDX-License-Identifier: Apache-2.0 */
/* The store's search criteria (provider/store-search.c): criteria that
 * cannot be honoured as given are refused with DEVID_R_INVALID_PARAM, and
 * the filter keeps exactly the objects that meet every criterion. */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "provider/prov.h"
#include "provider/store-search.h"

static struct devid_prov *prov;

/* 1 when setting params is refused with DEVID_R_INVALID_PARAM. */
static int refused(const OSSL_PARAM params[])
{
    struct devid_store_search s;
    unsigned long e;
    int ok;

    memset(&s, 0, sizeof(s));
    ERR_clear_error();
    ok = devid_store_search_set(prov, &s, params);
    e = ERR_peek_last_error();
    devid_store_search_clear(&s);
    return !ok && ERR_GET_REASON(e) == DEVID_R_INVALID_PARAM;
}

static void test_set_refuses(void)
{
    unsigned char fp[20] = { 0 };
    unsigned char bad_name[3] = { 0x30, 0x05, 0x01 };
    OSSL_PARAM p[3];

    /* a fingerprint without its digest */
    p[0] = OSSL_PARAM_construct_octet_string(OSSL_STORE_PARAM_FINGERPRINT, fp,
                                             sizeof(fp));
    p[1] = OSSL_PARAM_construct_end();
    CU_ASSERT(refused(p));
    /* a digest nobody has */
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_STORE_PARAM_DIGEST,
                                            (char *)"NO-SUCH-DIGEST", 0);
    CU_ASSERT(refused(p));
    /* a fingerprint of the wrong size for its digest */
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_STORE_PARAM_DIGEST,
                                            (char *)"SHA256", 0);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_STORE_PARAM_FINGERPRINT, fp,
                                             sizeof(fp));
    p[2] = OSSL_PARAM_construct_end();
    CU_ASSERT(refused(p));
    /* an issuer without a serial, and a name that is no DER name */
    p[0] = OSSL_PARAM_construct_octet_string(OSSL_STORE_PARAM_ISSUER, bad_name,
                                             sizeof(bad_name));
    p[1] = OSSL_PARAM_construct_end();
    CU_ASSERT(refused(p));
}

/* An item holding a certificate with subject cn, labelled label. */
static void cert_item(struct devid_store_item *item, const char *cn,
                      const char *label, long serial)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der = NULL;
    int len;

    CU_ASSERT_FATAL(x != NULL && n != NULL && k != NULL);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn,
                               -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    CU_ASSERT_FATAL(X509_sign(x, k, EVP_sha256()) > 0);
    len = i2d_X509(x, &der);
    CU_ASSERT_FATAL(len > 0);
    memset(item, 0, sizeof(*item));
    item->cls = DEVID_OBJ_CERT;
    item->der = der;
    item->der_len = (size_t)len;
    item->label = OPENSSL_strdup(label);
    EVP_PKEY_free(k);
    X509_NAME_free(n);
    X509_free(x);
}

static void test_filter(void)
{
    struct devid_store_item items[3];
    struct devid_store_search s;
    X509_NAME *n = X509_NAME_new();
    size_t kept, i;

    memset(&s, 0, sizeof(s));
    cert_item(&items[0], "one", "a", 1);
    cert_item(&items[1], "two", "b", 2);
    cert_item(&items[2], "one", "c", 3);
    /* alias */
    s.alias = OPENSSL_strdup("b");
    CU_ASSERT(devid_store_search_filter(prov, &s, 0, items, 3, &kept));
    CU_ASSERT_EQUAL(kept, 1);
    CU_ASSERT_STRING_EQUAL(items[0].label, "b");
    devid_store_item_clear(&items[0]);
    devid_store_search_clear(&s);
    /* subject, then issuer and serial */
    cert_item(&items[0], "one", "a", 1);
    cert_item(&items[1], "two", "b", 2);
    cert_item(&items[2], "one", "c", 3);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               (const unsigned char *)"one", -1, -1, 0);
    s.subject = X509_NAME_dup(n);
    CU_ASSERT(devid_store_search_filter(prov, &s, 0, items, 3, &kept));
    CU_ASSERT_EQUAL(kept, 2);
    CU_ASSERT_STRING_EQUAL(items[0].label, "a");
    CU_ASSERT_STRING_EQUAL(items[1].label, "c");
    devid_store_search_clear(&s);
    s.issuer = X509_NAME_dup(n);
    s.serial = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s.serial, 3);
    CU_ASSERT(devid_store_search_filter(prov, &s, 0, items, kept, &kept));
    CU_ASSERT_EQUAL(kept, 1);
    CU_ASSERT_STRING_EQUAL(items[0].label, "c");
    /* a class not wanted goes too */
    CU_ASSERT(devid_store_search_filter(prov, &s, DEVID_OBJ_PRIVKEY, items,
                                        kept, &kept));
    CU_ASSERT_EQUAL(kept, 0);
    for (i = 0; i < 3; i++) {
        devid_store_item_clear(&items[i]);
    }
    devid_store_search_clear(&s);
    X509_NAME_free(n);
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    prov = devid_prov_new_standalone(NULL);
    if (prov == NULL || CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("store-search", NULL, NULL);
    CU_add_test(suite, "test_set_refuses", test_set_refuses);
    CU_add_test(suite, "test_filter", test_filter);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    devid_prov_free(prov);
    return failed == 0 ? 0 : 1;
}
