/* SPDX-License-Identifier: Apache-2.0 */
/* The TPM 2.0 backend against a real swtpm that this program starts itself
 * (socket mode on free loopback ports, state in a temporary directory):
 * key creation, signatures and decryption checked with OpenSSL's default
 * provider, interoperability with tpm2-tools and tpm2-openssl, threads,
 * fork, auth failures and an unreachable TPM. */
#include "config.h"

#include <dlfcn.h>
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
#include <tss2/tss2_mu.h>

#include "common/err.h"
#include "provider/backend.h"
#include "provider/prov.h"
#include "tpm2/keyfile.h"
#include "tests/unit/swtpm-util.h"
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
    char cmd[2048], full[2900];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    /* tpm2-openssl lives in the system modules directory, not ours */
    snprintf(full, sizeof(full),
             "cd '%s' && OPENSSL_MODULES=$(pkg-config --variable=modulesdir "
             "libcrypto) && export OPENSSL_MODULES && { %s ; } "
             ">>'%s/cmd.log' 2>&1",
             tdir, cmd, tdir);
    return system(full) == 0;
}

/* ---- OpenSSL side --------------------------------------------------- */

static EVP_PKEY *pub_pkey(const struct devid_pubkey *pub)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    BIGNUM *n = NULL, *e = NULL;

    if (pub->type == DEVID_KEY_EC) {
        OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
                                        pub->group, 0);
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY,
                                         pub->point, pub->point_len);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    } else {
        n = BN_bin2bn(pub->n, (int)pub->n_len, NULL);
        e = BN_bin2bn(pub->e, (int)pub->e_len, NULL);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    }
    params = OSSL_PARAM_BLD_to_param(b);
    if (ctx == NULL || params == NULL || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pk = NULL;
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    return pk;
}

static void digest(const char *md, const char *msg, unsigned char *out,
                   size_t *len)
{
    unsigned int n = 0;

    EVP_Digest(msg, strlen(msg), out, &n, EVP_get_digestbyname(md), NULL);
    *len = n;
}

/* Verifies a devid signature over digest dg: ECDSA r||s is turned into DER;
 * pad is RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING (salt = digest). */
static int verify(struct devid_key *key, const char *md, int pad,
                  const unsigned char *dg, size_t dglen,
                  const unsigned char *sig, size_t siglen)
{
    EVP_PKEY *pk = pub_pkey(&key->pub);
    EVP_PKEY_CTX *ctx = pk != NULL ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
    unsigned char der[160], *p = der;
    ECDSA_SIG *es = NULL;
    int ok = 0, dl;

    if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1
        || EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(md)) != 1) {
        goto end;
    }
    if (key->pub.type == DEVID_KEY_EC) {
        es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)siglen / 2, NULL),
                       BN_bin2bn(sig + siglen / 2, (int)siglen / 2, NULL));
        dl = i2d_ECDSA_SIG(es, &p);
        ok = EVP_PKEY_verify(ctx, der, (size_t)dl, dg, dglen) == 1;
        goto end;
    }
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1
        || (pad == RSA_PKCS1_PSS_PADDING
            && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST)
                   != 1)) {
        goto end;
    }
    ok = EVP_PKEY_verify(ctx, sig, siglen, dg, dglen) == 1;
end:
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok;
}

/* Signs "msg" with md and scheme through devid and verifies it. */
static int sign_verify(struct devid_key *key, const char *md, int scheme)
{
    struct devid_sign_params p = { 0 };
    unsigned char dg[64], sig[512];
    size_t dglen = 0, siglen = 0;

    digest(md, "devid tpm2 test message", dg, &dglen);
    p.scheme = (enum devid_sig_scheme)scheme;
    p.md_nid = EVP_MD_get_type(EVP_get_digestbyname(md));
    p.mgf1_nid = p.md_nid;
    p.saltlen = (int)dglen;
    if (key->ops->sign(key, &p, dg, dglen, NULL, &siglen) != 1
        || siglen > sizeof(sig)) {
        return 0;
    }
    if (key->ops->sign(key, &p, dg, dglen, sig, &siglen) != 1) {
        return 0;
    }
    return verify(key, md,
                  scheme == DEVID_SIG_PSS ? RSA_PKCS1_PSS_PADDING
                                          : RSA_PKCS1_PADDING,
                  dg, dglen, sig, siglen);
}

