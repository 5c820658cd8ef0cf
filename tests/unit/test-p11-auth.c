/* SPDX-License-Identifier: Apache-2.0 */
/* Keys with CKA_ALWAYS_AUTHENTICATE (a PIV card's signature key) against a
 * fresh SoftHSM2 token, which enforces the attribute: a context-specific
 * login after each C_SignInit/C_DecryptInit, on the token object and on the
 * session copy, with the user's PIN; a PIN the token refuses costs exactly
 * one C_Login (counted by the fault module, tests/faults/). */
#include "config.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/err.h"
#include "pkcs11/p11.h"
#include "tests/unit/test-p11-util.h"

#define TOKEN "devid-auth"
#define URI_EC "pkcs11:token=" TOKEN ";object=ecaa;type=private"
#define URI_RSA "pkcs11:token=" TOKEN ";object=rsaaa;type=private"

static struct devid_prov *prov;
static char faults_path[PATH_MAX];

/* pkcs11-tool's --always-auth sets CKA_ALWAYS_AUTHENTICATE */
static int keygen_always_auth(const char *type, const char *id,
                              const char *label)
{
    int rsa = strncmp(type, "rsa", 3) == 0;

    return tp11_run("pkcs11-tool --module %s --token-label %s --login "
                    "--pin %s --keypairgen --key-type %s --id %s --label %s "
                    "--usage-sign %s --always-auth >/dev/null 2>&1",
                    TP11_SOFTHSM, TOKEN, TP11_PIN, type, id, label,
                    rsa ? "--usage-decrypt" : "--usage-derive");
}

static int suite_init(void)
{
    const char *top = getenv("top_builddir");
    char rel[512];

    snprintf(rel, sizeof(rel), "%s/tests/faults/.libs/libdevid-p11-faults.so",
             top != NULL ? top : ".");
    if (realpath(rel, faults_path) == NULL) {
        fprintf(stderr, "no fault module at %s\n", rel);
        return 1;
    }
    if (tp11_softhsm_setup() == NULL || !tp11_token_init(TOKEN)
        || !keygen_always_auth("EC:prime256v1", "11", "ecaa")
        || !keygen_always_auth("rsa:2048", "12", "rsaaa")) {
        return 1;
    }
    setenv("DEVID_FAULTS", "", 1);
    prov = tp11_new_prov(TP11_SOFTHSM, TP11_PIN);
    return prov == NULL;
}

static int suite_clean(void)
{
    devid_prov_free(prov);
    tp11_softhsm_cleanup();
    return 0;
}

static struct devid_p11_key *p11key(const struct devid_key *key)
{
    return key->be;
}

/* SoftHSM 2.6 enforces the attribute: without the context login C_Sign
 * fails. Otherwise the tests below would prove nothing. */
static void test_token_enforces(void)
{
    struct devid_key *key = tp11_find_key(prov, URI_EC);
    struct devid_p11_token *tok = NULL;
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    unsigned char dgst[32] = { 1 };
    unsigned char sig[64];
    CK_ULONG siglen = sizeof(sig);
    CK_RV rv;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_EQUAL(p11key(key)->always_auth, 1);
    tok = p11key(key)->tok;
    CU_ASSERT_FATAL(devid_p11_session_take(tok, &s) == CKR_OK);
    rv = tok->mod->fn->C_SignInit(s, &mech, p11key(key)->h);
    CU_ASSERT_EQUAL(rv, CKR_OK);
    rv = tok->mod->fn->C_Sign(s, dgst, sizeof(dgst), sig, &siglen);
    CU_ASSERT_EQUAL(rv, CKR_USER_NOT_LOGGED_IN);
    devid_p11_session_give(tok, s, 1);
    devid_key_free(key);
}

/* Signatures on the token object, then on the session copy (made on the
 * second use, and as always-authenticate as the original): each verifies. */
static void test_sign_always_auth(void)
{
    struct devid_key *key = tp11_find_key(prov, URI_EC);
    struct devid_p11_token *tok = NULL;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_BBOOL aa = CK_FALSE;
    CK_ATTRIBUTE a = { CKA_ALWAYS_AUTHENTICATE, &aa, sizeof(aa) };
    EVP_PKEY *pkey = NULL;
    int i;
    int ok = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    pkey = tp11_pkey(key);
    for (i = 0; i < 5; i++) {
        ok += tp11_sign_ecdsa(key, pkey);
    }
    CU_ASSERT_EQUAL(ok, 5);
    CU_ASSERT_EQUAL(p11key(key)->copy_state, DEVID_P11_COPY_READY);
    tok = p11key(key)->tok;
    CU_ASSERT_FATAL(devid_p11_session_take(tok, &s) == CKR_OK);
    CU_ASSERT_EQUAL(tok->mod->fn->C_GetAttributeValue(s, p11key(key)->copy, &a,
                                                      1),
                    CKR_OK);
    CU_ASSERT_EQUAL(aa, CK_TRUE);
    devid_p11_session_give(tok, s, 0);
    EVP_PKEY_free(pkey);
    devid_key_free(key);
}

