/* SPDX-License-Identifier: Apache-2.0 */
/* Ed25519 and Ed448 signatures (RFC 8032, pure mode) with keys in a token.
 * EdDSA hashes the message twice inside the scheme, so nothing can be
 * hashed here: the whole message goes to the token in one call
 * (EVP_DigestSign, which libssl's TLS 1.3 CertificateVerify, X509_sign and
 * X509_REQ_sign use). A message given in parts (EVP_DigestSignUpdate) is
 * refused with a reason that says so. The same dispatch serves OpenSSL 3.0
 * to 4.x: OpenSSL 3.5's message-signing functions (sign_message_*) are
 * reached only through an explicitly fetched algorithm, which for devid keys
 * is never another provider's ED25519. Verification with a devid key runs
 * on its public half in the default provider (pubop.c). */
#include "config.h"

#include <string.h>
#include <strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "provider/implementations.h"
#include "provider/provider.h"
#include "provider/pubop.h"

/* Signature parameters of OpenSSL 3.2 (RFC 8032 variants), spelled out for
 * the 3.0 headers: devid refuses every variant but the pure one. */
#ifndef OSSL_SIGNATURE_PARAM_INSTANCE
#define OSSL_SIGNATURE_PARAM_INSTANCE "instance"
#endif
#ifndef OSSL_SIGNATURE_PARAM_CONTEXT_STRING
#define OSSL_SIGNATURE_PARAM_CONTEXT_STRING "context-string"
#endif

static OSSL_FUNC_signature_newctx_fn devid_sig_ed25519_newctx;
static OSSL_FUNC_signature_newctx_fn devid_sig_ed448_newctx;
static OSSL_FUNC_signature_freectx_fn devid_sig_ed_freectx;
static OSSL_FUNC_signature_dupctx_fn devid_sig_ed_dupctx;
static OSSL_FUNC_signature_digest_sign_init_fn devid_sig_ed_digest_sign_init;
static OSSL_FUNC_signature_digest_sign_fn devid_sig_ed_digest_sign;
static OSSL_FUNC_signature_digest_sign_update_fn
    devid_sig_ed_digest_sign_update;
static OSSL_FUNC_signature_digest_sign_final_fn devid_sig_ed_digest_sign_final;
static OSSL_FUNC_signature_digest_verify_init_fn
    devid_sig_ed_digest_verify_init;
static OSSL_FUNC_signature_digest_verify_fn devid_sig_ed_digest_verify;
static OSSL_FUNC_signature_get_ctx_params_fn devid_sig_ed_get_ctx_params;
static OSSL_FUNC_signature_gettable_ctx_params_fn
    devid_sig_ed_gettable_ctx_params;
static OSSL_FUNC_signature_set_ctx_params_fn devid_sig_ed_set_ctx_params;
static OSSL_FUNC_signature_settable_ctx_params_fn
    devid_sig_ed_settable_ctx_params;

struct devid_sig_ed_ctx {
    struct devid_prov *prov;
    struct devid_key *key;    /* one reference, NULL before init */
    enum devid_key_type type; /* DEVID_KEY_ED25519 or DEVID_KEY_ED448 */
    struct devid_pubop *vop;  /* a verification, on the public half */
};

static void *devid_sig_ed_newctx_type(void *provctx, enum devid_key_type type)
{
    struct devid_sig_ed_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL) {
        DEVID_RAISE(provctx, DEVID_R_MALLOC, "signature context");
        return NULL;
    }
    ctx->prov = provctx;
    ctx->type = type;
    return ctx;
}

static void *devid_sig_ed25519_newctx(void *provctx, const char *propq)
{
    return devid_sig_ed_newctx_type(provctx, DEVID_KEY_ED25519);
}

static void *devid_sig_ed448_newctx(void *provctx, const char *propq)
{
    return devid_sig_ed_newctx_type(provctx, DEVID_KEY_ED448);
}

static void devid_sig_ed_freectx(void *vctx)
{
    struct devid_sig_ed_ctx *ctx = vctx;

    if (ctx == NULL) {
        return;
    }
    devid_key_free(ctx->key);
    devid_pubop_free(ctx->vop);
    OPENSSL_free(ctx);
}

/* The copy holds its own reference to the key and its own copy of a
 * verification; nothing is shared. */
static void *devid_sig_ed_dupctx(void *vctx)
{
    const struct devid_sig_ed_ctx *src = vctx;
    struct devid_sig_ed_ctx *dst = OPENSSL_memdup(src, sizeof(*src));

    if (dst == NULL) {
        DEVID_RAISE(src->prov, DEVID_R_MALLOC, "signature context");
        return NULL;
    }
    devid_key_up_ref(dst->key);
    dst->vop = NULL;
    if (src->vop != NULL) {
        dst->vop = devid_pubop_dup(src->vop);
        if (dst->vop == NULL) {
            devid_sig_ed_freectx(dst);
            return NULL;
        }
    }
    return dst;
}

/* The name of the scheme, as RFC 8032 and OpenSSL's "instance" spell it. */
static const char *devid_sig_ed_name(enum devid_key_type type)
{
    return type == DEVID_KEY_ED25519 ? "Ed25519" : "Ed448";
}

