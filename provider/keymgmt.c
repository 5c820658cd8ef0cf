/* SPDX-License-Identifier: Apache-2.0 */
/* Key management for EC and RSA keys that live in a token or TPM: loading
 * store references, parameters, public export, matching, and generation
 * inside the hardware. Private key material is never imported or exported. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include "common/err.h"
#include "common/log.h"
#include "provider/implementations.h"
#include "provider/keymgmt.h"
#include "provider/provider.h"

static OSSL_FUNC_keymgmt_match_fn devid_km_match;
static OSSL_FUNC_keymgmt_import_fn devid_km_import;
static OSSL_FUNC_keymgmt_import_types_fn devid_km_import_types;
static OSSL_FUNC_keymgmt_export_types_fn devid_km_export_types;
static OSSL_FUNC_keymgmt_set_params_fn devid_km_set_params;
static OSSL_FUNC_keymgmt_settable_params_fn devid_km_ec_settable_params;
static OSSL_FUNC_keymgmt_gettable_params_fn devid_km_ec_gettable_params;
static OSSL_FUNC_keymgmt_gettable_params_fn devid_km_rsa_gettable_params;
static OSSL_FUNC_keymgmt_query_operation_name_fn devid_km_ec_query_operation_name;
static OSSL_FUNC_keymgmt_query_operation_name_fn devid_km_rsa_query_operation_name;
static OSSL_FUNC_keymgmt_query_operation_name_fn
    devid_km_rsa_pss_query_operation_name;
static OSSL_FUNC_keymgmt_gen_init_fn devid_km_ec_gen_init;
static OSSL_FUNC_keymgmt_gen_init_fn devid_km_rsa_gen_init;
static OSSL_FUNC_keymgmt_gen_init_fn devid_km_rsa_pss_gen_init;
static OSSL_FUNC_keymgmt_gen_settable_params_fn devid_km_ec_gen_settable_params;
static OSSL_FUNC_keymgmt_gen_settable_params_fn
    devid_km_rsa_gen_settable_params;

/* Name of the generation parameter that says where the key is created.
 * Backends may add another name for it (devid_backend_ops.gen_name_param),
 * the one programs written for another provider already pass. */
#define DEVID_GEN_PARAM_URI "uri"

/* Settable generation parameters: the algorithm's own, "uri", and every
 * backend's alias; built once from the registry. */
#define DEVID_GEN_SETTABLE_MAX (3 + 2 * DEVID_BACKEND_MAX + 16 + 1)
static OSSL_PARAM devid_km_ec_gen_settable[DEVID_GEN_SETTABLE_MAX];
static OSSL_PARAM devid_km_rsa_gen_settable[DEVID_GEN_SETTABLE_MAX];
static CRYPTO_ONCE devid_km_gen_settable_once = CRYPTO_ONCE_STATIC_INIT;

static void devid_km_gen_settable_build(void)
{
    const struct devid_backend_ops *ops;
    size_t i, j, ec = 0, rsa = 0;

    devid_km_ec_gen_settable[ec++] =
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0);
    devid_km_rsa_gen_settable[rsa++] =
        OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, NULL);
    devid_km_rsa_gen_settable[rsa++] =
        OSSL_PARAM_construct_ulong(OSSL_PKEY_PARAM_RSA_E, NULL);
    devid_km_ec_gen_settable[ec++] =
        OSSL_PARAM_construct_utf8_string(DEVID_GEN_PARAM_URI, NULL, 0);
    devid_km_rsa_gen_settable[rsa++] =
        OSSL_PARAM_construct_utf8_string(DEVID_GEN_PARAM_URI, NULL, 0);
    for (i = 0; (ops = devid_backend_at(i)) != NULL; i++) {
        if (ops->gen_name_param != NULL && rsa < DEVID_GEN_SETTABLE_MAX - 1) {
            devid_km_ec_gen_settable[ec++] =
                OSSL_PARAM_construct_utf8_string(ops->gen_name_param, NULL, 0);
            devid_km_rsa_gen_settable[rsa++] =
                OSSL_PARAM_construct_utf8_string(ops->gen_name_param, NULL, 0);
        }
        for (j = 0; ops->gen_params != NULL && ops->gen_params[j] != NULL
                    && rsa < DEVID_GEN_SETTABLE_MAX - 1;
             j++) {
            devid_km_ec_gen_settable[ec++] =
                OSSL_PARAM_construct_utf8_string(ops->gen_params[j], NULL, 0);
            devid_km_rsa_gen_settable[rsa++] =
                OSSL_PARAM_construct_utf8_string(ops->gen_params[j], NULL, 0);
        }
    }
    devid_km_ec_gen_settable[ec] = OSSL_PARAM_construct_end();
    devid_km_rsa_gen_settable[rsa] = OSSL_PARAM_construct_end();
}

