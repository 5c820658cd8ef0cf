/* SPDX-License-Identifier: Apache-2.0 */
/* Failure paths and call counts through the fault-injecting pass-through
 * module (tests/faults/) over a fresh SoftHSM2 token: one failed C_Login
 * per wrong PIN, nothing but C_SignInit/C_Sign per signature, the session
 * copy refused, lost and made again, and every failing call raised with
 * its function and CKR name. */
#include "config.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "pkcs11/p11.h"
#include "tests/unit/test-p11-util.h"

#define TOKEN "faults"
#define URI_KEY "pkcs11:token=" TOKEN ";object=key;type=private"

static char faults_path[PATH_MAX];
static unsigned long (*faults_count)(const char *fn);
static int (*faults_set)(const char *spec);
static CK_FUNCTION_LIST *faults_fn;     /* calls behind devid's back */

static struct devid_prov *new_prov(const char *pin)
{
    return tp11_new_prov(faults_path, pin);
}

/* The module is loaded by p11-kit; find our copy of it to talk to it. */
static int faults_bind(void)
{
    void *h = NULL;

    if (faults_count != NULL) {
        return 1;
    }
    h = dlopen(faults_path, RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL) {
        return 0;
    }
    CK_RV (*get)(CK_FUNCTION_LIST **) = NULL;

    *(void **)&faults_count = dlsym(h, "devid_faults_count");
    *(void **)&faults_set = dlsym(h, "devid_faults_set");
    *(void **)&get = dlsym(h, "C_GetFunctionList");
    dlclose(h);
    return faults_count != NULL && faults_set != NULL && get != NULL
           && get(&faults_fn) == CKR_OK;
}

static int suite_init(void)
{
    const char *top = getenv("top_builddir");
    char rel[512];

    /* p11-kit takes a relative module path as relative to its own module
     * directory: make it absolute */
    snprintf(rel, sizeof(rel), "%s/tests/faults/.libs/libdevid-p11-faults.so",
             top != NULL ? top : ".");
    if (realpath(rel, faults_path) == NULL) {
        fprintf(stderr, "no fault module at %s\n", rel);
        return 1;
    }
    if (tp11_softhsm_setup() == NULL || !tp11_token_init(TOKEN)
        || !tp11_keygen(TOKEN, "EC:prime256v1", "01", "key")
        || !tp11_token_init("faults-pin")
        || !tp11_keygen("faults-pin", "EC:prime256v1", "01", "key")
        || !tp11_token_init("faults-locked")
        || !tp11_keygen("faults-locked", "EC:prime256v1", "01", "key")) {
        return 1;
    }
    setenv("DEVID_FAULTS", "", 1);
    return 0;
}

static int suite_clean(void)
{
    tp11_softhsm_cleanup();
    return 0;
}

static int search_count(struct devid_prov *p, const char *uri,
                        const struct devid_pin_cb *cb)
{
    struct tp11_found f;
    int n;

    memset(&f, 0, sizeof(f));
    if (!devid_pkcs11_backend.search(p, uri, 0, cb, tp11_collect, &f)) {
        return -1;
    }
    n = f.n;
    tp11_found_clear(&f);
    return n;
}

static void expect_error(int reason, const char *text)
{
    char data[512];

    CU_ASSERT_EQUAL(tp11_last_reason(data, sizeof(data)), reason);
    if (text != NULL) {
        CU_ASSERT_PTR_NOT_NULL(strstr(data, text));
        if (strstr(data, text) == NULL) {
            fprintf(stderr, "\n  error data: %s\n", data);
        }
    }
    ERR_clear_error();
}

/* First, before anything initialised the real module through us. */
static void test_init_failure(void)
{
    struct devid_prov *p = NULL;

    setenv("DEVID_FAULTS", "C_Initialize=CKR_DEVICE_ERROR", 1);
    p = new_prov(TP11_PIN);
    ERR_clear_error();
    CU_ASSERT(search_count(p, URI_KEY, NULL) == -1);
    expect_error(DEVID_R_MODULE_LOAD, "C_Initialize: CKR_DEVICE_ERROR (0x30)");
    devid_prov_free(p);
    setenv("DEVID_FAULTS", "", 1);
}

