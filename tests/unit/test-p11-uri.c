/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 7512 URIs: parsing, malformed input, matching against token and slot
 * info, the canonical URI of a key, and PIN redaction. Table-driven. */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>

#include "common/err.h"
#include "pkcs11/p11.h"

static int last_reason(char *data, size_t n)
{
    const char *d = NULL;
    int flags = 0;
    unsigned long e = ERR_peek_last_error_data(&d, &flags);

    if (data != NULL) {
        BIO_snprintf(data, n, "%s", d != NULL ? d : "");
    }
    return e != 0 && ERR_GET_LIB(e) == devid_err_lib() ? ERR_GET_REASON(e)
                                                        : -1;
}

/* Blank-padded CK_TOKEN_INFO / CK_SLOT_INFO fields. */
static void pad(unsigned char *dst, size_t n, const char *s)
{
    memset(dst, ' ', n);
    memcpy(dst, s, strlen(s));
}

static void token_info(CK_TOKEN_INFO *ti)
{
    memset(ti, 0, sizeof(*ti));
    pad(ti->label, sizeof(ti->label), "dev token");
    pad(ti->manufacturerID, sizeof(ti->manufacturerID), "ACME");
    pad(ti->model, sizeof(ti->model), "HSM 9");
    pad(ti->serialNumber, sizeof(ti->serialNumber), "00c0ffee");
}

