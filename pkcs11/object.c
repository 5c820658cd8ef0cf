/* SPDX-License-Identifier: Apache-2.0 */
/* Objects in a token: finding keys and certificates once, reading the
 * public half of a key, and working out what the key can do. */
#include "config.h"

#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "common/log.h"
#include "pkcs11/p11.h"

#define DEVID_P11_FIND_BATCH 16
#define DEVID_P11_FIND_MAX 1024
/* Attribute values read in one call (longer ones: size first, then value). */
#define DEVID_P11_ATTR_SMALL 512

CK_RV devid_p11_object_get_attr(struct devid_p11_token *tok,
                                CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                                CK_ATTRIBUTE_TYPE type, unsigned char **out,
                                size_t *len)
{
    unsigned char small[DEVID_P11_ATTR_SMALL];
    CK_ATTRIBUTE a = { type, small, sizeof(small) };
    CK_RV rv;

    *out = NULL;
    *len = 0;
    /* One call when the value fits a small buffer (ids, labels, curves,
     * points, moduli): a size query first would cost a second lookup of
     * the object, and some modules (SoftHSM) pay dearly for each. */
    rv = tok->mod->fn->C_GetAttributeValue(s, h, &a, 1);
    if (CKR_OK == rv && CK_UNAVAILABLE_INFORMATION == a.ulValueLen) {
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (CKR_OK == rv && 0 == a.ulValueLen) {
        return CKR_OK;
    }
    if (CKR_OK == rv && a.ulValueLen <= sizeof(small)) {
        a.pValue = OPENSSL_malloc(a.ulValueLen + 1);
        if (a.pValue == NULL) {
            DEVID_RAISE(tok->p11->prov, DEVID_R_MALLOC, "attribute 0x%lx",
                        (unsigned long)type);
            return CKR_HOST_MEMORY;
        }
        memcpy(a.pValue, small, a.ulValueLen);
        goto done;
    }
    if (rv != CKR_BUFFER_TOO_SMALL) {
        return rv;
    }
    a.pValue = NULL;
    a.ulValueLen = 0;
    rv = tok->mod->fn->C_GetAttributeValue(s, h, &a, 1);
    if (rv != CKR_OK) {
        return rv;
    }
    if (CK_UNAVAILABLE_INFORMATION == a.ulValueLen) {
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (0 == a.ulValueLen) {
        return CKR_OK;
    }
    a.pValue = OPENSSL_malloc(a.ulValueLen + 1);
    if (a.pValue == NULL) {
        DEVID_RAISE(tok->p11->prov, DEVID_R_MALLOC, "attribute 0x%lx",
                    (unsigned long)type);
        return CKR_HOST_MEMORY;
    }
    rv = tok->mod->fn->C_GetAttributeValue(s, h, &a, 1);
    if (rv != CKR_OK) {
        OPENSSL_free(a.pValue);
        return rv;
    }
done:
    ((unsigned char *)a.pValue)[a.ulValueLen] = '\0';
    *out = a.pValue;
    *len = a.ulValueLen;
    return CKR_OK;
}

static CK_ULONG devid_p11_object_get_ulong(struct devid_p11_token *tok,
                                           CK_SESSION_HANDLE s,
                                           CK_OBJECT_HANDLE h,
                                           CK_ATTRIBUTE_TYPE type,
                                           CK_ULONG dflt)
{
    CK_ULONG v = 0;
    CK_ATTRIBUTE a = { type, &v, sizeof(v) };

    if (tok->mod->fn->C_GetAttributeValue(s, h, &a, 1) != CKR_OK) {
        return dflt;
    }
    return v;
}

static int devid_p11_object_get_bool(struct devid_p11_token *tok,
                                     CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                                     CK_ATTRIBUTE_TYPE type)
{
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE a = { type, &v, sizeof(v) };

    if (tok->mod->fn->C_GetAttributeValue(s, h, &a, 1) != CKR_OK) {
        return 0;
    }
    return CK_TRUE == v;
}

/* Runs one C_FindObjects* sequence. *out is a new array (OPENSSL_free). */
static CK_RV devid_p11_object_find(struct devid_p11_token *tok,
                                   CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
                                   CK_ULONG n, CK_OBJECT_HANDLE **out,
                                   size_t *count)
{
    CK_FUNCTION_LIST *fn = tok->mod->fn;
    CK_OBJECT_HANDLE *list = NULL;
    CK_ULONG got = 0;
    CK_RV rv;

    *out = NULL;
    *count = 0;
    rv = fn->C_FindObjectsInit(s, tmpl, n);
    if (rv != CKR_OK) {
        return rv;
    }
    do {
        CK_OBJECT_HANDLE *l = OPENSSL_realloc(list, (*count
                                                     + DEVID_P11_FIND_BATCH)
                                                    * sizeof(*l));

        if (l == NULL) {
            DEVID_RAISE(tok->p11->prov, DEVID_R_MALLOC, "object list");
            rv = CKR_HOST_MEMORY;
            break;
        }
        list = l;
        rv = fn->C_FindObjects(s, list + *count, DEVID_P11_FIND_BATCH, &got);
        if (rv != CKR_OK) {
            break;
        }
        *count += got;
    } while (DEVID_P11_FIND_BATCH == got && *count < DEVID_P11_FIND_MAX);
    fn->C_FindObjectsFinal(s);
    if (rv != CKR_OK) {
        OPENSSL_free(list);
        *count = 0;
        return rv;
    }
    *out = list;
    return CKR_OK;
}

/* The object of class cls with the same CKA_ID as a key: the public key or
 * certificate that carries what a private key object leaves out. */
CK_OBJECT_HANDLE devid_p11_object_sibling(struct devid_p11_token *tok,
                                          CK_SESSION_HANDLE s,
                                          const struct devid_p11_key *k,
                                          CK_OBJECT_CLASS cls)
{
    CK_ATTRIBUTE tmpl[2] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_ID, k->id, k->id_len },
    };
    CK_OBJECT_HANDLE *list = NULL;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    size_t n = 0;

    if (k->id == NULL) {
        return CK_INVALID_HANDLE;
    }
    if (devid_p11_object_find(tok, s, tmpl, 2, &list, &n) == CKR_OK && n > 0) {
        h = list[0];
    }
    OPENSSL_free(list);
    return h;
}