struct devid_km_gen_ctx {
    struct devid_prov *prov;
    struct devid_gen_params params;
    char *uri;
};

/* A key made by import holds only a public half and belongs to no backend:
 * it exists so that EVP_PKEY_eq can compare a certificate with our key. */
void *devid_km_new(void *provctx)
{
    return devid_key_new(NULL, provctx);
}

void devid_km_free(void *keydata)
{
    devid_key_free(keydata);
}

/* A public-only copy of the parts of src that selection names. */
static struct devid_key *devid_km_dup_public(const struct devid_key *src,
                                             int selection)
{
    struct devid_key *key = devid_key_new(NULL, src->prov);
    int pub = (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0;

    if (key == NULL) {
        return NULL;
    }
    key->pub.type = src->pub.type;
    key->pub.bits = src->pub.bits;
    memcpy(key->pub.group, src->pub.group, sizeof(key->pub.group));
    if (pub && src->pub.point != NULL) {
        key->pub.point = OPENSSL_memdup(src->pub.point, src->pub.point_len);
        key->pub.point_len = src->pub.point_len;
    }
    if (src->pub.n != NULL) {
        key->pub.n = OPENSSL_memdup(src->pub.n, src->pub.n_len);
        key->pub.n_len = src->pub.n_len;
        key->pub.e = OPENSSL_memdup(src->pub.e, src->pub.e_len);
        key->pub.e_len = src->pub.e_len;
    }
    if ((pub && src->pub.point != NULL && key->pub.point == NULL)
        || (src->pub.n != NULL && (key->pub.n == NULL || key->pub.e == NULL))) {
        devid_key_free(key);
        return NULL;
    }
    return key;
}

void *devid_km_dup(const void *keydata, int selection)
{
    const struct devid_key *src = keydata;

    /* a resident key is immutable after creation: sharing is a copy. A
     * copy without the private half is a new public key, which callers
     * may change (EVP_PKEY_copy_parameters, then a new public point: how
     * CMS builds the originator's key from ours) */
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0
        || src->ops == NULL) {
        return devid_key_up_ref((struct devid_key *)src);
    }
    return devid_km_dup_public(src, selection);
}

/* The store hands us a pointer to a key it holds a reference to; the
 * reference passes to the caller. */
void *devid_km_load(const void *reference, size_t reference_sz)
{
    struct devid_key *key = NULL;

    if (reference == NULL || reference_sz != sizeof(key)) {
        return NULL;
    }
    memcpy(&key, reference, sizeof(key));
    *(struct devid_key **)reference = NULL;
    return key;
}

int devid_km_has(const void *keydata, int selection)
{
    const struct devid_key *key = keydata;

    if (key == NULL || key->pub.type == DEVID_KEY_NONE) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0
        && !key->has_private) {
        return 0;
    }
    return 1;
}