static int last_reason(void)
{
    unsigned long e = ERR_peek_last_error();

    return ERR_GET_LIB(e) == devid_err_lib() ? ERR_GET_REASON(e) : -1;
}

static int take_first(const struct devid_object *obj, void *arg)
{
    struct devid_key **out = arg;

    if (obj->cls == DEVID_OBJ_PRIVKEY && *out == NULL) {
        *out = devid_key_up_ref(obj->key);
    }
    return 1;
}

static struct devid_key *open_key(struct devid_prov *pv, const char *name,
                                  const struct devid_pin_cb *pin)
{
    struct devid_key *key = NULL;

    /* errors stay queued for the caller to check */
    devid_tpm2_backend.search(pv, name, DEVID_OBJ_PRIVKEY, pin, take_first,
                              &key);
    return key;
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

    snprintf(tdir, sizeof(tdir), "%s/devid-tpm2-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tdir) == NULL
        || (swtpm_pid = tswtpm_start(tdir, tcti, sizeof(tcti))) < 0) {
        fprintf(stderr, "cannot start swtpm\n");
        tswtpm_stop(&swtpm_pid);
        return 1;
    }
    /* keys made by other tools, before devid holds any object slot: swtpm
     * has three and tpm2-tools leave their primary loaded without a
     * resource manager, hence the flushes. A states a key file's
     * emptyAuth (tpm2_encodeobject -p flipped its meaning in 5.8). */
    if (!run("F='tpm2_flushcontext -t'"
             " && A() { python3 \"$top_srcdir/tests/tss2-keyfile-auth.py\""
             " \"$@\"; }"
             " && tpm2_createprimary -C o -G ecc -c prim.ctx"
             " && tpm2_evictcontrol -C o -c prim.ctx 0x81000100 && $F"
             " && tpm2_create -C 0x81000100 -G ecc256 -u t.pub -r t.priv"
             " && $F && tpm2_load -C 0x81000100 -u t.pub -r t.priv -c t.ctx"
             " && tpm2_evictcontrol -C o -c t.ctx 0x81000020 && $F"
             " && tpm2_create -C 0x81000100 -G rsa2048 -u r.pub -r r.priv -a "
             "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign'"
             " && $F && tpm2_load -C 0x81000100 -u r.pub -r r.priv -c r.ctx"
             " && tpm2_evictcontrol -C o -c r.ctx 0x81000021 && $F"
             /* a key with a scheme of its own: ECDSA with SHA-256 */
             " && tpm2_create -C 0x81000100 -G ecc256:ecdsa-sha256 -u s.pub"
             " -r s.priv -a "
             "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign'"
             " && $F && tpm2_load -C 0x81000100 -u s.pub -r s.priv -c s.ctx"
             " && tpm2_evictcontrol -C o -c s.ctx 0x81000022 && $F"
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
    CU_ASSERT_TRUE(sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA));
    CU_ASSERT_TRUE(sign_verify(ec256, "SHA384", DEVID_SIG_ECDSA));
    CU_ASSERT_TRUE(run("test \"$(stat -c %%a ec256.pem)\" = 600"));
}

static void test_generate_ec_p384_handle(void)
{
    struct devid_key *key = gen("handle:0x81000010", DEVID_KEY_EC, 0,
                                "secp384r1");
    struct devid_key *again;

    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_EQUAL(key->pub.bits, 384);
    CU_ASSERT_TRUE(sign_verify(key, "SHA384", DEVID_SIG_ECDSA));
    again = open_key(prov, "handle:0x81000010", NULL);
    CU_ASSERT_PTR_NOT_NULL(again);
    if (again != NULL) {
        CU_ASSERT_EQUAL(again->pub.point_len, key->pub.point_len);
        CU_ASSERT_EQUAL(memcmp(again->pub.point, key->pub.point,
                               key->pub.point_len), 0);
        CU_ASSERT_TRUE(sign_verify(again, "SHA256", DEVID_SIG_ECDSA));
    }
    /* a second key at the same handle is refused */
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(gen("handle:0x81000010", DEVID_KEY_EC, 0, "P-256"));
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_INVALID_PARAM);
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
    mine = pub_pkey(&ec256->pub);
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
    CU_ASSERT_TRUE(sign_verify(rsa2048, "SHA256", DEVID_SIG_PKCS1));
    CU_ASSERT_TRUE(sign_verify(rsa2048, "SHA384", DEVID_SIG_PSS));
    CU_ASSERT_TRUE(sign_verify(rsa2048, "SHA256", DEVID_SIG_PSS));
    CU_ASSERT_TRUE(sign_verify(rsa3072, "SHA512", DEVID_SIG_PKCS1));
    CU_ASSERT_TRUE(sign_verify(rsa3072, "SHA256", DEVID_SIG_PSS));
}

