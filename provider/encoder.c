/* SPDX-License-Identifier: Apache-2.0 */
/* Encoders that write a resident private key as its reference file, so
 * "openssl genpkey -out", "openssl pkey -out" and PEM_write_bio_PrivateKey
 * produce a file other programs can load. Public keys are encoded by the
 * default provider from our public export. */
#include "config.h"

#include <string.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "provider/implementations.h"
#include "provider/provider.h"
#include "provider/ref-file.h"

static OSSL_FUNC_encoder_newctx_fn devid_enc_newctx;
static OSSL_FUNC_encoder_freectx_fn devid_enc_freectx;
static OSSL_FUNC_encoder_does_selection_fn devid_enc_does_selection;
static OSSL_FUNC_encoder_encode_fn devid_enc_encode;

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

static int devid_enc_encode(void *ctx, OSSL_CORE_BIO *cout,
                            const void *obj_raw,
                            const OSSL_PARAM obj_abstract[], int selection,
                            OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    struct devid_prov *prov = ctx;
    struct devid_key *key = (struct devid_key *)obj_raw;
    BIO *out = NULL;
    char *pem = NULL;
    int ret = 0;

    if (key == NULL || key->ops == NULL || !key->has_private) {
        DEVID_RAISE(prov, DEVID_R_NOT_SUPPORTED,
                    "only resident private keys have a reference file");
        return 0;
    }
    pem = devid_ref_pem_for_key(key);
    out = BIO_new_from_core_bio(prov->libctx, cout);
    if (pem == NULL || out == NULL) {
        goto end;
    }
    ret = BIO_write(out, pem, (int)strlen(pem)) == (int)strlen(pem);
end:
    BIO_free(out);
    OPENSSL_free(pem);
    return ret;
}

static const OSSL_DISPATCH devid_enc_functions[] = {
    DEVID_DISPATCH(ENCODER, enc, NEWCTX, newctx),
    DEVID_DISPATCH(ENCODER, enc, FREECTX, freectx),
    DEVID_DISPATCH(ENCODER, enc, DOES_SELECTION, does_selection),
    DEVID_DISPATCH(ENCODER, enc, ENCODE, encode),
    OSSL_DISPATCH_END
};

/* PEM_write_bio_PrivateKey asks for PrivateKeyInfo; "devid-ref" names our
 * format for callers that want exactly it. */
const OSSL_ALGORITHM devid_encoders[] = {
    { "EC", DEVID_PROPS ",output=pem,structure=PrivateKeyInfo",
      devid_enc_functions, NULL },
    { "RSA", DEVID_PROPS ",output=pem,structure=PrivateKeyInfo",
      devid_enc_functions, NULL },
    { "EC", DEVID_PROPS ",output=pem,structure=devid-ref",
      devid_enc_functions, NULL },
    { "RSA", DEVID_PROPS ",output=pem,structure=devid-ref",
      devid_enc_functions, NULL },
    { NULL, NULL, NULL, NULL }
};
