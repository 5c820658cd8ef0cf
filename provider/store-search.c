/* SPDX-License-Identifier: Apache-2.0 */
/* The store's search criteria, checked in software (see store-search.h).
 * Names are compared as X509_NAME_cmp does (canonical form), not byte by
 * byte: tokens hold subjects written by many tools, with PrintableString
 * here and UTF8String there for the same name. */
#include "config.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include "common/err.h"
#include "provider/prov.h"
#include "provider/pubop.h"
#include "provider/store-search.h"

const OSSL_PARAM *devid_store_search_settable(void)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
        OSSL_PARAM_utf8_string(OSSL_STORE_PARAM_ALIAS, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_STORE_PARAM_SUBJECT, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_STORE_PARAM_ISSUER, NULL, 0),
        OSSL_PARAM_BN(OSSL_STORE_PARAM_SERIAL, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_STORE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_STORE_PARAM_FINGERPRINT, NULL, 0),
        OSSL_PARAM_END
    };

    return params;
}

/* A DER X509_NAME parameter into *name. */
static int devid_store_search_name(struct devid_prov *prov, const OSSL_PARAM *p,
                                   X509_NAME **name)
{
    const void *der = NULL;
    const unsigned char *q;
    size_t len = 0;

    if (!OSSL_PARAM_get_octet_string_ptr(p, &der, &len)) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM, "store search: %s", p->key);
        return 0;
    }
    q = der;
    X509_NAME_free(*name);
    *name = d2i_X509_NAME(NULL, &q, (long)len);
    if (*name == NULL) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                    "store search: %s is not a DER name", p->key);
        return 0;
    }
    return 1;
}

static int devid_store_search_serial(struct devid_prov *prov,
                                     const OSSL_PARAM *p,
                                     struct devid_store_search *s)
{
    BIGNUM *bn = NULL;
    int ok = OSSL_PARAM_get_BN(p, &bn);

    ASN1_INTEGER_free(s->serial);
    s->serial = ok ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    if (s->serial == NULL) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM, "store search: serial");
        return 0;
    }
    return 1;
}

static int devid_store_search_digest(struct devid_prov *prov,
                                     const OSSL_PARAM *p,
                                     struct devid_store_search *s)
{
    OSSL_LIB_CTX *libctx = NULL;
    const char *name = NULL;

    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM, "store search: digest");
        return 0;
    }
    if (!devid_prov_libctx(prov, &libctx)) {
        return 0;
    }
    EVP_MD_free(s->md);
    s->md = EVP_MD_fetch(libctx, name, NULL);
    if (s->md == NULL) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                    "store search: unknown digest '%s' for a fingerprint",
                    name);
        return 0;
    }
    return 1;
}

static int devid_store_search_fp(struct devid_prov *prov, const OSSL_PARAM *p,
                                 struct devid_store_search *s)
{
    OPENSSL_free(s->fp);
    s->fp = NULL;
    s->fp_len = 0;
    if (!OSSL_PARAM_get_octet_string(p, (void **)&s->fp, 0, &s->fp_len)) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM, "store search: fingerprint");
        return 0;
    }
    return 1;
}

/* Criteria that cannot be honoured as given are refused, never dropped. */
static int devid_store_search_check(struct devid_prov *prov,
                                    const struct devid_store_search *s)
{
    if ((s->issuer == NULL) != (s->serial == NULL)) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                    "store search: an issuer goes with a serial number");
        return 0;
    }
    if (s->fp != NULL && s->md == NULL) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                    "store search: a fingerprint needs its digest");
        return 0;
    }
    if (s->fp != NULL && (int)s->fp_len != EVP_MD_get_size(s->md)) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                    "store search: a %s fingerprint has %d bytes, not %zu",
                    EVP_MD_get0_name(s->md), EVP_MD_get_size(s->md), s->fp_len);
        return 0;
    }
    return 1;
}

int devid_store_search_set(struct devid_prov *prov,
                           struct devid_store_search *s,
                           const OSSL_PARAM params[])
{
    const OSSL_PARAM *p;
    const char *alias = NULL;

    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ALIAS);
    if (p != NULL) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &alias)) {
            DEVID_RAISE(prov, DEVID_R_INVALID_PARAM, "store search: alias");
            return 0;
        }
        OPENSSL_free(s->alias);
        s->alias = OPENSSL_strdup(alias);
        if (s->alias == NULL) {
            DEVID_RAISE(prov, DEVID_R_MALLOC, "store search");
            return 0;
        }
    }
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_SUBJECT);
    if (p != NULL && !devid_store_search_name(prov, p, &s->subject)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ISSUER);
    if (p != NULL && !devid_store_search_name(prov, p, &s->issuer)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_SERIAL);
    if (p != NULL && !devid_store_search_serial(prov, p, s)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_DIGEST);
    if (p != NULL && !devid_store_search_digest(prov, p, s)) {
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_FINGERPRINT);
    if (p != NULL && !devid_store_search_fp(prov, p, s)) {
        return 0;
    }
    return devid_store_search_check(prov, s);
}

int devid_store_search_any(const struct devid_store_search *s)
{
    return s->alias != NULL || s->subject != NULL || s->issuer != NULL
           || s->fp != NULL;
}