static int rsa_encrypt_label(struct devid_key *key, int pad, const char *md,
                             const unsigned char *label, size_t label_len,
                             const unsigned char *in, size_t inlen,
                             unsigned char *out, size_t *outlen)
{
    EVP_PKEY *pk = pub_pkey(&key->pub);
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
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_MECHANISM);
    ERR_clear_error();
}

static void test_keyfile_reopen_and_der(void)
{
    struct devid_key *key = open_key(prov, tpath("rsa2048.pem"), NULL);
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
        CU_ASSERT_TRUE(sign_verify(k2, "SHA256", DEVID_SIG_PKCS1));
    }
    OPENSSL_free(der);
    /* a persistent key has no key file */
    CU_ASSERT_EQUAL(devid_tpm2_key_get_keyfile_der(rsa3072, &der, &len), 0);
    CU_ASSERT_PTR_NULL(der);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_NOT_SUPPORTED);
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
                CU_ASSERT_TRUE(sign_verify(keys[i], "SHA256",
                                           DEVID_SIG_ECDSA));
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

    key = open_key(prov, "handle:0x81000020", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    devid_key_free(key);
    /* a sign-only RSA key: PSS goes through TPM2_Sign, whose salt must be
     * what TLS 1.3 needs (RFC 8446 §4.2.3: salt = digest length) */
    key = open_key(prov, "handle:0x81000021", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_FALSE(key->caps & DEVID_CAP_SIGN_RAW_PKCS1);
    CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_PKCS1));
    CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_PSS));
    devid_key_free(key);
}

/* 1 when pv's TPM context has read the TPM's algorithms. */
static int algs_read(struct devid_prov *pv)
{
    struct devid_tpm2 *st = NULL;
    int r;

    if (!devid_tpm2_esys_acquire(pv, &st)) {
        return -1;
    }
    r = st->caps_read;
    devid_tpm2_esys_release(st);
    return r;
}

/* A key with a scheme of its own opens without TPM2_GetCapability (the TPM
 * implements the scheme it accepted the key with) and offers that scheme
 * only; so does an EC key without one (ECDSA and ECDH are devid's only ways
 * for it); an RSA key without one makes devid read the TPM's algorithms. */
static void test_caps_without_algs(void)
{
    struct devid_prov *pv = devid_prov_new_standalone(NULL);
    struct devid_key *key;

    CU_ASSERT_PTR_NOT_NULL_FATAL(pv);
    CU_ASSERT_FATAL(devid_config_set(pv, "tcti", tcti) == 1);
    key = open_key(pv, "handle:0x81000022", NULL);
    CU_ASSERT_PTR_NOT_NULL(key);
    if (key != NULL) {
        CU_ASSERT_EQUAL(key->caps, DEVID_CAP_SIGN_ECDSA);
        CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
        devid_key_free(key);
    }
    CU_ASSERT_EQUAL(algs_read(pv), 0);
    key = open_key(pv, "handle:0x81000020", NULL);
    CU_ASSERT_PTR_NOT_NULL(key);
    if (key != NULL) {
        CU_ASSERT_EQUAL(key->caps,
                        DEVID_CAP_SIGN_ECDSA | DEVID_CAP_DERIVE_ECDH);
        CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
        devid_key_free(key);
    }
    CU_ASSERT_EQUAL(algs_read(pv), 0);
    key = open_key(pv, "handle:0x81000021", NULL);
    CU_ASSERT_PTR_NOT_NULL(key);
    if (key != NULL) {
        CU_ASSERT_TRUE((key->caps & DEVID_CAP_SIGN_PSS) != 0);
        devid_key_free(key);
    }
    CU_ASSERT_EQUAL(algs_read(pv), 1);
    devid_prov_free(pv);
}

/* 1 when pv's TCTI was opened without tctildr, 0 when through it. */
static int tcti_own(struct devid_prov *pv)
{
    struct devid_tpm2 *st = NULL;
    int r;

    if (!devid_tpm2_esys_acquire(pv, &st)) {
        return -1;
    }
    r = st->tcti_own;
    devid_tpm2_esys_release(st);
    return r;
}