/* mdname: EdDSA takes none (libssl and X509_sign pass NULL, once the key's
 * empty mandatory digest says so). */
static int devid_sig_ed_digest_sign_init(void *vctx, const char *mdname,
                                         void *vkey, const OSSL_PARAM params[])
{
    struct devid_sig_ed_ctx *ctx = vctx;
    struct devid_key *key = vkey;

    if (mdname != NULL && mdname[0] != '\0') {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "%s hashes inside the signature: no digest may be chosen "
                    "(got %s)",
                    devid_sig_ed_name(ctx->type), mdname);
        return 0;
    }
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
        /* said here, not at the first signature: libssl asks at init
         * whether the key can sign, and picks another one when not */
        if ((key->caps & DEVID_CAP_SIGN_EDDSA) == 0) {
            DEVID_RAISE(ctx->prov, DEVID_R_MECHANISM,
                        "%s: the hardware offers no %s signature with this "
                        "key",
                        key->uri != NULL ? key->uri : "key",
                        devid_sig_ed_name(ctx->type));
            return 0;
        }
        devid_key_free(ctx->key);
        ctx->key = devid_key_up_ref(key);
    }
    if (ctx->key == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "no key");
        return 0;
    }
    return devid_sig_ed_set_ctx_params(ctx, params);
}

/* One call, one token signature; a size query (sig NULL) touches nothing. */
static int devid_sig_ed_digest_sign(void *vctx, unsigned char *sig,
                                    size_t *siglen, size_t sigsize,
                                    const unsigned char *tbs, size_t tbslen)
{
    struct devid_sig_ed_ctx *ctx = vctx;
    struct devid_sign_params p;
    size_t max;

    if (ctx->key == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "no key");
        return 0;
    }
    max = devid_key_max_sig_len(ctx->key);
    if (sig == NULL) {
        *siglen = max;
        return 1;
    }
    /* sizes first: a short buffer must not cost a token signature */
    if (sigsize < max) {
        DEVID_RAISE(ctx->prov, DEVID_R_BUFFER_TOO_SMALL, "need %zu bytes", max);
        return 0;
    }
    memset(&p, 0, sizeof(p));
    p.scheme = DEVID_SIG_EDDSA;
    p.md_nid = NID_undef;
    *siglen = sigsize;
    return ctx->key->ops->sign(ctx->key, &p,
                               tbs != NULL ? tbs : (const unsigned char *)"",
                               tbslen, sig, siglen);
}

/* EdDSA reads the message twice (RFC 8032 §5.1.6 steps 2 and 4): it cannot
 * be fed in parts to a token that signs in one call. Refused here, by
 * name, rather than by OpenSSL's generic "initialization error". */
static int devid_sig_ed_digest_sign_update(void *vctx,
                                           const unsigned char *data,
                                           size_t datalen)
{
    struct devid_sig_ed_ctx *ctx = vctx;

    DEVID_RAISE(ctx->prov, DEVID_R_NOT_SUPPORTED,
                "%s signs a whole message in one call (EVP_DigestSign); a "
                "message given in parts (EVP_DigestSignUpdate) cannot be "
                "signed",
                devid_sig_ed_name(ctx->type));
    return 0;
}

static int devid_sig_ed_digest_sign_final(void *vctx, unsigned char *sig,
                                          size_t *siglen, size_t sigsize)
{
    struct devid_sig_ed_ctx *ctx = vctx;

    if (sig == NULL && ctx->key != NULL) {
        *siglen = devid_key_max_sig_len(ctx->key);
        return 1;
    }
    return devid_sig_ed_digest_sign_update(vctx, NULL, 0);
}

/* Verification with any of our EdDSA keys, private or public: on its
 * public half, in the default provider (the hardware is never asked).
 * One-shot, as EdDSA verification is. */
static int devid_sig_ed_digest_verify_init(void *vctx, const char *mdname,
                                           void *vkey,
                                           const OSSL_PARAM params[])
{
    struct devid_sig_ed_ctx *ctx = vctx;
    struct devid_key *key = vkey;

    if (mdname != NULL && mdname[0] != '\0') {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "%s hashes inside the signature: no digest may be chosen "
                    "(got %s)",
                    devid_sig_ed_name(ctx->type), mdname);
        return 0;
    }
    if (key != NULL) {
        if (key->pub.type != ctx->type) {
            DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "wrong key type");
            return 0;
        }
        devid_key_free(ctx->key);
        ctx->key = devid_key_up_ref(key);
    }
    if (ctx->key == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "no key");
        return 0;
    }
    if (!devid_sig_ed_set_ctx_params(ctx, params)) {
        return 0;
    }
    devid_pubop_free(ctx->vop);
    ctx->vop = devid_pubop_verify_new(ctx->key, 1, NULL, NULL);
    return ctx->vop != NULL;
}

