/* SPDX-License-Identifier: Apache-2.0 */
/* Signatures with resident keys: the digest is computed here in software
 * (fetched from the other providers), the token or TPM only makes the raw
 * private-key operation, once per signature. ECDSA, RSA PKCS#1 v1.5 and PSS.
 * Verification with a resident key runs in software on its public half
 * (pubop.c): OpenSSL asks the key's own provider for it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "common/err.h"
#include "provider/implementations.h"
#include "provider/provider.h"
#include "provider/pubop.h"
#include "provider/sig-algid.h"

static OSSL_FUNC_signature_newctx_fn devid_sig_ecdsa_newctx;
static OSSL_FUNC_signature_newctx_fn devid_sig_rsa_newctx;
static OSSL_FUNC_signature_freectx_fn devid_sig_freectx;
static OSSL_FUNC_signature_dupctx_fn devid_sig_dupctx;
static OSSL_FUNC_signature_sign_init_fn devid_sig_sign_init;
static OSSL_FUNC_signature_sign_fn devid_sig_sign;
static OSSL_FUNC_signature_digest_sign_init_fn devid_sig_digest_sign_init;
static OSSL_FUNC_signature_digest_sign_update_fn devid_sig_digest_sign_update;
static OSSL_FUNC_signature_digest_sign_final_fn devid_sig_digest_sign_final;
static OSSL_FUNC_signature_verify_init_fn devid_sig_verify_init;
static OSSL_FUNC_signature_verify_fn devid_sig_verify;
static OSSL_FUNC_signature_digest_verify_init_fn devid_sig_digest_verify_init;
static OSSL_FUNC_signature_digest_verify_update_fn
    devid_sig_digest_verify_update;
static OSSL_FUNC_signature_digest_verify_final_fn devid_sig_digest_verify_final;
static OSSL_FUNC_signature_digest_verify_fn devid_sig_digest_verify;
static OSSL_FUNC_signature_get_ctx_params_fn devid_sig_get_ctx_params;
static OSSL_FUNC_signature_gettable_ctx_params_fn devid_sig_gettable_ctx_params;
static OSSL_FUNC_signature_set_ctx_params_fn devid_sig_set_ctx_params;
static OSSL_FUNC_signature_settable_ctx_params_fn devid_sig_ecdsa_settable_ctx_params;
static OSSL_FUNC_signature_settable_ctx_params_fn devid_sig_rsa_settable_ctx_params;

struct devid_sig_ctx {
    struct devid_prov *prov;
    struct devid_key *key;          /* one reference */
    enum devid_key_type type;       /* of the operation: EC or RSA */
    EVP_MD *md;                     /* NULL until set */
    EVP_MD_CTX *mdctx;              /* digest_sign_* only */
    int pad;                        /* RSA_PKCS1_PADDING / RSA_PKCS1_PSS_PADDING */
    EVP_MD *mgf1;                   /* PSS; NULL means the signing digest */
    int saltlen;                    /* RSA_PSS_SALTLEN_* or a length */
    int pad_set;                    /* the caller chose pad */
    int message;                    /* the key signs messages, not digests
                                     * (DEVID_CAP_SIGN_MESSAGE) */
    unsigned char *msg;             /* message mode: what update gave */
    size_t msg_len;
    struct devid_pubop *pubop; /* a verification, in software */
    int started;               /* digest_sign_*: the backend chose how
                                     * to sign (devid_sig_start) */
    struct devid_sign_op *op;  /* the backend's streamed signature,
                                     * when the hardware hashes */
};

/* Message mode keeps the whole message for the hardware to hash: bound it
 * (TLS handshakes and CSRs are a few kilobytes). */
#define DEVID_SIG_MESSAGE_MAX (1024 * 1024)

