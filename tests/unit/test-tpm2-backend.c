/* SPDX-License-Identifier: Apache-2.0 */
/* The TPM 2.0 backend against a real swtpm that this program starts itself
 * (socket mode on free loopback ports, state in a temporary directory):
 * key creation, signatures and decryption checked with OpenSSL's default
 * provider, interoperability with tpm2-tools and tpm2-openssl, threads,
 * fork, auth failures and an unreachable TPM. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/err.h"
#include "provider/backend.h"
#include "provider/prov.h"
#include "tpm2/keyfile.h"
#include "tests/unit/swtpm-util.h"
#include "tests/unit/pubkey-util.h"
#include "tests/unit/tpm2-util.h"
#include "tpm2/tpm2.h"

static char tdir[256];
static char tcti[128];
static pid_t swtpm_pid = -1;
static struct devid_prov *prov;
static struct devid_key *rsa2048;   /* file key, made once (keygen is slow) */
static struct devid_key *rsa3072;   /* persistent key, made once */
static struct devid_key *ec256;     /* file key */

/* ---- swtpm ---------------------------------------------------------- */

/* Runs a shell command in the test directory with the TCTI exported. */
static int run(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return ttpm2_run(tdir, cmd);
}

static struct devid_key *gen(const char *name, int type, int bits,
                             const char *group)
{
    struct devid_gen_params p;
    struct devid_key *key = NULL;

    memset(&p, 0, sizeof(p));
    p.type = (enum devid_key_type)type;
    p.bits = bits;
    if (group != NULL) {
        snprintf(p.group, sizeof(p.group), "%s", group);
    }
    devid_tpm2_backend.generate(prov, name, &p, NULL, &key);
    return key;
}

static char *tpath(const char *name)
{
    static char buf[4][400];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tdir, name);
    return buf[i];
}

/* ---- suite ---------------------------------------------------------- */

static int suite_init(void)
{

    swtpm_pid = tswtpm_start_tmp("devid-tpm2", tdir, sizeof(tdir), tcti,
                                 sizeof(tcti));
    if (swtpm_pid < 0) {
        return 1;
    }
    /* keys made by other tools, before devid holds any object slot: swtpm
     * has three and tpm2-tools leave their primary loaded without a
     * resource manager, hence the flushes (tpm2-util.c makes the keys
     * at 0x81000020-22). A states a key file's emptyAuth
     * (tpm2_encodeobject -p flipped its meaning in 5.8). */
    if (!ttpm2_make_tools_keys(tdir)
        || !run("F='tpm2_flushcontext -t'"
                " && A() { python3 \"$top_srcdir/tests/tss2-keyfile-auth.py\""
                " \"$@\"; }"
                " && tpm2_create -C 0x81000100 -G ecc256 -p s3cret -u a.pub"
                " -r a.priv"
                " && $F && tpm2_load -C 0x81000100 -u a.pub -r a.priv -c a.ctx"
                " && tpm2_evictcontrol -C o -c a.ctx 0x81000030 && $F"
                " && openssl genpkey -provider tpm2 -algorithm EC"
                " -pkeyopt group:P-256 -out t2o.pem && $F"
                " && openssl genpkey -provider tpm2 -algorithm EC"
                " -pkeyopt group:P-256 -pkeyopt user-auth:abc -out auth.pem"
                " && $F"
                /* a DA-protected parent with an auth value, and two keys */
                " && tpm2_createprimary -C o -G ecc -p ppw -c pp.ctx"
                " && tpm2_evictcontrol -C o -c pp.ctx 0x81000108 && $F"
                " && tpm2_create -C 0x81000108 -P ppw -G ecc256 -u p1.pub"
                " -r p1.priv && tpm2_encodeobject -C 0x81000108 -P ppw"
                " -u p1.pub -r p1.priv -o p1.pem && A p1.pem empty && $F"
                " && tpm2_create -C 0x81000108 -P ppw -G ecc256 -u p2.pub"
                " -r p2.priv && tpm2_encodeobject -C 0x81000108 -P ppw"
                " -u p2.pub -r p2.priv -o p2.pem && A p2.pem empty && $F")) {
        fprintf(stderr, "tpm2-tools/tpm2-openssl failed: see %s/cmd.log\n",
                tdir);
        tswtpm_stop(&swtpm_pid);
        return 1;
    }
    prov = devid_prov_new_standalone(NULL);
    return prov == NULL || !devid_config_set(prov, "tcti", tcti);
}

