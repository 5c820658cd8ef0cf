/* SPDX-License-Identifier: Apache-2.0 */
/* The parameters every key answers: OpenSSL and libssl ask for the group
 * name, sizes and default digest, and skip client authentication silently
 * with a key that cannot name its curve. */
#include "config.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "provider/provider.h"

static int devid_param_set_bn_bytes(OSSL_PARAM *p, const unsigned char *buf,
                                    size_t len)
{
    BIGNUM *bn = BN_bin2bn(buf, (int)len, NULL);
    int ret;

    if (bn == NULL) {
        return 0;
    }
    ret = OSSL_PARAM_set_BN(p, bn);
    BN_free(bn);
    return ret;
}

static int devid_key_get_ec_params(const struct devid_key *key,
                                   OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, key->pub.group)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PUB_KEY);
    if (p != NULL
        && !OSSL_PARAM_set_octet_string(p, key->pub.point, key->pub.point_len)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    if (p != NULL
        && !OSSL_PARAM_set_octet_string(p, key->pub.point, key->pub.point_len)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, "uncompressed")) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_EC_ENCODING);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, "named_curve")) {
        return 0;
    }
    return 1;
}

static int devid_key_get_rsa_params(const struct devid_key *key,
                                    OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_N);
    if (p != NULL && !devid_param_set_bn_bytes(p, key->pub.n, key->pub.n_len)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_E);
    if (p != NULL && !devid_param_set_bn_bytes(p, key->pub.e, key->pub.e_len)) {
        return 0;
    }
    return 1;
}

/* EdDSA hashes inside the signature scheme (RFC 8032 §5.1.6): no digest
 * may be chosen. An empty mandatory digest says so, as OpenSSL's own
 * EdDSA keys do, and libssl and EVP_DigestSignInit then pass none. */
static int devid_key_get_ed_params(const struct devid_key *key,
                                   OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MANDATORY_DIGEST);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, "")) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PUB_KEY);
    if (p != NULL
        && !OSSL_PARAM_set_octet_string(p, key->pub.point,
                                        key->pub.point_len)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    if (p != NULL
        && !OSSL_PARAM_set_octet_string(p, key->pub.point,
                                        key->pub.point_len)) {
        return 0;
    }
    return 1;
}

int devid_key_get_params(const struct devid_key *key, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, key->pub.bits)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, devid_key_security_bits(key))) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE);
    if (p != NULL && !OSSL_PARAM_set_int(p, (int)devid_key_max_sig_len(key))) {
        return 0;
    }
    if (devid_key_type_is_eddsa(key->pub.type)) {
        return devid_key_get_ed_params(key, params);
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, "SHA256")) {
        return 0;
    }
    if (key->pub.type == DEVID_KEY_EC) {
        return devid_key_get_ec_params(key, params);
    }
    return devid_key_get_rsa_params(key, params);
}