static void *devid_sig_newctx_type(void *provctx, const char *propq,
                                   enum devid_key_type type)
{
    struct devid_sig_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL) {
        DEVID_RAISE(provctx, DEVID_R_MALLOC, "signature context");
        return NULL;
    }
    ctx->prov = provctx;
    ctx->type = type;
    ctx->pad = RSA_PKCS1_PADDING;
    ctx->saltlen = RSA_PSS_SALTLEN_AUTO;
    return ctx;
}

static void *devid_sig_ecdsa_newctx(void *provctx, const char *propq)
{
    return devid_sig_newctx_type(provctx, propq, DEVID_KEY_EC);
}

static void *devid_sig_rsa_newctx(void *provctx, const char *propq)
{
    return devid_sig_newctx_type(provctx, propq, DEVID_KEY_RSA);
}

/* Drops a streamed signature in progress, through the backend of the key
 * that made it (before the key is changed). */
static void devid_sig_op_free(struct devid_sig_ctx *ctx)
{
    if (ctx->op != NULL) {
        ctx->key->ops->sign_free(ctx->op);
        ctx->op = NULL;
    }
    ctx->started = 0;
}

static void devid_sig_freectx(void *vctx)
{
    struct devid_sig_ctx *ctx = vctx;

    if (ctx == NULL) {
        return;
    }
    EVP_MD_free(ctx->md);
    EVP_MD_free(ctx->mgf1);
    EVP_MD_CTX_free(ctx->mdctx);
    OPENSSL_clear_free(ctx->msg, ctx->msg_len);
    devid_pubop_free(ctx->pubop);
    devid_sig_op_free(ctx);
    devid_key_free(ctx->key);
    OPENSSL_clear_free(ctx, sizeof(*ctx));
}

static void *devid_sig_dupctx(void *vctx)
{
    const struct devid_sig_ctx *src = vctx;
    struct devid_sig_ctx *dst = OPENSSL_memdup(src, sizeof(*src));

    if (dst == NULL) {
        DEVID_RAISE(src->prov, DEVID_R_MALLOC, "signature context");
        return NULL;
    }
    /* every owned pointer is copied or re-referenced, never shared */
    dst->mdctx = NULL;
    dst->msg = NULL;
    dst->pubop = NULL;
    dst->op = NULL;
    devid_key_up_ref(dst->key);
    if (dst->md != NULL) {
        EVP_MD_up_ref(dst->md);
    }
    if (dst->mgf1 != NULL) {
        EVP_MD_up_ref(dst->mgf1);
    }
    if (src->mdctx != NULL) {
        dst->mdctx = EVP_MD_CTX_new();
        if (dst->mdctx == NULL || !EVP_MD_CTX_copy_ex(dst->mdctx, src->mdctx)) {
            devid_sig_freectx(dst);
            return NULL;
        }
    }
    if (src->msg != NULL) {
        dst->msg = OPENSSL_memdup(src->msg, src->msg_len);
        if (dst->msg == NULL) {
            dst->msg_len = 0;
            devid_sig_freectx(dst);
            return NULL;
        }
    }
    if (src->pubop != NULL) {
        dst->pubop = devid_pubop_dup(src->pubop);
        if (dst->pubop == NULL) {
            devid_sig_freectx(dst);
            return NULL;
        }
    }
    /* the backend copies its operation, or hands it over to the copy */
    if (src->op != NULL && !src->key->ops->sign_dup(src->op, &dst->op)) {
        devid_sig_freectx(dst);
        return NULL;
    }
    return dst;
}

static int devid_sig_set_md(struct devid_sig_ctx *ctx, EVP_MD **slot,
                            const char *name)
{
    OSSL_LIB_CTX *libctx = NULL;
    EVP_MD *md = NULL;

    if (!devid_prov_libctx(ctx->prov, &libctx)) {
        return 0;
    }
    md = EVP_MD_fetch(libctx, name, NULL);
    if (md == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "unknown digest '%s'",
                    name);
        return 0;
    }
    EVP_MD_free(*slot);
    *slot = md;
    return 1;
}

