/* SPDX-License-Identifier: Apache-2.0 */
/* RSA decryption (PKCS#1 v1.5, OAEP, raw, and the TLS premaster of an RSA
 * key exchange) with a resident key. Encryption to a resident key runs in
 * software on its public half (pubop.c): OpenSSL asks the key's own
 * provider for it. */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/err.h"
#include "common/log.h"
#include "provider/implementations.h"
#include "provider/provider.h"
#include "provider/pubop.h"
#include "provider/rsa-pad.h"

/* OpenSSL 3.2's name, absent from 3.0's headers. */
#ifndef OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION
#define OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION "implicit-rejection"
#endif

static OSSL_FUNC_asym_cipher_newctx_fn devid_asym_newctx;
static OSSL_FUNC_asym_cipher_freectx_fn devid_asym_freectx;
static OSSL_FUNC_asym_cipher_dupctx_fn devid_asym_dupctx;
static OSSL_FUNC_asym_cipher_decrypt_init_fn devid_asym_decrypt_init;
static OSSL_FUNC_asym_cipher_decrypt_fn devid_asym_decrypt;
static OSSL_FUNC_asym_cipher_encrypt_init_fn devid_asym_encrypt_init;
static OSSL_FUNC_asym_cipher_encrypt_fn devid_asym_encrypt;
static OSSL_FUNC_asym_cipher_set_ctx_params_fn devid_asym_set_ctx_params;
static OSSL_FUNC_asym_cipher_settable_ctx_params_fn devid_asym_settable_ctx_params;
static OSSL_FUNC_asym_cipher_get_ctx_params_fn devid_asym_get_ctx_params;
static OSSL_FUNC_asym_cipher_gettable_ctx_params_fn devid_asym_gettable_ctx_params;

struct devid_asym_ctx {
    struct devid_prov *prov;
    struct devid_key *key;
    int pad;
    int oaep_nid;
    int mgf1_nid;               /* NID_undef: same as oaep_nid */
    unsigned char *label;
    size_t label_len;
    struct devid_pubop *pubop;   /* an encryption, in software */
    unsigned int client_version; /* TLS padding: ClientHello.client_version */
    unsigned int alt_version;    /* TLS padding: negotiated, or 0 */
};

static void *devid_asym_newctx(void *provctx)
{
    struct devid_asym_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL) {
        return NULL;
    }
    ctx->prov = provctx;
    ctx->pad = RSA_PKCS1_PADDING;
    ctx->oaep_nid = NID_sha1;   /* RFC 8017 default */
    return ctx;
}

static void devid_asym_freectx(void *vctx)
{
    struct devid_asym_ctx *ctx = vctx;

    if (ctx == NULL) {
        return;
    }
    devid_key_free(ctx->key);
    OPENSSL_free(ctx->label);
    devid_pubop_free(ctx->pubop);
    OPENSSL_clear_free(ctx, sizeof(*ctx));
}

static void *devid_asym_dupctx(void *vctx)
{
    const struct devid_asym_ctx *src = vctx;
    struct devid_asym_ctx *dst = OPENSSL_memdup(src, sizeof(*src));

    if (dst == NULL) {
        return NULL;
    }
    dst->label = NULL;
    dst->pubop = NULL;
    devid_key_up_ref(dst->key);
    if (src->label != NULL) {
        dst->label = OPENSSL_memdup(src->label, src->label_len);
        if (dst->label == NULL) {
            devid_asym_freectx(dst);
            return NULL;
        }
    }
    if (src->pubop != NULL) {
        dst->pubop = devid_pubop_dup(src->pubop);
        if (dst->pubop == NULL) {
            devid_asym_freectx(dst);
            return NULL;
        }
    }
    return dst;
}

static int devid_asym_decrypt_init(void *vctx, void *vkey,
                                   const OSSL_PARAM params[])
{
    struct devid_asym_ctx *ctx = vctx;
    struct devid_key *key = vkey;

    if (key == NULL || key->ops == NULL || key->ops->decrypt == NULL
        || (key->caps
            & (DEVID_CAP_DECRYPT_PKCS1 | DEVID_CAP_DECRYPT_OAEP
               | DEVID_CAP_DECRYPT_RAW))
               == 0) {
        DEVID_RAISE(ctx->prov, DEVID_R_NOT_SUPPORTED,
                    "key cannot decrypt");
        return 0;
    }
    devid_pubop_free(ctx->pubop); /* decrypting now, not encrypting */
    ctx->pubop = NULL;
    devid_key_free(ctx->key);
    ctx->key = devid_key_up_ref(key);
    return devid_asym_set_ctx_params(ctx, params);
}

