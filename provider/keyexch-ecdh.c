/* SPDX-License-Identifier: Apache-2.0 */
/* ECDH with a resident EC key: the peer's public point goes to the token or
 * TPM, the shared x coordinate comes back. The context parameters are
 * OpenSSL's own (providers/implementations/exchange/ecdh_exch.c names):
 * cofactor mode, and the ANSI X9.63 KDF run here in software over the
 * shared secret (CMS key agreement, RFC 5753 §3.1.2). */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/params.h>

#include "common/err.h"
#include "provider/implementations.h"
#include "provider/provider.h"

static OSSL_FUNC_keyexch_newctx_fn devid_kex_newctx;
static OSSL_FUNC_keyexch_freectx_fn devid_kex_freectx;
static OSSL_FUNC_keyexch_dupctx_fn devid_kex_dupctx;
static OSSL_FUNC_keyexch_init_fn devid_kex_init;
static OSSL_FUNC_keyexch_set_peer_fn devid_kex_set_peer;
static OSSL_FUNC_keyexch_derive_fn devid_kex_derive;
static OSSL_FUNC_keyexch_set_ctx_params_fn devid_kex_set_ctx_params;
static OSSL_FUNC_keyexch_settable_ctx_params_fn devid_kex_settable_ctx_params;
static OSSL_FUNC_keyexch_get_ctx_params_fn devid_kex_get_ctx_params;
static OSSL_FUNC_keyexch_gettable_ctx_params_fn devid_kex_gettable_ctx_params;

/* The one KDF OpenSSL's ECDH offers. */
#define DEVID_KEX_X963 "X963KDF"

struct devid_kex_ctx {
    struct devid_prov *prov;
    struct devid_key *key;
    struct devid_key *peer;     /* public half only */
    int cofactor_mode;          /* -1: the key's default, 0 or 1 */
    int kdf_x963;               /* kdf-type X963KDF, else no KDF */
    EVP_MD *kdf_md;             /* kdf-digest */
    size_t kdf_outlen;          /* kdf-outlen */
    unsigned char *kdf_ukm;     /* kdf-ukm (the KDF's SharedInfo) */
    size_t kdf_ukm_len;
};

static void *devid_kex_newctx(void *provctx)
{
    struct devid_kex_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL) {
        ctx->prov = provctx;
        ctx->cofactor_mode = -1;
    }
    return ctx;
}

static void devid_kex_freectx(void *vctx)
{
    struct devid_kex_ctx *ctx = vctx;

    if (ctx == NULL) {
        return;
    }
    devid_key_free(ctx->key);
    devid_key_free(ctx->peer);
    EVP_MD_free(ctx->kdf_md);
    OPENSSL_clear_free(ctx->kdf_ukm, ctx->kdf_ukm_len);
    OPENSSL_clear_free(ctx, sizeof(*ctx));
}

static void *devid_kex_dupctx(void *vctx)
{
    const struct devid_kex_ctx *src = vctx;
    struct devid_kex_ctx *dst = OPENSSL_memdup(src, sizeof(*src));

    if (dst == NULL) {
        return NULL;
    }
    /* every owned pointer is copied or re-referenced, never shared */
    devid_key_up_ref(dst->key);
    devid_key_up_ref(dst->peer);
    if (dst->kdf_md != NULL) {
        EVP_MD_up_ref(dst->kdf_md);
    }
    dst->kdf_ukm = NULL;
    if (src->kdf_ukm != NULL) {
        dst->kdf_ukm = OPENSSL_memdup(src->kdf_ukm, src->kdf_ukm_len);
        if (dst->kdf_ukm == NULL) {
            devid_kex_freectx(dst);
            return NULL;
        }
    }
    return dst;
}

static int devid_kex_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    struct devid_kex_ctx *ctx = vctx;
    struct devid_key *key = vkey;

    if (key == NULL || key->ops == NULL || key->ops->derive == NULL
        || (key->caps & DEVID_CAP_DERIVE_ECDH) == 0) {
        DEVID_RAISE(ctx->prov, DEVID_R_NOT_SUPPORTED, "key cannot derive");
        return 0;
    }
    devid_key_free(ctx->key);
    ctx->key = devid_key_up_ref(key);
    ctx->cofactor_mode = -1;
    ctx->kdf_x963 = 0;
    ctx->kdf_outlen = 0;
    EVP_MD_free(ctx->kdf_md);
    ctx->kdf_md = NULL;
    OPENSSL_clear_free(ctx->kdf_ukm, ctx->kdf_ukm_len);
    ctx->kdf_ukm = NULL;
    ctx->kdf_ukm_len = 0;
    return devid_kex_set_ctx_params(ctx, params);
}

/* The peer key arrives imported into our keymgmt (public half only). */
static int devid_kex_set_peer(void *vctx, void *vpeer)
{
    struct devid_kex_ctx *ctx = vctx;
    struct devid_key *peer = vpeer;

    if (peer == NULL || peer->pub.type != DEVID_KEY_EC
        || strcmp(peer->pub.group, ctx->key->pub.group) != 0
        || peer->pub.point == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "peer key is not on the same curve");
        return 0;
    }
    devid_key_free(ctx->peer);
    ctx->peer = devid_key_up_ref(peer);
    return 1;
}

