/* SPDX-License-Identifier: Apache-2.0 */
/* Mechanisms of an identity's key (PKCS #11 v2.40 Current Mechanisms §2.1,
 * §2.3): what the key can do, signing (hashing in software for the combined
 * mechanisms, one backend sign per signature), RSA decryption and ECDH. */
#include "config.h"

#include <string.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "p11module/p11module.h"

struct devid_p11m_mech {
    CK_MECHANISM_TYPE type;
    unsigned int cap; /* DEVID_CAP_* the key needs */
    int md_nid;       /* combined mechanisms: the digest hashed here */
    CK_FLAGS flags;
};

static const struct devid_p11m_mech devid_p11m_mech_table[] = {
    { CKM_ECDSA, DEVID_CAP_SIGN_ECDSA, NID_undef, CKF_SIGN },
    { CKM_ECDSA_SHA256, DEVID_CAP_SIGN_ECDSA, NID_sha256, CKF_SIGN },
    { CKM_ECDSA_SHA384, DEVID_CAP_SIGN_ECDSA, NID_sha384, CKF_SIGN },
    { CKM_ECDSA_SHA512, DEVID_CAP_SIGN_ECDSA, NID_sha512, CKF_SIGN },
    { CKM_ECDH1_DERIVE, DEVID_CAP_DERIVE_ECDH, NID_undef, CKF_DERIVE },
    { CKM_RSA_PKCS, DEVID_CAP_SIGN_PKCS1, NID_undef, CKF_SIGN },
    { CKM_SHA256_RSA_PKCS, DEVID_CAP_SIGN_PKCS1, NID_sha256, CKF_SIGN },
    { CKM_SHA384_RSA_PKCS, DEVID_CAP_SIGN_PKCS1, NID_sha384, CKF_SIGN },
    { CKM_SHA512_RSA_PKCS, DEVID_CAP_SIGN_PKCS1, NID_sha512, CKF_SIGN },
    { CKM_RSA_PKCS_PSS, DEVID_CAP_SIGN_PSS, NID_undef, CKF_SIGN },
    { CKM_SHA256_RSA_PKCS_PSS, DEVID_CAP_SIGN_PSS, NID_sha256, CKF_SIGN },
    { CKM_SHA384_RSA_PKCS_PSS, DEVID_CAP_SIGN_PSS, NID_sha384, CKF_SIGN },
    { CKM_SHA512_RSA_PKCS_PSS, DEVID_CAP_SIGN_PSS, NID_sha512, CKF_SIGN },
    { CKM_RSA_PKCS_OAEP, DEVID_CAP_DECRYPT_OAEP, NID_undef, CKF_DECRYPT },
    { CKM_RSA_X_509, DEVID_CAP_DECRYPT_RAW, NID_undef, CKF_DECRYPT },
};

#define DEVID_P11M_NMECH                                                       \
    (sizeof(devid_p11m_mech_table) / sizeof(devid_p11m_mech_table[0]))

/* What the key can do: its capabilities once open; before (a key that
 * needs the PIN) only signing, which every key of devid does. */
static unsigned int devid_p11m_caps(const struct devid_p11m_ident *id)
{
    if (id->key != NULL) {
        return id->key->caps;
    }
    return EVP_PKEY_is_a(id->pub, "EC") ? DEVID_CAP_SIGN_ECDSA
                                        : DEVID_CAP_SIGN_PKCS1;
}

/* CKM_RSA_PKCS signs and, when the key decrypts, decrypts too. */
static CK_FLAGS devid_p11m_mech_flags(const struct devid_p11m_mech *m,
                                      unsigned int caps)
{
    CK_FLAGS f = 0;

    if ((caps & m->cap) != 0) {
        f |= m->flags;
    }
    if (m->type == CKM_RSA_PKCS && (caps & DEVID_CAP_DECRYPT_PKCS1) != 0) {
        f |= CKF_DECRYPT;
    }
    return f;
}

size_t devid_p11m_mechs(const struct devid_p11m_ident *id,
                        CK_MECHANISM_TYPE *list)
{
    unsigned int caps = devid_p11m_caps(id);
    size_t i, n = 0;

    for (i = 0; i < DEVID_P11M_NMECH; i++) {
        if (devid_p11m_mech_flags(&devid_p11m_mech_table[i], caps) != 0) {
            if (list != NULL) {
                list[n] = devid_p11m_mech_table[i].type;
            }
            n++;
        }
    }
    return n;
}