/* Encryption to any of our RSA keys (public-only ones too): in software. */
static int devid_asym_encrypt_init(void *vctx, void *vkey,
                                   const OSSL_PARAM params[])
{
    struct devid_asym_ctx *ctx = vctx;
    struct devid_key *key = vkey != NULL ? vkey : ctx->key;

    if (key == NULL || key->pub.type != DEVID_KEY_RSA) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "not an RSA key");
        return 0;
    }
    devid_pubop_free(ctx->pubop);
    ctx->pubop = devid_pubop_encrypt_new(key, params);
    if (ctx->pubop == NULL) {
        return 0;
    }
    if (key != ctx->key) {
        devid_key_free(ctx->key);
        ctx->key = devid_key_up_ref(key);
    }
    return 1;
}

static int devid_asym_encrypt(void *vctx, unsigned char *out, size_t *outlen,
                              size_t outsize, const unsigned char *in,
                              size_t inlen)
{
    struct devid_asym_ctx *ctx = vctx;

    return ctx->pubop != NULL
           && devid_pubop_encrypt(ctx->pubop, out, outlen, outsize, in, inlen);
}

/* Raw RSA (rsa_padding_mode:none) only where the backend says the key can,
 * on exactly one modulus-sized block: the caller does the unpadding. */
static int devid_asym_raw_ok(const struct devid_asym_ctx *ctx, size_t inlen,
                             size_t outsize)
{
    size_t modlen = ((size_t)ctx->key->pub.bits + 7) / 8;

    if ((ctx->key->caps & DEVID_CAP_DECRYPT_RAW) == 0) {
        DEVID_RAISE(ctx->prov, DEVID_R_MECHANISM,
                    "%s cannot decrypt without padding",
                    ctx->key->uri != NULL ? ctx->key->uri : "the key");
        return 0;
    }
    if (inlen != modlen || outsize < modlen) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "raw RSA takes and gives %zu bytes (got %zu, room %zu)",
                    modlen, inlen, outsize);
        return 0;
    }
    return 1;
}

/* The TLS premaster secret (RSA_PKCS1_WITH_TLS_PADDING, RFC 5246
 * §7.4.7.1) into out: 48 bytes, random ones whenever the padding or the
 * version is wrong, never an error that would tell which (Bleichenbacher's
 * oracle). On raw RSA the check is done here in constant time; a key with
 * only PKCS#1 v1.5 decryption leaves the padding check to the hardware,
 * whose failure is hidden as well as software can (errors dropped, the
 * same selection either way). Fails only for bad parameters and hardware
 * that cannot decrypt at all. */
static int devid_asym_decrypt_tls(struct devid_asym_ctx *ctx,
                                  unsigned char *out, size_t *outlen,
                                  size_t outsize, const unsigned char *in,
                                  size_t inlen)
{
    size_t modlen = ((size_t)ctx->key->pub.bits + 7) / 8;
    unsigned char rnd[DEVID_TLS_PREMASTER_LEN];
    unsigned char *buf = NULL;
    OSSL_LIB_CTX *libctx = NULL;
    struct devid_dec_params p;
    size_t len = modlen;
    int raw = (ctx->key->caps & DEVID_CAP_DECRYPT_RAW) != 0;
    int ok;
    int ret = 0;

    if (ctx->client_version == 0 || outsize < DEVID_TLS_PREMASTER_LEN
        || modlen < DEVID_TLS_PREMASTER_LEN + 11 || (raw && inlen != modlen)) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "TLS premaster decryption needs the client version (got "
                    "0x%x), room for %d bytes (got %zu) and a %zu-byte "
                    "ciphertext (got %zu)",
                    ctx->client_version, DEVID_TLS_PREMASTER_LEN, outsize,
                    modlen, inlen);
        return 0;
    }
    DEVID_DEBUG("asym", "TLS premaster, %s",
                raw ? "raw RSA, checked here" : "PKCS#1 by the hardware");
    memset(&p, 0, sizeof(p));
    p.pad = raw ? DEVID_PAD_NONE : DEVID_PAD_PKCS1;
    buf = OPENSSL_secure_zalloc(modlen);
    if (buf == NULL || !devid_prov_libctx(ctx->prov, &libctx)
        || RAND_priv_bytes_ex(libctx, rnd, sizeof(rnd), 0) != 1) {
        DEVID_RAISE(ctx->prov, DEVID_R_MALLOC, "TLS premaster");
        goto end;
    }
    if (raw) {
        /* c^d mod n fails only when the hardware does: not secret */
        if (!ctx->key->ops->decrypt(ctx->key, &p, in, inlen, buf, &len)) {
            goto end;
        }
        devid_rsa_tls_premaster(buf, modlen, ctx->client_version,
                                ctx->alt_version, rnd, out);
    } else {
        devid_err_mark(ctx->prov);
        ok = ctx->key->ops->decrypt(ctx->key, &p, in, inlen, buf, &len);
        devid_err_pop_to_mark(ctx->prov);
        devid_rsa_tls_select(ok, buf, len, ctx->client_version,
                             ctx->alt_version, rnd, out);
    }
    *outlen = DEVID_TLS_PREMASTER_LEN;
    ret = 1;
