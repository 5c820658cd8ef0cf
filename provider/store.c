/* SPDX-License-Identifier: Apache-2.0 */
/* OSSL_STORE loader for the key names of every registered backend (each
 * backend lists its URI schemes in its registry entry): lists the objects a
 * name designates (keys, certificates), so that openssl storeutl, "-key NAME"
 * and TLS programs can load them. Search criteria (OSSL_STORE_find) are
 * checked here, in software, on what the backend finds (store-search.c). */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/store.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "provider/implementations.h"
#include "provider/provider.h"
#include "provider/store-search.h"

static OSSL_FUNC_store_open_fn devid_store_open;
static OSSL_FUNC_store_settable_ctx_params_fn devid_store_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn devid_store_set_ctx_params;
static OSSL_FUNC_store_load_fn devid_store_load;
static OSSL_FUNC_store_eof_fn devid_store_eof;
static OSSL_FUNC_store_close_fn devid_store_close;
static OSSL_FUNC_store_export_object_fn devid_store_export_object;

struct devid_store_ctx {
    struct devid_prov *prov;
    const struct devid_backend_ops *ops;
    char *name;
    unsigned int want;          /* devid_obj_class mask; 0 = everything */
    struct devid_store_search crit; /* OSSL_STORE_find's criteria */
    int searched;
    int failed;
    struct devid_store_item *items;
    size_t n_items;
    size_t cap_items;
    size_t next;
};

static void *devid_store_open(void *provctx, const char *uri)
{
    struct devid_prov *prov = provctx;
    struct devid_store_ctx *ctx = NULL;
    const struct devid_backend_ops *ops = devid_backend_for_name(uri);

    if (ops == NULL) {
        return NULL;            /* not ours: the core tries other loaders */
    }
    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "store");
        return NULL;
    }
    ctx->prov = prov;
    ctx->ops = ops;
    ctx->name = OPENSSL_strdup(uri);
    if (ctx->name == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "store");
        OPENSSL_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Every criterion: OSSL_STORE_supports_search asks this list. */
static const OSSL_PARAM *devid_store_settable_ctx_params(void *provctx)
{
    return devid_store_search_settable();
}

static int devid_store_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct devid_store_ctx *ctx = vctx;
    const OSSL_PARAM *p;
    int expect = 0;

    if (params == NULL) {
        return 1;
    }
    if (!devid_store_search_set(ctx->prov, &ctx->crit, params)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    if (p == NULL) {
        return 1;
    }
    if (!OSSL_PARAM_get_int(p, &expect)) {
        return 0;
    }
    switch (expect) {
    case OSSL_STORE_INFO_PKEY:
        ctx->want = DEVID_OBJ_PRIVKEY;
        break;
    case OSSL_STORE_INFO_PUBKEY:
        ctx->want = DEVID_OBJ_PUBKEY | DEVID_OBJ_PRIVKEY;
        break;
    case OSSL_STORE_INFO_CERT:
        ctx->want = DEVID_OBJ_CERT;
        break;
    default:
        ctx->want = DEVID_OBJ_ANY;
        break;
    }
    return 1;
}

static int devid_store_collect(const struct devid_object *obj, void *arg)
{
    struct devid_store_ctx *ctx = arg;
    struct devid_store_item *item;

    if (ctx->n_items == ctx->cap_items) {
        size_t cap = ctx->cap_items == 0 ? 8 : ctx->cap_items * 2;
        struct devid_store_item *grown
            = OPENSSL_realloc(ctx->items, cap * sizeof(*grown));

        if (grown == NULL) {
            DEVID_RAISE(ctx->prov, DEVID_R_MALLOC, "store");
            return 0;
        }
        ctx->items = grown;
        ctx->cap_items = cap;
    }
    item = &ctx->items[ctx->n_items];
    memset(item, 0, sizeof(*item));
    item->cls = obj->cls;
    if (obj->label != NULL) {
        item->label = OPENSSL_strdup(obj->label);
    }
    if (obj->cls == DEVID_OBJ_CERT) {
        item->der = OPENSSL_memdup(obj->der, obj->der_len);
        if (item->der == NULL) {
            DEVID_RAISE(ctx->prov, DEVID_R_MALLOC, "store");
            OPENSSL_free(item->label);
            return 0;
        }
        item->der_len = obj->der_len;
    } else {
        item->key = devid_key_up_ref(obj->key);
    }
    ctx->n_items++;
    return 1;
}