/* "swtpm:CONF" is loaded from libtss2-tcti-swtpm.so.0 by devid itself; a
 * library file name goes through tctildr and reaches the same TPM; a plain
 * name without a library goes through tctildr too, which fails. */
static void test_tcti_forms(void)
{
    char viafile[256];
    struct devid_prov *pv;
    struct devid_key *key;

    CU_ASSERT_EQUAL(tcti_own(prov), 1);
    snprintf(viafile, sizeof(viafile), "libtss2-tcti-swtpm.so.0:%s",
             strchr(tcti, ':') + 1);
    pv = devid_prov_new_standalone(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pv);
    CU_ASSERT_FATAL(devid_config_set(pv, "tcti", viafile) == 1);
    key = open_key(pv, "handle:0x81000020", NULL);
    CU_ASSERT_PTR_NOT_NULL(key);
    if (key != NULL) {
        CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
        devid_key_free(key);
    }
    CU_ASSERT_EQUAL(tcti_own(pv), 0);
    devid_prov_free(pv);
    pv = devid_prov_new_standalone(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pv);
    CU_ASSERT_FATAL(devid_config_set(pv, "tcti", "nosuchtcti:x=1") == 1);
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(open_key(pv, "handle:0x81000020", NULL));
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_TPM_UNREACHABLE);
    ERR_clear_error();
    devid_prov_free(pv);
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
    key = open_key(prov, tpath("t2o.pem"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
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
        a->ok += sign_verify(a->key, "SHA256", DEVID_SIG_ECDSA);
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
    CU_ASSERT_TRUE(sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA));
    before = transient_count();
    CU_ASSERT_TRUE_FATAL(before >= 0);
    for (i = 0; i < 6; i++) {
        pid = fork();
        CU_ASSERT_TRUE_FATAL(pid >= 0);
        if (pid == 0) {
            int ok = sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA)
                     && sign_verify(rsa2048, "SHA256", DEVID_SIG_PSS)
                     && sign_verify(ec256, "SHA384", DEVID_SIG_ECDSA);

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
        CU_ASSERT_TRUE(sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA));
        CU_ASSERT_TRUE(sign_verify(rsa3072, "SHA256", DEVID_SIG_PKCS1));
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
    key = open_key(prov, "handle:0x81000030?pass", &wrong);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    ERR_clear_error();
    CU_ASSERT_FALSE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_PIN_INCORRECT);
    ERR_clear_error();
    CU_ASSERT_FALSE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_PIN_REFUSED_BEFORE);
    ERR_clear_error();
    /* exactly one failure reached the TPM */
    CU_ASSERT_EQUAL(lockout_counter(), before + 1);
    devid_key_free(key);
    key = open_key(prov, "handle:0x81000030?pass", &right);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    devid_key_free(key);
    /* no callback: a clear error, nothing sent */
    key = open_key(prov, "handle:0x81000030?pass", NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_PIN_REQUIRED);
    ERR_clear_error();
}

static void test_auth_keyfile(void)
{
    static char pw[] = "abc";
    struct devid_pin_cb right = { pass_cb, pw };
    struct devid_key *key;

    key = open_key(prov, tpath("auth.pem"), NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_PIN_REQUIRED);
    ERR_clear_error();
    key = open_key(prov, tpath("auth.pem"), &right);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    devid_key_free(key);
}

/* A parent auth value the TPM refused is never sent again, by the same
 * key file or another under that parent: one failure at the TPM. */
static void test_parent_auth_refused_once(void)
{
    struct devid_key *key;
    int before = lockout_counter();

    CU_ASSERT_TRUE_FATAL(devid_config_set(prov, "tpm2-parent-auth", "nope"));
    key = open_key(prov, tpath("p1.pem"), NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_PIN_INCORRECT);
    ERR_clear_error();
    key = open_key(prov, tpath("p1.pem"), NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_PIN_REFUSED_BEFORE);
    ERR_clear_error();
    key = open_key(prov, tpath("p2.pem"), NULL);
    CU_ASSERT_PTR_NULL(key);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_PIN_REFUSED_BEFORE);
    ERR_clear_error();
    CU_ASSERT_EQUAL(lockout_counter(), before + 1);
    /* the right value still works, for both keys */
    CU_ASSERT_TRUE_FATAL(devid_config_set(prov, "tpm2-parent-auth", "ppw"));
    key = open_key(prov, tpath("p2.pem"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_TRUE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
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
        key = open_key(prov, "handle:0x81000030?pass", &wrong);
        CU_ASSERT_PTR_NOT_NULL_FATAL(key);
        CU_ASSERT_FALSE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
        devid_key_free(key);
    }
    ERR_clear_error();
    CU_ASSERT_EQUAL(lockout_counter(), 3);
    key = open_key(prov, "handle:0x81000030?pass", &right);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    CU_ASSERT_FALSE(sign_verify(key, "SHA256", DEVID_SIG_ECDSA));
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_PIN_LOCKED);
    ERR_clear_error();
    devid_key_free(key);
    CU_ASSERT_TRUE(sign_verify(ec256, "SHA256", DEVID_SIG_ECDSA));
}