static const struct devid_p11m_mech *devid_p11m_mech_get(CK_MECHANISM_TYPE t)
{
    size_t i;

    for (i = 0; i < DEVID_P11M_NMECH; i++) {
        if (devid_p11m_mech_table[i].type == t) {
            return &devid_p11m_mech_table[i];
        }
    }
    return NULL;
}

CK_RV devid_p11m_mech_info(const struct devid_p11m_ident *id,
                           CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
    const struct devid_p11m_mech *m = devid_p11m_mech_get(type);
    CK_FLAGS f = m != NULL ? devid_p11m_mech_flags(m, devid_p11m_caps(id)) : 0;
    CK_ULONG bits = (CK_ULONG)EVP_PKEY_get_bits(id->pub);

    if (f == 0) {
        return CKR_MECHANISM_INVALID;
    }
    info->ulMinKeySize = bits;
    info->ulMaxKeySize = bits;
    info->flags = f | CKF_HW;
    if (EVP_PKEY_is_a(id->pub, "EC")) {
        info->flags |= CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
    }
    return CKR_OK;
}

void devid_p11m_op_clear(struct devid_p11m_op *op)
{
    EVP_MD_CTX_free(op->md);
    OPENSSL_clear_free(op->buf, op->buf_len);
    OPENSSL_free(op->oaep_label);
    memset(op, 0, sizeof(*op));
}

static int devid_p11m_md_nid(CK_MECHANISM_TYPE t)
{
    switch (t) {
    case CKM_SHA_1:
        return NID_sha1;
    case CKM_SHA224:
        return NID_sha224;
    case CKM_SHA256:
        return NID_sha256;
    case CKM_SHA384:
        return NID_sha384;
    case CKM_SHA512:
        return NID_sha512;
    default:
        return NID_undef;
    }
}

static int devid_p11m_mgf_nid(CK_RSA_PKCS_MGF_TYPE g)
{
    switch (g) {
    case CKG_MGF1_SHA1:
        return NID_sha1;
    case CKG_MGF1_SHA224:
        return NID_sha224;
    case CKG_MGF1_SHA256:
        return NID_sha256;
    case CKG_MGF1_SHA384:
        return NID_sha384;
    case CKG_MGF1_SHA512:
        return NID_sha512;
    default:
        return NID_undef;
    }
}

/* The private key handle of the session's identity, opened. */
static CK_RV devid_p11m_op_key(struct devid_p11m_session *s,
                               struct devid_p11m_token *t, CK_OBJECT_HANDLE h)
{
    if (s->op.kind != DEVID_P11M_OP_NONE) {
        return CKR_OPERATION_ACTIVE;
    }
    if ((h & DEVID_P11M_OBJ_SECRET) != 0 || (h >> 8) != s->ident->gen
        || (h & 0xffu) < DEVID_P11M_OBJ_PRIV
        || (h & 0xffu) >= DEVID_P11M_OBJ_CERT + s->ident->ncerts) {
        return CKR_KEY_HANDLE_INVALID;
    }
    if ((h & 0xffu) != DEVID_P11M_OBJ_PRIV) {
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    }
    return devid_p11m_ident_key(t, s->ident);
}

static CK_RV devid_p11m_pss_params(struct devid_p11m_op *op,
                                   const CK_MECHANISM *mech, int md_nid)
{
    const CK_RSA_PKCS_PSS_PARAMS *pp = mech->pParameter;

    if (pp == NULL || mech->ulParameterLen != sizeof(*pp)) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    op->sp.md_nid = devid_p11m_md_nid(pp->hashAlg);
    op->sp.mgf1_nid = devid_p11m_mgf_nid(pp->mgf);
    op->sp.saltlen = (int)pp->sLen;
    if (op->sp.md_nid == NID_undef || op->sp.mgf1_nid == NID_undef
        || (md_nid != NID_undef && md_nid != op->sp.md_nid)) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    return CKR_OK;
}