static int devid_buf_eq(const unsigned char *a, size_t alen,
                        const unsigned char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int devid_km_match(const void *keydata1, const void *keydata2,
                          int selection)
{
    const struct devid_pubkey *a = &((const struct devid_key *)keydata1)->pub;
    const struct devid_pubkey *b = &((const struct devid_key *)keydata2)->pub;

    if (a->type != b->type) {
        return 0;
    }
    if (a->type == DEVID_KEY_EC && strcmp(a->group, b->group) != 0) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0) {
        return 1;
    }
    if (a->type == DEVID_KEY_EC) {
        return devid_buf_eq(a->point, a->point_len, b->point, b->point_len);
    }
    return devid_buf_eq(a->n, a->n_len, b->n, b->n_len)
           && devid_buf_eq(a->e, a->e_len, b->e, b->e_len);
}

/* Copies a BIGNUM param out as big-endian bytes. */
static int devid_param_get_bytes(const OSSL_PARAM *p, unsigned char **out,
                                 size_t *outlen)
{
    BIGNUM *bn = NULL;
    int ret = 0;

    if (!OSSL_PARAM_get_BN(p, &bn)) {
        goto end;
    }
    *outlen = (size_t)BN_num_bytes(bn);
    *out = OPENSSL_malloc(*outlen > 0 ? *outlen : 1);
    if (*out == NULL) {
        goto end;
    }
    BN_bn2bin(bn, *out);
    ret = 1;
end:
    BN_free(bn);
    return ret;
}

static int devid_km_import_ec(struct devid_key *key, const OSSL_PARAM params[])
{
    const OSSL_PARAM *p;
    const char *group = NULL;
    EC_GROUP *g = NULL;
    int ret = 0;

    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
    if (p == NULL || !OSSL_PARAM_get_utf8_string_ptr(p, &group)
        || strlen(group) >= sizeof(key->pub.group)) {
        goto end;
    }
    g = EC_GROUP_new_by_curve_name(OBJ_txt2nid(group));
    if (g == NULL) {
        g = EC_GROUP_new_by_curve_name(EC_curve_nist2nid(group));
    }
    if (g == NULL) {
        goto end;
    }
    /* store the canonical short name so match() compares like with like */
    OPENSSL_strlcpy(key->pub.group, OBJ_nid2sn(EC_GROUP_get_curve_name(g)),
                    sizeof(key->pub.group));
    key->pub.bits = EC_GROUP_get_degree(g);
    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
    if (p != NULL
        && !OSSL_PARAM_get_octet_string(p, (void **)&key->pub.point, 0,
                                        &key->pub.point_len)) {
        goto end;
    }
    key->pub.type = DEVID_KEY_EC;
    ret = 1;
end:
    EC_GROUP_free(g);
    return ret;
}

/* An encoded EC point (SEC 1 §2.3.3, any form) as 04||X||Y on group. */
static int devid_ec_point_uncompressed(const char *group, const OSSL_PARAM *p,
                                       unsigned char **out, size_t *len)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(OBJ_sn2nid(group));
    EC_POINT *pt = g != NULL ? EC_POINT_new(g) : NULL;
    const void *in = NULL;
    size_t inlen = 0;
    int ret = 0;

    *out = NULL;
    if (pt == NULL || !OSSL_PARAM_get_octet_string_ptr(p, &in, &inlen)
        || !EC_POINT_oct2point(g, pt, in, inlen, NULL)) {
        goto end;
    }
    *len = EC_POINT_point2buf(g, pt, POINT_CONVERSION_UNCOMPRESSED, out, NULL);
    ret = *len > 0;
end:
    EC_POINT_free(pt);
    EC_GROUP_free(g);
    return ret;
}