/* RSA decryption (PKCS#1 v1.5 and OAEP) with an always-authenticate key,
 * more than once. */
static void test_decrypt_always_auth(void)
{
    struct devid_key *key = tp11_find_key(prov, URI_RSA);
    struct devid_dec_params dp;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char msg[32];
    unsigned char ct[256];
    unsigned char pt[256];
    size_t ctlen;
    size_t ptlen;
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_EQUAL(p11key(key)->always_auth, 1);
    pkey = tp11_pkey(key);
    for (i = 0; i < 3; i++) {
        int oaep = i == 2;

        RAND_bytes(msg, sizeof(msg));
        ctlen = sizeof(ct);
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, "provider=default");
        CU_ASSERT_FATAL(ctx != NULL && EVP_PKEY_encrypt_init(ctx) == 1);
        EVP_PKEY_CTX_set_rsa_padding(ctx, oaep ? RSA_PKCS1_OAEP_PADDING
                                               : RSA_PKCS1_PADDING);
        CU_ASSERT(EVP_PKEY_encrypt(ctx, ct, &ctlen, msg, sizeof(msg)) == 1);
        EVP_PKEY_CTX_free(ctx);
        memset(&dp, 0, sizeof(dp));
        dp.pad = oaep ? DEVID_PAD_OAEP : DEVID_PAD_PKCS1;
        dp.oaep_md_nid = NID_sha1;
        dp.mgf1_nid = NID_sha1;
        ptlen = sizeof(pt);
        CU_ASSERT(devid_pkcs11_backend.decrypt(key, &dp, ct, ctlen, pt, &ptlen)
                  == 1);
        CU_ASSERT(ptlen == sizeof(msg) && memcmp(pt, msg, ptlen) == 0);
    }
    EVP_PKEY_free(pkey);
    devid_key_free(key);
}

/* The token is logged in (by prov), so an instance with a wrong configured
 * PIN finds the key without a C_Login; its signature's context login
 * sends that PIN once, the token refuses it, and it is never sent again. */
static void test_wrong_pin_once(void)
{
    struct devid_prov *bad = tp11_new_prov(faults_path, "9999");
    struct devid_key *key = NULL;
    unsigned long (*count)(const char *fn) = NULL;
    void *h = NULL;
    char data[512];
    unsigned long before;

    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    key = tp11_find_key(bad, URI_EC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    h = dlopen(faults_path, RTLD_NOW | RTLD_NOLOAD);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    *(void **)&count = dlsym(h, "devid_faults_count");
    dlclose(h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(count);
    before = count("C_Login");
    ERR_clear_error();
    CU_ASSERT(!tp11_sign_ecdsa(key, NULL));
    CU_ASSERT_EQUAL(tp11_last_reason(data, sizeof(data)),
                    DEVID_R_PIN_INCORRECT);
    CU_ASSERT_PTR_NOT_NULL(strstr(data, "context-specific"));
    CU_ASSERT_EQUAL(count("C_Login"), before + 1);
    ERR_clear_error();
    CU_ASSERT(!tp11_sign_ecdsa(key, NULL));
    CU_ASSERT_EQUAL(tp11_last_reason(NULL, 0), DEVID_R_PIN_REFUSED_BEFORE);
    CU_ASSERT(!tp11_sign_ecdsa(key, NULL));
    CU_ASSERT_EQUAL(count("C_Login"), before + 1);
    ERR_clear_error();
    devid_key_free(key);
    devid_prov_free(bad);
}

/* No PIN kept or configured (the token was logged in by someone else):
 * the signature fails at once, saying what is missing. */
static void test_no_pin(void)
{
    struct devid_prov *none = tp11_new_prov(TP11_SOFTHSM, NULL);
    struct devid_key *key = NULL;
    char data[512];

    CU_ASSERT_PTR_NOT_NULL_FATAL(none);
    key = tp11_find_key(none, URI_EC);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    ERR_clear_error();
    CU_ASSERT(!tp11_sign_ecdsa(key, NULL));
    CU_ASSERT_EQUAL(tp11_last_reason(data, sizeof(data)), DEVID_R_PIN_REQUIRED);
    CU_ASSERT_PTR_NOT_NULL(strstr(data, "CKA_ALWAYS_AUTHENTICATE"));
    ERR_clear_error();
    devid_key_free(key);
    devid_prov_free(none);
}

int main(void)
{
    CU_pSuite s = NULL;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return CU_get_error();
    }
    s = CU_add_suite("p11_auth", suite_init, suite_clean);
    CU_add_test(s, "test_token_enforces", test_token_enforces);
    CU_add_test(s, "test_sign_always_auth", test_sign_always_auth);
    CU_add_test(s, "test_decrypt_always_auth", test_decrypt_always_auth);
    CU_add_test(s, "test_wrong_pin_once", test_wrong_pin_once);
    CU_add_test(s, "test_no_pin", test_no_pin);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