/* CKA_EC_PARAMS: a DER OBJECT IDENTIFIER of a named curve (PKCS #11 v2.40
 * §2.3.3; explicit parameters are not supported). */
static int devid_p11_ec_group(const unsigned char *der, size_t len,
                              struct devid_pubkey *pub)
{
    const unsigned char *p = der;
    ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)len);
    int nid = obj != NULL ? OBJ_obj2nid(obj) : NID_undef;

    ASN1_OBJECT_free(obj);
    switch (nid) {
    case NID_X9_62_prime256v1:
        pub->bits = 256;
        break;
    case NID_secp384r1:
        pub->bits = 384;
        break;
    case NID_secp521r1:
        pub->bits = 521;
        break;
    default:
        return 0;
    }
    BIO_snprintf(pub->group, sizeof(pub->group), "%s", OBJ_nid2sn(nid));
    return 1;
}

/* CKA_EC_POINT is a DER OCTET STRING holding 04||X||Y (v2.40 §2.3.3);
 * some tokens give the bare point. Takes ownership of der. */
static int devid_p11_ec_point(struct devid_prov *prov, unsigned char *der,
                              size_t len, struct devid_pubkey *pub)
{
    size_t raw = 1 + 2 * (((size_t)pub->bits + 7) / 8);
    const unsigned char *p = der;
    const unsigned char *data = NULL;
    ASN1_OCTET_STRING *os = NULL;
    int ret = 0;

    if (raw == len && der[0] == 0x04) {
        pub->point = der;
        pub->point_len = len;
        return 1;
    }
    os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
    if (os == NULL) {
        goto end;
    }
    /* accessors, not fields: ASN1_STRING is opaque since OpenSSL 4.0 */
    data = ASN1_STRING_get0_data(os);
    if ((size_t)ASN1_STRING_length(os) != raw || data[0] != 0x04) {
        goto end;
    }
    pub->point = OPENSSL_memdup(data, raw);
    pub->point_len = raw;
    ret = pub->point != NULL;
    if (!ret) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "EC point");
    }
end:
    ASN1_OCTET_STRING_free(os);
    OPENSSL_free(der);
    return ret;
}

