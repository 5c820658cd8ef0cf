/* SPDX-License-Identifier: Apache-2.0 */
/* The PKCS#11 backend's long-lived state against a real SoftHSM2 token made
 * fresh here: the session copy of a key (made on second use, re-made after
 * loss, turned off by its setting), signing from several threads, a fork
 * child signing on its own, and teardown at exit. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "pkcs11/p11.h"
#include "tests/unit/test-p11-util.h"

#define TOKEN "devid-session"
#define URI_EC256 "pkcs11:token=" TOKEN ";object=ec256;type=private"
#define URI_RSA "pkcs11:token=" TOKEN ";object=rsa2048;type=private"

static struct devid_prov *prov;

static struct devid_prov *new_prov(const char *pin)
{
    return tp11_new_prov(TP11_SOFTHSM, pin);
}

static int suite_init(void)
{
    if (tp11_softhsm_setup() == NULL || !tp11_token_init(TOKEN)
        || !tp11_keygen(TOKEN, "EC:prime256v1", "01", "ec256")
        || !tp11_keygen(TOKEN, "rsa:2048", "03", "rsa2048")) {
        return 1;
    }
    prov = new_prov(TP11_PIN);
    return prov == NULL;
}

static int suite_clean(void)
{
    devid_prov_free(prov);
    tp11_softhsm_cleanup();
    return 0;
}

/* ---- the session copy ------------------------------------------------ */

static struct devid_p11_key *p11key(const struct devid_key *key)
{
    return key->be;
}

/* A CK_BBOOL attribute of an object, read on a pooled session: 0 or 1,
 * or -1 when the token does not answer (no such object). */
static int obj_bool(struct devid_p11_token *tok, CK_OBJECT_HANDLE h,
                    CK_ATTRIBUTE_TYPE type)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE a = { type, &v, sizeof(v) };
    CK_RV rv;

    if (devid_p11_session_take(tok, &s) != CKR_OK) {
        return -1;
    }
    rv = tok->mod->fn->C_GetAttributeValue(s, h, &a, 1);
    devid_p11_session_give(tok, s, 0);
    return rv != CKR_OK ? -1 : CK_TRUE == v;
}

/* Once on the token object, then a copy that is a session object, as
 * sensitive and unextractable as the original; signatures on it verify;
 * a search still finds only the token object; freeing the key destroys
 * the copy. */
static void test_copy_second_use(void)
{
    struct devid_key *key = tp11_find_key(prov, URI_EC256);
    struct devid_key *again = NULL;
    struct devid_p11_token *tok = NULL;
    CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
    EVP_PKEY *pkey = NULL;
    int ok = 0;
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    tok = p11key(key)->tok;
    pkey = tp11_pkey(key);
    CU_ASSERT_EQUAL(p11key(key)->copy_state, DEVID_P11_COPY_UNUSED);
    CU_ASSERT(tp11_sign_ecdsa(key, pkey));
    CU_ASSERT_EQUAL(p11key(key)->copy_state, DEVID_P11_COPY_WANTED);
    for (i = 0; i < 20; i++) {
        ok += tp11_sign_ecdsa(key, pkey);
    }
    CU_ASSERT_EQUAL(ok, 20);
    CU_ASSERT_EQUAL_FATAL(p11key(key)->copy_state, DEVID_P11_COPY_READY);
    copy = p11key(key)->copy;
    CU_ASSERT_NOT_EQUAL(copy, p11key(key)->h);
    CU_ASSERT_EQUAL(obj_bool(tok, copy, CKA_TOKEN), 0);
    CU_ASSERT_EQUAL(obj_bool(tok, copy, CKA_SENSITIVE), 1);
    CU_ASSERT_EQUAL(obj_bool(tok, copy, CKA_EXTRACTABLE), 0);
    CU_ASSERT_EQUAL(obj_bool(tok, copy, CKA_PRIVATE), 1);
    CU_ASSERT_EQUAL(obj_bool(tok, p11key(key)->h, CKA_TOKEN), 1);
    again = tp11_find_key(prov, URI_EC256);
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    CU_ASSERT_EQUAL(p11key(again)->h, p11key(key)->h);
    devid_key_free(again);
    CU_ASSERT_EQUAL(obj_bool(tok, copy, CKA_TOKEN), 0);
    devid_key_free(key);
    CU_ASSERT_EQUAL(obj_bool(tok, copy, CKA_TOKEN), -1);
    EVP_PKEY_free(pkey);
}