end:
    OPENSSL_cleanse(rnd, sizeof(rnd));
    OPENSSL_secure_clear_free(buf, modlen);
    return ret;
}

static int devid_asym_decrypt(void *vctx, unsigned char *out, size_t *outlen,
                              size_t outsize, const unsigned char *in,
                              size_t inlen)
{
    struct devid_asym_ctx *ctx = vctx;
    struct devid_dec_params p;
    size_t modlen = ((size_t)ctx->key->pub.bits + 7) / 8;

    if (out == NULL) {
        *outlen = modlen;
        return 1;
    }
    if (ctx->pad == RSA_PKCS1_WITH_TLS_PADDING) {
        return devid_asym_decrypt_tls(ctx, out, outlen, outsize, in, inlen);
    }
    if (ctx->pad == RSA_NO_PADDING && !devid_asym_raw_ok(ctx, inlen, outsize)) {
        return 0;
    }
    memset(&p, 0, sizeof(p));
    p.pad = ctx->pad == RSA_PKCS1_OAEP_PADDING ? DEVID_PAD_OAEP
            : ctx->pad == RSA_NO_PADDING       ? DEVID_PAD_NONE
                                               : DEVID_PAD_PKCS1;
    p.oaep_md_nid = ctx->oaep_nid;
    p.mgf1_nid = ctx->mgf1_nid != NID_undef ? ctx->mgf1_nid : ctx->oaep_nid;
    p.label = ctx->label;
    p.label_len = ctx->label_len;
    *outlen = outsize;
    DEVID_DEBUG("asym", "RSA decrypt, padding %d, OAEP digest %d", ctx->pad,
                ctx->oaep_nid);
    return ctx->key->ops->decrypt(ctx->key, &p, in, inlen, out, outlen);
}

static int devid_asym_md_nid(struct devid_asym_ctx *ctx, const OSSL_PARAM *p,
                             int *nid)
{
    OSSL_LIB_CTX *libctx = NULL;
    const char *name = NULL;
    EVP_MD *md = NULL;

    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)
        || !devid_prov_libctx(ctx->prov, &libctx)) {
        return 0;
    }
    md = EVP_MD_fetch(libctx, name, NULL);
    if (md == NULL) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM, "unknown digest '%s'",
                    name);
        return 0;
    }
    *nid = EVP_MD_get_type(md);
    EVP_MD_free(md);
    return 1;
}

static int devid_asym_set_pad(struct devid_asym_ctx *ctx, const OSSL_PARAM *p)
{
    const char *s = NULL;
    int pad = 0;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s)) {
            return 0;
        }
        pad = strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
              : strcmp(s, OSSL_PKEY_RSA_PAD_MODE_OAEP) == 0
                  ? RSA_PKCS1_OAEP_PADDING
              : strcmp(s, OSSL_PKEY_RSA_PAD_MODE_NONE) == 0 ? RSA_NO_PADDING
                                                            : -1;
    } else if (!OSSL_PARAM_get_int(p, &pad)) {
        return 0;
    }
    /* RSA_PKCS1_WITH_TLS_PADDING has no name: libssl passes the number */
    if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_OAEP_PADDING
        && pad != RSA_NO_PADDING && pad != RSA_PKCS1_WITH_TLS_PADDING) {
        DEVID_RAISE(ctx->prov, DEVID_R_INVALID_PARAM,
                    "RSA decryption padding %s (use pkcs1, oaep or none)",
                    s != NULL ? s : "number");
        return 0;
    }
    ctx->pad = pad;
    return 1;
}

