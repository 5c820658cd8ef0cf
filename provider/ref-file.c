/* SPDX-License-Identifier: Apache-2.0 */
/* Reading and writing reference files (see ref-file.h). */
#include "config.h"

#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <time.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/name-ref.h"
#include "provider/prov.h"
#include "provider/ref-file.h"

int devid_ref_der_for_key(struct devid_key *key, const char **pem_label,
                          unsigned char **der, size_t *der_len)
{
    const char *label = NULL;

    *der = NULL;
    *der_len = 0;
    if (key->ops == NULL || key->ops->encode_ref == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_NOT_SUPPORTED,
                    "the %s backend writes no reference files",
                    key->ops != NULL ? key->ops->name : "key's");
        return 0;
    }
    if (!key->ops->encode_ref(key, &label, der, der_len)) {
        return 0;
    }
    if (pem_label != NULL) {
        *pem_label = label;
    }
    return 1;
}

char *devid_ref_pem_for_key(struct devid_key *key)
{
    const char *label = NULL;
    unsigned char *der = NULL;
    size_t der_len = 0;
    BIO *mem = NULL;
    BUF_MEM *bm = NULL;
    char *out = NULL;

    if (!devid_ref_der_for_key(key, &label, &der, &der_len)) {
        goto end;
    }
    mem = BIO_new(BIO_s_mem());
    if (mem == NULL
        || PEM_write_bio(mem, label, "", der, (long)der_len) <= 0) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "reference file text");
        goto end;
    }
    BIO_get_mem_ptr(mem, &bm);
    out = OPENSSL_strndup(bm->data, bm->length);
end:
    BIO_free(mem);
    OPENSSL_free(der);
    return out;
}

int devid_ref_is_ours(const char *label)
{
    return devid_backend_for_ref_label(label) != NULL;
}

/* A body with a PEM label goes to the backend that claims the label; a DER
 * body (no label) to each backend in registry order until one knows it. */
int devid_ref_open(struct devid_prov *prov, const char *label,
                   const unsigned char *der, size_t len,
                   const struct devid_pin_cb *pin, struct devid_key **out)
{
    const struct devid_backend_ops *ops;
    size_t i;

    *out = NULL;
    if (label != NULL) {
        ops = devid_backend_for_ref_label(label);
        if (ops == NULL || ops->decode_ref == NULL) {
            return 1; /* some other PEM: not ours */
        }
        if (!ops->decode_ref(prov, der, len, pin, out)) {
            return 0;
        }
        if (*out == NULL) {
            DEVID_RAISE(prov, DEVID_R_BAD_KEY_FILE, "not a valid %s body",
                        label);
            return 0;
        }
        return 1;
    }
    for (i = 0; (ops = devid_backend_at(i)) != NULL; i++) {
        if (ops->decode_ref == NULL) {
            continue;
        }
        if (!ops->decode_ref(prov, der, len, pin, out)) {
            return 0;
        }
        if (*out != NULL) {
            return 1;
        }
    }
    return 1;
}

/* How long a decoded reference stays cached: long enough for the decoders
 * of one load, short enough never to outlive a change of the token. */
#define DEVID_REF_CACHE_SECONDS 5

struct devid_ref_cache {
    unsigned char digest[32];       /* SHA-256 of label and body */
    time_t when;
    struct devid_key *key;
};

/* The cache is keyed by the body alone: the PEM step knows the label, the
 * DER step that follows does not, and both must find the same entry. */
static int devid_ref_digest(const unsigned char *der, size_t len,
                            unsigned char digest[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int dlen = 0;
    int ok;

    ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL)
         && EVP_DigestUpdate(md, der, len)
         && EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    return ok;
}

static struct devid_key *devid_ref_cache_get(struct devid_prov *prov,
                                             const unsigned char digest[32])
{
    struct devid_ref_cache *c;
    struct devid_key *key = NULL;

    if (!CRYPTO_THREAD_write_lock(prov->lock)) {
        return NULL;
    }
    c = prov->ref_cache;
    if (c != NULL && c->key != NULL && memcmp(c->digest, digest, 32) == 0
        && time(NULL) - c->when <= DEVID_REF_CACHE_SECONDS) {
        key = devid_key_up_ref(c->key);
    }
    CRYPTO_THREAD_unlock(prov->lock);
    return key;
}

static void devid_ref_cache_put(struct devid_prov *prov,
                                const unsigned char digest[32],
                                struct devid_key *key)
{
    struct devid_ref_cache *c;
    struct devid_key *old = NULL;

    if (!CRYPTO_THREAD_write_lock(prov->lock)) {
        return;
    }
    c = prov->ref_cache;
    if (c == NULL) {
        c = OPENSSL_zalloc(sizeof(*c));
        prov->ref_cache = c;
    }
    if (c != NULL) {
        old = c->key;
        memcpy(c->digest, digest, 32);
        c->when = time(NULL);
        c->key = devid_key_up_ref(key);
    }
    CRYPTO_THREAD_unlock(prov->lock);
    devid_key_free(old);
}

int devid_ref_open_cached(struct devid_prov *prov, const char *label,
                          const unsigned char *der, size_t len,
                          const struct devid_pin_cb *pin,
                          struct devid_key **out)
{
    unsigned char digest[32];

    if (!devid_ref_digest(der, len, digest)) {
        return devid_ref_open(prov, label, der, len, pin, out);
    }
    *out = devid_ref_cache_get(prov, digest);
    if (*out != NULL) {
        return 1;
    }
    if (!devid_ref_open(prov, label, der, len, pin, out)) {
        return 0;
    }
    if (*out != NULL) {
        devid_ref_cache_put(prov, digest, *out);
    }
    return 1;
}

int devid_ref_open_cert(struct devid_prov *prov, const unsigned char *der,
                        size_t len, const struct devid_pin_cb *pin,
                        unsigned char **cert, size_t *cert_len)
{
    char *name = devid_name_ref_decode(der, len);
    int ret;

    *cert = NULL;
    *cert_len = 0;
    if (name == NULL) {
        return 1; /* no name reference: nothing to say */
    }
    ret = devid_cert_open_name(prov, name, pin, cert, cert_len);
    OPENSSL_free(name);
    return ret;
}

void devid_ref_cache_free(struct devid_prov *prov)
{
    struct devid_ref_cache *c = prov->ref_cache;

    if (c == NULL) {
        return;
    }
    devid_key_free(c->key);
    OPENSSL_free(c);
    prov->ref_cache = NULL;
}