static void test_parse_valid(void)
{
    static const struct {
        const char *in;
        const char *label;          /* CKA_LABEL or NULL */
        const char *id;             /* CKA_ID bytes or NULL */
        size_t id_len;
        int has_class;
        CK_OBJECT_CLASS cls;
        CK_SLOT_ID slot;
        const char *module_path;
        const char *module_name;
    } cases[] = {
        { "pkcs11:", NULL, NULL, 0, 0, 0, (CK_SLOT_ID)-1, NULL, NULL },
        { "pkcs11:object=device;type=private", "device", NULL, 0, 1,
          CKO_PRIVATE_KEY, (CK_SLOT_ID)-1, NULL, NULL },
        { "pkcs11:id=%01%02;type=public", NULL, "\x01\x02", 2, 1,
          CKO_PUBLIC_KEY, (CK_SLOT_ID)-1, NULL, NULL },
        { "pkcs11:object=my%20key;type=cert", "my key", NULL, 0, 1,
          CKO_CERTIFICATE, (CK_SLOT_ID)-1, NULL, NULL },
        { "pkcs11:slot-id=7;type=secret-key", NULL, NULL, 0, 1,
          CKO_SECRET_KEY, 7, NULL, NULL },
        { "pkcs11:token=t?module-path=/usr/lib/x.so", NULL, NULL, 0, 0, 0,
          (CK_SLOT_ID)-1, "/usr/lib/x.so", NULL },
        { "pkcs11:token=t?module-name=softhsm2&pin-value=1", NULL, NULL, 0, 0,
          0, (CK_SLOT_ID)-1, NULL, "softhsm2" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct devid_p11_uri *u = NULL;
        const CK_ATTRIBUTE *a = NULL;
        const char *mp = NULL;
        const char *mn = NULL;

        CU_ASSERT_FATAL(devid_p11_uri_parse(NULL, cases[i].in, &u) == 1);
        a = devid_p11_uri_attr(u, CKA_LABEL);
        CU_ASSERT_EQUAL(a != NULL, cases[i].label != NULL);
        if (a != NULL && cases[i].label != NULL) {
            CU_ASSERT_EQUAL(a->ulValueLen, strlen(cases[i].label));
            CU_ASSERT(memcmp(a->pValue, cases[i].label, a->ulValueLen) == 0);
        }
        a = devid_p11_uri_attr(u, CKA_ID);
        CU_ASSERT_EQUAL(a != NULL, cases[i].id != NULL);
        if (a != NULL && cases[i].id != NULL) {
            CU_ASSERT_EQUAL(a->ulValueLen, cases[i].id_len);
            CU_ASSERT(memcmp(a->pValue, cases[i].id, a->ulValueLen) == 0);
        }
        CU_ASSERT_EQUAL(u->has_class, cases[i].has_class);
        if (cases[i].has_class) {
            CU_ASSERT_EQUAL(u->cls, cases[i].cls);
        }
        CU_ASSERT_EQUAL(u->slot_id, cases[i].slot);
        mp = devid_p11_uri_module_path(u);
        mn = devid_p11_uri_module_name(u);
        CU_ASSERT_EQUAL(mp != NULL, cases[i].module_path != NULL);
        CU_ASSERT_EQUAL(mn != NULL, cases[i].module_name != NULL);
        if (mp != NULL && cases[i].module_path != NULL) {
            CU_ASSERT_STRING_EQUAL(mp, cases[i].module_path);
        }
        if (mn != NULL && cases[i].module_name != NULL) {
            CU_ASSERT_STRING_EQUAL(mn, cases[i].module_name);
        }
        /* the text kept for messages never holds a PIN */
        CU_ASSERT_PTR_NULL(strstr(u->safe, "pin-value=1"));
        devid_p11_uri_free(u);
    }
}

static void test_parse_malformed(void)
{
    static const struct {
        const char *in;
        const char *shown;          /* must appear in the message */
        const char *secret;         /* must not */
    } cases[] = {
        { "pkcs11:id=%zz", "pkcs11:id=%zz", NULL },
        { "pkcs11:id=%zz?pin-value=hunter2", "pkcs11:id=%zz", "hunter2" },
        { "pkcs11:object=a;pin-value=hunter2;type=bogus", "type=bogus",
          "hunter2" },
        { "pkcs11:tokn=x?pin-value=hunter2", "tokn=x", "hunter2" },
        { "http://example.com/", "http://example.com/", NULL },
        { "pkcs11:object=%", "object=%", NULL },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct devid_p11_uri *u = NULL;
        char data[512];

        ERR_clear_error();
        CU_ASSERT(devid_p11_uri_parse(NULL, cases[i].in, &u) == 0);
        CU_ASSERT_PTR_NULL(u);
        CU_ASSERT_EQUAL(last_reason(data, sizeof(data)), DEVID_R_BAD_URI);
        CU_ASSERT_PTR_NOT_NULL(strstr(data, cases[i].shown));
        if (cases[i].secret != NULL) {
            CU_ASSERT_PTR_NULL(strstr(data, cases[i].secret));
        }
        ERR_clear_error();
    }
}

static void test_redact(void)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        { "pkcs11:token=a", "pkcs11:token=a" },
        { "pkcs11:token=a?pin-value=1234", "pkcs11:token=a?pin-value=***" },
        { "pkcs11:token=a?pin-value=1&module-name=x",
          "pkcs11:token=a?pin-value=***&module-name=x" },
        { "pkcs11:pin-value=12;token=a", "pkcs11:pin-value=***;token=a" },
        { "pkcs11:token=a?pin-value=", "pkcs11:token=a?pin-value=***" },
        { "pkcs11:object=xpin-value=1", "pkcs11:object=xpin-value=1" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = devid_p11_uri_redact(cases[i].in);

        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_STRING_EQUAL(r, cases[i].out);
        OPENSSL_free(r);
    }
}