static int suite_clean(void)
{
    devid_key_free(rsa2048);
    devid_key_free(rsa3072);
    devid_key_free(ec256);
    devid_prov_free(prov);
    tswtpm_stop(&swtpm_pid);
    if (getenv("DEVID_KEEP_TESTDIR") == NULL) {
        run("rm -rf '%s'", tdir);
    }
    return 0;
}

static void test_handles_names(void)
{
    FILE *f = fopen(tpath("other.pem"), "w");

    fputs("-----BEGIN PRIVATE KEY-----\n", f);
    fclose(f);
    CU_ASSERT_TRUE(devid_tpm2_backend.handles("handle:0x81000001"));
    CU_ASSERT_FALSE(devid_tpm2_backend.handles("pkcs11:token=x"));
    CU_ASSERT_FALSE(devid_tpm2_backend.handles(tpath("other.pem")));
    /* where a new key file can be made */
    CU_ASSERT_TRUE(devid_tpm2_backend.handles(tpath("missing.pem")));
    CU_ASSERT_FALSE(devid_tpm2_backend.handles("missing.pem"));
    /* no TPM touched: the provider has no TPM state yet */
    CU_ASSERT_PTR_NULL(devid_backend_state_peek(prov, &devid_tpm2_backend));
}

static void test_generate_ec_p256_file(void)
{
    char name[420];

    snprintf(name, sizeof(name), "file:%s", tpath("ec256.pem"));
    ec256 = gen(name, DEVID_KEY_EC, 0, "prime256v1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ec256);
    CU_ASSERT_TRUE(devid_tpm2_backend.handles(tpath("ec256.pem")));
    CU_ASSERT_TRUE(devid_tpm2_backend.handles(name));
    CU_ASSERT_STRING_EQUAL(ec256->pub.group, "prime256v1");
    CU_ASSERT_EQUAL(ec256->pub.point_len, 65);
    CU_ASSERT_TRUE(ec256->caps & DEVID_CAP_SIGN_ECDSA);
    CU_ASSERT_TRUE(ec256->caps & DEVID_CAP_DERIVE_ECDH);
    CU_ASSERT_TRUE(ttpm2_sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA));
    CU_ASSERT_TRUE(ttpm2_sign_verify(ec256, "SHA384", DEVID_SIG_ECDSA));
    CU_ASSERT_TRUE(run("test \"$(stat -c %%a ec256.pem)\" = 600"));
}

static void test_generate_ec_p384_handle(void)
{
    struct devid_key *key = gen("handle:0x81000010", DEVID_KEY_EC, 0,
                                "secp384r1");
    struct devid_key *again;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_EQUAL(key->pub.bits, 384);
    CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA384", DEVID_SIG_ECDSA));
    again = ttpm2_open_key(prov, "handle:0x81000010", NULL);
    CU_ASSERT_PTR_NOT_NULL(again);
    if (again != NULL) {
        CU_ASSERT_EQUAL(again->pub.point_len, key->pub.point_len);
        CU_ASSERT_EQUAL(memcmp(again->pub.point, key->pub.point,
                               key->pub.point_len), 0);
        CU_ASSERT_TRUE(ttpm2_sign_verify(again, "SHA256", DEVID_SIG_ECDSA));
    }
    /* a second key at the same handle is refused */
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(gen("handle:0x81000010", DEVID_KEY_EC, 0, "P-256"));
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_INVALID_PARAM);
    ERR_clear_error();
    devid_key_free(again);
    devid_key_free(key);
}

static void test_ecdh_matches_openssl(void)
{
    EVP_PKEY *peer = EVP_EC_gen("P-256"), *mine;
    EVP_PKEY_CTX *ctx;
    unsigned char pt[65], z1[32], z2[32];
    size_t ptlen = 0, l1 = sizeof(z1), l2 = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(ec256);
    EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                    sizeof(pt), &ptlen);
    CU_ASSERT_EQUAL(devid_tpm2_backend.derive(ec256, pt, ptlen, z2, &l2), 1);
    mine = tpub_pkey(&ec256->pub);
    ctx = EVP_PKEY_CTX_new(peer, NULL);
    CU_ASSERT_EQUAL(EVP_PKEY_derive_init(ctx), 1);
    CU_ASSERT_EQUAL(EVP_PKEY_derive_set_peer(ctx, mine), 1);
    CU_ASSERT_EQUAL(EVP_PKEY_derive(ctx, z1, &l1), 1);
    CU_ASSERT_EQUAL(l1, l2);
    CU_ASSERT_EQUAL(memcmp(z1, z2, l1), 0);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(peer);
}

