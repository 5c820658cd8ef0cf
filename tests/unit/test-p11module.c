/* SPDX-License-Identifier: Apache-2.0 */
/* devid-pkcs11.so driven through its function list, as an application
 * would (dlopen + C_GetFunctionList), on a SoftHSM identity that
 * tests/p11module/unit.sh makes: argument checks (PKCS #11 v2.40 §5),
 * length queries, unsupported functions, PKCS #11 3.0's interface entry
 * points, the objects' attributes, signing
 * checked by OpenSSL, ECDH, a switch of "current" under an open session,
 * threads and fork; an RSA identity (sign, PSS, decrypt, OAEP) and a key
 * with an auth value in their own suites.
 * argv: module path, state directory [rsa | auth VALUE]. */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <p11-kit/pkcs11.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

static const char *module_path, *state_dir;
static void *dl;
static CK_FUNCTION_LIST *f;

/* ---- helpers --------------------------------------------------------- */

static CK_SESSION_HANDLE open_ro(void)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;

    CU_ASSERT_EQUAL(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
                    CKR_OK);
    return h;
}

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls)
{
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) } };
    CK_OBJECT_HANDLE o[4], found = CK_INVALID_HANDLE;
    CK_ULONG n = 0;

    CU_ASSERT_EQUAL(f->C_FindObjectsInit(h, t, 1), CKR_OK);
    CU_ASSERT_EQUAL(f->C_FindObjects(h, o, 4, &n), CKR_OK);
    CU_ASSERT_EQUAL(f->C_FindObjectsFinal(h), CKR_OK);
    if (n >= 1) {
        found = o[0];
    }
    return found;
}

/* The public key of the identity's leaf in state-dir/<which>/chain.pem. */
static EVP_PKEY *leaf_key(const char *which)
{
    char path[4096];
    FILE *fp;
    X509 *x;
    EVP_PKEY *pk = NULL;

    snprintf(path, sizeof(path), "%s/%s/chain.pem", state_dir, which);
    fp = fopen(path, "r");
    if (fp == NULL) {
        return NULL;
    }
    x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    if (x != NULL) {
        pk = X509_get_pubkey(x);
    }
    X509_free(x);
    return pk;
}

/* Verifies an r||s ECDSA signature over SHA-256(msg) with pk. */
static int ecdsa_ok(EVP_PKEY *pk, const unsigned char *msg, size_t len,
                    const unsigned char *sig, size_t siglen)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    unsigned char *der = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int derlen, ok = 0;

    if (s == NULL || md == NULL || pk == NULL
        || !ECDSA_SIG_set0(s, BN_bin2bn(sig, (int)siglen / 2, NULL),
                           BN_bin2bn(sig + siglen / 2, (int)siglen / 2,
                                     NULL))) {
        goto end;
    }
    derlen = i2d_ECDSA_SIG(s, &der);
    ok = derlen > 0
         && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1
         && EVP_DigestVerify(md, der, (size_t)derlen, msg, len) == 1;
end:
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
    return ok;
}

static CK_RV sign_msg(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                      unsigned char *sig, CK_ULONG *siglen)
{
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    CK_RV rv = f->C_SignInit(h, &m, key);

    if (rv != CKR_OK) {
        return rv;
    }
    return f->C_Sign(h, (CK_BYTE_PTR) "hello", 5, sig, siglen);
}

/* ---- suites ---------------------------------------------------------- */