int devid_p11_ec_point_from_cert(struct devid_p11_token *tok,
                                 CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                                 struct devid_pubkey *pub)
{
    unsigned char *der = NULL;
    const unsigned char *p = NULL;
    unsigned char buf[160];
    size_t len = 0;
    X509 *x = NULL;
    int ret = 0;

    if (devid_p11_object_get_attr(tok, s, h, CKA_VALUE, &der, &len) != CKR_OK
        || der == NULL) {
        goto end;
    }
    p = der;
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || X509_get0_pubkey(x) == NULL
        || !EVP_PKEY_get_octet_string_param(X509_get0_pubkey(x),
                                            OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                            buf, sizeof(buf), &len)) {
        goto end;
    }
    pub->point = OPENSSL_memdup(buf, len);
    pub->point_len = len;
    ret = pub->point != NULL;
end:
    X509_free(x);
    OPENSSL_free(der);
    return ret;
}

static int devid_p11_pub_ec(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                            const struct devid_p11_key *k,
                            struct devid_pubkey *pub)
{
    unsigned char *v = NULL;
    size_t len = 0;
    CK_OBJECT_HANDLE h = k->h;
    int ok;

    pub->type = DEVID_KEY_EC;
    if (devid_p11_object_get_attr(tok, s, h, CKA_EC_PARAMS, &v, &len) != CKR_OK
        || v == NULL) {
        return 0;
    }
    ok = devid_p11_ec_group(v, len, pub);
    OPENSSL_free(v);
    if (!ok) {
        return 0;
    }
    if (k->cls != CKO_PUBLIC_KEY) {
        h = devid_p11_object_sibling(tok, s, k, CKO_PUBLIC_KEY);
    }
    if (h != CK_INVALID_HANDLE
        && devid_p11_object_get_attr(tok, s, h, CKA_EC_POINT, &v, &len)
               == CKR_OK
        && v != NULL) {
        return devid_p11_ec_point(tok->p11->prov, v, len, pub);
    }
    if (devid_p11_object_get_attr(tok, s, k->h, CKA_EC_POINT, &v, &len)
            == CKR_OK
        && v != NULL) {
        return devid_p11_ec_point(tok->p11->prov, v, len, pub);
    }
    h = devid_p11_object_sibling(tok, s, k, CKO_CERTIFICATE);
    return h != CK_INVALID_HANDLE
           && devid_p11_ec_point_from_cert(tok, s, h, pub);
}

/* A big-endian integer without leading zero bytes. Takes ownership. */
static void devid_p11_strip(unsigned char **v, size_t *len)
{
    size_t z = 0;

    while (z + 1 < *len && 0 == (*v)[z]) {
        z++;
    }
    if (z > 0) {
        memmove(*v, *v + z, *len - z);
        *len -= z;
    }
}

static int devid_p11_pub_rsa(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                             const struct devid_p11_key *k,
                             struct devid_pubkey *pub)
{
    CK_OBJECT_HANDLE h = k->h;
    BIGNUM *bn = NULL;

    pub->type = DEVID_KEY_RSA;
    if (devid_p11_object_get_attr(tok, s, h, CKA_MODULUS, &pub->n, &pub->n_len)
            != CKR_OK
        || pub->n == NULL) {
        h = devid_p11_object_sibling(tok, s, k, CKO_PUBLIC_KEY);
        if (h == CK_INVALID_HANDLE
            || devid_p11_object_get_attr(tok, s, h, CKA_MODULUS, &pub->n,
                                         &pub->n_len) != CKR_OK
            || pub->n == NULL) {
            return 0;
        }
    }
    if (devid_p11_object_get_attr(tok, s, h, CKA_PUBLIC_EXPONENT, &pub->e,
                                  &pub->e_len) != CKR_OK
        || pub->e == NULL) {
        return 0;
    }
    devid_p11_strip(&pub->n, &pub->n_len);
    devid_p11_strip(&pub->e, &pub->e_len);
    bn = BN_bin2bn(pub->n, (int)pub->n_len, NULL);
    pub->bits = bn != NULL ? BN_num_bits(bn) : 0;
    BN_free(bn);
    return pub->bits > 0;
}

/* What the key may do (its CKA_SIGN/DECRYPT/DERIVE) with the mechanisms
 * the token offers and the key allows (mech.c): only that is advertised
 * (DESIGN.md principle 4). */