static void test_generate_rsa(void)
{
    char name[420];

    snprintf(name, sizeof(name), "%s", tpath("rsa2048.pem"));
    rsa2048 = gen(name, DEVID_KEY_RSA, 2048, NULL);
    rsa3072 = gen("handle:0x81000011", DEVID_KEY_RSA, 3072, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rsa2048);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rsa3072);
    CU_ASSERT_EQUAL(rsa2048->pub.bits, 2048);
    CU_ASSERT_EQUAL(rsa3072->pub.bits, 3072);
    CU_ASSERT_EQUAL(rsa2048->pub.e_len, 3);
    CU_ASSERT_TRUE(rsa2048->caps & DEVID_CAP_SIGN_PSS);
    CU_ASSERT_TRUE(rsa2048->caps & DEVID_CAP_DECRYPT_OAEP);
}

static void test_rsa_sign(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(rsa2048);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rsa3072);
    CU_ASSERT_TRUE(ttpm2_sign_verify(rsa2048, "SHA256", DEVID_SIG_PKCS1));
    CU_ASSERT_TRUE(ttpm2_sign_verify(rsa2048, "SHA384", DEVID_SIG_PSS));
    CU_ASSERT_TRUE(ttpm2_sign_verify(rsa2048, "SHA256", DEVID_SIG_PSS));
    CU_ASSERT_TRUE(ttpm2_sign_verify(rsa3072, "SHA512", DEVID_SIG_PKCS1));
    CU_ASSERT_TRUE(ttpm2_sign_verify(rsa3072, "SHA256", DEVID_SIG_PSS));
}

static int rsa_encrypt_label(struct devid_key *key, int pad, const char *md,
                             const unsigned char *label, size_t label_len,
                             const unsigned char *in, size_t inlen,
                             unsigned char *out, size_t *outlen)
{
    EVP_PKEY *pk = tpub_pkey(&key->pub);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    void *l = label_len > 0 ? OPENSSL_memdup(label, label_len) : NULL;
    int ok = EVP_PKEY_encrypt_init(ctx) == 1
             && EVP_PKEY_CTX_set_rsa_padding(ctx, pad) == 1
             && (md == NULL
                 || EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_get_digestbyname(md))
                        == 1)
             && (l == NULL
                 || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)label_len)
                        == 1)
             && EVP_PKEY_encrypt(ctx, out, outlen, in, inlen) == 1;

    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok;
}

static int rsa_encrypt(struct devid_key *key, int pad, const char *md,
                       const unsigned char *in, size_t inlen,
                       unsigned char *out, size_t *outlen)
{
    return rsa_encrypt_label(key, pad, md, NULL, 0, in, inlen, out, outlen);
}

