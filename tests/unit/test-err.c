/* SPDX-License-Identifier: Apache-2.0 */
/* Every reason code has a string, and raising outside a provider lands in
 * libcrypto's error queue under our library with the detail intact. */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>

#include "common/err.h"
#include "common/mem.h"

static void test_reason_strings_complete(void)
{
    int r;

    for (r = 1; r < DEVID_R_MAX; r++) {
        CU_ASSERT_PTR_NOT_NULL(devid_err_reason_string(r));
    }
    CU_ASSERT_PTR_NULL(devid_err_reason_string(0));
    CU_ASSERT_PTR_NULL(devid_err_reason_string(DEVID_R_MAX));
}

static void test_raise_standalone(void)
{
    const char *data = NULL;
    unsigned long e;
    int flags = 0;
    char buf[256];

    ERR_clear_error();
    DEVID_RAISE(NULL, DEVID_R_NO_TOKEN, "token %s", "demo");
    e = ERR_peek_last_error_data(&data, &flags);
    CU_ASSERT_EQUAL(ERR_GET_LIB(e), devid_err_lib());
    CU_ASSERT_EQUAL(ERR_GET_REASON(e), DEVID_R_NO_TOKEN);
    CU_ASSERT_STRING_EQUAL(data, "token demo");
    ERR_error_string_n(e, buf, sizeof(buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "no matching token"));
    ERR_clear_error();
}

static void test_mark_pop(void)
{
    ERR_clear_error();
    devid_err_mark(NULL);
    DEVID_RAISE(NULL, DEVID_R_BAD_URI, "probe");
    devid_err_pop_to_mark(NULL);
    CU_ASSERT_EQUAL(ERR_peek_error(), 0);
}

static void test_name_redact(void)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        { "pkcs11:token=a;object=b", "pkcs11:token=a;object=b" },
        { "pkcs11:token=a?pin-value=1234", "pkcs11:token=a?pin-value=***" },
        { "pkcs11:token=a?pin-value=1234&module-name=x",
          "pkcs11:token=a?pin-value=***&module-name=x" },
        { "pkcs11:token=a;pin-value=9;object=b",
          "pkcs11:token=a;pin-value=***;object=b" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = devid_name_redact(cases[i].in);

        CU_ASSERT_STRING_EQUAL(got, cases[i].out);
        OPENSSL_free(got);
    }
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("err", NULL, NULL);
    CU_add_test(suite, "test_reason_strings_complete",
                test_reason_strings_complete);
    CU_add_test(suite, "test_raise_standalone", test_raise_standalone);
    CU_add_test(suite, "test_mark_pop", test_mark_pop);
    CU_add_test(suite, "test_name_redact", test_name_redact);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