CK_RV devid_p11m_sign_init(struct devid_p11m_session *s,
                           struct devid_p11m_token *t, CK_MECHANISM *mech,
                           CK_OBJECT_HANDLE key)
{
    const struct devid_p11m_mech *m = devid_p11m_mech_get(mech->mechanism);
    struct devid_p11m_op *op = &s->op;
    CK_RV rv = devid_p11m_op_key(s, t, key);

    if (rv != CKR_OK) {
        return rv;
    }
    if (m == NULL
        || (devid_p11m_mech_flags(m, s->ident->key->caps) & CKF_SIGN) == 0) {
        return CKR_MECHANISM_INVALID;
    }
    op->mech = m->type;
    op->sp.md_nid = m->md_nid;
    op->sp.scheme = m->cap == DEVID_CAP_SIGN_ECDSA ? DEVID_SIG_ECDSA
                    : m->cap == DEVID_CAP_SIGN_PSS ? DEVID_SIG_PSS
                                                   : DEVID_SIG_PKCS1;
    if (op->sp.scheme == DEVID_SIG_PSS) {
        rv = devid_p11m_pss_params(op, mech, m->md_nid);
        if (rv != CKR_OK) {
            devid_p11m_op_clear(op);
            return rv;
        }
    }
    if (m->md_nid != NID_undef) {
        op->md = EVP_MD_CTX_new();
        if (op->md == NULL
            || EVP_DigestInit_ex(op->md, EVP_get_digestbynid(m->md_nid), NULL)
                   != 1) {
            devid_p11m_op_clear(op);
            return CKR_HOST_MEMORY;
        }
    }
    op->kind = DEVID_P11M_OP_SIGN;
    return CKR_OK;
}

CK_RV devid_p11m_sign_update(struct devid_p11m_session *s,
                             const unsigned char *data, size_t len)
{
    struct devid_p11m_op *op = &s->op;
    unsigned char *grown;

    if (op->md != NULL) {
        return EVP_DigestUpdate(op->md, data, len) == 1 ? CKR_OK
                                                        : CKR_GENERAL_ERROR;
    }
    if (op->buf_len + len > 1024) {
        return CKR_DATA_LEN_RANGE; /* a digest or a DigestInfo, not data */
    }
    grown = OPENSSL_realloc(op->buf, op->buf_len + len + 1);
    if (grown == NULL) {
        return CKR_HOST_MEMORY;
    }
    memcpy(grown + op->buf_len, data, len);
    op->buf = grown;
    op->buf_len += len;
    return CKR_OK;
}

/* CKM_RSA_PKCS input (v2.40 §2.1.6): a DigestInfo, whose digest the
 * backend signs with that digest's padding, or raw data for a key that
 * pads raw input. */
static CK_RV devid_p11m_digest_info(struct devid_p11m_session *s,
                                    const unsigned char **tbs, size_t *tbslen)
{
    static const int nids[] = { NID_sha1, NID_sha224, NID_sha256, NID_sha384,
                                NID_sha512 };
    struct devid_p11m_op *op = &s->op;
    size_t i;

    for (i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
        X509_SIG *sig = NULL;
        const unsigned char *p = op->buf;
        const X509_ALGOR *alg;
        const ASN1_OBJECT *obj = NULL;
        const ASN1_OCTET_STRING *dg;
        int ok;

        sig = d2i_X509_SIG(NULL, &p, (long)op->buf_len);
        if (sig == NULL) {
            break;
        }
        /* accessors: ASN1_STRING is opaque since OpenSSL 4.0 */
        X509_SIG_get0(sig, &alg, &dg);
        X509_ALGOR_get0(&obj, NULL, NULL, alg);
        ok = OBJ_obj2nid(obj) == nids[i] && p == op->buf + op->buf_len;
        if (ok) {
            op->sp.md_nid = nids[i];
            *tbs = op->buf + (op->buf_len - (size_t)ASN1_STRING_length(dg));
            *tbslen = (size_t)ASN1_STRING_length(dg);
        }
        X509_SIG_free(sig);
        if (ok) {
            return CKR_OK;
        }
    }
    if ((s->ident->key->caps & DEVID_CAP_SIGN_RAW_PKCS1) != 0) {
        *tbs = op->buf;
        *tbslen = op->buf_len;
        return CKR_OK;
    }
    return CKR_DATA_INVALID;
}

static size_t devid_p11m_sig_len(const struct devid_key *key)
{
    if (key->pub.type == DEVID_KEY_EC) {
        return 2 * (((size_t)key->pub.bits + 7) / 8);
    }
    return key->pub.n_len;
}

