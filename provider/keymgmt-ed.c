/* SPDX-License-Identifier: Apache-2.0 */
/* Key management for Ed25519 and Ed448 keys (RFC 8032) that live in a
 * token: their public half is one encoded point with no group, and they
 * only sign. What all key types share (load, export, generation through
 * the backends) comes from keymgmt.c. */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "common/err.h"
#include "provider/implementations.h"
#include "provider/keymgmt.h"
#include "provider/provider.h"

static OSSL_FUNC_keymgmt_import_fn devid_km_ed25519_import;
static OSSL_FUNC_keymgmt_import_fn devid_km_ed448_import;
static OSSL_FUNC_keymgmt_import_types_fn devid_km_ed_types;
static OSSL_FUNC_keymgmt_match_fn devid_km_ed_match;
static OSSL_FUNC_keymgmt_gettable_params_fn devid_km_ed_gettable_params;
static OSSL_FUNC_keymgmt_query_operation_name_fn
    devid_km_ed25519_query_operation_name;
static OSSL_FUNC_keymgmt_query_operation_name_fn
    devid_km_ed448_query_operation_name;
static OSSL_FUNC_keymgmt_gen_init_fn devid_km_ed25519_gen_init;
static OSSL_FUNC_keymgmt_gen_init_fn devid_km_ed448_gen_init;
static OSSL_FUNC_keymgmt_gen_settable_params_fn devid_km_ed_gen_settable_params;

/* Size of the encoded public key: RFC 8032 §5.1.5 and §5.2.5. */
static size_t devid_km_ed_key_len(enum devid_key_type type)
{
    return type == DEVID_KEY_ED25519 ? 32 : 57;
}

/* A public key from another provider (a certificate's), so that
 * EVP_PKEY_eq can compare it with ours: the type comes from the table, the
 * length of the point must fit it. */
static int devid_km_ed_import_type(void *keydata, int selection,
                                   const OSSL_PARAM params[],
                                   enum devid_key_type type)
{
    struct devid_key *key = keydata;
    const OSSL_PARAM *p;

    if (key == NULL || key->ops != NULL || key->pub.type != DEVID_KEY_NONE
        || (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0
        && OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != NULL) {
        return 0; /* a software private key has nothing to do with devid */
    }
    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
    if (p == NULL
        || !OSSL_PARAM_get_octet_string(p, (void **)&key->pub.point, 0,
                                        &key->pub.point_len)) {
        return 0;
    }
    if (key->pub.point_len != devid_km_ed_key_len(type)) {
        devid_pubkey_clear(&key->pub);
        return 0;
    }
    key->pub.type = type;
    key->pub.bits = type == DEVID_KEY_ED25519 ? 256 : 456;
    return 1;
}

static int devid_km_ed25519_import(void *keydata, int selection,
                                   const OSSL_PARAM params[])
{
    return devid_km_ed_import_type(keydata, selection, params,
                                   DEVID_KEY_ED25519);
}

static int devid_km_ed448_import(void *keydata, int selection,
                                 const OSSL_PARAM params[])
{
    return devid_km_ed_import_type(keydata, selection, params, DEVID_KEY_ED448);
}

static const OSSL_PARAM *devid_km_ed_types(int selection)
{
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END
    };

    return types;
}

static int devid_km_ed_match(const void *keydata1, const void *keydata2,
                             int selection)
{
    const struct devid_pubkey *a = &((const struct devid_key *)keydata1)->pub;
    const struct devid_pubkey *b = &((const struct devid_key *)keydata2)->pub;

    if (a->type != b->type) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0) {
        return 1; /* no domain parameters: same type is all there is */
    }
    return a->point_len == b->point_len && a->point != NULL && b->point != NULL
           && memcmp(a->point, b->point, a->point_len) == 0;
}

static const OSSL_PARAM *devid_km_ed_gettable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

/* EdDSA keys only sign: no key exchange (that is X25519, another key). */
static const char *devid_km_ed25519_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? DEVID_NAME_ED25519 : NULL;
}

static const char *devid_km_ed448_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? DEVID_NAME_ED448 : NULL;
}

static void *devid_km_ed25519_gen_init(void *provctx, int selection,
                                       const OSSL_PARAM params[])
{
    return devid_km_gen_init_type(provctx, selection, params, DEVID_KEY_ED25519,
                                  0);
}

static void *devid_km_ed448_gen_init(void *provctx, int selection,
                                     const OSSL_PARAM params[])
{
    return devid_km_gen_init_type(provctx, selection, params, DEVID_KEY_ED448,
                                  0);
}

