/* SPDX-License-Identifier: Apache-2.0 */
/* Encoders for resident keys. PEM and DER write the key's reference (its
 * backend's reference file body), so "openssl genpkey -out", "openssl pkey
 * -out [-outform der]" and PEM_write_bio_PrivateKey produce a file other
 * programs can load. TEXT prints the public half, the key's name and what
 * the hardware says about it ("openssl pkey -text"). Public keys alone are
 * encoded by the default provider from our public export. */
#include "config.h"

#include <string.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/err.h"
#include "provider/implementations.h"
#include "provider/provider.h"
#include "provider/ref-file.h"

static OSSL_FUNC_encoder_newctx_fn devid_enc_newctx;
static OSSL_FUNC_encoder_freectx_fn devid_enc_freectx;
static OSSL_FUNC_encoder_does_selection_fn devid_enc_does_selection;
static OSSL_FUNC_encoder_does_selection_fn devid_enc_text_does_selection;
static OSSL_FUNC_encoder_encode_fn devid_enc_pem_encode;
static OSSL_FUNC_encoder_encode_fn devid_enc_der_encode;
static OSSL_FUNC_encoder_encode_fn devid_enc_text_encode;

static void *devid_enc_newctx(void *provctx)
{
    return provctx;
}

static void devid_enc_freectx(void *ctx)
{
}