/* Cofactor ECDH (SEC 1 §3.3.2) multiplies by the cofactor h. The curves
 * devid's hardware serves (NIST P-256/384/521) have h = 1, where both modes
 * give the same secret; a curve with h > 1 could not be served in cofactor
 * mode, since the hardware's plain ECDH does not multiply by h. */
static int devid_kex_check_cofactor(const struct devid_kex_ctx *ctx)
{
    EC_GROUP *g = NULL;
    int ok;

    if (ctx->cofactor_mode != 1) {
        return 1;
    }
    g = EC_GROUP_new_by_curve_name(OBJ_sn2nid(ctx->key->pub.group));
    ok = g != NULL && BN_is_one(EC_GROUP_get0_cofactor(g));
    EC_GROUP_free(g);
    if (!ok) {
        DEVID_RAISE(ctx->prov, DEVID_R_MECHANISM,
                    "cofactor ECDH on %s (cofactor is not 1)",
                    ctx->key->pub.group);
    }
    return ok;
}

/* ANSI X9.63 KDF over z, in software (the secret never leaves this
 * process's memory, and is wiped by the caller). */
static int devid_kex_x963(struct devid_kex_ctx *ctx, const unsigned char *z,
                          size_t zlen, unsigned char *out)
{
    OSSL_LIB_CTX *libctx = NULL;
    EVP_KDF *kdf = devid_prov_libctx(ctx->prov, &libctx)
                       ? EVP_KDF_fetch(libctx, DEVID_KEX_X963, NULL)
                       : NULL;
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[4];
    OSSL_PARAM *p = params;
    int ret = 0;

    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                            (char *)EVP_MD_get0_name(
                                                ctx->kdf_md),
                                            0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z,
                                             zlen);
    if (ctx->kdf_ukm != NULL) {
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                 ctx->kdf_ukm,
                                                 ctx->kdf_ukm_len);
    }
    *p = OSSL_PARAM_construct_end();
    if (kctx == NULL
        || EVP_KDF_derive(kctx, out, ctx->kdf_outlen, params) != 1) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "X9.63 KDF with %s to %zu bytes failed",
                    EVP_MD_get0_name(ctx->kdf_md), ctx->kdf_outlen);
        goto end;
    }
    ret = 1;
end:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return ret;
}

static int devid_kex_derive(void *vctx, unsigned char *secret,
                            size_t *secretlen, size_t outlen)
{
    struct devid_kex_ctx *ctx = vctx;
    size_t field = ((size_t)ctx->key->pub.bits + 7) / 8;
    unsigned char z[133]; /* the largest field: P-521, 66 bytes */
    size_t zlen = sizeof(z);
    int ret = 0;

    if (ctx->kdf_x963 && (ctx->kdf_md == NULL || ctx->kdf_outlen == 0)) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "X9.63 KDF needs kdf-digest and kdf-outlen");
        return 0;
    }
    if (secret == NULL) {
        *secretlen = ctx->kdf_x963 ? ctx->kdf_outlen : field;
        return 1;
    }
    if (ctx->peer == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "no peer key");
        return 0;
    }
    /* the KDF's output has the length asked for; the plain secret is
     * truncated to a shorter buffer, as OpenSSL's own ECDH does
     * (ecdh_plain_derive: "unlike PKCS#3 DH ... the result is
     * truncated"), keeping its leading bytes */
    if (ctx->kdf_x963 && outlen < ctx->kdf_outlen) {
        DEVID_RAISE(ctx->prov, DEVID_R_BUFFER_TOO_SMALL, "need %zu bytes",
                    ctx->kdf_outlen);
        return 0;
    }
    if (!devid_kex_check_cofactor(ctx)) {
        return 0;
    }
    if (!ctx->key->ops->derive(ctx->key, ctx->peer->pub.point,
                               ctx->peer->pub.point_len, z, &zlen)) {
        goto end;
    }
    if (ctx->kdf_x963) {
        if (!devid_kex_x963(ctx, z, zlen, secret)) {
            goto end;
        }
        *secretlen = ctx->kdf_outlen;
    } else {
        *secretlen = outlen < zlen ? outlen : zlen;
        memcpy(secret, z, *secretlen);
    }
    ret = 1;
end:
    OPENSSL_cleanse(z, sizeof(z));
    return ret;
}

static int devid_kex_set_kdf_type(struct devid_kex_ctx *ctx,
                                  const OSSL_PARAM *p)
{
    const char *s = NULL;

    if (!OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
        return 0;
    }
    if (s[0] != '\0' && OPENSSL_strcasecmp(s, DEVID_KEX_X963) != 0) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "ECDH KDF '%s' (only " DEVID_KEX_X963 ")", s);
        return 0;
    }
    ctx->kdf_x963 = s[0] != '\0';
    return 1;
}