/* RSA PKCS#1 and PSS on the copy verify too (test_sign_rsa signs many
 * times with one key object, so most of it runs on the copy). */
static void test_copy_rsa(void)
{
    struct devid_key *key = tp11_find_key(prov, URI_RSA);
    struct devid_sign_params pss = { DEVID_SIG_PSS, NID_sha256, NID_sha256,
                                     32 };
    struct devid_sign_params pkcs1 = { DEVID_SIG_PKCS1, NID_sha256, 0, 0 };
    unsigned char dgst[32];
    unsigned char sig[256];
    size_t siglen = sizeof(sig);
    EVP_PKEY *pkey = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    pkey = tp11_pkey(key);
    RAND_bytes(dgst, sizeof(dgst));
    CU_ASSERT(devid_pkcs11_backend.sign(key, &pkcs1, dgst, 32, sig, &siglen));
    siglen = sizeof(sig);
    CU_ASSERT(devid_pkcs11_backend.sign(key, &pss, dgst, 32, sig, &siglen));
    CU_ASSERT_EQUAL(p11key(key)->copy_state, DEVID_P11_COPY_READY);
    CU_ASSERT(tp11_verify_rsa(pkey, RSA_PKCS1_PSS_PADDING, EVP_sha256(), dgst,
                              32, sig, siglen));
    siglen = sizeof(sig);
    CU_ASSERT(devid_pkcs11_backend.sign(key, &pkcs1, dgst, 32, sig, &siglen));
    CU_ASSERT(tp11_verify_rsa(pkey, RSA_PKCS1_PADDING, EVP_sha256(), dgst, 32,
                              sig, siglen));
    EVP_PKEY_free(pkey);
    devid_key_free(key);
}

/* pkcs11-module-key-copy = none: every signature on the token object. */
static void test_copy_setting_none(void)
{
    struct devid_prov *p = new_prov(TP11_PIN);
    struct devid_key *key = NULL;
    EVP_PKEY *pkey = NULL;
    int ok = 0;
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    ERR_clear_error();
    CU_ASSERT(devid_config_set(p, "pkcs11-module-key-copy", "on") == 0);
    CU_ASSERT_EQUAL(tp11_last_reason(NULL, 0), DEVID_R_BAD_CONFIG);
    ERR_clear_error();
    CU_ASSERT(devid_config_set(p, "pkcs11-module-key-copy", "session") == 1);
    CU_ASSERT(devid_config_set(p, "pkcs11-module-key-copy", "none") == 1);
    key = tp11_find_key(p, URI_EC256);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    pkey = tp11_pkey(key);
    for (i = 0; i < 5; i++) {
        ok += tp11_sign_ecdsa(key, pkey);
    }
    CU_ASSERT_EQUAL(ok, 5);
    CU_ASSERT_EQUAL(p11key(key)->copy_state, DEVID_P11_COPY_NONE);
    CU_ASSERT_EQUAL(p11key(key)->copy, CK_INVALID_HANDLE);
    EVP_PKEY_free(pkey);
    devid_key_free(key);
    devid_prov_free(p);
}

/* ---- threads, fork, exit -------------------------------------------- */

#define THREADS 8
#define PER_THREAD 128

struct sign_job {
    struct devid_key *key;
    EVP_PKEY *pkey;
    int ok;
};

static void *sign_thread(void *arg)
{
    struct sign_job *job = arg;
    struct devid_sign_params sp = { DEVID_SIG_ECDSA, NID_sha256, 0, 0 };
    int i;

    for (i = 0; i < PER_THREAD; i++) {
        unsigned char dgst[32];
        unsigned char sig[64];
        size_t siglen = sizeof(sig);

        RAND_bytes(dgst, sizeof(dgst));
        if (devid_pkcs11_backend.sign(job->key, &sp, dgst, 32, sig, &siglen)
                == 1
            && tp11_verify_ecdsa(job->pkey, dgst, 32, sig, siglen)) {
            job->ok++;
        }
    }
    return NULL;
}

