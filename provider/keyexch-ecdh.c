/* SPDX-License-Identifier: Apache-2.0 */
/* ECDH with a resident EC key: the peer's public point goes to the token or
 * TPM, the shared x coordinate comes back. */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/err.h"
#include "provider/implementations.h"
#include "provider/provider.h"

static OSSL_FUNC_keyexch_newctx_fn devid_kex_newctx;
static OSSL_FUNC_keyexch_freectx_fn devid_kex_freectx;
static OSSL_FUNC_keyexch_dupctx_fn devid_kex_dupctx;
static OSSL_FUNC_keyexch_init_fn devid_kex_init;
static OSSL_FUNC_keyexch_set_peer_fn devid_kex_set_peer;
static OSSL_FUNC_keyexch_derive_fn devid_kex_derive;

struct devid_kex_ctx {
    struct devid_prov *prov;
    struct devid_key *key;
    struct devid_key *peer;     /* public half only */
};

static void *devid_kex_newctx(void *provctx)
{
    struct devid_kex_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL) {
        ctx->prov = provctx;
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
    OPENSSL_free(ctx);
}

static void *devid_kex_dupctx(void *vctx)
{
    struct devid_kex_ctx *dst = OPENSSL_memdup(vctx, sizeof(struct devid_kex_ctx));

    if (dst != NULL) {
        devid_key_up_ref(dst->key);
        devid_key_up_ref(dst->peer);
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
    return 1;
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

static int devid_kex_derive(void *vctx, unsigned char *secret,
                            size_t *secretlen, size_t outlen)
{
    struct devid_kex_ctx *ctx = vctx;
    size_t field = ((size_t)ctx->key->pub.bits + 7) / 8;

    if (secret == NULL) {
        *secretlen = field;
        return 1;
    }
    if (ctx->peer == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "no peer key");
        return 0;
    }
    if (outlen < field) {
        DEVID_RAISE(ctx->prov, DEVID_R_BUFFER_TOO_SMALL, "need %zu bytes",
                    field);
        return 0;
    }
    *secretlen = outlen;
    return ctx->key->ops->derive(ctx->key, ctx->peer->pub.point,
                                 ctx->peer->pub.point_len, secret, secretlen);
}

const OSSL_DISPATCH devid_kex_ecdh_functions[] = {
    DEVID_DISPATCH(KEYEXCH, kex, NEWCTX, newctx),
    DEVID_DISPATCH(KEYEXCH, kex, FREECTX, freectx),
    DEVID_DISPATCH(KEYEXCH, kex, DUPCTX, dupctx),
    DEVID_DISPATCH(KEYEXCH, kex, INIT, init),
    DEVID_DISPATCH(KEYEXCH, kex, SET_PEER, set_peer),
    DEVID_DISPATCH(KEYEXCH, kex, DERIVE, derive),
    OSSL_DISPATCH_END
};