static int devid_enc_does_selection(void *provctx, int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

/* Text describes any of our keys, public-only ones included. */
static int devid_enc_text_does_selection(void *provctx, int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

/* Only a key with a private half in the hardware has a reference file. */
static int devid_enc_check_ref(struct devid_prov *prov,
                               const struct devid_key *key)
{
    if (key == NULL || key->ops == NULL || !key->has_private) {
        DEVID_RAISE(prov, DEVID_R_NOT_SUPPORTED,
                    "only resident private keys have a reference file");
        return 0;
    }
    return 1;
}

/* The caller's output as a BIO; NULL (an error raised) when devid's library
 * context or the BIO cannot be made. */
static BIO *devid_enc_bio(struct devid_prov *prov, OSSL_CORE_BIO *cout)
{
    OSSL_LIB_CTX *libctx = NULL;

    return devid_prov_libctx(prov, &libctx)
               ? BIO_new_from_core_bio(libctx, cout)
               : NULL;
}

static int devid_enc_pem_encode(void *ctx, OSSL_CORE_BIO *cout,
                                const void *obj_raw,
                                const OSSL_PARAM obj_abstract[], int selection,
                                OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    struct devid_prov *prov = ctx;
    struct devid_key *key = (struct devid_key *)obj_raw;
    BIO *out = NULL;
    char *pem = NULL;
    int ret = 0;

    if (!devid_enc_check_ref(prov, key)) {
        return 0;
    }
    pem = devid_ref_pem_for_key(key);
    out = devid_enc_bio(prov, cout);
    if (pem == NULL || out == NULL) {
        goto end;
    }
    ret = BIO_write(out, pem, (int)strlen(pem)) == (int)strlen(pem);
end:
    BIO_free(out);
    OPENSSL_free(pem);
    return ret;
}

/* DER: the reference body itself (a TSS2 key file, a name reference), which
 * devid's DER decoder recognises by content. Nothing is written unless the
 * whole body is ready. */
static int devid_enc_der_encode(void *ctx, OSSL_CORE_BIO *cout,
                                const void *obj_raw,
                                const OSSL_PARAM obj_abstract[], int selection,
                                OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    struct devid_prov *prov = ctx;
    struct devid_key *key = (struct devid_key *)obj_raw;
    unsigned char *der = NULL;
    size_t der_len = 0;
    BIO *out = NULL;
    int ret = 0;

    if (!devid_enc_check_ref(prov, key)
        || !devid_ref_der_for_key(key, NULL, &der, &der_len)) {
        goto end;
    }
    out = devid_enc_bio(prov, cout);
    if (out == NULL) {
        goto end;
    }
    ret = BIO_write(out, der, (int)der_len) == (int)der_len;
end:
    BIO_free(out);
    OPENSSL_free(der);
    return ret;
}

static int devid_enc_pub_cb(const OSSL_PARAM params[], void *arg)
{
    struct devid_key *key = ((void **)arg)[0];
    EVP_PKEY **pk = ((void **)arg)[1];
    OSSL_LIB_CTX *libctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    int ret;

    if (devid_prov_libctx(key->prov, &libctx)) {
        pctx = EVP_PKEY_CTX_new_from_name(libctx, devid_key_type_name(key),
                                          "provider!=devid");
    }
    ret = pctx != NULL && EVP_PKEY_fromdata_init(pctx) == 1
          && EVP_PKEY_fromdata(pctx, pk, EVP_PKEY_PUBLIC_KEY,
                               (OSSL_PARAM *)params)
                 == 1;
    EVP_PKEY_CTX_free(pctx);
    return ret;
}

/* The public half in OpenSSL's own words: printed by another provider
 * from our public export, so the layout is the one users know. */
static int devid_enc_text_public(struct devid_key *key, BIO *out)
{
    EVP_PKEY *pk = NULL;
    void *arg[2] = { key, &pk };
    int ret = 0;

    if (!devid_key_export_public(key, devid_enc_pub_cb, arg) || pk == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_INTERNAL,
                    "no provider prints the public half of %s",
                    key->uri != NULL ? key->uri : "the key");
        goto end;
    }
    ret = EVP_PKEY_print_public(out, pk, 0, NULL) > 0;
end:
    EVP_PKEY_free(pk);
    return ret;
}

static int devid_enc_text_encode(void *ctx, OSSL_CORE_BIO *cout,
                                 const void *obj_raw,
                                 const OSSL_PARAM obj_abstract[], int selection,
                                 OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    struct devid_prov *prov = ctx;
    struct devid_key *key = (struct devid_key *)obj_raw;
    BIO *out = NULL;
    int ret = 0;

    if (key == NULL || key->ops == NULL || key->pub.type == DEVID_KEY_NONE) {
        DEVID_RAISE(prov, DEVID_R_NOT_SUPPORTED, "not a devid key");
        return 0;
    }
    out = devid_enc_bio(prov, cout);
    if (out == NULL || !devid_enc_text_public(key, out)) {
        goto end;
    }
    if (BIO_printf(out, "devid key:\n    name: %s\n",
                   key->uri != NULL ? key->uri : "(the key file itself)")
            <= 0
        || (key->label != NULL
            && BIO_printf(out, "    label: %s\n", key->label) <= 0)
        || BIO_printf(out, "    backend: %s (%s)\n    private key: %s\n",
                      key->ops->name, key->ops->description,
                      key->has_private ? "in the hardware, not exportable"
                                       : "none (public key only)")
               <= 0) {
        goto end;
    }
    ret = key->ops->describe == NULL || key->ops->describe(key, out, 4);
end:
    BIO_free(out);
    return ret;
}

#define DEVID_ENC_TABLE(which, selects)                                        \
    static const OSSL_DISPATCH devid_enc_##which##_functions[] = {             \
        DEVID_DISPATCH(ENCODER, enc, NEWCTX, newctx),                          \
        DEVID_DISPATCH(ENCODER, enc, FREECTX, freectx),                        \
        DEVID_DISPATCH(ENCODER, enc, DOES_SELECTION, selects),                 \
        DEVID_DISPATCH(ENCODER, enc, ENCODE, which##_encode),                  \
        OSSL_DISPATCH_END                                                      \
    }

DEVID_ENC_TABLE(pem, does_selection);
DEVID_ENC_TABLE(der, does_selection);
DEVID_ENC_TABLE(text, text_does_selection);

/* PEM_write_bio_PrivateKey asks for PrivateKeyInfo, i2d_PrivateKey for
 * type-specific first; "devid-ref" names our format for callers that want
 * exactly it. DER PrivateKeyInfo is left out on purpose: EVP_PKEY2PKCS8
 * parses what it gets as PKCS#8, so a reference there would be garbage; it
 * fails instead on the private export (DEVID_R_PRIVATE_EXPORT). */
const OSSL_ALGORITHM devid_encoders[] = {
    { "EC", DEVID_PROPS ",output=pem,structure=PrivateKeyInfo",
      devid_enc_pem_functions, NULL },
    { "EC", DEVID_PROPS ",output=pem,structure=devid-ref",
      devid_enc_pem_functions, NULL },
    { "EC", DEVID_PROPS ",output=der,structure=type-specific",
      devid_enc_der_functions, NULL },
    { "EC", DEVID_PROPS ",output=der,structure=devid-ref",
      devid_enc_der_functions, NULL },
    { "EC", DEVID_PROPS ",output=text", devid_enc_text_functions, NULL },
    { "RSA", DEVID_PROPS ",output=pem,structure=PrivateKeyInfo",
      devid_enc_pem_functions, NULL },
    { "RSA", DEVID_PROPS ",output=pem,structure=devid-ref",
      devid_enc_pem_functions, NULL },
    { "RSA", DEVID_PROPS ",output=der,structure=type-specific",
      devid_enc_der_functions, NULL },
    { "RSA", DEVID_PROPS ",output=der,structure=devid-ref",
      devid_enc_der_functions, NULL },
    { "RSA", DEVID_PROPS ",output=text", devid_enc_text_functions, NULL },
    { "RSA-PSS", DEVID_PROPS ",output=pem,structure=PrivateKeyInfo",
      devid_enc_pem_functions, NULL },
    { "RSA-PSS", DEVID_PROPS ",output=pem,structure=devid-ref",
      devid_enc_pem_functions, NULL },
    { "RSA-PSS", DEVID_PROPS ",output=der,structure=type-specific",
      devid_enc_der_functions, NULL },
    { "RSA-PSS", DEVID_PROPS ",output=der,structure=devid-ref",
      devid_enc_der_functions, NULL },
    { "RSA-PSS", DEVID_PROPS ",output=text", devid_enc_text_functions, NULL },
    { "ED25519", DEVID_PROPS ",output=pem,structure=PrivateKeyInfo",
      devid_enc_pem_functions, NULL },
    { "ED25519", DEVID_PROPS ",output=pem,structure=devid-ref",
      devid_enc_pem_functions, NULL },
    { "ED25519", DEVID_PROPS ",output=der,structure=type-specific",
      devid_enc_der_functions, NULL },
    { "ED25519", DEVID_PROPS ",output=der,structure=devid-ref",
      devid_enc_der_functions, NULL },
    { "ED25519", DEVID_PROPS ",output=text", devid_enc_text_functions, NULL },
    { "ED448", DEVID_PROPS ",output=pem,structure=PrivateKeyInfo",
      devid_enc_pem_functions, NULL },
    { "ED448", DEVID_PROPS ",output=pem,structure=devid-ref",
      devid_enc_pem_functions, NULL },
    { "ED448", DEVID_PROPS ",output=der,structure=type-specific",
      devid_enc_der_functions, NULL },
    { "ED448", DEVID_PROPS ",output=der,structure=devid-ref",
      devid_enc_der_functions, NULL },
    { "ED448", DEVID_PROPS ",output=text", devid_enc_text_functions, NULL },
    { NULL, NULL, NULL, NULL }
};