static void test_module_path_uri(void)
{
    struct devid_prov *p = devid_prov_new_standalone(NULL);
    struct tp11_found f;
    char uri[PATH_MAX + 100];

    memset(&f, 0, sizeof(f));
    snprintf(uri, sizeof(uri),
             "pkcs11:token=" TOKEN ";object=key?module-path=%s&pin-value=1234",
             faults_path);
    if (devid_pkcs11_backend.search(p, uri, 0, NULL, tp11_collect, &f) != 1) {
        ERR_print_errors_fp(stderr);
        CU_FAIL_FATAL("search with module-path");
    }
    CU_ASSERT_EQUAL(f.n, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.key[0]->uri, "module-path="));
    /* no PIN attribute (the module path itself may contain "pin", as in a
     * checkout named ".../wt-tpm2-dropin/...") */
    CU_ASSERT_PTR_NULL(strstr(f.key[0]->uri, "pin-value"));
    CU_ASSERT_PTR_NULL(strstr(f.key[0]->uri, "1234"));
    CU_ASSERT_FATAL(faults_bind());
    tp11_found_clear(&f);
    devid_prov_free(p);
}

static int wrong_cb(char *buf, size_t size, size_t *len,
                    const OSSL_PARAM *params, void *arg)
{
    snprintf(buf, size, "0000");
    *len = 4;
    return 1;
}

/* A wrong PIN costs exactly one C_Login, whatever its source. */
static void test_wrong_pin_one_login(void)
{
    struct devid_prov *p = new_prov(NULL);
    struct devid_pin_cb cb = { wrong_cb, NULL };
    const char *bad = "pkcs11:token=faults-pin?pin-value=0000";
    unsigned long before = faults_count("C_Login");

    ERR_clear_error();
    CU_ASSERT(search_count(p, bad, NULL) == -1);
    expect_error(DEVID_R_PIN_INCORRECT, "C_Login: CKR_PIN_INCORRECT (0xa0)");
    CU_ASSERT_EQUAL(faults_count("C_Login"), before + 1);
    CU_ASSERT(search_count(p, bad, NULL) == -1);
    expect_error(DEVID_R_PIN_REFUSED_BEFORE, "not sent again");
    CU_ASSERT(search_count(p, "pkcs11:token=faults-pin", &cb) == -1);
    expect_error(DEVID_R_PIN_REFUSED_BEFORE, NULL);
    CU_ASSERT_EQUAL(faults_count("C_Login"), before + 1);
    /* a different PIN is tried */
    CU_ASSERT(search_count(p, "pkcs11:token=faults-pin?pin-value=1234", NULL)
              == 2);
    CU_ASSERT_EQUAL(faults_count("C_Login"), before + 2);
    devid_prov_free(p);
}

static void test_pin_locked(void)
{
    struct devid_prov *p = new_prov(TP11_PIN);

    faults_set("C_Login=CKR_PIN_LOCKED");
    ERR_clear_error();
    CU_ASSERT(search_count(p, "pkcs11:token=faults-locked", NULL) == -1);
    expect_error(DEVID_R_PIN_LOCKED, "C_Login: CKR_PIN_LOCKED (0xa4)");
    faults_set(NULL);
    devid_prov_free(p);
}

/* The second signature makes the session copy (one C_CopyObject, and the
 * reads that check it); after it nothing but C_SignInit/C_Sign is
 * called. */
static void test_sign_path_calls(void)
{
    static const char *const quiet[] = {
        "C_Login", "C_FindObjectsInit", "C_FindObjects", "C_OpenSession",
        "C_CloseSession", "C_GetAttributeValue", "C_GetTokenInfo",
        "C_GetSlotList", "C_GetSessionInfo", "C_Initialize", "C_CopyObject",
        "C_DestroyObject",
    };
    struct devid_prov *p = new_prov(TP11_PIN);
    struct devid_key *key = tp11_find_key(p, URI_KEY);
    unsigned long before[sizeof(quiet) / sizeof(quiet[0])];
    unsigned long copies = 0;
    unsigned long signs = 0;
    unsigned long inits = 0;
    size_t i;
    int ok = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    copies = faults_count("C_CopyObject");
    CU_ASSERT_FATAL(tp11_sign_ecdsa(key, NULL) == 1);
    CU_ASSERT_EQUAL(faults_count("C_CopyObject"), copies);
    CU_ASSERT_FATAL(tp11_sign_ecdsa(key, NULL) == 1);
    CU_ASSERT_EQUAL(faults_count("C_CopyObject"), copies + 1);
    CU_ASSERT_EQUAL(((struct devid_p11_key *)key->be)->copy_state,
                    DEVID_P11_COPY_READY);
    for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
        before[i] = faults_count(quiet[i]);
    }
    signs = faults_count("C_Sign");
    inits = faults_count("C_SignInit");
    for (i = 0; i < 100; i++) {
        ok += tp11_sign_ecdsa(key, NULL);
    }
    CU_ASSERT_EQUAL(ok, 100);
    for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
        CU_ASSERT_EQUAL(faults_count(quiet[i]), before[i]);
        if (faults_count(quiet[i]) != before[i]) {
            fprintf(stderr, "\n  %s called on the signing path\n", quiet[i]);
        }
    }
    CU_ASSERT_EQUAL(faults_count("C_Sign"), signs + 100);
    CU_ASSERT_EQUAL(faults_count("C_SignInit"), inits + 100);
    devid_key_free(key);
    devid_prov_free(p);
}

