/* SPDX-License-Identifier: Apache-2.0 */
/* The objects of an identity token and their attributes (PKCS #11 v2.40
 * §4): the private key (sensitive, never extractable), its public key, the
 * leaf certificate with the same CKA_ID and label, the chain's CA
 * certificates, and the secrets C_DeriveKey made in a session. */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11module/p11module.h"

/* How one attribute's value is given back: a pointer and a length, or
 * sensitive (v2.40 §5.7.5 C_GetAttributeValue rules). */
struct devid_p11m_val {
    const void *p;
    size_t len;
    int sensitive;
    unsigned char buf[16]; /* CK_ULONG and CK_BBOOL values */
    unsigned char *owned;  /* freed after the copy */
};

static void devid_p11m_ulong(struct devid_p11m_val *v, CK_ULONG u)
{
    memcpy(v->buf, &u, sizeof(u));
    v->p = v->buf;
    v->len = sizeof(u);
}

static void devid_p11m_bool(struct devid_p11m_val *v, int b)
{
    v->buf[0] = b ? CK_TRUE : CK_FALSE;
    v->p = v->buf;
    v->len = 1;
}

/* Attributes every object of the token has (v2.40 §4.4). */
static int devid_p11m_attr_storage(struct devid_p11m_val *v,
                                   CK_ATTRIBUTE_TYPE type, CK_ULONG cls,
                                   const char *label, int private)
{
    switch (type) {
    case CKA_CLASS:
        devid_p11m_ulong(v, cls);
        return 1;
    case CKA_TOKEN:
        devid_p11m_bool(v, cls != CKO_SECRET_KEY);
        return 1;
    case CKA_PRIVATE:
        devid_p11m_bool(v, private);
        return 1;
    case CKA_MODIFIABLE:
    case CKA_COPYABLE:
    case CKA_DESTROYABLE:
        devid_p11m_bool(v, 0);
        return 1;
    case CKA_LABEL:
        v->p = label;
        v->len = strlen(label);
        return 1;
    default:
        return 0;
    }
}

static int devid_p11m_attr_cert(struct devid_p11m_val *v,
                                const struct devid_p11m_ident *id, size_t i,
                                CK_ATTRIBUTE_TYPE type)
{
    const struct devid_p11m_cert *c = &id->certs[i];

    switch (type) {
    case CKA_CERTIFICATE_TYPE:
        devid_p11m_ulong(v, CKC_X_509);
        return 1;
    case CKA_CERTIFICATE_CATEGORY:
        /* v2.40 §4.6.2: 1 token user, 2 authority */
        devid_p11m_ulong(v, i == 0 ? 1 : 2);
        return 1;
    case CKA_TRUSTED:
        devid_p11m_bool(v, 0);
        return 1;
    case CKA_ID:
        v->p = i == 0 ? id->certs[0].id : c->id;
        v->len = sizeof(c->id);
        return 1;
    case CKA_VALUE:
        v->p = c->der;
        v->len = c->der_len;
        return 1;
    case CKA_SUBJECT:
        v->p = c->subject;
        v->len = c->subject_len;
        return 1;
    case CKA_ISSUER:
        v->p = c->issuer;
        v->len = c->issuer_len;
        return 1;
    case CKA_SERIAL_NUMBER:
        v->p = c->serial;
        v->len = c->serial_len;
        return 1;
    case CKA_START_DATE:
    case CKA_END_DATE:
    case CKA_URL:
    case CKA_HASH_OF_SUBJECT_PUBLIC_KEY:
    case CKA_HASH_OF_ISSUER_PUBLIC_KEY:
        v->len = 0;
        return 1;
    case CKA_JAVA_MIDP_SECURITY_DOMAIN:
        devid_p11m_ulong(v, 0);
        return 1;
    default:
        return 0;
    }
}

/* CKA_EC_PARAMS: the named curve's OID (v2.40 §2.3.3). */
static int devid_p11m_ec_params(struct devid_p11m_val *v, EVP_PKEY *pk)
{
    char group[64];
    ASN1_OBJECT *obj;
    int n;

    if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), NULL)) {
        return 0;
    }
    obj = OBJ_txt2obj(group, 0);
    n = obj != NULL ? i2d_ASN1_OBJECT(obj, &v->owned) : 0;
    ASN1_OBJECT_free(obj);
    v->p = v->owned;
    v->len = n > 0 ? (size_t)n : 0;
    return n > 0;
}