static int devid_asym_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct devid_asym_ctx *ctx = vctx;
    const OSSL_PARAM *p;
    void *label = NULL;
    size_t label_len = 0;

    if (params == NULL) {
        return 1;
    }
    if (ctx->pubop != NULL) {
        return devid_pubop_set_params(ctx->pubop, params);
    }
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
    if (p != NULL && !devid_asym_set_pad(ctx, p)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST);
    if (p != NULL && !devid_asym_md_nid(ctx, p, &ctx->oaep_nid)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST);
    if (p != NULL && !devid_asym_md_nid(ctx, p, &ctx->mgf1_nid)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params,
                                OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION);
    if (p != NULL && !OSSL_PARAM_get_uint(p, &ctx->client_version)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params,
                                OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION);
    if (p != NULL && !OSSL_PARAM_get_uint(p, &ctx->alt_version)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL);
    if (p != NULL) {
        if (!OSSL_PARAM_get_octet_string(p, &label, 0, &label_len)) {
            return 0;
        }
        OPENSSL_free(ctx->label);
        ctx->label = label;
        ctx->label_len = label_len;
    }
    return 1;
}

static const OSSL_PARAM *devid_asym_settable_ctx_params(void *vctx,
                                                        void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, NULL),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, NULL),
        OSSL_PARAM_END
    };

    return params;
}

static int devid_asym_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    struct devid_asym_ctx *ctx = vctx;
    OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);

    if (ctx->pubop != NULL) {
        return devid_pubop_get_params(ctx->pubop, params);
    }
    if (p != NULL && !OSSL_PARAM_set_int(p, ctx->pad)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION);
    if (p != NULL && !OSSL_PARAM_set_uint(p, ctx->client_version)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params,
                          OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION);
    if (p != NULL && !OSSL_PARAM_set_uint(p, ctx->alt_version)) {
        return 0;
    }
    /* PKCS#1 v1.5 decryption reports bad padding as an error (the
     * hardware checks it): no implicit rejection (OpenSSL 3.2's synthetic
     * plaintext), and the caller is told so */
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION);
    if (p != NULL && !OSSL_PARAM_set_uint(p, 0)) {
        return 0;
    }
    return 1;
}

static const OSSL_PARAM *devid_asym_gettable_ctx_params(void *vctx,
                                                        void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, NULL),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, NULL),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION, NULL),
        OSSL_PARAM_END
    };

    return params;
}

const OSSL_DISPATCH devid_asym_rsa_functions[] = {
    DEVID_DISPATCH(ASYM_CIPHER, asym, NEWCTX, newctx),
    DEVID_DISPATCH(ASYM_CIPHER, asym, FREECTX, freectx),
    DEVID_DISPATCH(ASYM_CIPHER, asym, DUPCTX, dupctx),
    DEVID_DISPATCH(ASYM_CIPHER, asym, DECRYPT_INIT, decrypt_init),
    DEVID_DISPATCH(ASYM_CIPHER, asym, DECRYPT, decrypt),
    DEVID_DISPATCH(ASYM_CIPHER, asym, ENCRYPT_INIT, encrypt_init),
    DEVID_DISPATCH(ASYM_CIPHER, asym, ENCRYPT, encrypt),
    DEVID_DISPATCH(ASYM_CIPHER, asym, SET_CTX_PARAMS, set_ctx_params),
    DEVID_DISPATCH(ASYM_CIPHER, asym, SETTABLE_CTX_PARAMS, settable_ctx_params),
    DEVID_DISPATCH(ASYM_CIPHER, asym, GET_CTX_PARAMS, get_ctx_params),
    DEVID_DISPATCH(ASYM_CIPHER, asym, GETTABLE_CTX_PARAMS, gettable_ctx_params),
    OSSL_DISPATCH_END
};
