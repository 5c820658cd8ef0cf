/* SPDX-License-Identifier: Apache-2.0 */
/* A token that goes away and comes back under a long-running process, with
 * real restarts: devid uses p11-kit's client module, whose `p11-kit server`
 * (over a fresh SoftHSM2 token) this test starts, kills by PID and starts
 * again at the same socket. The process keeps signing across restarts,
 * fails fast with devid's reason while the server is away, is not killed
 * by SIGPIPE, and finds a token that appears after its first use. Token
 * removal as a card reader reports it (CKR_DEVICE_REMOVED, then
 * CKR_TOKEN_NOT_PRESENT) goes through the fault module. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "pkcs11/p11.h"
#include "tests/unit/test-p11-util.h"

#define TOKEN "devid-rec"
#define URI_KEY "pkcs11:token=" TOKEN ";object=rec;type=private"
#define URI_RSA "pkcs11:token=" TOKEN ";object=recrsa;type=private"
#define CLIENT "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"

static char sock[300];
static pid_t server = -1;
static char faults_path[PATH_MAX];

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Starts `p11-kit server` for the token at sock; waits for its socket. */
static int server_start(void)
{
    char uri[64];
    int i;

    unlink(sock);
    snprintf(uri, sizeof(uri), "pkcs11:token=%s", TOKEN);
    server = fork();
    if (0 == server) {
        /* ends with this test, however it ends */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* its shell variables would only clutter the test log */
        if (freopen("/dev/null", "w", stdout) == NULL) {
            _exit(126);
        }
        execlp("p11-kit", "p11-kit", "server", "-f", "-n", sock, "--provider",
               TP11_SOFTHSM, uri, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 100; i++) {
        struct stat st;

        if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
            return 1;
        }
        usleep(50000);
    }
    return 0;
}

/* Stops the server and the per-connection processes it started (its
 * children, found in /proc by their parent), each by its PID. */
static void server_stop(void)
{
    DIR *d = NULL;
    struct dirent *e;

    if (server <= 0) {
        return;
    }
    d = opendir("/proc");
    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[300];
        char buf[512];
        FILE *f = NULL;
        char *p = NULL;
        long ppid = 0;

        if (e->d_name[0] < '0' || e->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        if (fgets(buf, sizeof(buf), f) != NULL
            && (p = strrchr(buf, ')')) != NULL
            && sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == server) {
            kill((pid_t)atol(e->d_name), SIGTERM);
        }
        fclose(f);
    }
    if (d != NULL) {
        closedir(d);
    }
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    server = -1;
}

static int suite_init(void)
{
    const char *dir = NULL;
    const char *top = getenv("top_builddir");
    char rel[512];

    if (access(CLIENT, R_OK) != 0) {
        fprintf(stderr, "SKIP: no p11-kit client module at %s\n", CLIENT);
        return 1;
    }
    snprintf(rel, sizeof(rel), "%s/tests/faults/.libs/libdevid-p11-faults.so",
             top != NULL ? top : ".");
    if (realpath(rel, faults_path) == NULL) {
        fprintf(stderr, "no fault module at %s\n", rel);
        return 1;
    }
    /* a SIGPIPE that got through would end this program */
    signal(SIGPIPE, SIG_DFL);
    dir = tp11_softhsm_setup();
    if (dir == NULL || !tp11_token_init(TOKEN)
        || !tp11_keygen(TOKEN, "EC:prime256v1", "21", "rec")
        || !tp11_keygen(TOKEN, "rsa:2048", "22", "recrsa")) {
        return 1;
    }
    snprintf(sock, sizeof(sock), "%s/p11-kit.sock", dir);
    snprintf(rel, sizeof(rel), "unix:path=%s", sock);
    setenv("P11_KIT_SERVER_ADDRESS", rel, 1);
    setenv("DEVID_FAULTS", "", 1);
    return 0;
}

static int suite_clean(void)
{
    server_stop();
    tp11_softhsm_cleanup();
    return 0;
}

/* Signs until it works, for at most limit seconds; returns the seconds it
 * took, or -1. */
static double sign_until(struct devid_key *key, EVP_PKEY *pkey, double limit)
{
    double t0 = now_s();

    while (now_s() - t0 < limit) {
        if (tp11_sign_ecdsa(key, pkey)) {
            ERR_clear_error();
            return now_s() - t0;
        }
        usleep(100000);
    }
    return -1;
}

