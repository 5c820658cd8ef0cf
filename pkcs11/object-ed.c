/* SPDX-License-Identifier: Apache-2.0 */
/* Edwards-curve keys in a token (CKK_EC_EDWARDS, PKCS #11 v3.0 §2.3.5):
 * which curve a key is on, and its public key as RFC 8032 encodes it. */
#include "config.h"

#include <string.h>
#include <openssl/asn1.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "pkcs11/p11.h"

/* CKA_EC_PARAMS of an Edwards curve, in both forms v3.0 §2.3.5 allows:
 * the curve's OBJECT IDENTIFIER (RFC 8410 §3: id-Ed25519 1.3.101.112,
 * id-Ed448 1.3.101.113) or its name as a PrintableString. SoftHSM 2.6
 * takes either and keeps the name; other tokens keep the OID. The name
 * comes first: new keys get it, as every v3.0 token knows it, while the
 * OID form came later (v3.1). */
static const struct devid_p11_ed_param {
    enum devid_key_type type;
    const char *der;
    size_t len;
} devid_p11_ed_params[] = {
    { DEVID_KEY_ED25519,
      "\x13\x0c"
      "edwards25519",
      14 },
    { DEVID_KEY_ED448,
      "\x13\x0a"
      "edwards448",
      12 },
    { DEVID_KEY_ED25519, "\x06\x03\x2b\x65\x70", 5 },
    { DEVID_KEY_ED448, "\x06\x03\x2b\x65\x71", 5 },
};

#define DEVID_P11_ED_NPARAMS                                                   \
    (sizeof(devid_p11_ed_params) / sizeof(devid_p11_ed_params[0]))

enum devid_key_type devid_p11_ed_type(const unsigned char *v, size_t len)
{
    size_t i;

    for (i = 0; i < DEVID_P11_ED_NPARAMS; i++) {
        if (len == devid_p11_ed_params[i].len
            && memcmp(v, devid_p11_ed_params[i].der, len) == 0) {
            return devid_p11_ed_params[i].type;
        }
    }
    return DEVID_KEY_NONE;
}

const unsigned char *devid_p11_ed_gen_params(enum devid_key_type type,
                                             size_t *len)
{
    size_t i;

    for (i = 0; i < DEVID_P11_ED_NPARAMS; i++) {
        if (devid_p11_ed_params[i].type == type) {
            *len = devid_p11_ed_params[i].len;
            return (const unsigned char *)devid_p11_ed_params[i].der;
        }
    }
    return NULL;
}

/* CKA_EC_POINT of an Edwards key: a DER OCTET STRING holding the encoded
 * key (v3.0 §2.3.5); some tokens give the bare key, which the length tells
 * apart. */
int devid_p11_ed_point(struct devid_prov *prov, unsigned char *der, size_t len,
                       struct devid_pubkey *pub)
{
    size_t raw = pub->type == DEVID_KEY_ED25519 ? 32 : 57;
    const unsigned char *p = der;
    ASN1_OCTET_STRING *os = NULL;
    int ret = 0;

    if (len == raw) {
        pub->point = der;
        pub->point_len = len;
        return 1;
    }
    os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
    if (os == NULL || p != der + len || (size_t)ASN1_STRING_length(os) != raw) {
        goto end;
    }
    pub->point = OPENSSL_memdup(ASN1_STRING_get0_data(os), raw);
    pub->point_len = raw;
    ret = pub->point != NULL;
    if (!ret) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "EdDSA public key");
    }
end:
    ASN1_OCTET_STRING_free(os);
    OPENSSL_free(der);
    return ret;
}

/* CKA_EC_PARAMS of the key, else of its public key object. */
static enum devid_key_type devid_p11_ed_curve(struct devid_p11_token *tok,
                                              CK_SESSION_HANDLE s,
                                              const struct devid_p11_key *k,
                                              CK_OBJECT_HANDLE pubh)
{
    enum devid_key_type type = DEVID_KEY_NONE;
    unsigned char *v = NULL;
    size_t len = 0;

    if (devid_p11_object_get_attr(tok, s, k->h, CKA_EC_PARAMS, &v, &len)
            != CKR_OK
        || v == NULL) {
        OPENSSL_free(v);
        v = NULL;
        if (pubh == CK_INVALID_HANDLE
            || devid_p11_object_get_attr(tok, s, pubh, CKA_EC_PARAMS, &v, &len)
                   != CKR_OK) {
            return DEVID_KEY_NONE;
        }
    }
    if (v != NULL) {
        type = devid_p11_ed_type(v, len);
    }
    OPENSSL_free(v);
    return type;
}

int devid_p11_pub_ed(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                     const struct devid_p11_key *k, struct devid_pubkey *pub)
{
    CK_OBJECT_HANDLE pubh = k->cls == CKO_PUBLIC_KEY
                                ? k->h
                                : devid_p11_object_sibling(tok, s, k,
                                                           CKO_PUBLIC_KEY);
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    unsigned char *v = NULL;
    size_t len = 0;

    pub->type = devid_p11_ed_curve(tok, s, k, pubh);
    if (pub->type == DEVID_KEY_NONE) {
        return 0;
    }
    pub->bits = pub->type == DEVID_KEY_ED25519 ? 256 : 456;
    /* a private key object holds no CKA_EC_POINT in v3.0: its public key
     * object does, else (some tokens) the key itself, else a certificate */
    if (pubh != CK_INVALID_HANDLE
        && devid_p11_object_get_attr(tok, s, pubh, CKA_EC_POINT, &v, &len)
               == CKR_OK
        && v != NULL) {
        return devid_p11_ed_point(tok->p11->prov, v, len, pub);
    }
    if (devid_p11_object_get_attr(tok, s, k->h, CKA_EC_POINT, &v, &len)
            == CKR_OK
        && v != NULL) {
        return devid_p11_ed_point(tok->p11->prov, v, len, pub);
    }
    h = devid_p11_object_sibling(tok, s, k, CKO_CERTIFICATE);
    return h != CK_INVALID_HANDLE
           && devid_p11_ec_point_from_cert(tok, s, h, pub)
           && pub->point_len == (pub->type == DEVID_KEY_ED25519 ? 32u : 57u);
}