static int devid_sig_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    struct devid_sig_ctx *ctx = vctx;
    struct devid_key *key = vkey;

    devid_pubop_free(ctx->pubop); /* signing now, not verifying */
    ctx->pubop = NULL;
    if (key != NULL) {
        if (key->ops == NULL || !key->has_private || key->ops->sign == NULL) {
            DEVID_RAISE(ctx->prov, DEVID_R_NOT_SUPPORTED,
                        "not a private key that can sign");
            return 0;
        }
        if (key->pub.type != ctx->type) {
            DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "wrong key type");
            return 0;
        }
        devid_sig_op_free(ctx); /* by the backend that made it */
        devid_key_free(ctx->key);
        ctx->key = devid_key_up_ref(key);
        ctx->message = (key->caps & DEVID_CAP_SIGN_MESSAGE) != 0;
        /* a PSS-only key signs PSS unless told otherwise, as OpenSSL's own
         * RSA-PSS keys do */
        if (ctx->type == DEVID_KEY_RSA && !ctx->pad_set
            && strcmp(devid_key_type_name(key), "RSA-PSS") == 0) {
            ctx->pad = RSA_PKCS1_PSS_PADDING;
        }
    }
    if (ctx->key == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "no key");
        return 0;
    }
    return devid_sig_set_ctx_params(ctx, params);
}

static int devid_sig_sign_init(void *vctx, void *vkey,
                               const OSSL_PARAM params[])
{
    return devid_sig_init(vctx, vkey, params);
}

/* Without a digest set, guess it from the size of what is signed (the
 * pkeyutl -sign case); PKCS#1 then pads the raw input. */
static int devid_sig_md_nid(const struct devid_sig_ctx *ctx, size_t tbslen)
{
    if (ctx->md != NULL) {
        return EVP_MD_get_type(ctx->md);
    }
    if (ctx->type == DEVID_KEY_RSA && ctx->pad == RSA_PKCS1_PADDING) {
        return NID_undef;
    }
    switch (tbslen) {
    case 20:
        return NID_sha1;
    case 28:
        return NID_sha224;
    case 32:
        return NID_sha256;
    case 48:
        return NID_sha384;
    case 64:
        return NID_sha512;
    default:
        return NID_undef;
    }
}

/* PSS salt length in bytes from the RSA_PSS_SALTLEN_* convention. When the
 * hardware picks the salt (DEVID_CAP_PSS_SALT_DIGEST), OpenSSL's defaults
 * "auto" and "max" (nobody pinned a length) mean the length it makes: the
 * digest's. */
static int devid_sig_pss_saltlen(const struct devid_sig_ctx *ctx, int mdsize)
{
    int max = ((ctx->key->pub.bits - 1 + 7) / 8) - mdsize - 2;

    if ((ctx->key->caps & DEVID_CAP_PSS_SALT_DIGEST) != 0
        && (ctx->saltlen == RSA_PSS_SALTLEN_AUTO
            || ctx->saltlen == RSA_PSS_SALTLEN_MAX)) {
        return mdsize;
    }
    switch (ctx->saltlen) {
    case RSA_PSS_SALTLEN_DIGEST:
        return mdsize;
    case RSA_PSS_SALTLEN_MAX:
    case RSA_PSS_SALTLEN_AUTO:
        return max;
    default:
        return ctx->saltlen > max ? -1 : ctx->saltlen;
    }
}

static int devid_sig_params(const struct devid_sig_ctx *ctx, size_t tbslen,
                            struct devid_sign_params *p)
{
    int mdsize;