static int devid_km_import(void *keydata, int selection,
                           const OSSL_PARAM params[])
{
    struct devid_key *key = keydata;
    const OSSL_PARAM *p;

    if (key == NULL || key->ops != NULL || key->pub.type != DEVID_KEY_NONE) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0
        && OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != NULL) {
        /* a software private key has nothing to do with devid */
        return 0;
    }
    if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME) != NULL) {
        return devid_km_import_ec(key, params);
    }
    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_N);
    if (p == NULL || !devid_param_get_bytes(p, &key->pub.n, &key->pub.n_len)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_E);
    if (p == NULL || !devid_param_get_bytes(p, &key->pub.e, &key->pub.e_len)) {
        return 0;
    }
    key->pub.bits = (int)key->pub.n_len * 8;
    key->pub.type = DEVID_KEY_RSA;
    return 1;
}

static const OSSL_PARAM devid_km_ec_types[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM devid_km_rsa_types[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM *devid_km_import_types(int selection)
{
    /* Both tables are short; the core only checks that names exist. */
    return (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0
               ? devid_km_ec_types
               : devid_km_rsa_types;
}

static const OSSL_PARAM *devid_km_export_types(int selection)
{
    return devid_km_import_types(selection);
}

int devid_key_export_public(const struct devid_key *key, OSSL_CALLBACK *cb,
                            void *cbarg)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL;
    BIGNUM *e = NULL;
    int ret = 0;

    if (bld == NULL) {
        goto end;
    }
    if (devid_key_type_is_eddsa(key->pub.type)) {
        /* RFC 8410 §4: the key as RFC 8032 encodes it, no group */
        if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                              key->pub.point,
                                              key->pub.point_len)) {
            goto end;
        }
    } else if (key->pub.type == DEVID_KEY_EC) {
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                             key->pub.group, 0)
            || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                                 key->pub.point,
                                                 key->pub.point_len)) {
            goto end;
        }
    } else {
        n = BN_bin2bn(key->pub.n, (int)key->pub.n_len, NULL);
        e = BN_bin2bn(key->pub.e, (int)key->pub.e_len, NULL);
        if (n == NULL || e == NULL
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
            goto end;
        }
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) {
        goto end;
    }
    ret = cb(params, cbarg);
end:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return ret;
}

int devid_km_export(void *keydata, int selection, OSSL_CALLBACK *cb,
                    void *cbarg)
{
    const struct devid_key *key = keydata;

    if (key == NULL || key->pub.type == DEVID_KEY_NONE) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0
        && key->has_private) {
        DEVID_RAISE(key->prov, DEVID_R_PRIVATE_EXPORT, "%s",
                    key->uri != NULL ? key->uri : "key");
        return 0;
    }
    return devid_key_export_public(key, cb, cbarg);
}

/* Only a public EC key made by import or dup may get a new point; a
 * resident key's public half is the hardware's. */
static int devid_km_set_params(void *keydata, const OSSL_PARAM params[])
{
    struct devid_key *key = keydata;
    const OSSL_PARAM *p;
    unsigned char *point = NULL;
    size_t len = 0;

    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    if (p == NULL) {
        return 1;
    }
    if (key == NULL || key->ops != NULL || key->pub.type != DEVID_KEY_EC) {
        DEVID_RAISE(key != NULL ? key->prov : NULL, DEVID_R_INVALID_PARAM,
                    "the public key of a resident key cannot be set");
        return 0;
    }
    if (!devid_ec_point_uncompressed(key->pub.group, p, &point, &len)) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM, "not a point on %s",
                    key->pub.group);
        return 0;
    }
    OPENSSL_free(key->pub.point);
    key->pub.point = point;
    key->pub.point_len = len;
    return 1;
}

static const OSSL_PARAM *devid_km_ec_settable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

int devid_km_get_params(void *keydata, OSSL_PARAM params[])
{
    const struct devid_key *key = keydata;

    if (key == NULL || key->pub.type == DEVID_KEY_NONE) {
        return 0;
    }
    return devid_key_get_params(key, params);
}

static const OSSL_PARAM *devid_km_ec_gettable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                               NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

static const OSSL_PARAM *devid_km_rsa_gettable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

