/* SPDX-License-Identifier: Apache-2.0 */
/* The backend-neutral part of a key object: reference counting and sizes. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

#include "common/err.h"
#include "provider/backend.h"
#include "provider/prov.h"
#include "provider/rsa-pad.h"

struct devid_key *devid_key_new(const struct devid_backend_ops *ops,
                                struct devid_prov *prov)
{
    struct devid_key *key = OPENSSL_zalloc(sizeof(*key));

    if (key == NULL) {
        return NULL;
    }
    key->ops = ops;
    key->prov = prov;
    key->refs = 1;
    return key;
}

struct devid_key *devid_key_up_ref(struct devid_key *key)
{
    if (key != NULL) {
        __atomic_add_fetch(&key->refs, 1, __ATOMIC_RELAXED);
    }
    return key;
}

const struct devid_gen_extra *
devid_gen_extra_get(const struct devid_gen_params *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->n_extra; i++) {
        if (strcmp(p->extra[i].name, name) == 0) {
            return &p->extra[i];
        }
    }
    return NULL;
}

int devid_key_rsa_pad_pss(const struct devid_key *key,
                          const struct devid_sign_params *p,
                          const unsigned char *tbs, size_t tbslen,
                          unsigned char *em)
{
    OSSL_LIB_CTX *libctx = NULL;

    return devid_prov_libctx(key->prov, &libctx)
           && devid_rsa_pad_pss(libctx, p->md_nid,
                                p->mgf1_nid != NID_undef ? p->mgf1_nid
                                                         : p->md_nid,
                                p->saltlen, key->pub.bits, tbs, tbslen, em);
}

const char *devid_key_type_name(const struct devid_key *key)
{
    const unsigned int other = DEVID_CAP_SIGN_PKCS1 | DEVID_CAP_SIGN_RAW_PKCS1
                               | DEVID_CAP_DECRYPT_PKCS1
                               | DEVID_CAP_DECRYPT_OAEP;

    switch (key->pub.type) {
    case DEVID_KEY_EC:
        return "EC";
    case DEVID_KEY_ED25519:
        return "ED25519";
    case DEVID_KEY_ED448:
        return "ED448";
    default:
        break;
    }
    if ((key->caps & DEVID_CAP_SIGN_PSS) != 0 && (key->caps & other) == 0) {
        return "RSA-PSS";
    }
    return "RSA";
}

int devid_key_type_is_eddsa(enum devid_key_type type)
{
    return type == DEVID_KEY_ED25519 || type == DEVID_KEY_ED448;
}

void devid_pubkey_clear(struct devid_pubkey *pub)
{
    if (pub == NULL) {
        return;
    }
    OPENSSL_free(pub->point);
    OPENSSL_free(pub->n);
    OPENSSL_free(pub->e);
    memset(pub, 0, sizeof(*pub));
}

void devid_key_free(struct devid_key *key)
{
    if (key == NULL) {
        return;
    }
    if (__atomic_sub_fetch(&key->refs, 1, __ATOMIC_ACQ_REL) > 0) {
        return;
    }
    if (key->ops != NULL && key->ops->key_free != NULL) {
        key->ops->key_free(key);
    }
    devid_pubkey_clear(&key->pub);
    OPENSSL_free(key->uri);
    OPENSSL_free(key->label);
    OPENSSL_clear_free(key, sizeof(*key));
}

size_t devid_key_max_sig_len(const struct devid_key *key)
{
    size_t half;

    if (key->pub.type == DEVID_KEY_RSA) {
        return ((size_t)key->pub.bits + 7) / 8;
    }
    /* RFC 8032 §5.1.6 and §5.2.6: R||S, twice the encoded key's size */
    if (key->pub.type == DEVID_KEY_ED25519) {
        return 64;
    }
    if (key->pub.type == DEVID_KEY_ED448) {
        return 114;
    }
    /* DER SEQUENCE of two INTEGERs, each possibly one byte longer than the
     * field for a sign byte; lengths over 127 take two bytes */
    half = ((size_t)key->pub.bits + 7) / 8 + 1;
    return 3 + 2 * (half + 3);
}

int devid_key_security_bits(const struct devid_key *key)
{
    int bits = key->pub.bits;

    if (key->pub.type == DEVID_KEY_ED25519) {
        return 128;
    }
    if (key->pub.type == DEVID_KEY_ED448) {
        return 224;
    }
    if (key->pub.type == DEVID_KEY_EC) {
        return bits >= 512 ? 256 : bits / 2;    /* as OpenSSL rates P-521 */
    }
    /* NIST SP 800-57 part 1, table 2 */
    if (bits >= 15360) {
        return 256;
    }
    if (bits >= 7680) {
        return 192;
    }
    if (bits >= 3072) {
        return 128;
    }
    if (bits >= 2048) {
        return 112;
    }
    if (bits >= 1024) {
        return 80;
    }
    return 0;
}