/* CKA_EC_POINT: DER OCTET STRING of the uncompressed point (v2.40 §2.3.3) */
static int devid_p11m_ec_point(struct devid_p11m_val *v, EVP_PKEY *pk)
{
    unsigned char point[256];
    size_t len = 0;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    int n = 0;

    if (os != NULL
        && EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, point,
                                           sizeof(point), &len)
        && ASN1_OCTET_STRING_set(os, point, (int)len)) {
        n = i2d_ASN1_OCTET_STRING(os, &v->owned);
    }
    ASN1_OCTET_STRING_free(os);
    v->p = v->owned;
    v->len = n > 0 ? (size_t)n : 0;
    return n > 0;
}

static int devid_p11m_rsa_bn(struct devid_p11m_val *v, EVP_PKEY *pk,
                             const char *name)
{
    BIGNUM *bn = NULL;
    int n;

    if (!EVP_PKEY_get_bn_param(pk, name, &bn)) {
        return 0;
    }
    n = BN_num_bytes(bn);
    v->owned = OPENSSL_malloc(n > 0 ? (size_t)n : 1);
    if (v->owned != NULL) {
        BN_bn2bin(bn, v->owned);
    }
    BN_free(bn);
    v->p = v->owned;
    v->len = (size_t)n;
    return v->owned != NULL;
}

/* Attributes of both key objects, from the leaf's public key. */
static int devid_p11m_attr_key(struct devid_p11m_val *v,
                               const struct devid_p11m_ident *id,
                               CK_ATTRIBUTE_TYPE type)
{
    int is_ec = EVP_PKEY_is_a(id->pub, "EC");

    switch (type) {
    case CKA_KEY_TYPE:
        devid_p11m_ulong(v, is_ec ? CKK_EC : CKK_RSA);
        return 1;
    case CKA_ID:
        v->p = id->certs[0].id;
        v->len = sizeof(id->certs[0].id);
        return 1;
    case CKA_SUBJECT:
        v->p = id->certs[0].subject;
        v->len = id->certs[0].subject_len;
        return 1;
    case CKA_LOCAL:
    case CKA_WRAP:
    case CKA_UNWRAP:
    case CKA_SIGN_RECOVER:
    case CKA_VERIFY_RECOVER:
        devid_p11m_bool(v, 0);
        return 1;
    case CKA_START_DATE:
    case CKA_END_DATE:
        v->len = 0;
        return 1;
    case CKA_KEY_GEN_MECHANISM:
        devid_p11m_ulong(v, CK_UNAVAILABLE_INFORMATION);
        return 1;
    case CKA_PUBLIC_KEY_INFO: {
        int n = i2d_PUBKEY(id->pub, &v->owned);

        v->p = v->owned;
        v->len = n > 0 ? (size_t)n : 0;
        return n > 0;
    }
    case CKA_EC_PARAMS:
        return is_ec && devid_p11m_ec_params(v, id->pub);
    case CKA_EC_POINT:
        return is_ec && devid_p11m_ec_point(v, id->pub);
    case CKA_MODULUS:
        return !is_ec && devid_p11m_rsa_bn(v, id->pub, OSSL_PKEY_PARAM_RSA_N);
    case CKA_PUBLIC_EXPONENT:
        return !is_ec && devid_p11m_rsa_bn(v, id->pub, OSSL_PKEY_PARAM_RSA_E);
    case CKA_MODULUS_BITS:
        if (is_ec) {
            return 0;
        }
        devid_p11m_ulong(v, (CK_ULONG)EVP_PKEY_get_bits(id->pub));
        return 1;
    default:
        return 0;
    }
}