/* ---- the session copy ------------------------------------------------ */

static int copy_state(const struct devid_key *key)
{
    return ((const struct devid_p11_key *)key->be)->copy_state;
}

static CK_OBJECT_HANDLE copy_of(const struct devid_key *key)
{
    return ((const struct devid_p11_key *)key->be)->copy;
}

/* A signature that OpenSSL's default provider verifies. */
static int sign_ok(struct devid_key *key)
{
    EVP_PKEY *pkey = tp11_pkey(key);
    int ok = pkey != NULL && tp11_sign_ecdsa(key, pkey);

    EVP_PKEY_free(pkey);
    return ok;
}

/* A token that refuses the copy: the key signs on its token object, asks
 * once, and says nothing. */
static void test_copy_refused(void)
{
    struct devid_prov *p = new_prov(TP11_PIN);
    struct devid_key *key = tp11_find_key(p, URI_KEY);
    unsigned long copies = faults_count("C_CopyObject");
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_FATAL(faults_set("C_CopyObject=CKR_FUNCTION_FAILED"));
    ERR_clear_error();
    for (i = 0; i < 5; i++) {
        CU_ASSERT(sign_ok(key));
    }
    faults_set(NULL);
    CU_ASSERT_EQUAL(ERR_peek_error(), 0);
    CU_ASSERT_EQUAL(faults_count("C_CopyObject"), copies + 1);
    CU_ASSERT_EQUAL(copy_state(key), DEVID_P11_COPY_NONE);
    CU_ASSERT(sign_ok(key));
    devid_key_free(key);
    devid_prov_free(p);
}

/* The copy destroyed behind devid's back: the signature that meets it
 * makes another copy and succeeds, without a new login. */
static void test_copy_lost(void)
{
    struct devid_prov *p = new_prov(TP11_PIN);
    struct devid_key *key = tp11_find_key(p, URI_KEY);
    struct devid_p11_token *tok = NULL;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE old = CK_INVALID_HANDLE;
    unsigned long logins = 0;
    unsigned long copies = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_FATAL(sign_ok(key) && sign_ok(key));
    CU_ASSERT_EQUAL_FATAL(copy_state(key), DEVID_P11_COPY_READY);
    tok = ((struct devid_p11_key *)key->be)->tok;
    old = copy_of(key);
    CU_ASSERT_FATAL(faults_fn->C_OpenSession(tok->slot, CKF_SERIAL_SESSION,
                                             NULL, NULL, &s) == CKR_OK);
    CU_ASSERT_FATAL(faults_fn->C_DestroyObject(s, old) == CKR_OK);
    faults_fn->C_CloseSession(s);
    logins = faults_count("C_Login");
    copies = faults_count("C_CopyObject");
    ERR_clear_error();
    CU_ASSERT(sign_ok(key));
    CU_ASSERT_EQUAL(ERR_peek_error(), 0);
    CU_ASSERT_EQUAL(copy_state(key), DEVID_P11_COPY_READY);
    CU_ASSERT_NOT_EQUAL(copy_of(key), old);
    CU_ASSERT_EQUAL(faults_count("C_CopyObject"), copies + 1);
    CU_ASSERT_EQUAL(faults_count("C_Login"), logins);
    devid_key_free(key);
    devid_prov_free(p);
}

/* Every session of the token closed (a token reset): the next signature
 * logs in again, finds the key again, makes a new copy and succeeds; the
 * ones after it are back to C_SignInit/C_Sign. */