    memset(p, 0, sizeof(*p));
    p->md_nid = devid_sig_md_nid(ctx, tbslen);
    if (ctx->type == DEVID_KEY_EC) {
        p->scheme = DEVID_SIG_ECDSA;
        return 1;
    }
    if (ctx->pad == RSA_PKCS1_PADDING) {
        p->scheme = DEVID_SIG_PKCS1;
        return 1;
    }
    if (ctx->pad != RSA_PKCS1_PSS_PADDING || p->md_nid == NID_undef) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "RSA padding mode %d needs a digest", ctx->pad);
        return 0;
    }
    p->scheme = DEVID_SIG_PSS;
    /* the input is the digest (the backend checks it): its size is the
     * digest's, with no lookup by name on the signing path */
    mdsize = ctx->md != NULL ? EVP_MD_get_size(ctx->md) : (int)tbslen;
    p->mgf1_nid = ctx->mgf1 != NULL ? EVP_MD_get_type(ctx->mgf1) : p->md_nid;
    p->saltlen = devid_sig_pss_saltlen(ctx, mdsize);
    if (p->saltlen < 0) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "PSS salt length %d too long for the key", ctx->saltlen);
        return 0;
    }
    if ((ctx->key->caps & DEVID_CAP_PSS_SALT_DIGEST) != 0
        && p->saltlen != mdsize) {
        DEVID_RAISE(ctx->prov, DEVID_R_MECHANISM,
                    "%s: the hardware makes PSS salts of the digest length "
                    "(%d bytes), not %d",
                    ctx->key->uri != NULL ? ctx->key->uri : "key file", mdsize,
                    p->saltlen);
        return 0;
    }
    return 1;
}

/* The salt length a signature with the current settings gets, for
 * reporting; the setting itself while no digest is known. */
static int devid_sig_saltlen_now(const struct devid_sig_ctx *ctx)
{
    int len;

    if (ctx->md == NULL || ctx->key == NULL) {
        return ctx->saltlen;
    }
    len = devid_sig_pss_saltlen(ctx, EVP_MD_get_size(ctx->md));
    return len < 0 ? ctx->saltlen : len;
}

/* X9.62 wants DER; the backend gives r||s. */
static int devid_sig_ecdsa_out(struct devid_sig_ctx *ctx,
                               const unsigned char *raw, size_t rawlen,
                               unsigned char *sig, size_t *siglen,
                               size_t sigsize)
{
    if (!devid_sig_ecdsa_der(raw, rawlen, sig, sigsize, siglen)) {
        DEVID_RAISE(ctx->prov, DEVID_R_INTERNAL,
                    "raw ECDSA signature of %zu bytes", rawlen);
        return 0;
    }
    return 1;
}

/* sign() proper: tbs is a digest, or the message in message mode (called
 * from digest_sign_final only). */
static int devid_sig_sign_tbs(struct devid_sig_ctx *ctx, unsigned char *sig,
                              size_t *siglen, size_t sigsize,
                              const unsigned char *tbs, size_t tbslen);

static int devid_sig_sign(void *vctx, unsigned char *sig, size_t *siglen,
                          size_t sigsize, const unsigned char *tbs,
                          size_t tbslen)
{
    struct devid_sig_ctx *ctx = vctx;

    if (ctx->message && sig != NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_MECHANISM,
                    "%s signs only what the hardware hashes itself (a "
                    "restricted key): sign the message (dgst -sign, req, "
                    "TLS), not a digest",
                    ctx->key->uri != NULL ? ctx->key->uri : "the key");
        return 0;
    }
    return devid_sig_sign_tbs(ctx, sig, siglen, sigsize, tbs, tbslen);
}