static int devid_p11m_attr_priv(struct devid_p11m_val *v,
                                const struct devid_p11m_ident *id,
                                CK_ATTRIBUTE_TYPE type)
{
    unsigned int caps = id->key != NULL ? id->key->caps : 0;

    switch (type) {
    case CKA_SENSITIVE:
    case CKA_ALWAYS_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE:
        devid_p11m_bool(v, 1);
        return 1;
    case CKA_EXTRACTABLE:
    case CKA_ALWAYS_AUTHENTICATE:
    case CKA_WRAP_WITH_TRUSTED:
        devid_p11m_bool(v, 0);
        return 1;
    case CKA_SIGN:
        devid_p11m_bool(v, (caps
                            & (DEVID_CAP_SIGN_ECDSA | DEVID_CAP_SIGN_PKCS1
                               | DEVID_CAP_SIGN_PSS))
                               != 0);
        return 1;
    case CKA_DECRYPT:
        devid_p11m_bool(v,
                        (caps
                         & (DEVID_CAP_DECRYPT_PKCS1 | DEVID_CAP_DECRYPT_OAEP
                            | DEVID_CAP_DECRYPT_RAW))
                            != 0);
        return 1;
    case CKA_DERIVE:
        devid_p11m_bool(v, (caps & DEVID_CAP_DERIVE_ECDH) != 0);
        return 1;
    case CKA_VALUE:
    case CKA_PRIVATE_EXPONENT:
    case CKA_PRIME_1:
    case CKA_PRIME_2:
    case CKA_EXPONENT_1:
    case CKA_EXPONENT_2:
    case CKA_COEFFICIENT:
        v->sensitive = 1;
        return 1;
    case CKA_EC_POINT:
        return 0; /* a public key attribute only */
    default:
        return devid_p11m_attr_key(v, id, type);
    }
}

static int devid_p11m_attr_pub(struct devid_p11m_val *v,
                               const struct devid_p11m_ident *id,
                               CK_ATTRIBUTE_TYPE type)
{
    int is_rsa = !EVP_PKEY_is_a(id->pub, "EC");

    switch (type) {
    case CKA_VERIFY:
        devid_p11m_bool(v, 1);
        return 1;
    case CKA_ENCRYPT:
        devid_p11m_bool(v, is_rsa);
        return 1;
    case CKA_DERIVE:
    case CKA_TRUSTED:
        devid_p11m_bool(v, 0);
        return 1;
    default:
        return devid_p11m_attr_key(v, id, type);
    }
}

static struct devid_p11m_secret *
devid_p11m_secret_find(struct devid_p11m_session *s, CK_OBJECT_HANDLE h)
{
    struct devid_p11m_secret *k;

    for (k = s->secrets; k != NULL; k = k->next) {
        if (k->handle == h) {
            return k;
        }
    }
    return NULL;
}

static int devid_p11m_attr_secret(struct devid_p11m_val *v,
                                  const struct devid_p11m_secret *k,
                                  CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_KEY_TYPE:
        devid_p11m_ulong(v, CKK_GENERIC_SECRET);
        return 1;
    case CKA_VALUE:
        v->p = k->value;
        v->len = k->len;
        return 1;
    case CKA_VALUE_LEN:
        devid_p11m_ulong(v, (CK_ULONG)k->len);
        return 1;
    case CKA_SENSITIVE:
    case CKA_ALWAYS_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE:
    case CKA_LOCAL:
        devid_p11m_bool(v, 0);
        return 1;
    case CKA_EXTRACTABLE:
    case CKA_DERIVE:
        devid_p11m_bool(v, 1);
        return 1;
    default:
        return 0;
    }
}

int devid_p11m_object_valid(struct devid_p11m_session *s,
                            struct devid_p11m_token *t, CK_OBJECT_HANDLE h)
{
    struct devid_p11m_ident *id = s->ident;
    unsigned long idx = h & 0xffu;

    if ((h & DEVID_P11M_OBJ_SECRET) != 0) {
        return devid_p11m_secret_find(s, h) != NULL;
    }
    if ((h >> 8) != id->gen || idx < DEVID_P11M_OBJ_PRIV
        || idx >= DEVID_P11M_OBJ_CERT + id->ncerts) {
        return 0;
    }
    if (idx == DEVID_P11M_OBJ_PRIV) {
        /* a private object is visible only when logged in (v2.40 §4.4),
         * and only when the key opens */
        return devid_p11m_ident_key(t, id) == CKR_OK;
    }
    return 1;
}