static unsigned int devid_p11_caps(struct devid_p11_token *tok,
                                   CK_SESSION_HANDLE s, struct devid_p11_key *k)
{
    CK_BBOOL v[3] = { CK_FALSE, CK_FALSE, CK_FALSE };
    CK_ATTRIBUTE a[3] = { { CKA_SIGN, &v[0], sizeof(v[0]) },
                          { CKA_DECRYPT, &v[1], sizeof(v[1]) },
                          { CKA_DERIVE, &v[2], sizeof(v[2]) } };
    int sign, dec, derive;

    /* one call for the three (each call costs a module a lookup of the
     * object); one by one when the module refuses any of them */
    if (tok->mod->fn->C_GetAttributeValue(s, k->h, a, 3) == CKR_OK) {
        sign = CK_TRUE == v[0];
        dec = CK_TRUE == v[1];
        derive = CK_TRUE == v[2];
    } else {
        sign = devid_p11_object_get_bool(tok, s, k->h, CKA_SIGN);
        dec = devid_p11_object_get_bool(tok, s, k->h, CKA_DECRYPT);
        derive = devid_p11_object_get_bool(tok, s, k->h, CKA_DERIVE);
    }

    k->mset = devid_p11_mech_key(tok, s, k->h);
    return devid_p11_mech_caps(k->mset, k->kt, sign, dec, derive);
}

static int devid_p11_key_fill(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                              struct devid_key *key, struct devid_p11_key *k)
{
    size_t len = 0;
    unsigned char *label = NULL;
    int ok;
    CK_RV rv;

    k->kt = devid_p11_object_get_ulong(tok, s, k->h, CKA_KEY_TYPE,
                                       CK_UNAVAILABLE_INFORMATION);
    rv = devid_p11_object_get_attr(tok, s, k->h, CKA_ID, &k->id, &k->id_len);
    if (rv != CKR_OK) {
        k->id = NULL;
        k->id_len = 0;
    }
    /* out of memory (raised): a key without its id or label would get a
     * name that opens another key, or none */
    if (CKR_HOST_MEMORY == rv) {
        return 0;
    }
    rv = devid_p11_object_get_attr(tok, s, k->h, CKA_LABEL, &label, &len);
    if (CKR_HOST_MEMORY == rv) {
        return 0;
    }
    if (CKR_OK == rv) {
        key->label = (char *)label;  /* NUL-terminated by get_attr */
    }
    if (CKK_EC == k->kt) {
        ok = devid_p11_pub_ec(tok, s, k, &key->pub);
    } else if (CKK_RSA == k->kt) {
        ok = devid_p11_pub_rsa(tok, s, k, &key->pub);
    } else if (CKK_EC_EDWARDS == k->kt) {
        ok = devid_p11_pub_ed(tok, s, k, &key->pub);
    } else {
        ok = 0;
    }
    if (!ok) {
        DEVID_RAISE(tok->p11->prov, DEVID_R_UNSUPPORTED_KEY,
                    "token %.*s, key %s: unsupported type or no public key",
                    DEVID_P11_LABEL(tok->info.label),
                    key->label != NULL ? key->label : "(no label)");
        return 0;
    }
    key->has_private = CKO_PRIVATE_KEY == k->cls;
    key->caps = key->has_private ? devid_p11_caps(tok, s, k) : 0;
    k->always_auth = key->has_private
                     && devid_p11_object_get_bool(tok, s, k->h,
                                                  CKA_ALWAYS_AUTHENTICATE);
    key->uri = devid_p11_uri_make(&tok->info, k->id, k->id_len, key->label,
                                  k->cls, tok->mod->named ? tok->mod->path
                                                          : NULL);
    if (key->uri == NULL) {
        DEVID_RAISE(tok->p11->prov, DEVID_R_MALLOC, "key URI");
        return 0;
    }
    return 1;
}