static void test_copy_after_session_loss(void)
{
    struct devid_prov *p = new_prov(TP11_PIN);
    struct devid_key *key = tp11_find_key(p, URI_KEY);
    struct devid_p11_token *tok = NULL;
    unsigned long logins = 0;
    unsigned long copies = 0;
    unsigned long inits = 0;
    int i;
    int ok = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    for (i = 0; i < 3; i++) {
        ok += sign_ok(key);
    }
    CU_ASSERT_EQUAL_FATAL(ok, 3);
    CU_ASSERT_EQUAL_FATAL(copy_state(key), DEVID_P11_COPY_READY);
    tok = ((struct devid_p11_key *)key->be)->tok;
    logins = faults_count("C_Login");
    copies = faults_count("C_CopyObject");
    CU_ASSERT_FATAL(faults_fn->C_CloseAllSessions(tok->slot) == CKR_OK);
    ERR_clear_error();
    CU_ASSERT(sign_ok(key));
    CU_ASSERT_EQUAL(ERR_peek_error(), 0);
    ERR_print_errors_fp(stderr);
    CU_ASSERT_EQUAL(faults_count("C_Login"), logins + 1);
    CU_ASSERT_EQUAL(faults_count("C_CopyObject"), copies + 1);
    CU_ASSERT_EQUAL(copy_state(key), DEVID_P11_COPY_READY);
    inits = faults_count("C_SignInit");
    for (i = 0, ok = 0; i < 10; i++) {
        ok += sign_ok(key);
    }
    CU_ASSERT_EQUAL(ok, 10);
    CU_ASSERT_EQUAL(faults_count("C_SignInit"), inits + 10);
    CU_ASSERT_EQUAL(faults_count("C_CopyObject"), copies + 1);
    devid_key_free(key);
    devid_prov_free(p);
}

/* Each failing call raises once, with the call and CKR name, under the
 * reason that fits; the pool is fine afterwards. */
static void test_fault_table(void)
{
    static const struct {
        const char *spec;
        int reason;
        const char *text;
    } cases[] = {
        { "C_Sign=CKR_DEVICE_ERROR", DEVID_R_TOKEN_ERROR,
          "C_Sign: CKR_DEVICE_ERROR (0x30)" },
        { "C_SignInit=CKR_KEY_FUNCTION_NOT_PERMITTED", DEVID_R_MECHANISM,
          "C_SignInit: CKR_KEY_FUNCTION_NOT_PERMITTED (0x68)" },
        { "C_SignInit=CKR_MECHANISM_INVALID", DEVID_R_MECHANISM,
          "C_SignInit: CKR_MECHANISM_INVALID (0x70)" },
        { "C_Sign=CKR_BUFFER_TOO_SMALL", DEVID_R_BUFFER_TOO_SMALL,
          "C_Sign: CKR_BUFFER_TOO_SMALL (0x150)" },
        { "C_SignInit=CKR_KEY_HANDLE_INVALID", DEVID_R_NO_OBJECT,
          "C_SignInit: CKR_KEY_HANDLE_INVALID (0x60)" },
        { "C_Sign=CKR_DEVICE_REMOVED", DEVID_R_NO_TOKEN,
          "C_Sign: CKR_DEVICE_REMOVED (0x32)" },
        { "C_Sign=CKR_USER_NOT_LOGGED_IN", DEVID_R_PIN_REQUIRED,
          "C_Sign: CKR_USER_NOT_LOGGED_IN (0x101)" },
    };
    struct devid_prov *p = new_prov(TP11_PIN);
    struct devid_key *key = tp11_find_key(p, URI_KEY);
    size_t i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_FATAL(faults_set(cases[i].spec));
        ERR_clear_error();
        CU_ASSERT(tp11_sign_ecdsa(key, NULL) == 0);
        CU_ASSERT_EQUAL(ERR_peek_error(), ERR_peek_last_error()); /* once */
        expect_error(cases[i].reason, cases[i].text);
        faults_set(NULL);
        CU_ASSERT(tp11_sign_ecdsa(key, NULL) == 1);
    }
    devid_key_free(key);
    devid_prov_free(p);
}