static void test_threads_sign(void)
{
    struct devid_key *key = tp11_find_key(prov, URI_EC256);
    EVP_PKEY *pkey = NULL;
    pthread_t th[THREADS];
    struct sign_job jobs[THREADS];
    int total = 0;
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    pkey = tp11_pkey(key);
    for (i = 0; i < THREADS; i++) {
        jobs[i].key = key;
        jobs[i].pkey = pkey;
        jobs[i].ok = 0;
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, sign_thread, &jobs[i])
                        == 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += jobs[i].ok;
    }
    CU_ASSERT_EQUAL(total, THREADS * PER_THREAD);
    /* the threads made one copy between them, and signed on it */
    CU_ASSERT_EQUAL(((struct devid_p11_key *)key->be)->copy_state,
                    DEVID_P11_COPY_READY);
    /* the pool grew past one session but stayed within its bound */
    CU_ASSERT(((struct devid_p11_key *)key->be)->tok->nopen > 1);
    CU_ASSERT(((struct devid_p11_key *)key->be)->tok->nopen
              <= ((struct devid_p11_key *)key->be)->tok->max);
    EVP_PKEY_free(pkey);
    devid_key_free(key);
}

static int sign_once(struct devid_key *key, EVP_PKEY *pkey)
{
    struct devid_sign_params sp = { DEVID_SIG_PSS, NID_sha256, NID_sha256, 32 };
    unsigned char dgst[32];
    unsigned char sig[256];
    size_t siglen = sizeof(sig);

    RAND_bytes(dgst, sizeof(dgst));
    return devid_pkcs11_backend.sign(key, &sp, dgst, 32, sig, &siglen) == 1
           && tp11_verify_rsa(pkey, RSA_PKCS1_PSS_PADDING, EVP_sha256(), dgst,
                              32, sig, siglen);
}

/* Sign, fork, sign in both: the child initialises again on first use. */
static void test_fork_sign(void)
{
    struct devid_key *key = tp11_find_key(prov, URI_RSA);
    EVP_PKEY *pkey = NULL;
    pid_t pid;
    int status = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    pkey = tp11_pkey(key);
    CU_ASSERT_FATAL(sign_once(key, pkey));
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (0 == pid) {
        int ok = sign_once(key, pkey) && sign_once(key, pkey);

        if (!ok) {
            ERR_print_errors_fp(stderr);
        }
        /* freed in the child too: what a child that exits normally does,
         * and valgrind's leak check of the child passes */
        EVP_PKEY_free(pkey);
        devid_key_free(key);
        _exit(ok ? 0 : 1);
    }
    CU_ASSERT(sign_once(key, pkey));
    CU_ASSERT(waitpid(pid, &status, 0) == pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT(sign_once(key, pkey));
    EVP_PKEY_free(pkey);
    devid_key_free(key);
}

/* A program that signs and exits normally, tearing down from an exit
 * handler registered before the module was loaded (what OpenSSL does),
 * must exit 0: no call reaches a finalized module. */
static struct devid_prov *exit_prov;
static struct devid_key *exit_key;

static void exit_teardown(void)
{
    devid_key_free(exit_key);
    devid_prov_free(exit_prov);
}

static void exit_child(int free_at_exit)
{
    struct devid_sign_params sp = { DEVID_SIG_ECDSA, NID_sha256, 0, 0 };
    unsigned char dgst[32] = { 1 };
    unsigned char sig[64];
    size_t siglen = sizeof(sig);

    exit_prov = new_prov(TP11_PIN);
    if (free_at_exit) {
        atexit(exit_teardown);
    }
    exit_key = tp11_find_key(exit_prov, URI_EC256);
    if (exit_key == NULL
        || devid_pkcs11_backend.sign(exit_key, &sp, dgst, 32, sig, &siglen)
               != 1) {
        _exit(3);
    }
    exit(0);
}

static void test_exit_clean(void)
{
    int mode;

    for (mode = 0; mode < 2; mode++) {
        int status = -1;
        pid_t pid;

        fflush(NULL);
        pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (0 == pid) {
            /* a fresh process state: forget the parent's instance */
            prov = NULL;
            exit_child(1 - mode);
        }
        CU_ASSERT(waitpid(pid, &status, 0) == pid);
        CU_ASSERT(WIFEXITED(status));
        CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    }
}

int main(void)
{
    CU_pSuite s = NULL;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return CU_get_error();
    }
    s = CU_add_suite("p11_session", suite_init, suite_clean);
    CU_add_test(s, "test_copy_second_use", test_copy_second_use);
    CU_add_test(s, "test_copy_rsa", test_copy_rsa);
    CU_add_test(s, "test_copy_setting_none", test_copy_setting_none);
    CU_add_test(s, "test_threads_sign", test_threads_sign);
    CU_add_test(s, "test_fork_sign", test_fork_sign);
    CU_add_test(s, "test_exit_clean", test_exit_clean);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