static int devid_sig_sign_tbs(struct devid_sig_ctx *ctx, unsigned char *sig,
                              size_t *siglen, size_t sigsize,
                              const unsigned char *tbs, size_t tbslen)
{
    struct devid_sign_params p;
    unsigned char raw[2 * 66];      /* r||s up to P-521: a public value */
    size_t rawlen = sizeof(raw);
    size_t max = devid_key_max_sig_len(ctx->key);

    if (sig == NULL) {                  /* size query: nothing to free yet */
        *siglen = max;
        return 1;
    }
    /* sizes first: a short buffer must not cost a token signature */
    if (sigsize < max) {
        DEVID_RAISE(ctx->prov, DEVID_R_BUFFER_TOO_SMALL, "need %zu bytes", max);
        return 0;
    }
    if (!devid_sig_params(ctx, tbslen, &p)) {
        return 0;
    }
    if (ctx->type == DEVID_KEY_RSA) {
        *siglen = sigsize;
        return ctx->key->ops->sign(ctx->key, &p, tbs, tbslen, sig, siglen);
    }
    if (!ctx->key->ops->sign(ctx->key, &p, tbs, tbslen, raw, &rawlen)) {
        return 0;               /* backend has already raised */
    }
    return devid_sig_ecdsa_out(ctx, raw, rawlen, sig, siglen, sigsize);
}

/* The backend's streamed signature ends (ctx->op, freed here). */
static int devid_sig_final_op(struct devid_sig_ctx *ctx, unsigned char *sig,
                              size_t *siglen, size_t sigsize)
{
    unsigned char raw[2 * 66]; /* r||s up to P-521: a public value */
    size_t rawlen = sizeof(raw);
    int ret;

    if (ctx->type == DEVID_KEY_RSA) {
        *siglen = sigsize;
        ret = ctx->key->ops->sign_final(ctx->op, sig, siglen);
    } else {
        ret = ctx->key->ops->sign_final(ctx->op, raw, &rawlen)
              && devid_sig_ecdsa_out(ctx, raw, rawlen, sig, siglen, sigsize);
    }
    devid_sig_op_free(ctx);
    return ret;
}

static int devid_sig_digest_sign_init(void *vctx, const char *mdname,
                                      void *vkey, const OSSL_PARAM params[])
{
    struct devid_sig_ctx *ctx = vctx;

    if (!devid_sig_init(ctx, vkey, params)) {
        return 0;
    }
    if (mdname == NULL || *mdname == '\0') {
        mdname = "SHA256";
    }
    if (!devid_sig_set_md(ctx, &ctx->md, mdname)) {
        return 0;
    }
    OPENSSL_clear_free(ctx->msg, ctx->msg_len);
    ctx->msg = NULL;
    ctx->msg_len = 0;
    devid_sig_op_free(ctx);
    if (ctx->message) {
        return 1; /* the hardware hashes: keep the message (update) */
    }
    if (ctx->mdctx == NULL) {
        ctx->mdctx = EVP_MD_CTX_new();
        if (ctx->mdctx == NULL) {
            return 0;
        }
    }
    return EVP_DigestInit_ex2(ctx->mdctx, ctx->md, NULL);
}

/* Once the parameters are final (they may be set after the init, as
 * libssl does): the backend says whether the hardware hashes the message
 * itself (ctx->op) or signs a digest made here. */
static int devid_sig_start(struct devid_sig_ctx *ctx)
{
    struct devid_sign_params p;

    ctx->started = 1;
    if (ctx->message || ctx->key->ops->sign_init == NULL) {
        return 1;
    }
    return devid_sig_params(ctx, (size_t)EVP_MD_get_size(ctx->md), &p)
           && ctx->key->ops->sign_init(ctx->key, &p, &ctx->op);
}

static int devid_sig_digest_sign_update(void *vctx, const unsigned char *data,
                                        size_t datalen)
{
    struct devid_sig_ctx *ctx = vctx;
    unsigned char *grown;

    if (ctx->md == NULL || (!ctx->started && !devid_sig_start(ctx))) {
        return 0;
    }
    if (ctx->op != NULL) {
        return ctx->key->ops->sign_update(ctx->op, data, datalen);
    }
    if (ctx->message) {
        if (datalen > DEVID_SIG_MESSAGE_MAX - ctx->msg_len) {
            DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                        "message over %d bytes for a restricted key",
                        DEVID_SIG_MESSAGE_MAX);
            return 0;
        }
        grown = OPENSSL_clear_realloc(ctx->msg, ctx->msg_len,
                                      ctx->msg_len + datalen + 1);
        if (grown == NULL) {
            return 0;
        }
        memcpy(grown + ctx->msg_len, data, datalen);
        ctx->msg = grown;
        ctx->msg_len += datalen;
        return 1;
    }
    if (ctx->mdctx == NULL) {
        return 0;
    }
    return EVP_DigestUpdate(ctx->mdctx, data, datalen);
}

