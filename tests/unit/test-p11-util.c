/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the PKCS#11 backend tests. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/err.h"
#include "tests/unit/pubkey-util.h"
#include "tests/unit/test-p11-util.h"

static char tp11_dir[256];

int tp11_run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd) == 0;
}

const char *tp11_softhsm_setup(void)
{
    char conf[300];
    FILE *f = NULL;

    snprintf(tp11_dir, sizeof(tp11_dir), "/tmp/devid-p11-XXXXXX");
    if (mkdtemp(tp11_dir) == NULL) {
        return NULL;
    }
    snprintf(conf, sizeof(conf), "%s/tokens", tp11_dir);
    if (!tp11_run("mkdir -p %s", conf)) {
        return NULL;
    }
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", tp11_dir);
    f = fopen(conf, "w");
    if (f == NULL) {
        return NULL;
    }
    fprintf(f, "directories.tokendir = %s/tokens\n"
               "objectstore.backend = file\nlog.level = ERROR\n",
            tp11_dir);
    fclose(f);
    setenv("SOFTHSM2_CONF", conf, 1);
    return tp11_dir;
}

void tp11_softhsm_cleanup(void)
{
    if (tp11_dir[0] != '\0') {
        tp11_run("rm -rf '%s'", tp11_dir);
    }
}

int tp11_token_init(const char *label)
{
    return tp11_run("softhsm2-util --init-token --free --label %s "
                    "--so-pin %s --pin %s >/dev/null",
                    label, TP11_SO_PIN, TP11_PIN);
}

int tp11_keygen(const char *token, const char *type, const char *id,
                const char *label)
{
    int rsa = strncmp(type, "rsa", 3) == 0;

    return tp11_run("pkcs11-tool --module %s --token-label %s --login "
                    "--pin %s --keypairgen --key-type %s --id %s --label %s "
                    "--usage-sign %s >/dev/null 2>&1",
                    TP11_SOFTHSM, token, TP11_PIN, type, id, label,
                    rsa ? "--usage-decrypt" : "--usage-derive");
}

EVP_PKEY *tp11_pkey(const struct devid_key *key)
{
    return tpub_pkey(&key->pub);
}

int tp11_sign_ecdsa(struct devid_key *key, EVP_PKEY *pkey)
{
    struct devid_sign_params sp = { DEVID_SIG_ECDSA, NID_sha256, 0, 0 };
    unsigned char dgst[32];
    unsigned char sig[2 * 66];
    size_t siglen = sizeof(sig);

    RAND_bytes(dgst, sizeof(dgst));
    return devid_pkcs11_backend.sign(key, &sp, dgst, sizeof(dgst), sig, &siglen)
               == 1
           && (pkey == NULL
               || tp11_verify_ecdsa(pkey, dgst, sizeof(dgst), sig, siglen));
}

int tp11_verify_ecdsa(EVP_PKEY *pkey, const unsigned char *dgst,
                      size_t dlen, const unsigned char *sig, size_t siglen)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)(siglen / 2), NULL);
    BIGNUM *ss = BN_bin2bn(sig + siglen / 2, (int)(siglen / 2), NULL);
    unsigned char *der = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    int len;
    int ok = 0;

    if (s == NULL || r == NULL || ss == NULL || !ECDSA_SIG_set0(s, r, ss)) {
        BN_free(r);
        BN_free(ss);
        goto end;
    }
    len = i2d_ECDSA_SIG(s, &der);
    ok = len > 0 && EVP_PKEY_verify_init(ctx) > 0
         && EVP_PKEY_verify(ctx, der, (size_t)len, dgst, dlen) == 1;
end:
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int tp11_verify_rsa(EVP_PKEY *pkey, int pad, const EVP_MD *md,
                    const unsigned char *tbs, size_t tbslen,
                    const unsigned char *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) > 0
             && EVP_PKEY_CTX_set_rsa_padding(ctx, pad) > 0
             && (md == NULL || EVP_PKEY_CTX_set_signature_md(ctx, md) > 0)
             && (pad != RSA_PKCS1_PSS_PADDING
                 || EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO)
                        > 0)
             && EVP_PKEY_verify(ctx, sig, siglen, tbs, tbslen) == 1;

    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int tp11_last_reason(char *data, size_t n)
{
    const char *d = NULL;
    int flags = 0;
    unsigned long e = ERR_peek_last_error_data(&d, &flags);

    if (data != NULL) {
        snprintf(data, n, "%s", d != NULL ? d : "");
    }
    if (0 == e || ERR_GET_LIB(e) != devid_err_lib()) {
        return -1;
    }
    return ERR_GET_REASON(e);
}

int tp11_collect(const struct devid_object *obj, void *arg)
{
    struct tp11_found *f = arg;
    int i = f->n;

    if (i == 8) {
        return 0;
    }
    f->cls[i] = obj->cls;
    f->key[i] = obj->key != NULL ? devid_key_up_ref(obj->key) : NULL;
    f->der[i] = obj->der != NULL ? OPENSSL_memdup(obj->der, obj->der_len)
                                 : NULL;
    f->der_len[i] = obj->der_len;
    f->label[i] = obj->label != NULL ? OPENSSL_strdup(obj->label) : NULL;
    f->n++;
    return 1;
}

void tp11_found_clear(struct tp11_found *f)
{
    int i;

    for (i = 0; i < f->n; i++) {
        devid_key_free(f->key[i]);
        OPENSSL_free(f->der[i]);
        OPENSSL_free(f->label[i]);
    }
    memset(f, 0, sizeof(*f));
}

struct devid_key *tp11_find_key(struct devid_prov *prov, const char *name)
{
    struct tp11_found f;
    struct devid_key *key = NULL;

    memset(&f, 0, sizeof(f));
    if (devid_pkcs11_backend.search(prov, name, DEVID_OBJ_PRIVKEY, NULL,
                                    tp11_collect, &f)
        && f.n > 0) {
        key = devid_key_up_ref(f.key[0]);
    }
    tp11_found_clear(&f);
    return key;
}

struct devid_prov *tp11_new_prov(const char *path, const char *pin)
{
    struct devid_prov *p = devid_prov_new_standalone(NULL);

    if (p != NULL
        && (!devid_config_set(p, "pkcs11-module-path", path)
            || (pin != NULL
                && !devid_config_set(p, "pkcs11-module-token-pin", pin)))) {
        devid_prov_free(p);
        p = NULL;
    }
    return p;
}