struct devid_key *devid_p11_object_key_new(struct devid_p11_token *tok,
                                           CK_SESSION_HANDLE s,
                                           CK_OBJECT_HANDLE h,
                                           CK_OBJECT_CLASS cls)
{
    struct devid_key *key = devid_key_new(&devid_pkcs11_backend,
                                          tok->p11->prov);
    struct devid_p11_key *k = OPENSSL_zalloc(sizeof(*k));

    if (key == NULL || k == NULL) {
        DEVID_RAISE(tok->p11->prov, DEVID_R_MALLOC, "key");
        OPENSSL_free(k);
        devid_key_free(key);
        return NULL;
    }
    k->tok = tok;
    k->h = h;
    k->cls = cls;
    k->gen = tok->gen;
    key->be = k;
    if (!devid_p11_key_fill(tok, s, key, k)) {
        devid_key_free(key);
        return NULL;
    }
    return key;
}

/* Keys and certificates are token objects: a session object with the same
 * id and label is a key's session copy (copy.c), never a second key. */
static CK_BBOOL devid_p11_on_token = CK_TRUE;

/* The URI's object attributes (id, object, and class when given) as a
 * find template, with room for the class and CKA_TOKEN at the front. */
static CK_ATTRIBUTE *devid_p11_object_template(const struct devid_p11_uri *u,
                                              CK_OBJECT_CLASS *cls,
                                              CK_ULONG *n)
{
    static const CK_ATTRIBUTE_TYPE types[] = { CKA_ID, CKA_LABEL };
    CK_ATTRIBUTE *t = OPENSSL_zalloc(4 * sizeof(*t));
    size_t i;

    if (t == NULL) {
        return NULL;
    }
    t[0].type = CKA_CLASS;
    t[0].pValue = cls;
    t[0].ulValueLen = sizeof(*cls);
    t[1].type = CKA_TOKEN;
    t[1].pValue = &devid_p11_on_token;
    t[1].ulValueLen = sizeof(devid_p11_on_token);
    *n = 2;
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const CK_ATTRIBUTE *a = devid_p11_uri_attr(u, types[i]);

        if (a != NULL) {
            t[(*n)++] = *a;
        }
    }
    return t;
}

/* One found object made into what the callback gets. */
struct devid_p11_found {
    struct devid_object obj;
    unsigned char *der;
    unsigned char *label;
};

static int devid_p11_object_load(struct devid_p11_token *tok,
                                 CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                                 CK_OBJECT_CLASS cls,
                                 struct devid_p11_found *f)
{
    size_t len = 0;
    CK_RV rv;

    memset(f, 0, sizeof(*f));
    if (cls != CKO_CERTIFICATE) {
        f->obj.cls = CKO_PRIVATE_KEY == cls ? DEVID_OBJ_PRIVKEY
                                            : DEVID_OBJ_PUBKEY;
        f->obj.key = devid_p11_object_key_new(tok, s, h, cls);
        f->obj.label = f->obj.key != NULL ? f->obj.key->label : NULL;
        return f->obj.key != NULL;
    }
    f->obj.cls = DEVID_OBJ_CERT;
    rv = devid_p11_object_get_attr(tok, s, h, CKA_VALUE, &f->der,
                                   &f->obj.der_len);
    if (rv != CKR_OK || f->der == NULL) {
        devid_p11_raise_rv(tok->p11->prov, "C_GetAttributeValue", rv,
                           "(CKA_VALUE of a certificate)");
        return 0;
    }
    f->obj.der = f->der;
    if (devid_p11_object_get_attr(tok, s, h, CKA_LABEL, &f->label, &len)
        == CKR_OK) {
        f->obj.label = (const char *)f->label;
    }
    return 1;
}

static void devid_p11_found_clear(struct devid_p11_found *f)
{
    devid_key_free(f->obj.key);
    OPENSSL_free(f->der);
    OPENSSL_free(f->label);
    memset(f, 0, sizeof(*f));
}

/* Finds one class of objects and calls cb for each. Objects are read on a
 * pooled session that is given back before the callbacks run. */
