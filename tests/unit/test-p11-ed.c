/* SPDX-License-Identifier: Apache-2.0 */
/* Edwards-curve keys as tokens describe them: both CKA_EC_PARAMS forms of
 * PKCS #11 v3.0 §2.3.5 (RFC 8410 OID, PrintableString name), and
 * CKA_EC_POINT wrapped in an OCTET STRING or bare. Table-driven. */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/crypto.h>

#include "pkcs11/p11.h"

static void test_ed_type(void)
{
    static const struct {
        const char *what;
        const unsigned char *der;
        size_t len;
        enum devid_key_type want;
    } cases[] = {
        { "Ed25519 OID", (const unsigned char *)"\x06\x03\x2b\x65\x70", 5,
          DEVID_KEY_ED25519 },
        { "Ed448 OID", (const unsigned char *)"\x06\x03\x2b\x65\x71", 5,
          DEVID_KEY_ED448 },
        { "edwards25519",
          (const unsigned char *)"\x13\x0c"
                                 "edwards25519",
          14, DEVID_KEY_ED25519 },
        { "edwards448",
          (const unsigned char *)"\x13\x0a"
                                 "edwards448",
          12, DEVID_KEY_ED448 },
        /* X25519 is a Montgomery curve (CKK_EC_MONTGOMERY): not ours */
        { "X25519 OID", (const unsigned char *)"\x06\x03\x2b\x65\x6e", 5,
          DEVID_KEY_NONE },
        { "curve25519",
          (const unsigned char *)"\x13\x0a"
                                 "curve25519",
          12, DEVID_KEY_NONE },
        { "P-256 OID",
          (const unsigned char *)"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10,
          DEVID_KEY_NONE },
        { "truncated OID", (const unsigned char *)"\x06\x03\x2b\x65", 4,
          DEVID_KEY_NONE },
        { "UTF8String name",
          (const unsigned char *)"\x0c\x0c"
                                 "edwards25519",
          14, DEVID_KEY_NONE },
        { "empty", (const unsigned char *)"", 0, DEVID_KEY_NONE },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (devid_p11_ed_type(cases[i].der, cases[i].len) != cases[i].want) {
            CU_FAIL(cases[i].what);
        }
    }
}

/* One CKA_EC_POINT value: the key bytes are 0x01, 0x02, ... */
static int point_case(enum devid_key_type type, size_t keylen, int wrap,
                      size_t claimed, size_t extra, size_t *got)
{
    struct devid_pubkey pub;
    unsigned char *der = OPENSSL_zalloc(keylen + 2 + extra);
    size_t off = wrap ? 2 : 0;
    size_t i;
    int ok;

    CU_ASSERT_FATAL(der != NULL);
    if (wrap) {
        der[0] = 0x04;
        der[1] = (unsigned char)claimed;
    }
    for (i = 0; i < keylen; i++) {
        der[off + i] = (unsigned char)(i + 1);
    }
    memset(&pub, 0, sizeof(pub));
    pub.type = type;
    ok = devid_p11_ed_point(NULL, der, off + keylen + extra, &pub);
    *got = pub.point_len;
    if (ok
        && (pub.point == NULL || pub.point[0] != 1
            || pub.point[keylen - 1] != (unsigned char)keylen)) {
        ok = -1;
    }
    devid_pubkey_clear(&pub);
    return ok;
}

static void test_ed_point(void)
{
    size_t got = 0;

    /* the spec's form and the bare key, both curves */
    CU_ASSERT_EQUAL(point_case(DEVID_KEY_ED25519, 32, 1, 32, 0, &got), 1);
    CU_ASSERT_EQUAL(got, 32);
    CU_ASSERT_EQUAL(point_case(DEVID_KEY_ED25519, 32, 0, 0, 0, &got), 1);
    CU_ASSERT_EQUAL(got, 32);
    CU_ASSERT_EQUAL(point_case(DEVID_KEY_ED448, 57, 1, 57, 0, &got), 1);
    CU_ASSERT_EQUAL(got, 57);
    CU_ASSERT_EQUAL(point_case(DEVID_KEY_ED448, 57, 0, 0, 0, &got), 1);
    CU_ASSERT_EQUAL(got, 57);
    /* the wrong size for the curve, a lying length, trailing bytes */
    CU_ASSERT_EQUAL(point_case(DEVID_KEY_ED448, 32, 1, 32, 0, &got), 0);
    CU_ASSERT_EQUAL(point_case(DEVID_KEY_ED25519, 57, 0, 0, 0, &got), 0);
    CU_ASSERT_EQUAL(point_case(DEVID_KEY_ED25519, 32, 1, 33, 0, &got), 0);
    CU_ASSERT_EQUAL(point_case(DEVID_KEY_ED25519, 32, 1, 32, 1, &got), 0);
}

static void test_ed_gen_params(void)
{
    const unsigned char *v;
    size_t len = 0;

    v = devid_p11_ed_gen_params(DEVID_KEY_ED25519, &len);
    CU_ASSERT_FATAL(v != NULL);
    CU_ASSERT_EQUAL(devid_p11_ed_type(v, len), DEVID_KEY_ED25519);
    v = devid_p11_ed_gen_params(DEVID_KEY_ED448, &len);
    CU_ASSERT_FATAL(v != NULL);
    CU_ASSERT_EQUAL(devid_p11_ed_type(v, len), DEVID_KEY_ED448);
    CU_ASSERT(devid_p11_ed_gen_params(DEVID_KEY_EC, &len) == NULL);
}

int main(void)
{
    CU_pSuite s = NULL;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return CU_get_error();
    }
    s = CU_add_suite("p11_ed", NULL, NULL);
    CU_add_test(s, "test_ed_type", test_ed_type);
    CU_add_test(s, "test_ed_point", test_ed_point);
    CU_add_test(s, "test_ed_gen_params", test_ed_gen_params);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
