/* SPDX-License-Identifier: Apache-2.0 */
/* A devid key's public half as an OpenSSL key (see pubkey-util.h). */
#include "config.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "tests/unit/pubkey-util.h"

EVP_PKEY *tpub_pkey(const struct devid_pubkey *pub)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    BIGNUM *n = NULL, *e = NULL;

    if (pub->type == DEVID_KEY_EC) {
        OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
                                        pub->group, 0);
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub->point,
                                         pub->point_len);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    } else {
        n = BN_bin2bn(pub->n, (int)pub->n_len, NULL);
        e = BN_bin2bn(pub->e, (int)pub->e_len, NULL);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n);
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    }
    params = OSSL_PARAM_BLD_to_param(b);
    if (ctx == NULL || params == NULL || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pk = NULL;
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    return pk;
}