static const char *devid_km_ec_query_operation_name(int operation_id)
{
    switch (operation_id) {
    case OSSL_OP_SIGNATURE:
        return DEVID_NAME_ECDSA;
    case OSSL_OP_KEYEXCH:
        return DEVID_NAME_ECDH;
    default:
        return NULL;
    }
}

static const char *devid_km_rsa_query_operation_name(int operation_id)
{
    switch (operation_id) {
    case OSSL_OP_SIGNATURE:
        return DEVID_NAME_RSA_SIG;
    case OSSL_OP_ASYM_CIPHER:
        return DEVID_NAME_RSA_ENC;
    default:
        return NULL;
    }
}

/* An RSA-PSS key only signs (RFC 4055 §1.2): no encryption operation. */
static const char *devid_km_rsa_pss_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? DEVID_NAME_RSA_SIG : NULL;
}

void *devid_km_gen_init_type(void *provctx, int selection,
                             const OSSL_PARAM params[],
                             enum devid_key_type type, int pss)
{
    struct devid_km_gen_ctx *gctx = NULL;

    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0) {
        return NULL;
    }
    gctx = OPENSSL_zalloc(sizeof(*gctx));
    if (gctx == NULL) {
        return NULL;
    }
    gctx->prov = provctx;
    gctx->params.type = type;
    gctx->params.pss = pss;
    if (type == DEVID_KEY_RSA) {
        gctx->params.bits = 2048;
    } else if (type == DEVID_KEY_EC) {
        OPENSSL_strlcpy(gctx->params.group, "prime256v1",
                        sizeof(gctx->params.group));
    }
    if (!devid_km_gen_set_params(gctx, params)) {
        devid_km_gen_cleanup(gctx);
        return NULL;
    }
    return gctx;
}

static void *devid_km_ec_gen_init(void *provctx, int selection,
                                  const OSSL_PARAM params[])
{
    return devid_km_gen_init_type(provctx, selection, params, DEVID_KEY_EC, 0);
}

static void *devid_km_rsa_gen_init(void *provctx, int selection,
                                   const OSSL_PARAM params[])
{
    return devid_km_gen_init_type(provctx, selection, params, DEVID_KEY_RSA, 0);
}

/* An RSA key that makes only PSS signatures ("genpkey -algorithm RSA-PSS"). */
static void *devid_km_rsa_pss_gen_init(void *provctx, int selection,
                                       const OSSL_PARAM params[])
{
    return devid_km_gen_init_type(provctx, selection, params, DEVID_KEY_RSA, 1);
}

/* Accepts "P-256" style and short names; stores the short name. */
static int devid_km_gen_set_group(struct devid_km_gen_ctx *gctx,
                                  const char *name)
{
    int nid = EC_curve_nist2nid(name);

    if (nid == NID_undef) {
        nid = OBJ_sn2nid(name);
    }
    if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1
        && nid != NID_secp521r1 && nid != NID_secp224r1
        && nid != NID_X9_62_prime192v1) {
        DEVID_RAISE(gctx->prov, DEVID_R_UNSUPPORTED_KEY,
                    "EC group '%s' (use P-192, P-224, P-256, P-384 or P-521)",
                    name);
        return 0;
    }
    OPENSSL_strlcpy(gctx->params.group, OBJ_nid2sn(nid),
                    sizeof(gctx->params.group));
    return 1;
}

/* Stores one backend-declared parameter (text, or an unsigned integer as
 * "0x%x") in the secure heap: it may be an auth value. */
