/* SPDX-License-Identifier: Apache-2.0 */
/* The ECDSA-Sig-Value devid writes by hand on the signing path
 * (devid_sig_ecdsa_der) is byte for byte what libcrypto's i2d_ECDSA_SIG
 * makes, for every curve size and for the values that change the
 * encoding: leading zero bytes, a set top bit, zero. */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rand.h>

#include "provider/sig-algid.h"

/* libcrypto's encoding of r||s, into out (size 160). */
static size_t ref_der(const unsigned char *rs, size_t half, unsigned char *out)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(rs + half, (int)half, NULL);
    unsigned char *p = out;
    int len = -1;

    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s)) {
        r = NULL;
        s = NULL;
        len = i2d_ECDSA_SIG(sig, &p);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return len > 0 ? (size_t)len : 0;
}

static void check(const unsigned char *rs, size_t half)
{
    unsigned char want[160];
    unsigned char got[160];
    size_t wlen = ref_der(rs, half, want);
    size_t glen = 0;

    CU_ASSERT_FATAL(wlen > 0);
    CU_ASSERT_FATAL(devid_sig_ecdsa_der(rs, 2 * half, got, sizeof(got),
                                        &glen) == 1);
    CU_ASSERT_EQUAL(glen, wlen);
    CU_ASSERT(memcmp(got, want, wlen) == 0);
    /* a buffer one byte short is refused and left alone */
    memset(got, 0xa5, sizeof(got));
    CU_ASSERT(devid_sig_ecdsa_der(rs, 2 * half, got, wlen - 1, &glen) == 0);
    CU_ASSERT_EQUAL(got[0], 0xa5);
}

static void test_ecdsa_der_random(void)
{
    static const size_t halves[] = { 32, 48, 66 };
    unsigned char rs[132];
    size_t i;
    int n;

    for (i = 0; i < sizeof(halves) / sizeof(halves[0]); i++) {
        for (n = 0; n < 2000; n++) {
            RAND_bytes(rs, (int)(2 * halves[i]));
            check(rs, halves[i]);
        }
    }
}

static void test_ecdsa_der_edges(void)
{
    static const size_t halves[] = { 32, 48, 66 };
    unsigned char rs[132];
    size_t i;

    for (i = 0; i < sizeof(halves) / sizeof(halves[0]); i++) {
        size_t h = halves[i];

        memset(rs, 0xff, 2 * h);                /* top bits set: 0x00 pad */
        check(rs, h);
        memset(rs, 0, 2 * h);                   /* zero: INTEGER 0 */
        check(rs, h);
        memset(rs, 0, 2 * h);
        rs[h - 1] = 0x80;                       /* short, padded */
        rs[2 * h - 1] = 0x01;
        check(rs, h);
        RAND_bytes(rs, (int)(2 * h));
        rs[0] = 0;
        rs[1] = 0x7f;                           /* leading zero dropped */
        rs[h] = 0x80;
        check(rs, h);
    }
}

static void test_ecdsa_der_refused(void)
{
    unsigned char rs[140] = { 1 };
    unsigned char der[200];
    size_t len = 0;

    CU_ASSERT(devid_sig_ecdsa_der(rs, 0, der, sizeof(der), &len) == 0);
    CU_ASSERT(devid_sig_ecdsa_der(rs, 63, der, sizeof(der), &len) == 0);
    CU_ASSERT(devid_sig_ecdsa_der(rs, 134, der, sizeof(der), &len) == 0);
}

int main(void)
{
    CU_pSuite s = NULL;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return CU_get_error();
    }
    s = CU_add_suite("sig_der", NULL, NULL);
    CU_add_test(s, "test_ecdsa_der_random", test_ecdsa_der_random);
    CU_add_test(s, "test_ecdsa_der_edges", test_ecdsa_der_edges);
    CU_add_test(s, "test_ecdsa_der_refused", test_ecdsa_der_refused);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