static int devid_sig_digest_sign_final(void *vctx, unsigned char *sig,
                                       size_t *siglen, size_t sigsize)
{
    struct devid_sig_ctx *ctx = vctx;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int ret;

    if (sig == NULL) {
        return devid_sig_sign_tbs(ctx, NULL, siglen, 0, NULL, 0);
    }
    if (ctx->md == NULL || (!ctx->started && !devid_sig_start(ctx))) {
        return 0;
    }
    if (ctx->op != NULL) {
        if (sigsize < devid_key_max_sig_len(ctx->key)) {
            DEVID_RAISE(ctx->prov, DEVID_R_BUFFER_TOO_SMALL, "need %zu bytes",
                        devid_key_max_sig_len(ctx->key));
            return 0;
        }
        return devid_sig_final_op(ctx, sig, siglen, sigsize);
    }
    ctx->started = 0;
    if (ctx->message) {
        ret = devid_sig_sign_tbs(ctx, sig, siglen, sigsize,
                                 ctx->msg != NULL ? ctx->msg
                                                  : (const unsigned char *)"",
                                 ctx->msg_len);
        OPENSSL_clear_free(ctx->msg, ctx->msg_len);
        ctx->msg = NULL;
        ctx->msg_len = 0;
        return ret;
    }
    if (ctx->mdctx == NULL || !EVP_DigestFinal_ex(ctx->mdctx, digest, &dlen)) {
        return 0;
    }
    return devid_sig_sign_tbs(ctx, sig, siglen, sigsize, digest, dlen);
}

/* ---- verification: in software, on the public half (pubop.c) ---------- */

/* Starts a verification of a digest (digest_verify 0) or of a message
 * hashed with mdname. Any of our keys verifies, public-only ones too. */
static int devid_sig_verify_start(struct devid_sig_ctx *ctx,
                                  struct devid_key *key, int digest_verify,
                                  const char *mdname, const OSSL_PARAM params[])
{
    if (key == NULL) {
        key = ctx->key; /* the same key again */
    }
    if (key == NULL || key->pub.type != ctx->type) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    key == NULL ? "no key" : "wrong key type");
        return 0;
    }
    devid_pubop_free(ctx->pubop);
    ctx->pubop = devid_pubop_verify_new(key, digest_verify, mdname, params);
    if (ctx->pubop == NULL) {
        return 0;
    }
    if (key != ctx->key) {
        devid_key_free(ctx->key);
        ctx->key = devid_key_up_ref(key);
    }
    return 1;
}

static int devid_sig_verify_init(void *vctx, void *vkey,
                                 const OSSL_PARAM params[])
{
    return devid_sig_verify_start(vctx, vkey, 0, NULL, params);
}

static int devid_sig_verify(void *vctx, const unsigned char *sig, size_t siglen,
                            const unsigned char *tbs, size_t tbslen)
{
    struct devid_sig_ctx *ctx = vctx;

    return ctx->pubop != NULL
           && devid_pubop_verify(ctx->pubop, sig, siglen, tbs, tbslen);
}

static int devid_sig_digest_verify_init(void *vctx, const char *mdname,
                                        void *vkey, const OSSL_PARAM params[])
{
    if (mdname != NULL && *mdname == '\0') {
        mdname = NULL;
    }
    return devid_sig_verify_start(vctx, vkey, 1, mdname, params);
}

