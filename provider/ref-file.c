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
#include "provider/prov.h"
#include "provider/ref-file.h"

/* DER length octets (X.690 §8.1.3), definite form. */
static size_t devid_der_len_octets(size_t len, unsigned char *out)
{
    size_t n = 0;
    size_t i;

    if (len < 128) {
        if (out != NULL) {
            out[0] = (unsigned char)len;
        }
        return 1;
    }
    for (i = len; i > 0; i >>= 8) {
        n++;
    }
    if (out != NULL) {
        out[0] = (unsigned char)(0x80 | n);
        for (i = 0; i < n; i++) {
            out[1 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
        }
    }
    return 1 + n;
}

static size_t devid_der_put(unsigned char *out, int tag,
                            const unsigned char *v, size_t len)
{
    size_t n = 1;

    out[0] = (unsigned char)tag;
    n += devid_der_len_octets(len, out + 1);
    memcpy(out + n, v, len);
    return n + len;
}

int devid_ref_pk11_encode(const char *uri, unsigned char **der, size_t *len)
{
    size_t desc_len = strlen(DEVID_PK11_URI_DESC);
    size_t uri_len = strlen(uri);
    size_t body = 1 + devid_der_len_octets(desc_len, NULL) + desc_len
                  + 1 + devid_der_len_octets(uri_len, NULL) + uri_len;
    size_t total = 1 + devid_der_len_octets(body, NULL) + body;
    unsigned char *buf = OPENSSL_malloc(total);
    size_t n;

    if (buf == NULL) {
        return 0;
    }
    buf[0] = V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED;
    n = 1 + devid_der_len_octets(body, buf + 1);
    n += devid_der_put(buf + n, V_ASN1_VISIBLESTRING,
                       (const unsigned char *)DEVID_PK11_URI_DESC, desc_len);
    n += devid_der_put(buf + n, V_ASN1_UTF8STRING, (const unsigned char *)uri,
                       uri_len);
    *der = buf;
    *len = n;
    return 1;
}

/* Reads one primitive TLV of the given tag; advances *p. */
static int devid_der_get(const unsigned char **p, long *left, int want_tag,
                         const unsigned char **val, long *vlen)
{
    const unsigned char *q = *p;
    int tag = 0;
    int xclass = 0;
    int r = ASN1_get_object(&q, vlen, &tag, &xclass, *left);

    if ((r & 0x80) != 0 || tag != want_tag || xclass != V_ASN1_UNIVERSAL) {
        return 0;
    }
    *val = q;
    *left -= (long)(q - *p) + *vlen;
    *p = q + *vlen;
    return 1;
}

char *devid_ref_pk11_decode(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    const unsigned char *seq = NULL;
    const unsigned char *v = NULL;
    long left = (long)len;
    long seqlen = 0;
    long vlen = 0;
    int tag = 0;
    int xclass = 0;
    int r;

    r = ASN1_get_object(&p, &seqlen, &tag, &xclass, left);
    if ((r & 0x80) != 0 || tag != V_ASN1_SEQUENCE
        || (r & V_ASN1_CONSTRUCTED) == 0 || (long)(p - der) + seqlen != left) {
        return NULL;
    }
    seq = p;
    left = seqlen;
    if (!devid_der_get(&seq, &left, V_ASN1_VISIBLESTRING, &v, &vlen)
        || (size_t)vlen != strlen(DEVID_PK11_URI_DESC)
        || memcmp(v, DEVID_PK11_URI_DESC, (size_t)vlen) != 0) {
        return NULL;
    }
    if (!devid_der_get(&seq, &left, V_ASN1_UTF8STRING, &v, &vlen)
        || left != 0 || vlen <= 0 || memchr(v, '\0', (size_t)vlen) != NULL) {
        return NULL;
    }
    return OPENSSL_strndup((const char *)v, (size_t)vlen);
}

char *devid_ref_pem_for_key(struct devid_key *key)
{
    const char *label = DEVID_PEM_PK11_URI;
    unsigned char *der = NULL;
    size_t der_len = 0;
    BIO *mem = NULL;
    BUF_MEM *bm = NULL;
    char *out = NULL;

    if (key->ops != NULL && key->ops->encode_ref != NULL) {
        if (!key->ops->encode_ref(key, &label, &der, &der_len)) {
            goto end;
        }
    } else if (key->uri == NULL || !devid_ref_pk11_encode(key->uri, &der,
                                                          &der_len)) {
        DEVID_RAISE(key->prov, DEVID_R_INTERNAL, "key has no name to refer to");
        goto end;
    }
    mem = BIO_new(BIO_s_mem());
    if (mem == NULL
        || PEM_write_bio(mem, label, "", der, (long)der_len) <= 0) {
        goto end;
    }
    BIO_get_mem_ptr(mem, &bm);
    out = OPENSSL_strndup(bm->data, bm->length);
end:
    BIO_free(mem);
    OPENSSL_free(der);
    return out;
}

static int devid_ref_open_uri(struct devid_prov *prov, const char *uri,
                              const struct devid_pin_cb *pin,
                              struct devid_key **out);

int devid_ref_open(struct devid_prov *prov, const char *label,
                   const unsigned char *der, size_t len,
                   const struct devid_pin_cb *pin, struct devid_key **out)
{
    const struct devid_backend_ops *tpm = NULL;
    char *uri = NULL;
    int ret = 0;

    *out = NULL;
    if (label == NULL || strcmp(label, DEVID_PEM_PK11_URI) == 0) {
        uri = devid_ref_pk11_decode(der, len);
        if (uri != NULL) {
            ret = devid_ref_open_uri(prov, uri, pin, out);
            OPENSSL_free(uri);
            return ret;
        }
        if (label != NULL) {
            DEVID_RAISE(prov, DEVID_R_BAD_KEY_FILE,
                        "not a valid " DEVID_PEM_PK11_URI " body");
            return 0;
        }
    }
#ifdef DEVID_HAVE_TPM2
    tpm = &devid_tpm2_backend;
#endif
    if (label != NULL && strcmp(label, DEVID_PEM_TSS2) != 0) {
        return 1;                   /* some other PEM: not ours */
    }
    if (tpm == NULL || tpm->decode_ref == NULL) {
        if (label != NULL) {
            DEVID_RAISE(prov, DEVID_R_NOT_SUPPORTED,
                        "TSS2 key files need the TPM backend");
            return 0;
        }
        return 1;
    }
    if (!tpm->decode_ref(prov, der, len, pin, out)) {
        return 0;
    }
    if (*out == NULL && label != NULL) {
        DEVID_RAISE(prov, DEVID_R_BAD_KEY_FILE,
                    "not a valid " DEVID_PEM_TSS2 " body");
        return 0;
    }
    return 1;
}

struct devid_ref_first {
    struct devid_key *key;
};

static int devid_ref_take_first(const struct devid_object *obj, void *arg)
{
    struct devid_ref_first *first = arg;

    if (obj->cls == DEVID_OBJ_PRIVKEY && first->key == NULL) {
        first->key = devid_key_up_ref(obj->key);
        return 0;
    }
    return 1;
}

static int devid_ref_open_uri(struct devid_prov *prov, const char *uri,
                              const struct devid_pin_cb *pin,
                              struct devid_key **out)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(uri);
    struct devid_ref_first first = { NULL };
    char *shown = NULL;

    if (ops == NULL || ops->search == NULL) {
        shown = devid_name_redact(uri);
        DEVID_RAISE(prov, DEVID_R_NO_BACKEND, "%s",
                    shown != NULL ? shown : "reference");
        OPENSSL_free(shown);
        return 0;
    }
    if (!ops->search(prov, uri, DEVID_OBJ_PRIVKEY, pin, devid_ref_take_first,
                     &first)) {
        return 0;
    }
    if (first.key == NULL) {
        shown = devid_name_redact(uri);
        DEVID_RAISE(prov, DEVID_R_NO_OBJECT, "no private key matches %s",
                    shown != NULL ? shown : "the reference");
        OPENSSL_free(shown);
        return 0;
    }
    *out = first.key;
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