CK_RV devid_p11m_sign_final(struct devid_p11m_session *s, unsigned char *sig,
                            CK_ULONG *siglen)
{
    struct devid_p11m_op *op = &s->op;
    struct devid_key *key = s->ident->key;
    size_t need = devid_p11m_sig_len(key), outlen = need;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    const unsigned char *tbs = op->buf;
    size_t tbslen = op->buf_len;
    CK_RV rv = CKR_OK;
    int ok;

    if (sig == NULL) {
        *siglen = (CK_ULONG)need; /* v2.40 §5.2 length query */
        return CKR_OK;
    }
    if (*siglen < need) {
        *siglen = (CK_ULONG)need;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (op->md != NULL) {
        if (EVP_DigestFinal_ex(op->md, digest, &dlen) != 1) {
            rv = CKR_GENERAL_ERROR;
            goto end;
        }
        tbs = digest;
        tbslen = dlen;
    } else if (op->mech == CKM_RSA_PKCS) {
        rv = devid_p11m_digest_info(s, &tbs, &tbslen);
    }
    if (rv == CKR_OK) {
        devid_p11m_set_nested(1);
        ok = key->ops->sign(key, &op->sp, tbs, tbslen, sig, &outlen);
        devid_p11m_set_nested(0);
        rv = ok ? CKR_OK : devid_p11m_backend_rv(CKR_FUNCTION_FAILED);
        *siglen = (CK_ULONG)outlen;
    }
end:
    devid_p11m_op_clear(op);
    return rv;
}

CK_RV devid_p11m_decrypt_init(struct devid_p11m_session *s,
                              struct devid_p11m_token *t, CK_MECHANISM *mech,
                              CK_OBJECT_HANDLE key)
{
    struct devid_p11m_op *op = &s->op;
    CK_RV rv = devid_p11m_op_key(s, t, key);
    unsigned int caps;

    if (rv != CKR_OK) {
        return rv;
    }
    caps = s->ident->key->caps;
    if (mech->mechanism == CKM_RSA_PKCS
        && (caps & DEVID_CAP_DECRYPT_PKCS1) != 0) {
        op->dp.pad = DEVID_PAD_PKCS1;
    } else if (mech->mechanism == CKM_RSA_X_509
               && (caps & DEVID_CAP_DECRYPT_RAW) != 0) {
        op->dp.pad = DEVID_PAD_NONE;    /* c^d mod n, the modulus' size */
    } else if (mech->mechanism == CKM_RSA_PKCS_OAEP
               && (caps & DEVID_CAP_DECRYPT_OAEP) != 0) {
        const CK_RSA_PKCS_OAEP_PARAMS *pp = mech->pParameter;

        if (pp == NULL || mech->ulParameterLen != sizeof(*pp)
            || devid_p11m_md_nid(pp->hashAlg) == NID_undef
            || devid_p11m_mgf_nid(pp->mgf) == NID_undef
            || (pp->source != 0 && pp->source != CKZ_DATA_SPECIFIED)) {
            return CKR_MECHANISM_PARAM_INVALID;
        }
        op->dp.pad = DEVID_PAD_OAEP;
        op->dp.oaep_md_nid = devid_p11m_md_nid(pp->hashAlg);
        op->dp.mgf1_nid = devid_p11m_mgf_nid(pp->mgf);
        if (pp->pSourceData != NULL && pp->ulSourceDataLen > 0) {
            op->oaep_label = OPENSSL_memdup(pp->pSourceData,
                                            pp->ulSourceDataLen);
            if (op->oaep_label == NULL) {
                return CKR_HOST_MEMORY;
            }
            op->dp.label = op->oaep_label;
            op->dp.label_len = pp->ulSourceDataLen;
        }
    } else {
        return CKR_MECHANISM_INVALID;
    }
    op->mech = mech->mechanism;
    op->kind = DEVID_P11M_OP_DECRYPT;
    return CKR_OK;
}

CK_RV devid_p11m_decrypt(struct devid_p11m_session *s, const unsigned char *in,
                         size_t inlen, unsigned char *out, CK_ULONG *outlen)
{
    struct devid_key *key = s->ident->key;
    size_t n = key->pub.n_len;
    unsigned char *buf = NULL;
    size_t len = n;
    CK_RV rv;
    int ok;

    if (out == NULL) {
        *outlen = (CK_ULONG)n; /* the most it can be */
        return CKR_OK;
    }
    if (inlen != n) {
        devid_p11m_op_clear(&s->op);
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    }
    buf = OPENSSL_malloc(n);
    if (buf == NULL) {
        devid_p11m_op_clear(&s->op);
        return CKR_HOST_MEMORY;
    }
    devid_p11m_set_nested(1);
    ok = key->ops->decrypt(key, &s->op.dp, in, inlen, buf, &len);
    devid_p11m_set_nested(0);
    if (!ok) {
        rv = devid_p11m_backend_rv(CKR_ENCRYPTED_DATA_INVALID);
    } else if (*outlen < len) {
        *outlen = (CK_ULONG)len;
        OPENSSL_clear_free(buf, n);
        return CKR_BUFFER_TOO_SMALL; /* the operation stays active */
    } else {
        memcpy(out, buf, len);
        *outlen = (CK_ULONG)len;
        rv = CKR_OK;
    }
    OPENSSL_clear_free(buf, n);
    devid_p11m_op_clear(&s->op);
    return rv;
}

/* CKA_VALUE_LEN in the template: the leading bytes of the shared secret. */
static size_t devid_p11m_value_len(const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                   size_t full)
{
    CK_ULONG i, v;

    for (i = 0; i < n; i++) {
        if (tmpl[i].type == CKA_VALUE_LEN && tmpl[i].pValue != NULL
            && tmpl[i].ulValueLen == sizeof(CK_ULONG)) {
            memcpy(&v, tmpl[i].pValue, sizeof(v));
            return v > 0 && v < full ? (size_t)v : full;
        }
    }
    return full;
}

/* CKM_ECDH1_DERIVE with CKD_NULL (v2.40 Current Mechanisms §2.3.15): the
 * peer's point raw or as a DER OCTET STRING; the shared x coordinate
 * becomes a session object of class CKO_SECRET_KEY. */
CK_RV devid_p11m_derive(struct devid_p11m_session *s,
                        struct devid_p11m_token *t, CK_MECHANISM *mech,
                        CK_OBJECT_HANDLE base, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    const CK_ECDH1_DERIVE_PARAMS *pp = mech->pParameter;
    const unsigned char *peer;
    size_t peer_len, point_len, len = DEVID_P11M_SECRET_MAX;
    struct devid_p11m_secret *k;
    struct devid_key *key;
    int ok;
    CK_RV rv = devid_p11m_op_key(s, t, base);

    if (rv != CKR_OK) {
        return rv;
    }
    key = s->ident->key;
    if (mech->mechanism != CKM_ECDH1_DERIVE
        || (key->caps & DEVID_CAP_DERIVE_ECDH) == 0) {
        return CKR_MECHANISM_INVALID;
    }
    if (pp == NULL || mech->ulParameterLen != sizeof(*pp) || pp->kdf != CKD_NULL
        || pp->pPublicData == NULL || pp->ulPublicDataLen < 3) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    peer = pp->pPublicData;
    peer_len = pp->ulPublicDataLen;
    /* a DER OCTET STRING around the uncompressed point (2n + 1 bytes):
     * told apart by its length, not by its first bytes */
    point_len = 2 * (((size_t)key->pub.bits + 7) / 8) + 1;
    if (peer_len == point_len + 2 && peer[0] == 0x04 && peer[1] == point_len) {
        peer += 2;
        peer_len -= 2;
    } else if (peer_len == point_len + 3 && peer[0] == 0x04 && peer[1] == 0x81
               && peer[2] == point_len) {
        peer += 3;
        peer_len -= 3;
    }
    k = OPENSSL_zalloc(sizeof(*k));
    if (k == NULL || (k->value = OPENSSL_malloc(len)) == NULL) {
        OPENSSL_free(k);
        return CKR_HOST_MEMORY;
    }
    devid_p11m_set_nested(1);
    ok = key->ops->derive(key, peer, peer_len, k->value, &len);
    devid_p11m_set_nested(0);
    if (!ok) {
        OPENSSL_clear_free(k->value, DEVID_P11M_SECRET_MAX);
        OPENSSL_free(k);
        return devid_p11m_backend_rv(CKR_FUNCTION_FAILED);
    }
    k->len = devid_p11m_value_len(tmpl, n, len);
    OPENSSL_cleanse(k->value + k->len, DEVID_P11M_SECRET_MAX - k->len);
    k->handle = DEVID_P11M_OBJ_SECRET | (s->handle << 12) | ++s->next_secret;
    k->next = s->secrets;
    s->secrets = k;
    *out = k->handle;
    return CKR_OK;
}