static int devid_sig_digest_verify_update(void *vctx, const unsigned char *data,
                                          size_t datalen)
{
    struct devid_sig_ctx *ctx = vctx;

    return ctx->pubop != NULL && devid_pubop_update(ctx->pubop, data, datalen);
}

static int devid_sig_digest_verify_final(void *vctx, const unsigned char *sig,
                                         size_t siglen)
{
    struct devid_sig_ctx *ctx = vctx;

    return ctx->pubop != NULL
           && devid_pubop_verify_final(ctx->pubop, sig, siglen);
}

/* One-shot: what EdDSA-style signatures need; the same for the others. */
static int devid_sig_digest_verify(void *vctx, const unsigned char *sig,
                                   size_t siglen, const unsigned char *tbs,
                                   size_t tbslen)
{
    struct devid_sig_ctx *ctx = vctx;

    return ctx->pubop != NULL
           && devid_pubop_verify(ctx->pubop, sig, siglen, tbs, tbslen);
}

/* Reports the salt length as a number once it is known (the hardware's
 * choice included), else as OpenSSL names the setting. */
static int devid_sig_get_saltlen(const struct devid_sig_ctx *ctx, OSSL_PARAM *p)
{
    int len = devid_sig_saltlen_now(ctx);
    char buf[16];

    if (p->data_type != OSSL_PARAM_UTF8_STRING) {
        return OSSL_PARAM_set_int(p, len);
    }
    switch (len) {
    case RSA_PSS_SALTLEN_DIGEST:
        return OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST);
    case RSA_PSS_SALTLEN_MAX:
        return OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX);
    case RSA_PSS_SALTLEN_AUTO:
        return OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO);
    default:
        snprintf(buf, sizeof(buf), "%d", len);
        return OSSL_PARAM_set_utf8_string(p, buf);
    }
}

static int devid_sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    struct devid_sig_ctx *ctx = vctx;
    unsigned char algid[128];
    size_t algid_len = 0;
    OSSL_PARAM *p;

    if (ctx->pubop != NULL) {
        return devid_pubop_get_params(ctx->pubop, params);
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
    if (p != NULL) {
        if (ctx->md == NULL
            || !devid_sig_algid(ctx->type, ctx->pad, ctx->md, ctx->mgf1,
                                ctx->key != NULL ? ctx->key->pub.bits : 0,
                                devid_sig_saltlen_now(ctx), algid,
                                sizeof(algid), &algid_len)
            || !OSSL_PARAM_set_octet_string(p, algid, algid_len)) {
            return 0;
        }
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && ctx->md != NULL
        && !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(ctx->md))) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL && ctx->type == DEVID_KEY_RSA
        && !OSSL_PARAM_set_int(p, ctx->pad)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL && ctx->type == DEVID_KEY_RSA
        && !devid_sig_get_saltlen(ctx, p)) {
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *devid_sig_gettable_ctx_params(void *vctx,
                                                       void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

static int devid_sig_set_pad(struct devid_sig_ctx *ctx, const OSSL_PARAM *p)
{
    const char *s = NULL;
    int pad = 0;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
            return 0;
        }
        pad = strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
              : strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0   ? RSA_PKCS1_PSS_PADDING
                                                             : -1;
    } else if (!OSSL_PARAM_get_int(p, &pad)) {
        return 0;
    }
    if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "RSA signature padding %s (use pkcs1 or pss)",
                    s != NULL ? s : "number");
        return 0;
    }
    ctx->pad = pad;
    ctx->pad_set = 1;
    return 1;
}