static int devid_store_search(struct devid_store_ctx *ctx,
                              OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    struct devid_pin_cb pin = { pw_cb, pw_cbarg };

    ctx->searched = 1;
    if (ctx->ops->search == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_NOT_SUPPORTED, "%s: no search",
                    ctx->ops->name);
        return 0;
    }
    if (!ctx->ops->search(ctx->prov, ctx->name,
                          devid_store_search_want(&ctx->crit, ctx->want), &pin,
                          devid_store_collect, ctx)) {
        return 0;
    }
    DEVID_DEBUG("store", "%zu object(s) found", ctx->n_items);
    if (devid_store_search_any(&ctx->crit)) {
        if (!devid_store_search_filter(ctx->prov, &ctx->crit, ctx->want,
                                       ctx->items, ctx->n_items,
                                       &ctx->n_items)) {
            return 0;
        }
        DEVID_DEBUG("store", "%zu meet the search criteria", ctx->n_items);
    }
    if (ctx->n_items == 0) {
        char *shown = devid_name_redact(ctx->name);

        DEVID_RAISE(ctx->prov, DEVID_R_NO_OBJECT, "nothing matches %s%s",
                    shown != NULL ? shown : "the URI",
                    devid_store_search_any(&ctx->crit)
                        ? " and the search criteria"
                        : "");
        OPENSSL_free(shown);
        return 0;
    }
    return 1;
}

static int devid_store_emit(struct devid_store_item *item,
                            OSSL_CALLBACK *object_cb, void *object_cbarg)
{
    OSSL_PARAM params[5];
    OSSL_PARAM *p = params;
    int type;
    int ret;

    if (item->cls == DEVID_OBJ_CERT) {
        type = OSSL_OBJECT_CERT;
        *p++ = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA,
                                                 item->der, item->der_len);
    } else {
        type = OSSL_OBJECT_PKEY;
        *p++ = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
        *p++ = OSSL_PARAM_construct_utf8_string(
            OSSL_OBJECT_PARAM_DATA_TYPE, (char *)devid_key_type_name(item->key),
            0);
        /* keymgmt load() takes the reference and clears item->key */
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE,
                                                 &item->key, sizeof(item->key));
    }
    if (item->label != NULL) {
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DESC,
                                                item->label, 0);
    }
    *p = OSSL_PARAM_construct_end();
    ret = object_cb(params, object_cbarg);
    return ret;
}

static int devid_store_load(void *vctx, OSSL_CALLBACK *object_cb,
                            void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb,
                            void *pw_cbarg)
{
    struct devid_store_ctx *ctx = vctx;

    if (!ctx->searched && !devid_store_search(ctx, pw_cb, pw_cbarg)) {
        ctx->failed = 1;
        return 0;
    }
    if (ctx->next >= ctx->n_items) {
        return 0;
    }
    return devid_store_emit(&ctx->items[ctx->next++], object_cb, object_cbarg);
}

static int devid_store_eof(void *vctx)
{
    struct devid_store_ctx *ctx = vctx;

    return ctx->failed || (ctx->searched && ctx->next >= ctx->n_items);
}

static int devid_store_close(void *vctx)
{
    struct devid_store_ctx *ctx = vctx;
    size_t i;

    if (ctx == NULL) {
        return 1;
    }
    for (i = 0; i < ctx->n_items; i++) {
        devid_store_item_clear(&ctx->items[i]);
    }
    OPENSSL_free(ctx->items);
    devid_store_search_clear(&ctx->crit);
    OPENSSL_free(ctx->name);
    OPENSSL_free(ctx);
    return 1;
}

/* Another provider's keymgmt asks for our key: only a public half leaves. */
static int devid_store_export_object(void *vctx, const void *reference,
                                     size_t reference_sz,
                                     OSSL_CALLBACK *export_cb,
                                     void *export_cbarg)
{
    const struct devid_key *key = NULL;

    if (reference == NULL || reference_sz != sizeof(key)) {
        return 0;
    }
    memcpy(&key, reference, sizeof(key));
    if (key == NULL || key->has_private) {
        return 0;
    }
    return devid_key_export_public(key, export_cb, export_cbarg);
}

const OSSL_DISPATCH devid_store_functions[] = {
    DEVID_DISPATCH(STORE, store, OPEN, open),
    DEVID_DISPATCH(STORE, store, SETTABLE_CTX_PARAMS, settable_ctx_params),
    DEVID_DISPATCH(STORE, store, SET_CTX_PARAMS, set_ctx_params),
    DEVID_DISPATCH(STORE, store, LOAD, load),
    DEVID_DISPATCH(STORE, store, EOF, eof),
    DEVID_DISPATCH(STORE, store, CLOSE, close),
    DEVID_DISPATCH(STORE, store, EXPORT_OBJECT, export_object),
    OSSL_DISPATCH_END
};