/* Fills v with attribute type of object h; 0 when the object has none. */
static int devid_p11m_attr(struct devid_p11m_session *s, CK_OBJECT_HANDLE h,
                           CK_ATTRIBUTE_TYPE type, struct devid_p11m_val *v)
{
    const struct devid_p11m_ident *id = s->ident;
    unsigned long idx = h & 0xffu;

    if ((h & DEVID_P11M_OBJ_SECRET) != 0) {
        const struct devid_p11m_secret *k = devid_p11m_secret_find(s, h);

        return devid_p11m_attr_storage(v, type, CKO_SECRET_KEY, "ecdh", 0)
               || devid_p11m_attr_secret(v, k, type);
    }
    if (idx == DEVID_P11M_OBJ_PRIV) {
        return devid_p11m_attr_storage(v, type, CKO_PRIVATE_KEY,
                                       DEVID_P11M_KEY_LABEL, id->login_needed)
               || devid_p11m_attr_priv(v, id, type);
    }
    if (idx == DEVID_P11M_OBJ_PUB) {
        return devid_p11m_attr_storage(v, type, CKO_PUBLIC_KEY,
                                       DEVID_P11M_KEY_LABEL, 0)
               || devid_p11m_attr_pub(v, id, type);
    }
    idx -= DEVID_P11M_OBJ_CERT;
    return devid_p11m_attr_storage(v, type, CKO_CERTIFICATE,
                                   id->certs[idx].label, 0)
           || devid_p11m_attr_cert(v, id, idx, type);
}

CK_RV devid_p11m_get_attrs(struct devid_p11m_session *s,
                           struct devid_p11m_token *t, CK_OBJECT_HANDLE h,
                           CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_RV rv = CKR_OK;
    CK_ULONG i;

    if (!devid_p11m_object_valid(s, t, h)) {
        return CKR_OBJECT_HANDLE_INVALID;
    }
    for (i = 0; i < n; i++) {
        struct devid_p11m_val v = { 0 };

        if (!devid_p11m_attr(s, h, tmpl[i].type, &v)) {
            tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        } else if (v.sensitive) {
            tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_ATTRIBUTE_SENSITIVE;
        } else if (tmpl[i].pValue == NULL) {
            tmpl[i].ulValueLen = (CK_ULONG)v.len;
        } else if (tmpl[i].ulValueLen < v.len) {
            tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            if (v.len > 0) {
                memcpy(tmpl[i].pValue, v.p, v.len);
            }
            tmpl[i].ulValueLen = (CK_ULONG)v.len;
        }
        OPENSSL_free(v.owned);
    }
    return rv;
}

/* 1 when object h has every attribute of tmpl with the same value. */
static int devid_p11m_match(struct devid_p11m_session *s, CK_OBJECT_HANDLE h,
                            const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_ULONG i;
    int ok = 1;

    for (i = 0; i < n && ok; i++) {
        struct devid_p11m_val v = { 0 };

        ok = devid_p11m_attr(s, h, tmpl[i].type, &v) && !v.sensitive
             && v.len == tmpl[i].ulValueLen
             && (v.len == 0 || memcmp(v.p, tmpl[i].pValue, v.len) == 0);
        OPENSSL_free(v.owned);
    }
    return ok;
}

CK_RV devid_p11m_find(struct devid_p11m_session *s, struct devid_p11m_token *t,
                      const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    const struct devid_p11m_ident *id = s->ident;
    struct devid_p11m_secret *k;
    unsigned long idx;

    s->nfound = 0;
    s->found_pos = 0;
    for (idx = DEVID_P11M_OBJ_PRIV; idx < DEVID_P11M_OBJ_CERT + id->ncerts;
         idx++) {
        CK_OBJECT_HANDLE h = (id->gen << 8) | idx;

        if (devid_p11m_object_valid(s, t, h)
            && devid_p11m_match(s, h, tmpl, n)) {
            s->found[s->nfound++] = h;
        }
    }
    for (k = s->secrets; k != NULL && s->nfound < DEVID_P11M_MAX_CERTS + 8;
         k = k->next) {
        if (devid_p11m_match(s, k->handle, tmpl, n)) {
            s->found[s->nfound++] = k->handle;
        }
    }
    return CKR_OK;
}

void devid_p11m_secrets_free(struct devid_p11m_session *s)
{
    struct devid_p11m_secret *k, *next;

    for (k = s->secrets; k != NULL; k = next) {
        next = k->next;
        OPENSSL_clear_free(k->value, k->len);
        OPENSSL_free(k);
    }
    s->secrets = NULL;
}
