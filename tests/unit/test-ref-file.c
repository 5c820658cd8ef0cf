/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#11 PROVIDER URI bodies: what we write reads back, the bytes are
 * those pkcs11-provider writes, and corrupt bodies are refused. */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/crypto.h>

#include "common/name-ref.h"

static void test_pk11_roundtrip(void)
{
    static const char *const uris[] = {
        "pkcs11:token=dev;object=device;type=private",
        "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;"
        "serial=0123456789abcdef;token=a-very-long-token-label-for-length-"
        "encoding-beyond-127-bytes;id=%01%02%03;object=key;type=private",
    };
    size_t i;

    for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        unsigned char *der = NULL;
        size_t len = 0;
        char *back;

        CU_ASSERT_FATAL(devid_name_ref_encode(uris[i], &der, &len) == 1);
        back = devid_name_ref_decode(der, len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(back);
        CU_ASSERT_STRING_EQUAL(back, uris[i]);
        OPENSSL_free(back);
        OPENSSL_free(der);
    }
}

static void test_pk11_known_bytes(void)
{
    /* SEQUENCE { VisibleString "PKCS#11 Provider URI v1.0",
     *            UTF8String "pkcs11:object=k" } */
    static const unsigned char want[] = {
        0x30, 0x2c, 0x1a, 0x19, 'P', 'K', 'C', 'S', '#', '1', '1', ' ', 'P',
        'r', 'o', 'v', 'i', 'd', 'e', 'r', ' ', 'U', 'R', 'I', ' ', 'v', '1',
        '.', '0', 0x0c, 0x0f, 'p', 'k', 'c', 's', '1', '1', ':', 'o', 'b', 'j',
        'e', 'c', 't', '=', 'k'
    };
    unsigned char *der = NULL;
    size_t len = 0;

    CU_ASSERT_FATAL(devid_name_ref_encode("pkcs11:object=k", &der, &len) == 1);
    CU_ASSERT_EQUAL(len, sizeof(want));
    CU_ASSERT(memcmp(der, want, sizeof(want)) == 0);
    OPENSSL_free(der);
}

static void test_pk11_corrupt(void)
{
    unsigned char *der = NULL;
    size_t len = 0;
    size_t cut;
    char *got;

    CU_ASSERT_FATAL(devid_name_ref_encode("pkcs11:object=k", &der, &len) == 1);
    for (cut = 0; cut < len; cut++) {           /* every truncation */
        CU_ASSERT_PTR_NULL(devid_name_ref_decode(der, cut));
    }
    der[5] ^= 0x20;                              /* wrong description */
    CU_ASSERT_PTR_NULL(devid_name_ref_decode(der, len));
    der[5] ^= 0x20;
    der[29] = 0x13;                              /* PrintableString, not UTF8 */
    got = devid_name_ref_decode(der, len);
    CU_ASSERT_PTR_NULL(got);
    OPENSSL_free(got);
    OPENSSL_free(der);
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("ref-file", NULL, NULL);
    CU_add_test(suite, "test_pk11_roundtrip", test_pk11_roundtrip);
    CU_add_test(suite, "test_pk11_known_bytes", test_pk11_known_bytes);
    CU_add_test(suite, "test_pk11_corrupt", test_pk11_corrupt);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