static int devid_km_gen_set_extra(struct devid_km_gen_ctx *gctx,
                                  const char *name, const OSSL_PARAM *p)
{
    struct devid_gen_params *gp = &gctx->params;
    struct devid_gen_extra *x = NULL;
    const char *s = NULL;
    char num[16];
    unsigned int u = 0;
    size_t i;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
            return 0;
        }
    } else if (OSSL_PARAM_get_uint(p, &u)) {
        snprintf(num, sizeof(num), "0x%x", u);
        s = num;
    } else {
        DEVID_RAISE(gctx->prov, DEVID_R_INVALID_PARAM,
                    "generation parameter %s: text or a number", name);
        return 0;
    }
    for (i = 0; i < gp->n_extra && x == NULL; i++) {
        if (strcmp(gp->extra[i].name, name) == 0) {
            x = &gp->extra[i];
        }
    }
    if (x == NULL && gp->n_extra < DEVID_GEN_EXTRA_MAX) {
        x = &gp->extra[gp->n_extra++];
    }
    if (x == NULL) {
        return 0;
    }
    OPENSSL_secure_clear_free(x->value, x->len + 1);
    x->name = name;
    x->len = strlen(s);
    x->value = OPENSSL_secure_malloc(x->len + 1);
    if (x->value == NULL) {
        DEVID_RAISE(gctx->prov, DEVID_R_MALLOC, "%s", name);
        return 0;
    }
    memcpy(x->value, s, x->len + 1);
    return 1;
}

static int devid_km_gen_set_extras(struct devid_km_gen_ctx *gctx,
                                   const OSSL_PARAM params[])
{
    const struct devid_backend_ops *ops;
    const OSSL_PARAM *p;
    size_t i, j;

    for (i = 0; (ops = devid_backend_at(i)) != NULL; i++) {
        for (j = 0; ops->gen_params != NULL && ops->gen_params[j] != NULL;
             j++) {
            p = OSSL_PARAM_locate_const(params, ops->gen_params[j]);
            if (p != NULL
                && !devid_km_gen_set_extra(gctx, ops->gen_params[j], p)) {
                return 0;
            }
        }
    }
    return 1;
}

int devid_km_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    struct devid_km_gen_ctx *gctx = genctx;
    const struct devid_backend_ops *ops;
    const OSSL_PARAM *p;
    const char *s = NULL;
    size_t bits = 0;
    size_t i;

    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
    if (p != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &s)
                      || !devid_km_gen_set_group(gctx, s))) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_BITS);
    if (p != NULL) {
        if (!OSSL_PARAM_get_size_t(p, &bits) || bits < 2048 || bits > 4096) {
            DEVID_RAISE(gctx->prov, DEVID_R_UNSUPPORTED_KEY,
                        "RSA size %zu (use 2048 to 4096)", bits);
            return 0;
        }
        gctx->params.bits = (int)bits;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_E);
    if (p != NULL && !OSSL_PARAM_get_ulong(p, &gctx->params.exponent)) {
        return 0;
    }
    if (!devid_km_gen_set_extras(gctx, params)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, DEVID_GEN_PARAM_URI);
    for (i = 0; p == NULL && (ops = devid_backend_at(i)) != NULL; i++) {
        if (ops->gen_name_param != NULL) {
            p = OSSL_PARAM_locate_const(params, ops->gen_name_param);
        }
    }
    if (p != NULL) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
            return 0;
        }
        OPENSSL_free(gctx->uri);
        gctx->uri = OPENSSL_strdup(s);
        if (gctx->uri == NULL) {
            return 0;
        }
    }
    return 1;
}

static const OSSL_PARAM *devid_km_ec_gen_settable_params(void *genctx,
                                                         void *provctx)
{
    CRYPTO_THREAD_run_once(&devid_km_gen_settable_once,
                           devid_km_gen_settable_build);
    return devid_km_ec_gen_settable;
}

static const OSSL_PARAM *devid_km_rsa_gen_settable_params(void *genctx,
                                                          void *provctx)
{
    CRYPTO_THREAD_run_once(&devid_km_gen_settable_once,
                           devid_km_gen_settable_build);
    return devid_km_rsa_gen_settable;
}