static void test_rsa_decrypt(void)
{
    static const unsigned char secret[] = "pre-master secret 48 bytes long..";
    static const unsigned char label[] = "devid";
    struct devid_dec_params p = { 0 };
    unsigned char ct[512], pt[512];
    size_t ctlen = sizeof(ct), ptlen = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rsa2048);
    CU_ASSERT_TRUE(rsa_encrypt(rsa2048, RSA_PKCS1_PADDING, NULL, secret,
                               sizeof(secret), ct, &ctlen));
    p.pad = DEVID_PAD_PKCS1;
    CU_ASSERT_EQUAL(devid_tpm2_backend.decrypt(rsa2048, &p, ct, ctlen, pt,
                                               &ptlen), 1);
    CU_ASSERT_EQUAL(ptlen, sizeof(secret));
    CU_ASSERT_EQUAL(memcmp(pt, secret, sizeof(secret)), 0);
    ctlen = sizeof(ct);
    CU_ASSERT_TRUE(rsa_encrypt(rsa3072, RSA_PKCS1_OAEP_PADDING, "SHA256",
                               secret, sizeof(secret), ct, &ctlen));
    p.pad = DEVID_PAD_OAEP;
    p.oaep_md_nid = NID_sha256;
    p.mgf1_nid = NID_sha256;
    ptlen = 0;
    CU_ASSERT_EQUAL(devid_tpm2_backend.decrypt(rsa3072, &p, ct, ctlen, pt,
                                               &ptlen), 1);
    CU_ASSERT_EQUAL(ptlen, sizeof(secret));
    CU_ASSERT_EQUAL(memcmp(pt, secret, sizeof(secret)), 0);
    /* the TPM hashes OAEP labels as NUL-terminated strings (TPM 2.0 Part 1
     * Annex B, RSAES_OAEP): a label with its NUL works, one without is
     * refused clearly */
    ctlen = sizeof(ct);
    CU_ASSERT_TRUE(rsa_encrypt_label(rsa3072, RSA_PKCS1_OAEP_PADDING,
                                     "SHA256", label, sizeof(label), secret,
                                     sizeof(secret), ct, &ctlen));
    p.label = label;
    p.label_len = sizeof(label);
    ptlen = 0;
    CU_ASSERT_EQUAL(devid_tpm2_backend.decrypt(rsa3072, &p, ct, ctlen, pt,
                                               &ptlen), 1);
    CU_ASSERT_EQUAL(ptlen, sizeof(secret));
    p.label_len = sizeof(label) - 1;
    ERR_clear_error();
    CU_ASSERT_EQUAL(devid_tpm2_backend.decrypt(rsa3072, &p, ct, ctlen, pt,
                                               &ptlen), 0);
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_MECHANISM);
    ERR_clear_error();
}

static void test_keyfile_reopen_and_der(void)
{
    struct devid_key *key = ttpm2_open_key(prov, tpath("rsa2048.pem"), NULL);
    struct devid_key *k2 = NULL;
    unsigned char *der = NULL;
    size_t len = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_EQUAL(memcmp(key->pub.n, rsa2048->pub.n, key->pub.n_len), 0);
    CU_ASSERT_EQUAL(devid_tpm2_key_get_keyfile_der(key, &der, &len), 1);
    CU_ASSERT_EQUAL(devid_tpm2_key_from_keyfile_der(prov, der, len, NULL,
                                                    &k2), 1);
    CU_ASSERT_PTR_NOT_NULL(k2);
    if (k2 != NULL) {
        CU_ASSERT_TRUE(ttpm2_sign_verify(k2, "SHA256", DEVID_SIG_PKCS1));
    }
    OPENSSL_free(der);
    /* a persistent key has no key file */
    CU_ASSERT_EQUAL(devid_tpm2_key_get_keyfile_der(rsa3072, &der, &len), 0);
    CU_ASSERT_PTR_NULL(der);
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_NOT_SUPPORTED);
    ERR_clear_error();
    OPENSSL_free(der);
    devid_key_free(k2);
    devid_key_free(key);
}

/* More loaded file keys than swtpm has object slots (3): contexts are
 * swapped out and in behind the scenes. */
static void test_many_file_keys(void)
{
    struct devid_key *keys[5] = { NULL };
    char name[64];
    int i, round;

    for (i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "many%d.pem", i);
        keys[i] = gen(tpath(name), DEVID_KEY_EC, 0, "prime256v1");
        CU_ASSERT_PTR_NOT_NULL(keys[i]);
    }
    for (round = 0; round < 2; round++) {
        for (i = 0; i < 5; i++) {
            if (keys[i] != NULL) {
                CU_ASSERT_TRUE(
                    ttpm2_sign_verify(keys[i], "SHA256", DEVID_SIG_ECDSA));
            }
        }
    }
    for (i = 0; i < 5; i++) {
        devid_key_free(keys[i]);
    }
}

static void test_tpm2_tools_key(void)
{
    struct devid_key *key;

    key = ttpm2_open_key(prov, "handle:0x81000020", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    devid_key_free(key);
    /* a sign-only RSA key: PSS goes through TPM2_Sign, whose salt must be
     * what TLS 1.3 needs (RFC 8446 §4.2.3: salt = digest length) */
    key = ttpm2_open_key(prov, "handle:0x81000021", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_FALSE(key->caps & DEVID_CAP_SIGN_RAW_PKCS1);
    CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_PKCS1));
    CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_PSS));
    devid_key_free(key);
}