/* Where the key goes ("uri", the backends' own name for it) and the
 * backends' extra parameters: an EdDSA key has no size or group to set.
 * Built once from the registry, as keymgmt.c builds the EC and RSA ones. */
#define DEVID_KM_ED_SETTABLE_MAX (1 + 2 * DEVID_BACKEND_MAX + 16 + 1)
static OSSL_PARAM devid_km_ed_gen_settable[DEVID_KM_ED_SETTABLE_MAX];
static CRYPTO_ONCE devid_km_ed_settable_once = CRYPTO_ONCE_STATIC_INIT;

static void devid_km_ed_gen_settable_build(void)
{
    const struct devid_backend_ops *ops;
    size_t i, j, n = 0;

    devid_km_ed_gen_settable[n++] = OSSL_PARAM_construct_utf8_string("uri",
                                                                     NULL, 0);
    for (i = 0; (ops = devid_backend_at(i)) != NULL; i++) {
        if (ops->gen_name_param != NULL && n < DEVID_KM_ED_SETTABLE_MAX - 1) {
            devid_km_ed_gen_settable[n++] =
                OSSL_PARAM_construct_utf8_string(ops->gen_name_param, NULL, 0);
        }
        for (j = 0; ops->gen_params != NULL && ops->gen_params[j] != NULL
                    && n < DEVID_KM_ED_SETTABLE_MAX - 1;
             j++) {
            devid_km_ed_gen_settable[n++] =
                OSSL_PARAM_construct_utf8_string(ops->gen_params[j], NULL, 0);
        }
    }
    devid_km_ed_gen_settable[n] = OSSL_PARAM_construct_end();
}

static const OSSL_PARAM *devid_km_ed_gen_settable_params(void *genctx,
                                                         void *provctx)
{
    CRYPTO_THREAD_run_once(&devid_km_ed_settable_once,
                           devid_km_ed_gen_settable_build);
    return devid_km_ed_gen_settable;
}

#define DEVID_KM_ED_COMMON                                                     \
    DEVID_DISPATCH(KEYMGMT, km, NEW, new),                                     \
        DEVID_DISPATCH(KEYMGMT, km, FREE, free),                               \
        DEVID_DISPATCH(KEYMGMT, km, DUP, dup),                                 \
        DEVID_DISPATCH(KEYMGMT, km, LOAD, load),                               \
        DEVID_DISPATCH(KEYMGMT, km, HAS, has),                                 \
        DEVID_DISPATCH(KEYMGMT, km, MATCH, ed_match),                          \
        DEVID_DISPATCH(KEYMGMT, km, IMPORT_TYPES, ed_types),                   \
        DEVID_DISPATCH(KEYMGMT, km, EXPORT, export),                           \
        DEVID_DISPATCH(KEYMGMT, km, EXPORT_TYPES, ed_types),                   \
        DEVID_DISPATCH(KEYMGMT, km, GET_PARAMS, get_params),                   \
        DEVID_DISPATCH(KEYMGMT, km, GETTABLE_PARAMS, ed_gettable_params),      \
        DEVID_DISPATCH(KEYMGMT, km, GEN_SET_PARAMS, gen_set_params),           \
        DEVID_DISPATCH(KEYMGMT, km, GEN_SETTABLE_PARAMS,                       \
                       ed_gen_settable_params),                                \
        DEVID_DISPATCH(KEYMGMT, km, GEN, gen),                                 \
        DEVID_DISPATCH(KEYMGMT, km, GEN_CLEANUP, gen_cleanup)

const OSSL_DISPATCH devid_keymgmt_ed25519_functions[] = {
    DEVID_KM_ED_COMMON, DEVID_DISPATCH(KEYMGMT, km, IMPORT, ed25519_import),
    DEVID_DISPATCH(KEYMGMT, km, QUERY_OPERATION_NAME,
                   ed25519_query_operation_name),
    DEVID_DISPATCH(KEYMGMT, km, GEN_INIT, ed25519_gen_init), OSSL_DISPATCH_END
};

const OSSL_DISPATCH devid_keymgmt_ed448_functions[] = {
    DEVID_KM_ED_COMMON, DEVID_DISPATCH(KEYMGMT, km, IMPORT, ed448_import),
    DEVID_DISPATCH(KEYMGMT, km, QUERY_OPERATION_NAME,
                   ed448_query_operation_name),
    DEVID_DISPATCH(KEYMGMT, km, GEN_INIT, ed448_gen_init), OSSL_DISPATCH_END
};