/* The server goes away and comes back twice while one key keeps being used
 * (on its session copy): while it is away each signature fails within 2 s
 * with DEVID_R_NO_TOKEN; once it is back signatures work again. */
static void test_server_restart(void)
{
    struct devid_prov *prov = NULL;
    struct devid_key *key = NULL;
    EVP_PKEY *pkey = NULL;
    char data[512];
    double t0;
    double took;
    int round;
    int i;
    int ok = 0;

    CU_ASSERT_FATAL(server_start());
    prov = tp11_new_prov(CLIENT, TP11_PIN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(prov);
    key = tp11_find_key(prov, URI_KEY);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    pkey = tp11_pkey(key);
    for (i = 0; i < 5; i++) {
        ok += tp11_sign_ecdsa(key, pkey);
    }
    CU_ASSERT_EQUAL(ok, 5);
    CU_ASSERT_EQUAL(((struct devid_p11_key *)key->be)->copy_state,
                    DEVID_P11_COPY_READY);
    for (round = 0; round < 2; round++) {
        server_stop();
        for (i = 0; i < 3; i++) {
            ERR_clear_error();
            t0 = now_s();
            CU_ASSERT(!tp11_sign_ecdsa(key, pkey));
            took = now_s() - t0;
            CU_ASSERT(took < 2.0);
            CU_ASSERT_EQUAL(tp11_last_reason(data, sizeof(data)),
                            DEVID_R_NO_TOKEN);
            CU_ASSERT_PTR_NOT_NULL(strstr(data, TOKEN));
            printf("\n  away: failed in %.3f s: %s", took, data);
        }
        ERR_clear_error();
        CU_ASSERT_FATAL(server_start());
        took = sign_until(key, pkey, 5.0);
        printf("\n  back: signing again after %.3f s", took);
        CU_ASSERT(took >= 0 && took < 2.0);
        ok = 0;
        for (i = 0; i < 5; i++) {
            ok += tp11_sign_ecdsa(key, pkey);
        }
        CU_ASSERT_EQUAL(ok, 5);
    }
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    devid_key_free(key);
    devid_prov_free(prov);
    server_stop();
}

/* The server restarts between two operations: the first one after it
 * meets dead handles, and is made again on the restarted module within the
 * same call, for a signature (EC, on its session copy) and an RSA
 * decryption alike. */
static void test_restart_between_ops(void)
{
    struct devid_prov *prov = NULL;
    struct devid_key *ec = NULL;
    struct devid_key *rsa = NULL;
    struct devid_dec_params dp;
    EVP_PKEY *ecpub = NULL;
    EVP_PKEY *rsapub = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char msg[32] = { 7 };
    unsigned char ct[256];
    unsigned char pt[256];
    size_t ctlen = sizeof(ct);
    size_t ptlen;
    int i;

    CU_ASSERT_FATAL(server_start());
    prov = tp11_new_prov(CLIENT, TP11_PIN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(prov);
    ec = tp11_find_key(prov, URI_KEY);
    rsa = tp11_find_key(prov, URI_RSA);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
    ecpub = tp11_pkey(ec);
    rsapub = tp11_pkey(rsa);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, rsapub, "provider=default");
    CU_ASSERT_FATAL(ctx != NULL && EVP_PKEY_encrypt_init(ctx) == 1);
    CU_ASSERT(EVP_PKEY_encrypt(ctx, ct, &ctlen, msg, sizeof(msg)) == 1);
    EVP_PKEY_CTX_free(ctx);
    memset(&dp, 0, sizeof(dp));
    dp.pad = DEVID_PAD_PKCS1;
    for (i = 0; i < 3; i++) {
        CU_ASSERT(tp11_sign_ecdsa(ec, ecpub));
        ptlen = sizeof(pt);
        CU_ASSERT(devid_pkcs11_backend.decrypt(rsa, &dp, ct, ctlen, pt, &ptlen)
                  == 1);
        CU_ASSERT(ptlen == sizeof(msg) && memcmp(pt, msg, ptlen) == 0);
        server_stop();
        CU_ASSERT_FATAL(server_start());
    }
    CU_ASSERT_EQUAL(ERR_peek_error(), 0);
    ERR_clear_error();
    EVP_PKEY_free(ecpub);
    EVP_PKEY_free(rsapub);
    devid_key_free(ec);
    devid_key_free(rsa);
    devid_prov_free(prov);
    server_stop();
}

/* The server is not there at first use: the key is not found (quickly);
 * started afterwards, its token is found by the same process. */
static void test_token_appears(void)
{
    struct devid_prov *prov = tp11_new_prov(CLIENT, TP11_PIN);
    struct devid_key *key = NULL;
    EVP_PKEY *pkey = NULL;
    double t0;
    int i;

    CU_ASSERT_PTR_NOT_NULL_FATAL(prov);
    server_stop();
    t0 = now_s();
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(tp11_find_key(prov, URI_KEY));
    CU_ASSERT(now_s() - t0 < 2.0);
    ERR_clear_error();
    CU_ASSERT_FATAL(server_start());
    for (i = 0; i < 20 && key == NULL; i++) {
        key = tp11_find_key(prov, URI_KEY);
        if (key == NULL) {
            usleep(100000);
        }
    }
    ERR_clear_error();
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    pkey = tp11_pkey(key);
    CU_ASSERT(tp11_sign_ecdsa(key, pkey));
    CU_ASSERT(tp11_sign_ecdsa(key, pkey));
    EVP_PKEY_free(pkey);
    devid_key_free(key);
    devid_prov_free(prov);
    server_stop();
}

/* A card pulled from its reader: C_SignInit says CKR_DEVICE_REMOVED, the
 * slot then holds no token. Signatures fail fast with DEVID_R_NO_TOKEN;
 * once the token is back the next one logs in again (one C_Login) and
 * works. */
static void test_device_removed(void)
{
    struct devid_prov *prov = tp11_new_prov(faults_path, TP11_PIN);
    struct devid_key *key = NULL;
    EVP_PKEY *pkey = NULL;
    unsigned long (*count)(const char *fn) = NULL;
    int (*set)(const char *spec) = NULL;
    void *h = NULL;
    unsigned long logins;

    CU_ASSERT_PTR_NOT_NULL_FATAL(prov);
    key = tp11_find_key(prov, URI_KEY);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    h = dlopen(faults_path, RTLD_NOW | RTLD_NOLOAD);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    *(void **)&count = dlsym(h, "devid_faults_count");
    *(void **)&set = dlsym(h, "devid_faults_set");
    dlclose(h);
    CU_ASSERT_FATAL(count != NULL && set != NULL);
    pkey = tp11_pkey(key);
    CU_ASSERT(tp11_sign_ecdsa(key, pkey));
    CU_ASSERT(tp11_sign_ecdsa(key, pkey));
    logins = count("C_Login");
    CU_ASSERT(set("C_SignInit=CKR_DEVICE_REMOVED,"
                  "C_GetSessionInfo=CKR_DEVICE_REMOVED,"
                  "C_GetTokenInfo=CKR_TOKEN_NOT_PRESENT"));
    ERR_clear_error();
    CU_ASSERT(!tp11_sign_ecdsa(key, pkey));
    CU_ASSERT_EQUAL(tp11_last_reason(NULL, 0), DEVID_R_NO_TOKEN);
    CU_ASSERT(!tp11_sign_ecdsa(key, pkey));
    CU_ASSERT_EQUAL(tp11_last_reason(NULL, 0), DEVID_R_NO_TOKEN);
    CU_ASSERT_EQUAL(count("C_Login"), logins);
    ERR_clear_error();
    CU_ASSERT(set(""));
    CU_ASSERT(tp11_sign_ecdsa(key, pkey));
    CU_ASSERT(tp11_sign_ecdsa(key, pkey));
    CU_ASSERT_EQUAL(count("C_Login"), logins + 1);
    CU_ASSERT_EQUAL(ERR_peek_error(), 0);
    EVP_PKEY_free(pkey);
    devid_key_free(key);
    devid_prov_free(prov);
}

int main(void)
{
    CU_pSuite s = NULL;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return CU_get_error();
    }
    s = CU_add_suite("p11_recover", suite_init, suite_clean);
    CU_add_test(s, "test_server_restart", test_server_restart);
    CU_add_test(s, "test_restart_between_ops", test_restart_between_ops);
    CU_add_test(s, "test_token_appears", test_token_appears);
    CU_add_test(s, "test_device_removed", test_device_removed);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