static void test_match_token(void)
{
    static const struct {
        const char *uri;
        int match;
    } cases[] = {
        { "pkcs11:", 1 },
        { "pkcs11:token=dev%20token", 1 },
        { "pkcs11:token=dev", 0 },
        { "pkcs11:manufacturer=ACME;model=HSM%209", 1 },
        { "pkcs11:manufacturer=ACMX", 0 },
        { "pkcs11:serial=00c0ffee", 1 },
        { "pkcs11:serial=00c0fffe", 0 },
        { "pkcs11:model=HSM", 0 },
        { "pkcs11:slot-id=5", 1 },
        { "pkcs11:slot-id=6", 0 },
        { "pkcs11:slot-description=reader%201", 1 },
        { "pkcs11:slot-description=reader%202", 0 },
        { "pkcs11:slot-manufacturer=Slots%20Inc", 1 },
        { "pkcs11:slot-manufacturer=Other", 0 },
        { "pkcs11:library-manufacturer=Lib%20Co", 1 },
        { "pkcs11:library-manufacturer=Nope", 0 },
        { "pkcs11:token=dev%20token;object=anything;type=private", 1 },
    };
    CK_TOKEN_INFO ti;
    CK_SLOT_INFO si;
    CK_INFO mi;
    size_t i;

    token_info(&ti);
    memset(&si, 0, sizeof(si));
    pad(si.slotDescription, sizeof(si.slotDescription), "reader 1");
    pad(si.manufacturerID, sizeof(si.manufacturerID), "Slots Inc");
    memset(&mi, 0, sizeof(mi));
    pad(mi.manufacturerID, sizeof(mi.manufacturerID), "Lib Co");
    pad(mi.libraryDescription, sizeof(mi.libraryDescription), "lib");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct devid_p11_uri *u = NULL;

        CU_ASSERT_FATAL(devid_p11_uri_parse(NULL, cases[i].uri, &u) == 1);
        CU_ASSERT_EQUAL(devid_p11_uri_match_token(u, &mi, 5, &si, &ti),
                        cases[i].match);
        devid_p11_uri_free(u);
    }
}

static void test_canonical(void)
{
    static const struct {
        const unsigned char *id;
        size_t id_len;
        const char *label;
        CK_OBJECT_CLASS cls;
        const char *module;
        const char *want;
    } cases[] = {
        { (const unsigned char *)"\x01", 1, "device", CKO_PRIVATE_KEY, NULL,
          "pkcs11:model=HSM%209;manufacturer=ACME;serial=00c0ffee;"
          "token=dev%20token;id=%01;object=device;type=private" },
        { NULL, 0, "a;b", CKO_PUBLIC_KEY, NULL,
          "pkcs11:model=HSM%209;manufacturer=ACME;serial=00c0ffee;"
          "token=dev%20token;object=a%3Bb;type=public" },
        { (const unsigned char *)"\xab\xcd", 2, NULL, CKO_CERTIFICATE,
          "/opt/m.so",
          "pkcs11:model=HSM%209;manufacturer=ACME;serial=00c0ffee;"
          "token=dev%20token;id=%AB%CD;type=cert?module-path=%2Fopt%2Fm.so" },
    };
    CK_TOKEN_INFO ti;
    size_t i;

    token_info(&ti);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = devid_p11_uri_make(&ti, cases[i].id, cases[i].id_len,
                                     cases[i].label, cases[i].cls,
                                     cases[i].module);
        struct devid_p11_uri *u = NULL;

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_EQUAL(s, cases[i].want);
        /* and it parses back to a URI that matches the token */
        CU_ASSERT_FATAL(devid_p11_uri_parse(NULL, s, &u) == 1);
        CU_ASSERT(devid_p11_uri_match_token(u, NULL, 0, NULL, &ti));
        CU_ASSERT_EQUAL(u->cls, cases[i].cls);
        devid_p11_uri_free(u);
        OPENSSL_free(s);
    }
}

int main(void)
{
    CU_pSuite s = NULL;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return CU_get_error();
    }
    s = CU_add_suite("p11_uri", NULL, NULL);
    CU_add_test(s, "test_parse_valid", test_parse_valid);
    CU_add_test(s, "test_parse_malformed", test_parse_malformed);
    CU_add_test(s, "test_redact", test_redact);
    CU_add_test(s, "test_match_token", test_match_token);
    CU_add_test(s, "test_canonical", test_canonical);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