/* ---- the public area ESYS keeps ------------------------------------ */

/* When set, the serialized ESYS_TR this test program hands devid has its
 * last byte (in the key's public area) flipped. Defined here, this
 * Esys_TR_Serialize is the one libdevid-core calls; it wraps tpm2-tss's. */
static int corrupt_serialize;

TSS2_RC Esys_TR_Serialize(ESYS_CONTEXT *esys, ESYS_TR object, uint8_t **buf,
                          size_t *len)
{
    TSS2_RC (*real)(ESYS_CONTEXT *, ESYS_TR, uint8_t **, size_t *);
    TSS2_RC rc;

    *(void **)&real = dlsym(RTLD_NEXT, "Esys_TR_Serialize");
    if (real == NULL) {
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    }
    rc = real(esys, object, buf, len);
    if (rc == TSS2_RC_SUCCESS && corrupt_serialize && *len > 0) {
        (*buf)[*len - 1] ^= 0x01;
    }
    return rc;
}

/* 1 when a and b marshal to the same bytes. */
static int same_public(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b)
{
    uint8_t ba[sizeof(*a)], bb[sizeof(*b)];
    size_t la = 0, lb = 0;

    return Tss2_MU_TPM2B_PUBLIC_Marshal(a, ba, sizeof(ba), &la)
               == TSS2_RC_SUCCESS
           && Tss2_MU_TPM2B_PUBLIC_Marshal(b, bb, sizeof(bb), &lb)
                  == TSS2_RC_SUCCESS
           && la == lb && memcmp(ba, bb, la) == 0;
}

/* The public area ESYS hands back for handle equals what TPM2_ReadPublic
 * returns. */
static void check_tr_public(TPM2_HANDLE handle)
{
    struct devid_tpm2 *st = NULL;
    TPM2B_PUBLIC known, *read = NULL;
    ESYS_TR tr = ESYS_TR_NONE;

    CU_ASSERT_FATAL(devid_tpm2_esys_acquire(prov, &st) == 1);
    CU_ASSERT(Esys_TR_FromTPMPublic(st->esys, handle, ESYS_TR_NONE,
                                    ESYS_TR_NONE, ESYS_TR_NONE, &tr)
              == TSS2_RC_SUCCESS);
    CU_ASSERT(Esys_ReadPublic(st->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, &read, NULL, NULL)
              == TSS2_RC_SUCCESS);
    CU_ASSERT_TRUE(devid_tpm2_tr_public(st, tr, handle, &known));
    CU_ASSERT_TRUE(read != NULL && same_public(&known, read));
    /* another handle's public area is not taken for this one */
    CU_ASSERT_FALSE(devid_tpm2_tr_public(st, tr, handle + 1, &known));
    Esys_Free(read);
    devid_tpm2_esys_release(st);
}

static void test_public_from_esys(void)
{
    check_tr_public(0x81000010); /* EC P-384 */
    check_tr_public(0x81000011); /* RSA 3072 */
}

/* A serialized ESYS_TR that is not exactly what we expect is refused, and
 * a key whose serialized form is corrupted still opens with its real
 * public area (read again from the TPM). */