/* No "uri" was given: say which names the backends of this build take. */
static void devid_km_gen_no_name(struct devid_prov *prov)
{
    const struct devid_backend_ops *ops;
    char forms[512] = "";
    size_t i, n = 0;

    for (i = 0; (ops = devid_backend_at(i)) != NULL; i++) {
        int w;

        if (ops->generate == NULL || ops->name_help == NULL) {
            continue;
        }
        w = snprintf(forms + n, sizeof(forms) - n, "%suri:%s",
                     n > 0 ? " or " : "", ops->name_help);
        if (w < 0 || (size_t)w >= sizeof(forms) - n) {
            break; /* the message keeps what fitted */
        }
        n += (size_t)w;
    }
    DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                "say where to create the key: -pkeyopt %s", forms);
}

/* The backend that keeps a key without a name (its reference file). */
static const struct devid_backend_ops *devid_km_gen_unnamed_backend(void)
{
    const struct devid_backend_ops *ops;
    size_t i;

    for (i = 0; (ops = devid_backend_at(i)) != NULL; i++) {
        if ((ops->flags & DEVID_BACKEND_GEN_UNNAMED) != 0
            && ops->generate != NULL) {
            return ops;
        }
    }
    return NULL;
}

void *devid_km_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    struct devid_km_gen_ctx *gctx = genctx;
    const struct devid_backend_ops *ops;
    struct devid_key *key = NULL;

    if (gctx->uri == NULL) {
        ops = devid_km_gen_unnamed_backend();
        if (ops == NULL) {
            devid_km_gen_no_name(gctx->prov);
            return NULL;
        }
        DEVID_DEBUG("keymgmt", "generating a key with the %s backend, no name",
                    ops->name);
        return ops->generate(gctx->prov, NULL, &gctx->params, NULL, &key)
                   ? key
                   : NULL;
    }
    ops = devid_backend_for_name(gctx->uri);
    if (ops == NULL) {
        DEVID_RAISE(gctx->prov, DEVID_R_NO_BACKEND, "%s", gctx->uri);
        return NULL;
    }
    if (ops->generate == NULL) {
        DEVID_RAISE(gctx->prov, DEVID_R_NOT_SUPPORTED,
                    "%s backend cannot create keys", ops->name);
        return NULL;
    }
    DEVID_DEBUG("keymgmt", "generating a key with the %s backend", ops->name);
    if (!ops->generate(gctx->prov, gctx->uri, &gctx->params, NULL, &key)) {
        return NULL;
    }
    return key;
}

void devid_km_gen_cleanup(void *genctx)
{
    struct devid_km_gen_ctx *gctx = genctx;
    size_t i;

    if (gctx == NULL) {
        return;
    }
    OPENSSL_free(gctx->uri);
    for (i = 0; i < gctx->params.n_extra; i++) {
        OPENSSL_secure_clear_free(gctx->params.extra[i].value,
                                  gctx->params.extra[i].len + 1);
    }
    OPENSSL_clear_free(gctx, sizeof(*gctx));
}

#define DEVID_KM_COMMON                                                        \
    DEVID_DISPATCH(KEYMGMT, km, NEW, new),                                     \
    DEVID_DISPATCH(KEYMGMT, km, FREE, free),                                   \
    DEVID_DISPATCH(KEYMGMT, km, DUP, dup),                                     \
    DEVID_DISPATCH(KEYMGMT, km, LOAD, load),                                   \
    DEVID_DISPATCH(KEYMGMT, km, HAS, has),                                     \
    DEVID_DISPATCH(KEYMGMT, km, MATCH, match),                                 \
    DEVID_DISPATCH(KEYMGMT, km, IMPORT, import),                               \
    DEVID_DISPATCH(KEYMGMT, km, IMPORT_TYPES, import_types),                   \
    DEVID_DISPATCH(KEYMGMT, km, EXPORT, export),                               \
    DEVID_DISPATCH(KEYMGMT, km, EXPORT_TYPES, export_types),                   \
    DEVID_DISPATCH(KEYMGMT, km, GET_PARAMS, get_params),                       \
    DEVID_DISPATCH(KEYMGMT, km, GEN_SET_PARAMS, gen_set_params),               \
    DEVID_DISPATCH(KEYMGMT, km, GEN, gen),                                     \
    DEVID_DISPATCH(KEYMGMT, km, GEN_CLEANUP, gen_cleanup)