unsigned int devid_store_search_want(const struct devid_store_search *s,
                                     unsigned int want)
{
    if (s->subject != NULL && want != DEVID_OBJ_ANY) {
        return want | DEVID_OBJ_CERT;
    }
    return want;
}

/* 1 when md over der gives the fingerprint. */
static int devid_store_search_fp_of(const struct devid_store_search *s,
                                    const unsigned char *der, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    return der != NULL && EVP_Digest(der, len, md, &mdlen, s->md, NULL)
           && mdlen == s->fp_len && CRYPTO_memcmp(md, s->fp, mdlen) == 0;
}

/* A certificate: its subject, issuer and serial, and its fingerprint (of
 * the whole certificate, as "x509 -fingerprint" prints it, or of its
 * public key). */
static int devid_store_search_cert(const struct devid_store_search *s,
                                   const struct devid_store_item *item, X509 *x)
{
    unsigned char *spki = NULL;
    int len;
    int ok;

    if (s->subject != NULL
        && X509_NAME_cmp(X509_get_subject_name(x), s->subject) != 0) {
        return 0;
    }
    if (s->issuer != NULL
        && (X509_NAME_cmp(X509_get_issuer_name(x), s->issuer) != 0
            || ASN1_INTEGER_cmp(X509_get0_serialNumber(x), s->serial) != 0)) {
        return 0;
    }
    if (s->fp == NULL
        || devid_store_search_fp_of(s, item->der, item->der_len)) {
        return 1;
    }
    len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    ok = len > 0 && devid_store_search_fp_of(s, spki, (size_t)len);
    OPENSSL_free(spki);
    return ok;
}

/* A key: its fingerprint is that of its SubjectPublicKeyInfo; it has a
 * subject when one of the certificates found (certs[], those with the
 * subject) holds its public key. Never an issuer and serial. */
static int devid_store_search_key(const struct devid_store_search *s,
                                  const struct devid_store_item *item,
                                  X509 *const *certs, size_t ncerts)
{
    EVP_PKEY *pub = NULL;
    unsigned char *spki = NULL;
    int len = 0;
    int ok = s->issuer == NULL;
    size_t i;

    if (ok && (s->fp != NULL || s->subject != NULL)) {
        ERR_set_mark();
        pub = devid_key_public_pkey(item->key);
        ERR_pop_to_mark();
        ok = pub != NULL;
    }
    if (ok && s->fp != NULL) {
        len = i2d_PUBKEY(pub, &spki);
        ok = len > 0 && devid_store_search_fp_of(s, spki, (size_t)len);
    }
    if (ok && s->subject != NULL) {
        ok = 0;
        for (i = 0; i < ncerts && !ok; i++) {
            ok = certs[i] != NULL
                 && X509_NAME_cmp(X509_get_subject_name(certs[i]), s->subject)
                        == 0
                 && EVP_PKEY_eq(X509_get0_pubkey(certs[i]), pub) == 1;
        }
    }
    OPENSSL_free(spki);
    EVP_PKEY_free(pub);
    return ok;
}

static int devid_store_search_label(const struct devid_store_search *s,
                                    const struct devid_store_item *item)
{
    return s->alias == NULL
           || (item->label != NULL && strcmp(item->label, s->alias) == 0);
}

int devid_store_search_filter(struct devid_prov *prov,
                              const struct devid_store_search *s,
                              unsigned int want, struct devid_store_item *items,
                              size_t n, size_t *kept)
{
    X509 **certs = OPENSSL_zalloc((n > 0 ? n : 1) * sizeof(*certs));
    const unsigned char *p;
    size_t i;
    int keep;

    *kept = n;
    if (certs == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "store search");
        return 0;
    }
    *kept = 0;
    for (i = 0; i < n; i++) {
        if (items[i].cls == DEVID_OBJ_CERT) {
            p = items[i].der;
            certs[i] = d2i_X509(NULL, &p, (long)items[i].der_len);
        }
    }
    for (i = 0; i < n; i++) {
        keep = (want == 0 || (items[i].cls & want) != 0)
               && devid_store_search_label(s, &items[i]);
        if (keep && items[i].cls == DEVID_OBJ_CERT) {
            keep = certs[i] != NULL
                   && devid_store_search_cert(s, &items[i], certs[i]);
        } else if (keep) {
            keep = devid_store_search_key(s, &items[i], certs, n);
        }
        if (!keep) {
            devid_store_item_clear(&items[i]);
        } else if (*kept != i) {
            items[*kept] = items[i];
            memset(&items[i], 0, sizeof(items[i]));
        }
        *kept += keep ? 1 : 0;
    }
    for (i = 0; i < n; i++) {
        X509_free(certs[i]);
    }
    OPENSSL_free(certs);
    return 1;
}

void devid_store_item_clear(struct devid_store_item *item)
{
    devid_key_free(item->key);
    OPENSSL_free(item->der);
    OPENSSL_free(item->label);
    memset(item, 0, sizeof(*item));
}

void devid_store_search_clear(struct devid_store_search *s)
{
    OPENSSL_free(s->alias);
    X509_NAME_free(s->subject);
    X509_NAME_free(s->issuer);
    ASN1_INTEGER_free(s->serial);
    EVP_MD_free(s->md);
    OPENSSL_free(s->fp);
    memset(s, 0, sizeof(*s));
}