static int devid_sig_ed_digest_verify(void *vctx, const unsigned char *sig,
                                      size_t siglen, const unsigned char *tbs,
                                      size_t tbslen)
{
    struct devid_sig_ed_ctx *ctx = vctx;

    return ctx->vop != NULL
           && devid_pubop_verify(ctx->vop, sig, siglen,
                                 tbs != NULL ? tbs : (const unsigned char *)"",
                                 tbslen);
}

/* RFC 8410 §3: id-Ed25519 / id-Ed448 with absent parameters. */
static int devid_sig_ed_algid(enum devid_key_type type, OSSL_PARAM *p)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    unsigned char *der = NULL;
    int len = 0;
    int ret = 0;

    if (alg == NULL
        || !X509_ALGOR_set0(alg,
                            OBJ_nid2obj(type == DEVID_KEY_ED25519 ? NID_ED25519
                                                                  : NID_ED448),
                            V_ASN1_UNDEF, NULL)) {
        goto end;
    }
    len = i2d_X509_ALGOR(alg, &der);
    ret = len > 0 && OSSL_PARAM_set_octet_string(p, der, (size_t)len);
end:
    OPENSSL_free(der);
    X509_ALGOR_free(alg);
    return ret;
}

static int devid_sig_ed_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    struct devid_sig_ed_ctx *ctx = vctx;
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
    if (p != NULL && !devid_sig_ed_algid(ctx->type, p)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_INSTANCE);
    if (p != NULL
        && !OSSL_PARAM_set_utf8_string(p, devid_sig_ed_name(ctx->type))) {
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *devid_sig_ed_gettable_ctx_params(void *vctx,
                                                          void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_INSTANCE, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

/* Only pure EdDSA: the prehash and context variants (Ed25519ph,
 * Ed25519ctx, Ed448ph, a context string) are refused by name, never
 * silently signed as pure. */
static int devid_sig_ed_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct devid_sig_ed_ctx *ctx = vctx;
    const OSSL_PARAM *p;
    const char *s = NULL;
    const void *c = NULL;
    size_t clen = 0;

    if (params == NULL) {
        return 1;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_INSTANCE);
    if (p != NULL
        && (!OSSL_PARAM_get_utf8_string_ptr(p, &s)
            || strcasecmp(s, devid_sig_ed_name(ctx->type)) != 0)) {
        DEVID_RAISE(ctx->prov, DEVID_R_NOT_SUPPORTED,
                    "EdDSA instance %s: devid signs pure %s only",
                    s != NULL ? s : "(not text)", devid_sig_ed_name(ctx->type));
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_CONTEXT_STRING);
    if (p != NULL
        && (!OSSL_PARAM_get_octet_string_ptr(p, &c, &clen) || clen != 0)) {
        DEVID_RAISE(ctx->prov, DEVID_R_NOT_SUPPORTED,
                    "EdDSA context string: devid signs pure %s only",
                    devid_sig_ed_name(ctx->type));
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *devid_sig_ed_settable_ctx_params(void *vctx,
                                                          void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_INSTANCE, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_CONTEXT_STRING, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

#define DEVID_SIG_ED_COMMON                                                    \
    DEVID_DISPATCH(SIGNATURE, sig, FREECTX, ed_freectx),                       \
        DEVID_DISPATCH(SIGNATURE, sig, DUPCTX, ed_dupctx),                     \
        DEVID_DISPATCH(SIGNATURE, sig, DIGEST_SIGN_INIT, ed_digest_sign_init), \
        DEVID_DISPATCH(SIGNATURE, sig, DIGEST_SIGN, ed_digest_sign),           \
        DEVID_DISPATCH(SIGNATURE, sig, DIGEST_SIGN_UPDATE,                     \
                       ed_digest_sign_update),                                 \
        DEVID_DISPATCH(SIGNATURE, sig, DIGEST_SIGN_FINAL,                      \
                       ed_digest_sign_final),                                  \
        DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY_INIT,                     \
                       ed_digest_verify_init),                                 \
        DEVID_DISPATCH(SIGNATURE, sig, DIGEST_VERIFY, ed_digest_verify),       \
        DEVID_DISPATCH(SIGNATURE, sig, GET_CTX_PARAMS, ed_get_ctx_params),     \
        DEVID_DISPATCH(SIGNATURE, sig, GETTABLE_CTX_PARAMS,                    \
                       ed_gettable_ctx_params),                                \
        DEVID_DISPATCH(SIGNATURE, sig, SET_CTX_PARAMS, ed_set_ctx_params),     \
        DEVID_DISPATCH(SIGNATURE, sig, SETTABLE_CTX_PARAMS,                    \
                       ed_settable_ctx_params)

const OSSL_DISPATCH devid_sig_ed25519_functions[] = {
    DEVID_DISPATCH(SIGNATURE, sig, NEWCTX, ed25519_newctx), DEVID_SIG_ED_COMMON,
    OSSL_DISPATCH_END
};

const OSSL_DISPATCH devid_sig_ed448_functions[] = {
    DEVID_DISPATCH(SIGNATURE, sig, NEWCTX, ed448_newctx), DEVID_SIG_ED_COMMON,
    OSSL_DISPATCH_END
};
