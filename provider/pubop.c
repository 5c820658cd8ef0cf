/* SPDX-License-Identifier: Apache-2.0 */
/* Public-key operations on resident keys, in software (see pubop.h). The
 * public half goes to another provider through the same export that
 * "openssl pkey -pubout" uses, so verification and encryption give exactly
 * what OpenSSL's own code gives for that public key (DESIGN.md principle
 * 1: public-key work stays in OpenSSL's default provider). */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "provider/provider.h"
#include "provider/pubop.h"

/* Any provider but this one: the operation must not come back here. */
#define DEVID_PUBOP_PROPQ "provider!=devid"

struct devid_pubop {
    struct devid_prov *prov;
    EVP_PKEY *pub;      /* the public half, in another provider */
    EVP_PKEY_CTX *pctx; /* verify or encrypt (NULL with mdctx) */
    EVP_MD_CTX *mdctx;  /* digest-and-verify; owns its own EVP_PKEY_CTX */
};

struct devid_pubop_import {
    const struct devid_key *key;
    EVP_PKEY *pk;
};

static int devid_pubop_import_cb(const OSSL_PARAM params[], void *arg)
{
    struct devid_pubop_import *imp = arg;
    OSSL_LIB_CTX *libctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    int ret;

    if (devid_prov_libctx(imp->key->prov, &libctx)) {
        pctx = EVP_PKEY_CTX_new_from_name(libctx, devid_key_type_name(imp->key),
                                          DEVID_PUBOP_PROPQ);
    }
    ret = pctx != NULL && EVP_PKEY_fromdata_init(pctx) == 1
          && EVP_PKEY_fromdata(pctx, &imp->pk, EVP_PKEY_PUBLIC_KEY,
                               (OSSL_PARAM *)params)
                 == 1;
    EVP_PKEY_CTX_free(pctx);
    return ret;
}

EVP_PKEY *devid_key_public_pkey(const struct devid_key *key)
{
    struct devid_pubop_import imp = { key, NULL };

    if (key->pub.type == DEVID_KEY_NONE
        || !devid_key_export_public(key, devid_pubop_import_cb, &imp)
        || imp.pk == NULL) {
        EVP_PKEY_free(imp.pk);
        DEVID_RAISE(key->prov, DEVID_R_NOT_SUPPORTED,
                    "no other provider takes the public half of %s",
                    key->uri != NULL ? key->uri : "the key");
        return NULL;
    }
    return imp.pk;
}

int devid_key_spki(const struct devid_key *key, unsigned char **der,
                   size_t *len)
{
    EVP_PKEY *pk = devid_key_public_pkey(key);
    int n;

    *der = NULL;
    *len = 0;
    if (pk == NULL) {
        return 0;
    }
    n = i2d_PUBKEY(pk, der);
    EVP_PKEY_free(pk);
    if (n <= 0) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "SubjectPublicKeyInfo");
        return 0;
    }
    *len = (size_t)n;
    return 1;
}

static struct devid_pubop *devid_pubop_new(const struct devid_key *key)
{
    struct devid_pubop *op = OPENSSL_zalloc(sizeof(*op));

    if (op == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "public-key operation");
        return NULL;
    }
    op->prov = key->prov;
    op->pub = devid_key_public_pkey(key);
    if (op->pub == NULL) {
        OPENSSL_free(op);
        return NULL;
    }
    return op;
}

/* The EVP_PKEY_CTX the parameters go to. */
static EVP_PKEY_CTX *devid_pubop_pctx(struct devid_pubop *op)
{
    return op->mdctx != NULL ? EVP_MD_CTX_get_pkey_ctx(op->mdctx) : op->pctx;
}

struct devid_pubop *devid_pubop_verify_new(const struct devid_key *key,
                                           int digest_verify,
                                           const char *mdname,
                                           const OSSL_PARAM params[])
{
    struct devid_pubop *op = devid_pubop_new(key);
    OSSL_LIB_CTX *libctx = NULL;
    int ok;

    if (op == NULL || !devid_prov_libctx(key->prov, &libctx)) {
        devid_pubop_free(op);
        return NULL;
    }
    if (digest_verify) {
        op->mdctx = EVP_MD_CTX_new();
        ok = op->mdctx != NULL
             && EVP_DigestVerifyInit_ex(op->mdctx, NULL, mdname, libctx,
                                        DEVID_PUBOP_PROPQ, op->pub, params)
                    == 1;
    } else {
        op->pctx = EVP_PKEY_CTX_new_from_pkey(libctx, op->pub,
                                              DEVID_PUBOP_PROPQ);
        ok = op->pctx != NULL && EVP_PKEY_verify_init_ex(op->pctx, params) == 1;
    }
    if (!ok) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                    "cannot verify with the public half of %s%s%s",
                    key->uri != NULL ? key->uri : "the key",
                    mdname != NULL ? " and digest " : "",
                    mdname != NULL ? mdname : "");
        devid_pubop_free(op);
        return NULL;
    }
    return op;
}