const OSSL_DISPATCH devid_keymgmt_ec_functions[] = {
    DEVID_KM_COMMON,
    DEVID_DISPATCH(KEYMGMT, km, GETTABLE_PARAMS, ec_gettable_params),
    DEVID_DISPATCH(KEYMGMT, km, SET_PARAMS, set_params),
    DEVID_DISPATCH(KEYMGMT, km, SETTABLE_PARAMS, ec_settable_params),
    DEVID_DISPATCH(KEYMGMT, km, QUERY_OPERATION_NAME, ec_query_operation_name),
    DEVID_DISPATCH(KEYMGMT, km, GEN_INIT, ec_gen_init),
    DEVID_DISPATCH(KEYMGMT, km, GEN_SETTABLE_PARAMS, ec_gen_settable_params),
    OSSL_DISPATCH_END
};

const OSSL_DISPATCH devid_keymgmt_rsa_functions[] = {
    DEVID_KM_COMMON,
    DEVID_DISPATCH(KEYMGMT, km, GETTABLE_PARAMS, rsa_gettable_params),
    DEVID_DISPATCH(KEYMGMT, km, QUERY_OPERATION_NAME, rsa_query_operation_name),
    DEVID_DISPATCH(KEYMGMT, km, GEN_INIT, rsa_gen_init),
    DEVID_DISPATCH(KEYMGMT, km, GEN_SETTABLE_PARAMS, rsa_gen_settable_params),
    OSSL_DISPATCH_END
};

/* Keys loaded as RSA-PSS (devid_key_type_name), and generated as RSA keys
 * that make only PSS signatures (devid_gen_params.pss). */
const OSSL_DISPATCH devid_keymgmt_rsa_pss_functions[] = {
    DEVID_DISPATCH(KEYMGMT, km, NEW, new),
    DEVID_DISPATCH(KEYMGMT, km, FREE, free),
    DEVID_DISPATCH(KEYMGMT, km, DUP, dup),
    DEVID_DISPATCH(KEYMGMT, km, LOAD, load),
    DEVID_DISPATCH(KEYMGMT, km, HAS, has),
    DEVID_DISPATCH(KEYMGMT, km, MATCH, match),
    DEVID_DISPATCH(KEYMGMT, km, IMPORT, import),
    DEVID_DISPATCH(KEYMGMT, km, IMPORT_TYPES, import_types),
    DEVID_DISPATCH(KEYMGMT, km, EXPORT, export),
    DEVID_DISPATCH(KEYMGMT, km, EXPORT_TYPES, export_types),
    DEVID_DISPATCH(KEYMGMT, km, GET_PARAMS, get_params),
    DEVID_DISPATCH(KEYMGMT, km, GETTABLE_PARAMS, rsa_gettable_params),
    DEVID_DISPATCH(KEYMGMT, km, QUERY_OPERATION_NAME,
                   rsa_pss_query_operation_name),
    DEVID_DISPATCH(KEYMGMT, km, GEN_INIT, rsa_pss_gen_init),
    DEVID_DISPATCH(KEYMGMT, km, GEN_SET_PARAMS, gen_set_params),
    DEVID_DISPATCH(KEYMGMT, km, GEN_SETTABLE_PARAMS, rsa_gen_settable_params),
    DEVID_DISPATCH(KEYMGMT, km, GEN, gen),
    DEVID_DISPATCH(KEYMGMT, km, GEN_CLEANUP, gen_cleanup),
    OSSL_DISPATCH_END
};