static void test_initialize_args(void)
{
    CK_C_INITIALIZE_ARGS a;
    CK_ULONG n = 0;

    CU_ASSERT_EQUAL(f->C_GetSlotList(CK_FALSE, NULL, &n),
                    CKR_CRYPTOKI_NOT_INITIALIZED);
    memset(&a, 0, sizeof(a));
    a.CreateMutex = (CK_CREATEMUTEX)1; /* only one of the four: bad */
    CU_ASSERT_EQUAL(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    memset(&a, 0, sizeof(a));
    a.flags = CKF_OS_LOCKING_OK;
    CU_ASSERT_EQUAL(f->C_Initialize(&a), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    CU_ASSERT_EQUAL(f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
}

static void test_slots_tokens(void)
{
    CK_SLOT_ID slots[4];
    CK_ULONG n = 0;
    CK_TOKEN_INFO ti;
    CK_MECHANISM_TYPE mechs[32];
    CK_MECHANISM_INFO mi;

    CU_ASSERT_EQUAL(f->C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 1);
    n = 0;
    CU_ASSERT_EQUAL(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(f->C_GetTokenInfo(7, &ti), CKR_SLOT_ID_INVALID);
    CU_ASSERT_EQUAL(f->C_GetTokenInfo(0, NULL), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(f->C_GetTokenInfo(0, &ti), CKR_OK);
    CU_ASSERT_EQUAL(memcmp(ti.label, "unit-01 ", 8), 0);
    CU_ASSERT((ti.flags & CKF_WRITE_PROTECTED) != 0);
    CU_ASSERT((ti.flags & CKF_LOGIN_REQUIRED) == 0); /* pin-source set */
    n = 0;
    CU_ASSERT_EQUAL(f->C_GetMechanismList(0, NULL, &n), CKR_OK);
    CU_ASSERT(n >= 4);
    n = 1;
    CU_ASSERT_EQUAL(f->C_GetMechanismList(0, mechs, &n), CKR_BUFFER_TOO_SMALL);
    CU_ASSERT(n >= 4);
    CU_ASSERT_EQUAL(f->C_GetMechanismInfo(0, CKM_ECDSA_SHA256, &mi), CKR_OK);
    CU_ASSERT((mi.flags & CKF_SIGN) != 0);
    CU_ASSERT_EQUAL(mi.ulMinKeySize, 256);
    CU_ASSERT_EQUAL(f->C_GetMechanismInfo(0, CKM_SHA256_RSA_PKCS, &mi),
                    CKR_MECHANISM_INVALID);
    CU_ASSERT_EQUAL(f->C_GetMechanismInfo(0, CKM_ECDSA, NULL),
                    CKR_ARGUMENTS_BAD);
}

static void test_sessions(void)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    CK_SESSION_INFO si;
    CK_ULONG n = 0;
    CK_OBJECT_HANDLE o[2];

    CU_ASSERT_EQUAL(f->C_OpenSession(0, 0, NULL, NULL, &h),
                    CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, NULL),
                    CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(f->C_OpenSession(9, CKF_SERIAL_SESSION, NULL, NULL, &h),
                    CKR_SLOT_ID_INVALID);
    CU_ASSERT_EQUAL(f->C_CloseSession(12345), CKR_SESSION_HANDLE_INVALID);
    CU_ASSERT_EQUAL(f->C_GetSessionInfo(12345, &si),
                    CKR_SESSION_HANDLE_INVALID);
    CU_ASSERT_EQUAL(f->C_FindObjectsInit(12345, NULL, 0),
                    CKR_SESSION_HANDLE_INVALID);
    CU_ASSERT_EQUAL(f->C_SignInit(12345, NULL, 0), CKR_SESSION_HANDLE_INVALID);
    h = open_ro();
    CU_ASSERT_EQUAL(f->C_GetSessionInfo(h, &si), CKR_OK);
    CU_ASSERT_EQUAL(si.state, CKS_RO_PUBLIC_SESSION);
    CU_ASSERT_EQUAL(f->C_FindObjects(h, o, 2, &n),
                    CKR_OPERATION_NOT_INITIALIZED);
    CU_ASSERT_EQUAL(f->C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
    CU_ASSERT_EQUAL(f->C_Sign(h, (CK_BYTE_PTR) "x", 1, NULL, &n),
                    CKR_OPERATION_NOT_INITIALIZED);
    CU_ASSERT_EQUAL(f->C_SignUpdate(h, (CK_BYTE_PTR) "x", 1),
                    CKR_OPERATION_NOT_INITIALIZED);
    CU_ASSERT_EQUAL(f->C_SignFinal(h, NULL, &n), CKR_OPERATION_NOT_INITIALIZED);
    CU_ASSERT_EQUAL(f->C_Decrypt(h, (CK_BYTE_PTR) "x", 1, NULL, &n),
                    CKR_OPERATION_NOT_INITIALIZED);
    CU_ASSERT_EQUAL(f->C_FindObjectsInit(h, NULL, 1), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(f->C_CloseSession(h), CKR_OK);
    CU_ASSERT_EQUAL(f->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
}

static void test_unsupported(void)
{
    CK_SESSION_HANDLE h = open_ro();
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    CK_BYTE buf[16];
    CK_OBJECT_HANDLE o;

    CU_ASSERT_EQUAL(f->C_EncryptInit(h, &m, 1), CKR_FUNCTION_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_DigestInit(h, &m), CKR_FUNCTION_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_VerifyInit(h, &m, 1), CKR_FUNCTION_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_GenerateRandom(h, buf, sizeof(buf)),
                    CKR_FUNCTION_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_CreateObject(h, NULL, 0, &o),
                    CKR_FUNCTION_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_DestroyObject(h, 1), CKR_FUNCTION_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_GenerateKeyPair(h, &m, NULL, 0, NULL, 0, &o, &o),
                    CKR_FUNCTION_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_InitToken(0, NULL, 0, NULL),
                    CKR_FUNCTION_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_WaitForSlotEvent(0, NULL, NULL),
                    CKR_FUNCTION_NOT_SUPPORTED);
    CU_ASSERT_EQUAL(f->C_CloseSession(h), CKR_OK);
}

/* PKCS #11 3.0's CK_INTERFACE by its layout: p11-kit 0.24's header has none */
struct test_interface {
    char *name;
    void *functions;
    CK_FLAGS flags;
};
typedef CK_RV test_get_list_fn(struct test_interface *, CK_ULONG *);
typedef CK_RV test_get_fn(unsigned char *, CK_VERSION *,
                          struct test_interface **, CK_FLAGS);

/* C_GetInterfaceList and C_GetInterface are the module's own (not those
 * of the libp11-kit it links) and hand out its v2.40 function list */
static void test_interfaces(void)
{
    test_get_list_fn *get_list;
    test_get_fn *get;
    struct test_interface list[2], *one = NULL;
    CK_VERSION v240 = { 2, 40 }, v30 = { 3, 0 };
    CK_ULONG n = 0;

    get_list = (test_get_list_fn *)dlsym(dl, "C_GetInterfaceList");
    get = (test_get_fn *)dlsym(dl, "C_GetInterface");
    CU_ASSERT_PTR_NOT_NULL_FATAL(get_list);
    CU_ASSERT_PTR_NOT_NULL_FATAL(get);
    CU_ASSERT_EQUAL(get_list(NULL, NULL), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(get_list(NULL, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 1);
    n = 0;
    CU_ASSERT_EQUAL(get_list(list, &n), CKR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(n, 1);
    n = 2;
    CU_ASSERT_EQUAL(get_list(list, &n), CKR_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(list[0].name, "PKCS 11");
    CU_ASSERT_PTR_EQUAL(list[0].functions, f);
    CU_ASSERT_EQUAL(get(NULL, NULL, &one, 0), CKR_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_PTR_EQUAL(one->functions, f);
    CU_ASSERT_EQUAL(get((unsigned char *)"PKCS 11", &v240, &one, 0), CKR_OK);
    CU_ASSERT_EQUAL(get((unsigned char *)"Vendor X", NULL, &one, 0),
                    CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(get(NULL, &v30, &one, 0), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(get(NULL, NULL, &one, 1 /* fork safe */),
                    CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(get(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
}

static void test_attributes(void)
{
    CK_SESSION_HANDLE h = open_ro();
    CK_OBJECT_HANDLE key = find_one(h, CKO_PRIVATE_KEY);
    CK_OBJECT_HANDLE cert = find_one(h, CKO_CERTIFICATE);
    CK_BBOOL sens = CK_FALSE, extr = CK_TRUE, sign = CK_FALSE;
    unsigned char kid[64], cid[64], value[8];
    char label[8];
    CK_ATTRIBUTE a[] = { { CKA_SENSITIVE, &sens, sizeof(sens) },
                         { CKA_EXTRACTABLE, &extr, sizeof(extr) },
                         { CKA_SIGN, &sign, sizeof(sign) },
                         { CKA_ID, kid, sizeof(kid) } };
    CK_ATTRIBUTE c[] = { { CKA_ID, cid, sizeof(cid) } };
    CK_ATTRIBUTE v[] = { { CKA_VALUE, value, sizeof(value) } };
    CK_ATTRIBUTE l[] = { { CKA_LABEL, NULL, 0 } };

    CU_ASSERT_NOT_EQUAL(key, CK_INVALID_HANDLE);
    CU_ASSERT_NOT_EQUAL(cert, CK_INVALID_HANDLE);
    CU_ASSERT_EQUAL(f->C_GetAttributeValue(h, key, a, 4), CKR_OK);
    CU_ASSERT(sens == CK_TRUE && extr == CK_FALSE && sign == CK_TRUE);
    CU_ASSERT_EQUAL(f->C_GetAttributeValue(h, cert, c, 1), CKR_OK);
    CU_ASSERT(a[3].ulValueLen == c[0].ulValueLen
              && memcmp(kid, cid, c[0].ulValueLen) == 0);
    CU_ASSERT_EQUAL(f->C_GetAttributeValue(h, key, v, 1),
                    CKR_ATTRIBUTE_SENSITIVE);
    CU_ASSERT_EQUAL(v[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* length query, then a buffer too small */
    CU_ASSERT_EQUAL(f->C_GetAttributeValue(h, key, l, 1), CKR_OK);
    CU_ASSERT_EQUAL(l[0].ulValueLen, strlen("device"));
    l[0].pValue = label;
    l[0].ulValueLen = 2;
    CU_ASSERT_EQUAL(f->C_GetAttributeValue(h, key, l, 1), CKR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(f->C_GetAttributeValue(h, 0x7777, l, 1),
                    CKR_OBJECT_HANDLE_INVALID);
    CU_ASSERT_EQUAL(f->C_GetAttributeValue(h, key, NULL, 1), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(f->C_CloseSession(h), CKR_OK);
}

static void test_sign(void)
{
    CK_SESSION_HANDLE h = open_ro();
    CK_OBJECT_HANDLE key = find_one(h, CKO_PRIVATE_KEY);
    CK_OBJECT_HANDLE cert = find_one(h, CKO_CERTIFICATE);
    CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
    CK_MECHANISM bad = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    unsigned char sig[256];
    CK_ULONG siglen = 0;
    EVP_PKEY *pk = leaf_key("current");

    CU_ASSERT_EQUAL(f->C_SignInit(h, NULL, key), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(f->C_SignInit(h, &bad, key), CKR_MECHANISM_INVALID);
    CU_ASSERT_EQUAL(f->C_SignInit(h, &m, cert), CKR_KEY_FUNCTION_NOT_PERMITTED);
    CU_ASSERT_EQUAL(f->C_SignInit(h, &m, 0x7777), CKR_KEY_HANDLE_INVALID);
    CU_ASSERT_EQUAL(f->C_SignInit(h, &m, key), CKR_OK);
    CU_ASSERT_EQUAL(f->C_SignInit(h, &m, key), CKR_OPERATION_ACTIVE);
    /* length query and a short buffer leave the operation active */
    CU_ASSERT_EQUAL(f->C_Sign(h, (CK_BYTE_PTR) "hello", 5, NULL, &siglen),
                    CKR_OK);
    CU_ASSERT_EQUAL(siglen, 64);
    siglen = 10;
    CU_ASSERT_EQUAL(f->C_Sign(h, (CK_BYTE_PTR) "hello", 5, sig, &siglen),
                    CKR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(siglen, 64);
    siglen = sizeof(sig);
    CU_ASSERT_EQUAL(f->C_Sign(h, (CK_BYTE_PTR) "hello", 5, sig, &siglen),
                    CKR_OK);
    CU_ASSERT(ecdsa_ok(pk, (const unsigned char *)"hello", 5, sig, siglen));
    CU_ASSERT_EQUAL(f->C_SignFinal(h, sig, &siglen),
                    CKR_OPERATION_NOT_INITIALIZED);
    /* multi-part */
    CU_ASSERT_EQUAL(f->C_SignInit(h, &m, key), CKR_OK);
    CU_ASSERT_EQUAL(f->C_SignUpdate(h, (CK_BYTE_PTR) "hel", 3), CKR_OK);
    CU_ASSERT_EQUAL(f->C_SignUpdate(h, (CK_BYTE_PTR) "lo", 2), CKR_OK);
    siglen = sizeof(sig);
    CU_ASSERT_EQUAL(f->C_SignFinal(h, sig, &siglen), CKR_OK);
    CU_ASSERT(ecdsa_ok(pk, (const unsigned char *)"hello", 5, sig, siglen));
    EVP_PKEY_free(pk);
    CU_ASSERT_EQUAL(f->C_CloseSession(h), CKR_OK);
}

/* A renewal switches state-dir/current by rename(2): a session opened
 * before finishes on the old key; a new one signs with the new key, and
 * the old key's handle means nothing in it. */
static void test_switch_current(void)
{
    CK_SESSION_HANDLE old = open_ro(), cur;
    CK_OBJECT_HANDLE k_old = find_one(old, CKO_PRIVATE_KEY), k_new;
    unsigned char sig[256];
    CK_ULONG siglen = sizeof(sig);
    char cur_path[4096], tmp_path[4096];
    EVP_PKEY *pk_old = leaf_key("identities/a");
    EVP_PKEY *pk_new = leaf_key("identities/b");

    snprintf(cur_path, sizeof(cur_path), "%s/current", state_dir);
    snprintf(tmp_path, sizeof(tmp_path), "%s/current.tmp", state_dir);
    CU_ASSERT_EQUAL(symlink("identities/b", tmp_path), 0);
    CU_ASSERT_EQUAL(rename(tmp_path, cur_path), 0);
    cur = open_ro();
    k_new = find_one(cur, CKO_PRIVATE_KEY);
    CU_ASSERT_NOT_EQUAL(k_old, k_new);
    CU_ASSERT_EQUAL(sign_msg(old, k_old, sig, &siglen), CKR_OK);
    CU_ASSERT(ecdsa_ok(pk_old, (const unsigned char *)"hello", 5, sig, siglen));
    siglen = sizeof(sig);
    CU_ASSERT_EQUAL(sign_msg(cur, k_new, sig, &siglen), CKR_OK);
    CU_ASSERT(ecdsa_ok(pk_new, (const unsigned char *)"hello", 5, sig, siglen));
    CU_ASSERT_EQUAL(sign_msg(cur, k_old, sig, &siglen), CKR_KEY_HANDLE_INVALID);
    EVP_PKEY_free(pk_old);
    EVP_PKEY_free(pk_new);
    CU_ASSERT_EQUAL(f->C_CloseSession(old), CKR_OK);
    CU_ASSERT_EQUAL(f->C_CloseSession(cur), CKR_OK);
}

static void *sign_thread(void *arg)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    unsigned char sig[256];
    CK_ULONG siglen;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) } };
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    long bad = 0;
    int i;

    if (f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK
        || f->C_FindObjectsInit(h, t, 1) != CKR_OK
        || f->C_FindObjects(h, &key, 1, &n) != CKR_OK
        || f->C_FindObjectsFinal(h) != CKR_OK || n != 1) {
        return (void *)1;
    }
    for (i = 0; i < 5; i++) {
        siglen = sizeof(sig);
        bad += sign_msg(h, key, sig, &siglen) != CKR_OK;
    }
    bad += f->C_CloseSession(h) != CKR_OK;
    return (void *)bad;
}

static void test_threads(void)
{
    pthread_t th[4];
    void *res;
    int i;

    for (i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(pthread_create(&th[i], NULL, sign_thread, NULL), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], &res);
        CU_ASSERT_PTR_NULL(res);
    }
}

/* PKCS #11 v2.40 §5.4: a fork child calls C_Initialize before anything. */
static void test_fork(void)
{
    int status = -1;
    pid_t pid = fork();

    if (pid == 0) {
        CK_ULONG n = 0;
        int ok = f->C_GetSlotList(CK_TRUE, NULL, &n)
                     == CKR_CRYPTOKI_NOT_INITIALIZED
                 && f->C_Initialize(NULL) == CKR_OK
                 && f->C_GetSlotList(CK_TRUE, NULL, &n) == CKR_OK && n == 1
                 && f->C_Finalize(NULL) == CKR_OK;

        _exit(ok ? 0 : 1);
    }
    CU_ASSERT(pid > 0);
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_finalize(void)
{
    CU_ASSERT_EQUAL(f->C_Finalize((void *)1), CKR_ARGUMENTS_BAD);
    CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

/* ---- a key with an auth value (argv[3] "auth", argv[4] the value) ----- */

static const char *auth_value;

static void test_auth_login(void)
{
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE key;
    unsigned char sig[256];
    CK_ULONG siglen = sizeof(sig);
    EVP_PKEY *pk = leaf_key("current");

    CU_ASSERT_EQUAL(f->C_Initialize(NULL), CKR_OK);
    CU_ASSERT_EQUAL(f->C_GetTokenInfo(0, &ti), CKR_OK);
    CU_ASSERT((ti.flags & CKF_LOGIN_REQUIRED) != 0);
    h = open_ro();
    /* a private object: not there before login */
    CU_ASSERT_EQUAL(find_one(h, CKO_PRIVATE_KEY), CK_INVALID_HANDLE);
    CU_ASSERT_NOT_EQUAL(find_one(h, CKO_CERTIFICATE), CK_INVALID_HANDLE);
    CU_ASSERT_EQUAL(f->C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR) "x", 1),
                    CKR_SESSION_READ_ONLY_EXISTS);
    CU_ASSERT_EQUAL(f->C_Login(h, CKU_USER, NULL, 3), CKR_ARGUMENTS_BAD);
    /* the wrong value reaches the TPM once; the second time the module
     * refuses it itself (the shell test reads the lockout counter) */
    CU_ASSERT_EQUAL(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "wrong", 5),
                    CKR_PIN_INCORRECT);
    CU_ASSERT_EQUAL(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "wrong", 5),
                    CKR_PIN_INCORRECT);
    CU_ASSERT_EQUAL(find_one(h, CKO_PRIVATE_KEY), CK_INVALID_HANDLE);
    CU_ASSERT_EQUAL(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)auth_value,
                               strlen(auth_value)),
                    CKR_OK);
    CU_ASSERT_EQUAL(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)auth_value,
                               strlen(auth_value)),
                    CKR_USER_ALREADY_LOGGED_IN);
    key = find_one(h, CKO_PRIVATE_KEY);
    CU_ASSERT_NOT_EQUAL(key, CK_INVALID_HANDLE);
    CU_ASSERT_EQUAL(sign_msg(h, key, sig, &siglen), CKR_OK);
    CU_ASSERT(ecdsa_ok(pk, (const unsigned char *)"hello", 5, sig, siglen));
    CU_ASSERT_EQUAL(f->C_Logout(h), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Logout(h), CKR_USER_NOT_LOGGED_IN);
    siglen = sizeof(sig);
    CU_ASSERT_EQUAL(sign_msg(h, key, sig, &siglen), CKR_USER_NOT_LOGGED_IN);
    /* a login again, on a key that is already open: the value is checked,
     * the wrong one is still not sent */
    CU_ASSERT_EQUAL(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "wrong", 5),
                    CKR_PIN_INCORRECT);
    CU_ASSERT_EQUAL(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)auth_value,
                               strlen(auth_value)),
                    CKR_OK);
    siglen = sizeof(sig);
    CU_ASSERT_EQUAL(sign_msg(h, key, sig, &siglen), CKR_OK);
    CU_ASSERT(ecdsa_ok(pk, (const unsigned char *)"hello", 5, sig, siglen));
    EVP_PKEY_free(pk);
    CU_ASSERT_EQUAL(f->C_CloseSession(h), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);
}

/* CKM_ECDH1_DERIVE: the shared secret equals OpenSSL's with the leaf's
 * public key, the peer's point given raw or as a DER OCTET STRING. */
static void test_ecdh_derive(void)
{
    CK_SESSION_HANDLE h = open_ro();
    CK_OBJECT_HANDLE key = find_one(h, CKO_PRIVATE_KEY), secret = 0;
    EVP_PKEY *leaf = leaf_key("current"), *peer = EVP_EC_gen("P-256");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(peer, NULL);
    unsigned char point[65], der[67], want[32], got[32];
    size_t point_len = 0, want_len = sizeof(want);
    CK_ECDH1_DERIVE_PARAMS pp = { CKD_NULL, 0, NULL, 0, point };
    CK_MECHANISM m = { CKM_ECDH1_DERIVE, &pp, sizeof(pp) };
    CK_ATTRIBUTE v[] = { { CKA_VALUE, got, sizeof(got) } };

    CU_ASSERT_FATAL(ctx != NULL && EVP_PKEY_derive_init(ctx) == 1
                    && EVP_PKEY_derive_set_peer(ctx, leaf) == 1
                    && EVP_PKEY_derive(ctx, want, &want_len) == 1);
    CU_ASSERT_FATAL(EVP_PKEY_get_octet_string_param(peer, "pub", point,
                                                    sizeof(point), &point_len)
                    == 1);
    pp.ulPublicDataLen = point_len;
    CU_ASSERT_EQUAL(f->C_DeriveKey(h, &m, key, NULL, 0, &secret), CKR_OK);
    CU_ASSERT_EQUAL(f->C_GetAttributeValue(h, secret, v, 1), CKR_OK);
    CU_ASSERT(v[0].ulValueLen == want_len && memcmp(got, want, want_len) == 0);
    der[0] = 0x04;
    der[1] = (unsigned char)point_len;
    memcpy(der + 2, point, point_len);
    pp.pPublicData = der;
    pp.ulPublicDataLen = point_len + 2;
    memset(got, 0, sizeof(got));
    v[0].ulValueLen = sizeof(got);
    CU_ASSERT_EQUAL(f->C_DeriveKey(h, &m, key, NULL, 0, &secret), CKR_OK);
    CU_ASSERT_EQUAL(f->C_GetAttributeValue(h, secret, v, 1), CKR_OK);
    CU_ASSERT(v[0].ulValueLen == want_len && memcmp(got, want, want_len) == 0);
    pp.kdf = CKD_SHA1_KDF;
    CU_ASSERT_EQUAL(f->C_DeriveKey(h, &m, key, NULL, 0, &secret),
                    CKR_MECHANISM_PARAM_INVALID);
    CU_ASSERT_EQUAL(f->C_DeriveKey(h, NULL, key, NULL, 0, &secret),
                    CKR_ARGUMENTS_BAD);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(leaf);
    CU_ASSERT_EQUAL(f->C_CloseSession(h), CKR_OK);
}

/* ---- an RSA identity (argv[3] "rsa") --------------------------------- */

static int rsa_verify(EVP_PKEY *pk, int pss, const unsigned char *sig,
                      size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok =
        md != NULL
        && EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pk) == 1
        && (!pss
            || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
                && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1))
        && EVP_DigestVerify(md, sig, siglen, (const unsigned char *)"hello", 5)
               == 1;

    EVP_MD_CTX_free(md);
    return ok;
}

static void test_rsa_sign(void)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE key;
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM m1 = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    CK_MECHANISM m2 = { CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss) };
    CK_MECHANISM m3 = { CKM_RSA_PKCS, NULL, 0 };
    CK_MECHANISM bad = { CKM_SHA256_RSA_PKCS_PSS, NULL, 0 };
    CK_MECHANISM_INFO mi;
    /* DigestInfo of SHA-256("hello"), RFC 8017 §9.2 note 1 */
    unsigned char di[51] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                             0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                             0x01, 0x05, 0x00, 0x04, 0x20 };
    unsigned char s1[512], s3[512];
    CK_ULONG l1 = sizeof(s1), l2 = sizeof(s1), l3 = sizeof(s3);
    EVP_PKEY *pk = leaf_key("current");

    CU_ASSERT_EQUAL(f->C_Initialize(NULL), CKR_OK);
    CU_ASSERT_EQUAL(f->C_GetMechanismInfo(0, CKM_RSA_PKCS, &mi), CKR_OK);
    CU_ASSERT((mi.flags & (CKF_SIGN | CKF_DECRYPT))
              == (CKF_SIGN | CKF_DECRYPT));
    CU_ASSERT_EQUAL(mi.ulMinKeySize, 2048);
    CU_ASSERT_EQUAL(f->C_GetMechanismInfo(0, CKM_ECDSA, &mi),
                    CKR_MECHANISM_INVALID);
    h = open_ro();
    key = find_one(h, CKO_PRIVATE_KEY);
    CU_ASSERT_EQUAL(f->C_SignInit(h, &m1, key), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Sign(h, (CK_BYTE_PTR) "hello", 5, s1, &l1), CKR_OK);
    CU_ASSERT(rsa_verify(pk, 0, s1, l1));
    CU_ASSERT_EQUAL(f->C_SignInit(h, &bad, key), CKR_MECHANISM_PARAM_INVALID);
    CU_ASSERT_EQUAL(f->C_SignInit(h, &m2, key), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Sign(h, (CK_BYTE_PTR) "hello", 5, s3, &l2), CKR_OK);
    CU_ASSERT(rsa_verify(pk, 1, s3, l2));
    /* CKM_RSA_PKCS over a DigestInfo: PKCS#1 v1.5 is deterministic */
    SHA256((const unsigned char *)"hello", 5, di + 19);
    CU_ASSERT_EQUAL(f->C_SignInit(h, &m3, key), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Sign(h, di, sizeof(di), s3, &l3), CKR_OK);
    CU_ASSERT(l3 == l1 && memcmp(s1, s3, l1) == 0);
    EVP_PKEY_free(pk);
    CU_ASSERT_EQUAL(f->C_CloseSession(h), CKR_OK);
}

static size_t rsa_encrypt(EVP_PKEY *pk, int oaep, unsigned char *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    size_t len = 512;
    int ok = ctx != NULL && EVP_PKEY_encrypt_init(ctx) == 1
             && EVP_PKEY_CTX_set_rsa_padding(ctx, oaep ? RSA_PKCS1_OAEP_PADDING
                                                       : RSA_PKCS1_PADDING)
                    == 1
             && (!oaep || EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) == 1)
             && (!oaep || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) == 1)
             && EVP_PKEY_encrypt(ctx, out, &len,
                                 (const unsigned char *)"secret", 6)
                    == 1;

    EVP_PKEY_CTX_free(ctx);
    return ok ? len : 0;
}

static void test_rsa_decrypt(void)
{
    CK_SESSION_HANDLE h = open_ro();
    CK_OBJECT_HANDLE key = find_one(h, CKO_PRIVATE_KEY);
    /* SoftHSM 2.6 does OAEP with SHA-1 only (tests/unit/test-p11-backend.c) */
    CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA_1, CKG_MGF1_SHA1,
                                     CKZ_DATA_SPECIFIED, NULL, 0 };
    CK_MECHANISM m1 = { CKM_RSA_PKCS, NULL, 0 };
    CK_MECHANISM m2 = { CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep) };
    unsigned char ct[512], pt[512];
    CK_ULONG ptlen = 0;
    EVP_PKEY *pk = leaf_key("current");
    size_t ctlen = rsa_encrypt(pk, 0, ct);

    CU_ASSERT_EQUAL(f->C_DecryptInit(h, &m1, key), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Decrypt(h, ct, ctlen, NULL, &ptlen), CKR_OK);
    CU_ASSERT_EQUAL(ptlen, 256);
    ptlen = 2;
    CU_ASSERT_EQUAL(f->C_Decrypt(h, ct, ctlen, pt, &ptlen),
                    CKR_BUFFER_TOO_SMALL);
    CU_ASSERT_EQUAL(ptlen, 6);
    ptlen = sizeof(pt);
    CU_ASSERT_EQUAL(f->C_Decrypt(h, ct, ctlen, pt, &ptlen), CKR_OK);
    CU_ASSERT(ptlen == 6 && memcmp(pt, "secret", 6) == 0);
    CU_ASSERT_EQUAL(f->C_Decrypt(h, ct, ctlen, pt, &ptlen),
                    CKR_OPERATION_NOT_INITIALIZED);
    ctlen = rsa_encrypt(pk, 1, ct);
    CU_ASSERT_EQUAL(f->C_DecryptInit(h, &m2, key), CKR_OK);
    ptlen = sizeof(pt);
    CU_ASSERT_EQUAL(f->C_Decrypt(h, ct, ctlen, pt, &ptlen), CKR_OK);
    CU_ASSERT(ptlen == 6 && memcmp(pt, "secret", 6) == 0);
    EVP_PKEY_free(pk);
    CU_ASSERT_EQUAL(f->C_CloseSession(h), CKR_OK);
    CU_ASSERT_EQUAL(f->C_Finalize(NULL), CKR_OK);
}