static void test_tpm2_openssl_interop(void)
{
    struct devid_key *key;
    char name[420];
    EVP_PKEY *pk;
    unsigned char pt[65];
    size_t ptlen = 0;
    FILE *f;

    /* tpm2-openssl's key file (made in suite_init), used by devid */
    key = ttpm2_open_key(prov, tpath("t2o.pem"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    devid_key_free(key);
    /* devid's key file, used by tpm2-openssl */
    CU_ASSERT_PTR_NOT_NULL_FATAL(ec256);
    snprintf(name, sizeof(name), "%s", tpath("ec256.pub.pem"));
    CU_ASSERT_TRUE_FATAL(run("openssl pkey -provider tpm2 -provider default "
                             "-in ec256.pem -pubout -out ec256.pub.pem"));
    f = fopen(name, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
    EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                    sizeof(pt), &ptlen);
    CU_ASSERT_EQUAL(ptlen, ec256->pub.point_len);
    CU_ASSERT_EQUAL(memcmp(pt, ec256->pub.point, ptlen), 0);
    EVP_PKEY_free(pk);
    /* and tpm2-openssl signs with it */
    CU_ASSERT_TRUE(run("echo hi > m && openssl pkeyutl -provider tpm2 "
                       "-provider default -sign -inkey ec256.pem -rawin "
                       "-digest sha256 -in m -out m.sig"
                       " && openssl pkeyutl -verify -pubin -inkey "
                       "ec256.pub.pem -rawin -digest sha256 -in m "
                       "-sigfile m.sig"));
}

struct thread_arg {
    struct devid_key *key;
    int ok;
};

static void *sign_thread(void *v)
{
    struct thread_arg *a = v;
    int i;

    for (i = 0; i < 125; i++) {
        a->ok += ttpm2_sign_verify(a->key, "SHA256", DEVID_SIG_ECDSA);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[8];
    struct thread_arg args[8];
    int i, total = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(ec256);
    for (i = 0; i < 8; i++) {
        args[i].key = ec256;
        args[i].ok = 0;
        pthread_create(&th[i], NULL, sign_thread, &args[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += args[i].ok;
    }
    CU_ASSERT_EQUAL(total, 1000);
}

/* The transient objects (handles from 0x80000000, TPM_HT_TRANSIENT) in the
 * TPM now, ours and anyone's (TPM 2.0 Part 3
 * §30.2 TPM2_GetCapability, TPM_CAP_HANDLES), or -1. */
static int transient_count(void)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    struct devid_tpm2 *st = NULL;
    int n = -1;

    if (devid_tpm2_esys_acquire(prov, &st)
        && Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, TPM2_CAP_HANDLES,
                              (TPM2_HANDLE)0x80000000u, TPM2_MAX_CAP_HANDLES,
                              &more, &cap)
               == TSS2_RC_SUCCESS) {
        n = (int)cap->data.handles.count;
    }
    devid_tpm2_esys_release(st);
    Esys_Free(cap);
    return n;
}

/* Fork children sign with two key-file keys (each an Esys_Load in the child)
 * and leave by exit() or _exit(): none leaves a transient object in the TPM
 * (swtpm has no resource manager), and the parent's keys keep working. One
 * child at a time: the parent waits before it counts or signs again. */
static void test_fork(void)
{
    int status, i, before, after;
    pid_t pid;

    CU_ASSERT_PTR_NOT_NULL_FATAL(ec256);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rsa2048);
    CU_ASSERT_TRUE(ttpm2_sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA));
    before = transient_count();
    CU_ASSERT_TRUE_FATAL(before >= 0);
    for (i = 0; i < 6; i++) {
        pid = fork();
        CU_ASSERT_TRUE_FATAL(pid >= 0);
        if (pid == 0) {
            int ok = ttpm2_sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA)
                     && ttpm2_sign_verify(rsa2048, "SHA256", DEVID_SIG_PSS)
                     && ttpm2_sign_verify(ec256, "SHA384", DEVID_SIG_ECDSA);

            if (i % 2 == 0) {
                exit(ok ? 0 : 1);
            }
            _exit(ok ? 0 : 1);
        }
        status = -1;
        waitpid(pid, &status, 0);
        CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        after = transient_count();
        CU_ASSERT_EQUAL(after, before);
        if (after != before) {
            fprintf(stderr, "child %d (%s): %d transient objects, %d before\n",
                    i, i % 2 == 0 ? "exit" : "_exit", after, before);
        }
        CU_ASSERT_TRUE(ttpm2_sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA));
        CU_ASSERT_TRUE(ttpm2_sign_verify(rsa3072, "SHA256", DEVID_SIG_PKCS1));
    }
    CU_ASSERT_EQUAL(transient_count(), before);
}