struct devid_pubop *devid_pubop_encrypt_new(const struct devid_key *key,
                                            const OSSL_PARAM params[])
{
    struct devid_pubop *op = devid_pubop_new(key);
    OSSL_LIB_CTX *libctx = NULL;

    if (op == NULL || !devid_prov_libctx(key->prov, &libctx)) {
        devid_pubop_free(op);
        return NULL;
    }
    op->pctx = EVP_PKEY_CTX_new_from_pkey(libctx, op->pub, DEVID_PUBOP_PROPQ);
    if (op->pctx == NULL || EVP_PKEY_encrypt_init_ex(op->pctx, params) != 1) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                    "cannot encrypt to the public half of %s",
                    key->uri != NULL ? key->uri : "the key");
        devid_pubop_free(op);
        return NULL;
    }
    return op;
}

struct devid_pubop *devid_pubop_dup(const struct devid_pubop *op)
{
    struct devid_pubop *dup = OPENSSL_zalloc(sizeof(*dup));

    if (dup == NULL) {
        return NULL;
    }
    dup->prov = op->prov;
    if (!EVP_PKEY_up_ref(op->pub)) {
        OPENSSL_free(dup);
        return NULL;
    }
    dup->pub = op->pub;
    if (op->mdctx != NULL) {
        dup->mdctx = EVP_MD_CTX_new();
        if (dup->mdctx == NULL || !EVP_MD_CTX_copy_ex(dup->mdctx, op->mdctx)) {
            devid_pubop_free(dup);
            return NULL;
        }
    } else if (op->pctx != NULL) {
        dup->pctx = EVP_PKEY_CTX_dup(op->pctx);
        if (dup->pctx == NULL) {
            devid_pubop_free(dup);
            return NULL;
        }
    }
    return dup;
}

void devid_pubop_free(struct devid_pubop *op)
{
    if (op == NULL) {
        return;
    }
    EVP_MD_CTX_free(op->mdctx);
    EVP_PKEY_CTX_free(op->pctx);
    EVP_PKEY_free(op->pub);
    OPENSSL_free(op);
}

int devid_pubop_set_params(struct devid_pubop *op, const OSSL_PARAM params[])
{
    EVP_PKEY_CTX *pctx = devid_pubop_pctx(op);

    if (params == NULL || params[0].key == NULL) {
        return 1;
    }
    return pctx != NULL && EVP_PKEY_CTX_set_params(pctx, params) == 1;
}

int devid_pubop_get_params(struct devid_pubop *op, OSSL_PARAM params[])
{
    EVP_PKEY_CTX *pctx = devid_pubop_pctx(op);

    return pctx != NULL && EVP_PKEY_CTX_get_params(pctx, params) == 1;
}

int devid_pubop_verify(struct devid_pubop *op, const unsigned char *sig,
                       size_t siglen, const unsigned char *tbs, size_t tbslen)
{
    if (op->mdctx != NULL) {
        return EVP_DigestVerify(op->mdctx, sig, siglen, tbs, tbslen) == 1;
    }
    return op->pctx != NULL
           && EVP_PKEY_verify(op->pctx, sig, siglen, tbs, tbslen) == 1;
}

int devid_pubop_update(struct devid_pubop *op, const unsigned char *data,
                       size_t len)
{
    return op->mdctx != NULL
           && EVP_DigestVerifyUpdate(op->mdctx, data, len) == 1;
}

int devid_pubop_verify_final(struct devid_pubop *op, const unsigned char *sig,
                             size_t siglen)
{
    return op->mdctx != NULL
           && EVP_DigestVerifyFinal(op->mdctx, sig, siglen) == 1;
}

int devid_pubop_encrypt(struct devid_pubop *op, unsigned char *out,
                        size_t *outlen, size_t outsize, const unsigned char *in,
                        size_t inlen)
{
    if (op->pctx == NULL) {
        return 0;
    }
    if (out != NULL) {
        *outlen = outsize;
    }
    return EVP_PKEY_encrypt(op->pctx, out, outlen, in, inlen) == 1;
}