static int devid_sig_set_saltlen(struct devid_sig_ctx *ctx, const OSSL_PARAM *p)
{
    const char *s = NULL;
    int len = 0;

    if (p->data_type != OSSL_PARAM_UTF8_STRING) {
        if (!OSSL_PARAM_get_int(p, &len)) {
            return 0;
        }
    } else if (!OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
        return 0;
    } else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0) {
        len = RSA_PSS_SALTLEN_DIGEST;
    } else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0) {
        len = RSA_PSS_SALTLEN_MAX;
    } else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0) {
        len = RSA_PSS_SALTLEN_AUTO;
    } else {
        len = (int)strtol(s, NULL, 10);
    }
    if (len < RSA_PSS_SALTLEN_MAX) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "PSS salt length %d",
                    len);
        return 0;
    }
    ctx->saltlen = len;
    return 1;
}

static int devid_sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct devid_sig_ctx *ctx = vctx;
    const OSSL_PARAM *p;
    const char *s = NULL;

    if (params == NULL) {
        return 1;
    }
    if (ctx->pubop != NULL) {
        return devid_pubop_set_params(ctx->pubop, params);
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &s)
                      || !devid_sig_set_md(ctx, &ctx->md, s))) {
        return 0;
    }
    if (ctx->type != DEVID_KEY_RSA) {
        return 1;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL && !devid_sig_set_pad(ctx, p)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL && !devid_sig_set_saltlen(ctx, p)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    if (p != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &s)
                      || !devid_sig_set_md(ctx, &ctx->mgf1, s))) {
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *devid_sig_ecdsa_settable_ctx_params(void *vctx,
                                                             void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

static const OSSL_PARAM *devid_sig_rsa_settable_ctx_params(void *vctx,
                                                           void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

#define DEVID_SIG_COMMON                                                       \
    DEVID_DISPATCH(SIGNATURE, sig, FREECTX, freectx),                          \
    DEVID_DISPATCH(SIGNATURE, sig, DUPCTX, dupctx),                            \
    DEVID_DISPATCH(SIGNATURE, sig, SIGN_INIT, sign_init),                      \
    DEVID_DISPATCH(SIGNATURE, sig, SIGN, sign),                                \
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_SIGN_INIT, digest_sign_init),        \
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_SIGN_UPDATE, digest_sign_update),    \
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_SIGN_FINAL, digest_sign_final),      \
    DEVID_DISPATCH(SIGNATURE, sig, GET_CTX_PARAMS, get_ctx_params),            \
    DEVID_DISPATCH(SIGNATURE, sig, GETTABLE_CTX_PARAMS, gettable_ctx_params),  \
    DEVID_DISPATCH(SIGNATURE, sig, SET_CTX_PARAMS, set_ctx_params)

const OSSL_DISPATCH devid_sig_ecdsa_functions[] = {
    DEVID_DISPATCH(SIGNATURE, sig, NEWCTX, ecdsa_newctx),
    DEVID_SIG_COMMON,
    DEVID_DISPATCH(SIGNATURE, sig, SETTABLE_CTX_PARAMS,
                   ecdsa_settable_ctx_params),
    DEVID_DISPATCH(SIGNATURE, sig, VERIFY_INIT, verify_init),
    DEVID_DISPATCH(SIGNATURE, sig, VERIFY, verify),
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY_INIT, digest_verify_init),
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY_UPDATE, digest_verify_update),
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY_FINAL, digest_verify_final),
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY, digest_verify),
    OSSL_DISPATCH_END
};

const OSSL_DISPATCH devid_sig_rsa_functions[] = {
    DEVID_DISPATCH(SIGNATURE, sig, NEWCTX, rsa_newctx),
    DEVID_SIG_COMMON,
    DEVID_DISPATCH(SIGNATURE, sig, SETTABLE_CTX_PARAMS,
                   rsa_settable_ctx_params),
    DEVID_DISPATCH(SIGNATURE, sig, VERIFY_INIT, verify_init),
    DEVID_DISPATCH(SIGNATURE, sig, VERIFY, verify),
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY_INIT, digest_verify_init),
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY_UPDATE, digest_verify_update),
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY_FINAL, digest_verify_final),
    DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY, digest_verify),
    OSSL_DISPATCH_END
};