static int pass_cb(char *buf, size_t size, size_t *len,
                   const OSSL_PARAM params[], void *arg)
{
    size_t n = strlen(arg);

    if (n > size) {
        return 0;
    }
    memcpy(buf, arg, n);
    *len = n;
    return 1;
}

static int lockout_counter(void)
{
    FILE *p;
    char line[256];
    unsigned int v = 999;

    snprintf(line, sizeof(line),
             "tpm2_getcap properties-variable 2>/dev/null");
    p = popen(line, "r");
    while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
        if (strstr(line, "TPM2_PT_LOCKOUT_COUNTER") != NULL) {
            sscanf(strchr(line, ':') + 1, "%x", &v);
        }
    }
    if (p != NULL) {
        pclose(p);
    }
    return (int)v;
}

static void test_auth_wrong_not_retried(void)
{
    static char wrongpw[] = "wrong", rightpw[] = "s3cret";
    struct devid_pin_cb wrong = { pass_cb, wrongpw };
    struct devid_pin_cb right = { pass_cb, rightpw };
    struct devid_key *key;
    int before;

    before = lockout_counter();
    key = ttpm2_open_key(prov, "handle:0x81000030?pass", &wrong);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    ERR_clear_error();
    CU_ASSERT_FALSE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_PIN_INCORRECT);
    ERR_clear_error();
    CU_ASSERT_FALSE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_PIN_REFUSED_BEFORE);
    ERR_clear_error();
    /* exactly one failure reached the TPM */
    CU_ASSERT_EQUAL(lockout_counter(), before + 1);
    devid_key_free(key);
    key = ttpm2_open_key(prov, "handle:0x81000030?pass", &right);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    devid_key_free(key);
    /* no callback: a clear error, nothing sent */
    key = ttpm2_open_key(prov, "handle:0x81000030?pass", NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_PIN_REQUIRED);
    ERR_clear_error();
}

static void test_auth_keyfile(void)
{
    static char pw[] = "abc";
    struct devid_pin_cb right = { pass_cb, pw };
    struct devid_key *key;

    key = ttpm2_open_key(prov, tpath("auth.pem"), NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_PIN_REQUIRED);
    ERR_clear_error();
    key = ttpm2_open_key(prov, tpath("auth.pem"), &right);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    devid_key_free(key);
}

/* A parent auth value the TPM refused is never sent again, by the same
 * key file or another under that parent: one failure at the TPM. */