static int devid_kex_set_kdf_md(struct devid_kex_ctx *ctx, const OSSL_PARAM *p,
                                const OSSL_PARAM *props)
{
    OSSL_LIB_CTX *libctx = NULL;
    const char *name = NULL;
    const char *propq = NULL;
    EVP_MD *md;

    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)
        || (props != NULL && !OSSL_PARAM_get_utf8_string_ptr(props, &propq))
        || !devid_prov_libctx(ctx->prov, &libctx)) {
        return 0;
    }
    md = EVP_MD_fetch(libctx, name, propq);
    if (md == NULL || (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) != 0) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "KDF digest '%s'", name);
        EVP_MD_free(md);
        return 0;
    }
    EVP_MD_free(ctx->kdf_md);
    ctx->kdf_md = md;
    return 1;
}

static int devid_kex_set_ukm(struct devid_kex_ctx *ctx, const OSSL_PARAM *p)
{
    void *ukm = NULL;
    size_t len = 0;

    if (!OSSL_PARAM_get_octet_string(p, &ukm, 0, &len)) {
        return 0;
    }
    OPENSSL_clear_free(ctx->kdf_ukm, ctx->kdf_ukm_len);
    ctx->kdf_ukm = ukm;
    ctx->kdf_ukm_len = len;
    return 1;
}

static int devid_kex_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct devid_kex_ctx *ctx = vctx;
    const OSSL_PARAM *p;
    int mode = 0;

    if (params == NULL) {
        return 1;
    }
    p = OSSL_PARAM_locate_const(params,
                                OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE);
    if (p != NULL) {
        if (!OSSL_PARAM_get_int(p, &mode) || mode < -1 || mode > 1) {
            DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                        "ecdh_cofactor_mode must be -1, 0 or 1");
            return 0;
        }
        ctx->cofactor_mode = mode;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE);
    if (p != NULL && !devid_kex_set_kdf_type(ctx, p)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST);
    if (p != NULL
        && !devid_kex_set_kdf_md(
            ctx, p,
            OSSL_PARAM_locate_const(params,
                                    OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS))) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN);
    if (p != NULL && !OSSL_PARAM_get_size_t(p, &ctx->kdf_outlen)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_UKM);
    if (p != NULL && !devid_kex_set_ukm(ctx, p)) {
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *devid_kex_settable_ctx_params(void *vctx,
                                                       void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS, NULL, 0),
        OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, NULL),
        OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

static int devid_kex_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    struct devid_kex_ctx *ctx = vctx;
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE);
    /* -1 resolves to the key's own mode: off (SEC 1 plain ECDH) */
    if (p != NULL && !OSSL_PARAM_set_int(p, ctx->cofactor_mode == 1 ? 1 : 0)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_TYPE);
    if (p != NULL
        && !OSSL_PARAM_set_utf8_string(p,
                                       ctx->kdf_x963 ? DEVID_KEX_X963 : "")) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST);
    if (p != NULL
        && !OSSL_PARAM_set_utf8_string(p, ctx->kdf_md != NULL
                                              ? EVP_MD_get0_name(ctx->kdf_md)
                                              : "")) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN);
    if (p != NULL && !OSSL_PARAM_set_size_t(p, ctx->kdf_outlen)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_UKM);
    if (p != NULL
        && !OSSL_PARAM_set_octet_ptr(p, ctx->kdf_ukm, ctx->kdf_ukm_len)) {
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *devid_kex_gettable_ctx_params(void *vctx,
                                                       void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, NULL, 0),
        OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, NULL),
        OSSL_PARAM_DEFN(OSSL_EXCHANGE_PARAM_KDF_UKM, OSSL_PARAM_OCTET_PTR, NULL,
                        0),
        OSSL_PARAM_END
    };

    return params;
}

const OSSL_DISPATCH devid_kex_ecdh_functions[] = {
    DEVID_DISPATCH(KEYEXCH, kex, NEWCTX, newctx),
    DEVID_DISPATCH(KEYEXCH, kex, FREECTX, freectx),
    DEVID_DISPATCH(KEYEXCH, kex, DUPCTX, dupctx),
    DEVID_DISPATCH(KEYEXCH, kex, INIT, init),
    DEVID_DISPATCH(KEYEXCH, kex, SET_PEER, set_peer),
    DEVID_DISPATCH(KEYEXCH, kex, DERIVE, derive),
    DEVID_DISPATCH(KEYEXCH, kex, SET_CTX_PARAMS, set_ctx_params),
    DEVID_DISPATCH(KEYEXCH, kex, SETTABLE_CTX_PARAMS, settable_ctx_params),
    DEVID_DISPATCH(KEYEXCH, kex, GET_CTX_PARAMS, get_ctx_params),
    DEVID_DISPATCH(KEYEXCH, kex, GETTABLE_CTX_PARAMS, gettable_ctx_params),
    OSSL_DISPATCH_END
};