static int devid_p11_object_search_class(struct devid_p11_token *tok,
                                         const struct devid_p11_uri *u,
                                         CK_OBJECT_CLASS cls,
                                         devid_object_cb *cb, void *cbarg,
                                         int *stop)
{
    struct devid_p11_found *found = NULL;
    CK_OBJECT_HANDLE *hs = NULL;
    CK_ATTRIBUTE *tmpl = NULL;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    size_t n = 0;
    size_t i;
    CK_ULONG nt = 0;
    CK_RV rv;
    int ret = 0;

    tmpl = devid_p11_object_template(u, &cls, &nt);
    if (tmpl == NULL) {
        DEVID_RAISE(tok->p11->prov, DEVID_R_MALLOC, "search");
        goto end;
    }
    rv = devid_p11_session_take(tok, &s);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(tok->p11->prov, "C_OpenSession", rv, NULL);
        goto end;
    }
    rv = devid_p11_object_find(tok, s, tmpl, nt, &hs, &n);
    found = n > 0 ? OPENSSL_zalloc(n * sizeof(*found)) : NULL;
    for (i = 0; CKR_OK == rv && found != NULL && i < n; i++) {
        if (!devid_p11_object_load(tok, s, hs[i], cls, &found[i])) {
            n = i;
            goto end;                /* raised */
        }
    }
    if (rv != CKR_OK) {
        devid_p11_raise_rv(tok->p11->prov, "C_FindObjects", rv, u->safe);
        goto end;
    }
    if (n > 0 && found == NULL) {
        DEVID_RAISE(tok->p11->prov, DEVID_R_MALLOC, "search");
        goto end;
    }
    devid_p11_session_give(tok, s, 0);
    s = CK_INVALID_HANDLE;
    for (i = 0; i < n && !*stop; i++) {
        *stop = !cb(&found[i].obj, cbarg);
    }
    ret = 1;
end:
    if (s != CK_INVALID_HANDLE) {
        devid_p11_session_give(tok, s, 0);
    }
    for (i = 0; found != NULL && i < n; i++) {
        devid_p11_found_clear(&found[i]);
    }
    OPENSSL_free(found);
    OPENSSL_free(hs);
    OPENSSL_free(tmpl);
    return ret;
}

int devid_p11_object_search(struct devid_p11_token *tok,
                            const struct devid_p11_uri *u, unsigned int want,
                            devid_object_cb *cb, void *cbarg, int *stop)
{
    static const struct {
        unsigned int want;
        CK_OBJECT_CLASS cls;
    } order[] = {
        { DEVID_OBJ_PRIVKEY, CKO_PRIVATE_KEY },
        { DEVID_OBJ_PUBKEY, CKO_PUBLIC_KEY },
        { DEVID_OBJ_CERT, CKO_CERTIFICATE },
    };
    size_t i;

    for (i = 0; i < sizeof(order) / sizeof(order[0]) && !*stop; i++) {
        if ((0 != want && (want & order[i].want) == 0)
            || (u->has_class && u->cls != order[i].cls)) {
            continue;
        }
        if (!devid_p11_object_search_class(tok, u, order[i].cls, cb, cbarg,
                                           stop)) {
            return 0;
        }
    }
    return 1;
}

int devid_p11_object_refind(struct devid_key *key)
{
    struct devid_p11_key *k = key->be;
    struct devid_p11_token *tok = k->tok;
    CK_ATTRIBUTE tmpl[4] = {
        { CKA_CLASS, &k->cls, sizeof(k->cls) },
        { CKA_ID, k->id, k->id_len },
        { CKA_LABEL, key->label, key->label != NULL ? strlen(key->label) : 0 },
        { CKA_TOKEN, &devid_p11_on_token, sizeof(devid_p11_on_token) },
    };
    CK_OBJECT_HANDLE *hs = NULL;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    size_t n = 0;
    CK_RV rv;
    int ret = 0;

    rv = devid_p11_session_take(tok, &s);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(key->prov, "C_OpenSession", rv, NULL);
        goto end;
    }
    /* by class and id when the key has one, else by class and label; a
     * token object, not the key's own session copy */
    if (k->id == NULL) {
        tmpl[1] = tmpl[2];
    }
    tmpl[2] = tmpl[3];
    rv = devid_p11_object_find(tok, s, tmpl, 3, &hs, &n);
    devid_p11_session_give(tok, s, 0);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(key->prov, "C_FindObjects", rv, key->uri);
        goto end;
    }
    if (0 == n) {
        DEVID_RAISE(key->prov, DEVID_R_NO_OBJECT, "%s: gone", key->uri);
        goto end;
    }
    __atomic_store_n(&k->h, hs[0], __ATOMIC_RELAXED);
    devid_p11_copy_refound(key);
    __atomic_store_n(&k->gen, tok->gen, __ATOMIC_RELEASE);
    ret = 1;
end:
    OPENSSL_free(hs);
    return ret;
}