static void test_parent_auth_refused_once(void)
{
    struct devid_key *key;
    int before = lockout_counter();

    CU_ASSERT_TRUE_FATAL(devid_config_set(prov, "tpm2-parent-auth", "nope"));
    key = ttpm2_open_key(prov, tpath("p1.pem"), NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_PIN_INCORRECT);
    ERR_clear_error();
    key = ttpm2_open_key(prov, tpath("p1.pem"), NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_PIN_REFUSED_BEFORE);
    ERR_clear_error();
    key = ttpm2_open_key(prov, tpath("p2.pem"), NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_PIN_REFUSED_BEFORE);
    ERR_clear_error();
    CU_ASSERT_EQUAL(lockout_counter(), before + 1);
    /* the right value still works, for both keys */
    CU_ASSERT_TRUE_FATAL(devid_config_set(prov, "tpm2-parent-auth", "ppw"));
    key = ttpm2_open_key(prov, tpath("p2.pem"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    devid_key_free(key);
    CU_ASSERT_EQUAL(lockout_counter(), before + 1);
    CU_ASSERT_TRUE(devid_config_set(prov, "tpm2-parent-auth", ""));
}

/* swtpm allows 3 failures (TPM2_PT_MAX_AUTH_FAIL): after them the TPM is in
 * lockout and says so, even for the right auth value. Keys without auth
 * (noDA, as devid creates them) keep working. */
static void test_lockout(void)
{
    static char wrongpw[] = "wrong", rightpw[] = "s3cret";
    struct devid_pin_cb wrong = { pass_cb, wrongpw };
    struct devid_pin_cb right = { pass_cb, rightpw };
    struct devid_key *key;
    int i;

    for (i = lockout_counter(); i < 3; i++) {
        key = ttpm2_open_key(prov, "handle:0x81000030?pass", &wrong);
        CU_ASSERT_PTR_NOT_NULL_FATAL(key);
        CU_ASSERT_FALSE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
        devid_key_free(key);
    }
    ERR_clear_error();
    CU_ASSERT_EQUAL(lockout_counter(), 3);
    key = ttpm2_open_key(prov, "handle:0x81000030?pass", &right);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_FALSE(ttpm2_sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_PIN_LOCKED);
    ERR_clear_error();
    devid_key_free(key);
    CU_ASSERT_TRUE(ttpm2_sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA));
}

static void test_errors(void)
{
    static const char closed[] = "swtpm:host=127.0.0.1,port=1";
    struct devid_prov *bad;
    struct devid_key *key;
    const char *data = NULL;
    int flags = 0;

    ERR_clear_error();
    CU_ASSERT_PTR_NULL(ttpm2_open_key(prov, "handle:0x81000fff", NULL));
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_NO_OBJECT);
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(ttpm2_open_key(prov, "handle:0x1234", NULL));
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_BAD_URI);
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(ttpm2_open_key(prov, tpath("missing.pem"), NULL));
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_NO_OBJECT);
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(ttpm2_open_key(prov, tpath("other.pem"), NULL));
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_BAD_KEY_FILE);
    ERR_clear_error();
    /* an unreachable TPM names its TCTI; no state leaks into prov */
    bad = devid_prov_new_standalone(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    CU_ASSERT_FATAL(devid_config_set(bad, "tcti", closed) == 1);
    key = ttpm2_open_key(bad, "handle:0x81000010", NULL);
    CU_ASSERT_PTR_NULL(key);
    ERR_peek_last_error_data(&data, &flags);
    CU_ASSERT_EQUAL(ttpm2_last_reason(), DEVID_R_TPM_UNREACHABLE);
    CU_ASSERT_PTR_NOT_NULL(data);
    if (data != NULL) {
        CU_ASSERT_PTR_NOT_NULL(strstr(data, closed));
    }
    ERR_clear_error();
    devid_prov_free(bad);
}

int main(void)
{
    CU_pSuite s;
    unsigned int failures;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("tpm2-backend", suite_init, suite_clean);
    CU_add_test(s, "test_handles_names", test_handles_names);
    CU_add_test(s, "test_generate_ec_p256_file", test_generate_ec_p256_file);
    /* while devid holds one object slot: tpm2-openssl needs two */
    CU_add_test(s, "test_tpm2_openssl_interop", test_tpm2_openssl_interop);
    CU_add_test(s, "test_generate_ec_p384_handle",
                test_generate_ec_p384_handle);
    CU_add_test(s, "test_ecdh_matches_openssl", test_ecdh_matches_openssl);
    CU_add_test(s, "test_generate_rsa", test_generate_rsa);
    CU_add_test(s, "test_rsa_sign", test_rsa_sign);
    CU_add_test(s, "test_rsa_decrypt", test_rsa_decrypt);
    CU_add_test(s, "test_keyfile_reopen_and_der",
                test_keyfile_reopen_and_der);
    CU_add_test(s, "test_many_file_keys", test_many_file_keys);
    CU_add_test(s, "test_tpm2_tools_key", test_tpm2_tools_key);
    CU_add_test(s, "test_threads", test_threads);
    CU_add_test(s, "test_fork", test_fork);
    CU_add_test(s, "test_auth_wrong_not_retried",
                test_auth_wrong_not_retried);
    CU_add_test(s, "test_auth_keyfile", test_auth_keyfile);
    CU_add_test(s, "test_parent_auth_refused_once",
                test_parent_auth_refused_once);
    CU_add_test(s, "test_lockout", test_lockout);
    CU_add_test(s, "test_errors", test_errors);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures()
               + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failures == 0 ? 0 : 1;
}