static void test_public_serialized_refused(void)
{
    const TPM2_HANDLE h = 0x81000010;
    struct devid_tpm2 *st = NULL;
    struct devid_key *key, *again;
    TPM2B_PUBLIC pub;
    ESYS_TR tr = ESYS_TR_NONE;
    uint8_t *buf = NULL, bad[4096];
    size_t len = 0, nlen;

    CU_ASSERT_FATAL(devid_tpm2_esys_acquire(prov, &st) == 1);
    CU_ASSERT(Esys_TR_FromTPMPublic(st->esys, h, ESYS_TR_NONE, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &tr)
              == TSS2_RC_SUCCESS);
    CU_ASSERT(Esys_TR_Serialize(st->esys, tr, &buf, &len) == TSS2_RC_SUCCESS);
    devid_tpm2_esys_release(st);
    CU_ASSERT_FATAL(buf != NULL && len > 12 && len < sizeof(bad));
    CU_ASSERT_TRUE(devid_tpm2_pub_from_serialized(buf, len, h, &pub));
    nlen = (size_t)buf[4] << 8 | buf[5];
    /* one byte short, one byte more */
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(buf, len - 1, h, &pub));
    memcpy(bad, buf, len);
    bad[len] = 0;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len + 1, h, &pub));
    /* another handle */
    memcpy(bad, buf, len);
    bad[3] ^= 0x01;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    /* not a key resource (IESYSC_NV_RSRC) */
    memcpy(bad, buf, len);
    bad[6 + nlen + 3] = 2;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    /* a Name of another length, a Name that is not the public area's */
    memcpy(bad, buf, len);
    bad[5] = (uint8_t)(bad[5] + 1);
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    memcpy(bad, buf, len);
    bad[6 + nlen - 1] ^= 0x01;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    /* a public area that is not the Name's */
    memcpy(bad, buf, len);
    bad[len - 1] ^= 0x01;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    /* a TPM2B_PUBLIC size that does not match its contents */
    memcpy(bad, buf, len);
    bad[6 + nlen + 4 + 1] ^= 0x01;
    CU_ASSERT_FALSE(devid_tpm2_pub_from_serialized(bad, len, h, &pub));
    Esys_Free(buf);

    /* the open falls back to TPM2_ReadPublic: the right public key */
    key = open_key(prov, "handle:0x81000010", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    corrupt_serialize = 1;
    again = open_key(prov, "handle:0x81000010", NULL);
    corrupt_serialize = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(again);
    CU_ASSERT_EQUAL(again->pub.point_len, key->pub.point_len);
    CU_ASSERT_EQUAL(memcmp(again->pub.point, key->pub.point,
                           key->pub.point_len),
                    0);
    CU_ASSERT_EQUAL(again->caps, key->caps);
    CU_ASSERT_TRUE(sign_verify(again, "SHA384", DEVID_SIG_ECDSA));
    devid_key_free(again);
    devid_key_free(key);
}

static void test_errors(void)
{
    static const char closed[] = "swtpm:host=127.0.0.1,port=1";
    struct devid_prov *bad;
    struct devid_key *key;
    const char *data = NULL;
    int flags = 0;

    ERR_clear_error();
    CU_ASSERT_PTR_NULL(open_key(prov, "handle:0x81000fff", NULL));
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_NO_OBJECT);
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(open_key(prov, "handle:0x1234", NULL));
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_BAD_URI);
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(open_key(prov, tpath("missing.pem"), NULL));
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_NO_OBJECT);
    ERR_clear_error();
    CU_ASSERT_PTR_NULL(open_key(prov, tpath("other.pem"), NULL));
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_BAD_KEY_FILE);
    ERR_clear_error();
    /* an unreachable TPM names its TCTI; no state leaks into prov */
    bad = devid_prov_new_standalone(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    CU_ASSERT_FATAL(devid_config_set(bad, "tcti", closed) == 1);
    key = open_key(bad, "handle:0x81000010", NULL);
    CU_ASSERT_PTR_NULL(key);
    ERR_peek_last_error_data(&data, &flags);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_TPM_UNREACHABLE);
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
    CU_add_test(s, "test_public_from_esys", test_public_from_esys);
    CU_add_test(s, "test_public_serialized_refused",
                test_public_serialized_refused);
    CU_add_test(s, "test_rsa_sign", test_rsa_sign);
    CU_add_test(s, "test_rsa_decrypt", test_rsa_decrypt);
    CU_add_test(s, "test_keyfile_reopen_and_der",
                test_keyfile_reopen_and_der);
    CU_add_test(s, "test_many_file_keys", test_many_file_keys);
    CU_add_test(s, "test_tpm2_tools_key", test_tpm2_tools_key);
    CU_add_test(s, "test_caps_without_algs", test_caps_without_algs);
    CU_add_test(s, "test_tcti_forms", test_tcti_forms);
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