int main(int argc, char **argv)
{
    CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
    CU_pSuite s;
    unsigned int failed;

    if (argc != 3 && !(argc == 5 && strcmp(argv[3], "auth") == 0)
        && !(argc == 4 && strcmp(argv[3], "rsa") == 0)) {
        fprintf(stderr, "usage: %s MODULE STATE_DIR [auth VALUE]\n", argv[0]);
        return 2;
    }
    module_path = argv[1];
    state_dir = argv[2];
    dl = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
    get = dl != NULL ? (
              CK_RV(*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(dl, "C_GetFunctionList")
                     : NULL;
    if (get == NULL || get(&f) != CKR_OK) {
        fprintf(stderr, "cannot load %s: %s\n", module_path, dlerror());
        return 1;
    }
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    if (argc == 4) {
        s = CU_add_suite("p11module_rsa", NULL, NULL);
        CU_add_test(s, "test_rsa_sign", test_rsa_sign);
        CU_add_test(s, "test_rsa_decrypt", test_rsa_decrypt);
    } else if (argc == 5) {
        auth_value = argv[4];
        s = CU_add_suite("p11module_auth", NULL, NULL);
        CU_add_test(s, "test_auth_login", test_auth_login);
    } else {
        s = CU_add_suite("p11module", NULL, NULL);
        CU_add_test(s, "test_C_Initialize_args", test_initialize_args);
        CU_add_test(s, "test_slots_tokens", test_slots_tokens);
        CU_add_test(s, "test_sessions_bad_handles", test_sessions);
        CU_add_test(s, "test_unsupported_functions", test_unsupported);
        CU_add_test(s, "test_interfaces", test_interfaces);
        CU_add_test(s, "test_attributes", test_attributes);
        CU_add_test(s, "test_sign_length_query", test_sign);
        CU_add_test(s, "test_ecdh_derive", test_ecdh_derive);
        CU_add_test(s, "test_switch_current", test_switch_current);
        CU_add_test(s, "test_threads_sign", test_threads);
        CU_add_test(s, "test_fork_child_reinitialises", test_fork);
        CU_add_test(s, "test_C_Finalize", test_finalize);
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