static void test_fault_search(void)
{
    static const struct {
        const char *spec;
        int reason;
        const char *text;
    } cases[] = {
        { "C_GetSlotList=CKR_DEVICE_ERROR", DEVID_R_TOKEN_ERROR,
          "C_GetSlotList: CKR_DEVICE_ERROR" },
        { "C_OpenSession=CKR_DEVICE_ERROR", DEVID_R_TOKEN_ERROR,
          "C_OpenSession: CKR_DEVICE_ERROR" },
        { "C_FindObjectsInit=CKR_FUNCTION_FAILED", DEVID_R_TOKEN_ERROR,
          "C_FindObjects: CKR_FUNCTION_FAILED" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct devid_prov *p = new_prov(TP11_PIN);

        CU_ASSERT_FATAL(faults_set(cases[i].spec));
        ERR_clear_error();
        CU_ASSERT(search_count(p, "pkcs11:token=" TOKEN ";type=public", NULL)
                  == -1);
        expect_error(cases[i].reason, cases[i].text);
        faults_set(NULL);
        CU_ASSERT(search_count(p, "pkcs11:token=" TOKEN ";type=public", NULL)
                  == 1);
        devid_prov_free(p);
    }
}

/* Creating and freeing an instance touches no module; loading early does. */
static void test_lazy_load(void)
{
    static const char *const calls[] = {
        "C_Initialize", "C_GetInfo", "C_GetSlotList", "C_OpenSession",
        "C_Finalize",
    };
    unsigned long before[sizeof(calls) / sizeof(calls[0])];
    struct devid_prov *p = NULL;
    size_t i;

    for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        before[i] = faults_count(calls[i]);
    }
    p = new_prov(TP11_PIN);
    devid_prov_free(p);
    for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        CU_ASSERT_EQUAL(faults_count(calls[i]), before[i]);
    }
    p = new_prov(TP11_PIN);
    CU_ASSERT_FATAL(devid_config_set(p, "pkcs11-module-load-behavior", "early")
                    == 1);
    CU_ASSERT(devid_prov_start_early(p) == 1);
    CU_ASSERT_EQUAL(faults_count("C_GetInfo"), before[1] + 1);
    devid_prov_free(p);
}

/* After fork the child drops the parent's sessions without a call, starts
 * the module again and logs in again; the parent goes on as before. */
static void test_fork_no_parent_calls(void)
{
    struct devid_prov *p = new_prov(TP11_PIN);
    struct devid_key *key = tp11_find_key(p, URI_KEY);
    pid_t pid;
    int status = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_FATAL(tp11_sign_ecdsa(key, NULL) == 1);
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (0 == pid) {
        unsigned long close0 = faults_count("C_CloseSession");
        unsigned long logout0 = faults_count("C_Logout");
        unsigned long login0 = faults_count("C_Login")
                               + faults_count("C_GetSessionInfo");
        unsigned long open0 = faults_count("C_OpenSession");
        unsigned long init0 = faults_count("C_Initialize");
        int bad = 0;

        bad |= tp11_sign_ecdsa(key, NULL) != 1;
        bad |= (tp11_sign_ecdsa(key, NULL) != 1) << 1;
        bad |= (faults_count("C_CloseSession") != close0) << 2;
        bad |= (faults_count("C_Logout") != logout0) << 3;
        /* login checked again (SoftHSM's copy in the child may still say
         * "logged in": then C_GetSessionInfo tells, and no C_Login) */
        bad |= (faults_count("C_Login") + faults_count("C_GetSessionInfo")
                <= login0) << 4;
        /* the parent's sessions are not reused: new ones are opened */
        bad |= (faults_count("C_OpenSession") <= open0) << 6;
        bad |= (faults_count("C_Initialize") <= init0) << 5;
        if (bad != 0) {
            fprintf(stderr, "\n  child: failures 0x%x\n", (unsigned)bad);
            ERR_print_errors_fp(stderr);
        }
        devid_key_free(key); /* as in a child that exits normally */
        _exit(bad);
    }
    CU_ASSERT(waitpid(pid, &status, 0) == pid);
    CU_ASSERT(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    CU_ASSERT(tp11_sign_ecdsa(key, NULL) == 1);
    devid_key_free(key);
    devid_prov_free(p);
}

int main(void)
{
    CU_pSuite s = NULL;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return CU_get_error();
    }
    s = CU_add_suite("p11_faults", suite_init, suite_clean);
    CU_add_test(s, "test_init_failure", test_init_failure);
    CU_add_test(s, "test_module_path_uri", test_module_path_uri);
    CU_add_test(s, "test_wrong_pin_one_login", test_wrong_pin_one_login);
    CU_add_test(s, "test_pin_locked", test_pin_locked);
    CU_add_test(s, "test_sign_path_calls", test_sign_path_calls);
    CU_add_test(s, "test_copy_refused", test_copy_refused);
    CU_add_test(s, "test_copy_lost", test_copy_lost);
    CU_add_test(s, "test_copy_after_session_loss",
                test_copy_after_session_loss);
    CU_add_test(s, "test_fault_table", test_fault_table);
    CU_add_test(s, "test_fault_search", test_fault_search);
    CU_add_test(s, "test_lazy_load", test_lazy_load);
    CU_add_test(s, "test_fork_no_parent_calls", test_fork_no_parent_calls);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
