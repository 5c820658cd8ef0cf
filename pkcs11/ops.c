/* SPDX-License-Identifier: Apache-2.0 */
/* The private-key operations: sign, decrypt, derive. The path is one
 * session taken from the pool and one *Init/one call on it, on the key's
 * session copy when it has one (copy.c): no find, no login, no session
 * opened, no lock once the key has been used (DESIGN.md principle 4). A
 * signature that meets a lost copy or lost sessions is made once more
 * after the key is made ready again. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

#include "common/err.h"
#include "common/log.h"
#include "pkcs11/p11.h"

/* PKCS #11 v3.0 §2.1.13/§6.x values that p11-kit 0.24's header lacks. */
#ifndef CKM_SHA3_256
#define CKM_SHA3_256 0x2b0UL
#define CKM_SHA3_224 0x2b5UL
#define CKM_SHA3_384 0x2c0UL
#define CKM_SHA3_512 0x2d0UL
#endif
#ifndef CKG_MGF1_SHA3_224
#define CKG_MGF1_SHA3_224 0x6UL
#define CKG_MGF1_SHA3_256 0x7UL
#define CKG_MGF1_SHA3_384 0x8UL
#define CKG_MGF1_SHA3_512 0x9UL
#endif

/* A digest as PKCS #11 and RFC 8017 name it. oid is the last arc under
 * 2.16.840.1.101.3.4.2 (NIST hash algorithms), 0 for SHA-1. */
struct devid_p11_md {
    int nid;
    CK_MECHANISM_TYPE ckm;
    CK_RSA_PKCS_MGF_TYPE mgf;
    size_t len;
    unsigned char oid;
};

static const struct devid_p11_md devid_p11_mds[] = {
    { NID_sha1, CKM_SHA_1, CKG_MGF1_SHA1, 20, 0 },
    { NID_sha224, CKM_SHA224, CKG_MGF1_SHA224, 28, 4 },
    { NID_sha256, CKM_SHA256, CKG_MGF1_SHA256, 32, 1 },
    { NID_sha384, CKM_SHA384, CKG_MGF1_SHA384, 48, 2 },
    { NID_sha512, CKM_SHA512, CKG_MGF1_SHA512, 64, 3 },
    { NID_sha3_224, CKM_SHA3_224, CKG_MGF1_SHA3_224, 28, 7 },
    { NID_sha3_256, CKM_SHA3_256, CKG_MGF1_SHA3_256, 32, 8 },
    { NID_sha3_384, CKM_SHA3_384, CKG_MGF1_SHA3_384, 48, 9 },
    { NID_sha3_512, CKM_SHA3_512, CKG_MGF1_SHA3_512, 64, 10 },
    { NID_undef, 0, 0, 0, 0 }
};

static const struct devid_p11_md *devid_p11_md_find(int nid)
{
    const struct devid_p11_md *md;

    for (md = devid_p11_mds; md->nid != NID_undef; md++) {
        if (md->nid == nid) {
            return md;
        }
    }
    return NULL;
}

/* RFC 8017 §9.2 note 1: DigestInfo ::= SEQUENCE { SEQUENCE { OID, NULL },
 * OCTET STRING digest }. Writes prefix || digest into out (>= 83 bytes). */
static size_t devid_p11_digest_info(const struct devid_p11_md *md,
                                    const unsigned char *dgst,
                                    unsigned char *out)
{
    static const unsigned char sha1[] = {
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
        0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14
    };
    static const unsigned char nist[] = {
        0x30, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
        0x65, 0x03, 0x04, 0x02, 0x00, 0x05, 0x00, 0x04, 0x00
    };
    size_t n;

    if (0 == md->oid) {
        memcpy(out, sha1, sizeof(sha1));
        n = sizeof(sha1);
    } else {
        memcpy(out, nist, sizeof(nist));
        out[1] = (unsigned char)(sizeof(nist) - 2 + md->len);
        out[14] = md->oid;
        out[18] = (unsigned char)md->len;
        n = sizeof(nist);
    }
    memcpy(out + n, dgst, md->len);
    return n + md->len;
}

/* Fields that change only at fork or login are read without a lock on
 * this path (atomically); the slow paths take the locks and check again. */
#define DEVID_P11_LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)

struct devid_p11_token *devid_p11_ops_ready(struct devid_key *key)
{
    struct devid_p11_key *k = key->be;
    struct devid_p11_token *tok = k->tok;
    struct devid_p11 *p11 = devid_p11_get(key->prov);
    int ok = 1;

    if (p11 == NULL) {
        return NULL;
    }
    if (DEVID_P11_LOAD(p11->dead)) {
        DEVID_RAISE(key->prov, DEVID_R_MODULE_LOAD, "%s: module shut down",
                    key->uri);
        return NULL;
    }
    if (DEVID_P11_LOAD(tok->gen) != DEVID_P11_LOAD(p11->gen)
        && !devid_p11_token_refresh(tok)) {
        return NULL;
    }
    if (!DEVID_P11_LOAD(tok->logged_in) && key->has_private
        && !devid_p11_login(tok, NULL, NULL)) {
        return NULL;
    }
    if (DEVID_P11_LOAD(k->gen) != DEVID_P11_LOAD(tok->gen)) {
        pthread_mutex_lock(&p11->lock);
        if (k->gen != tok->gen) {
            ok = devid_p11_object_refind(key);
        }
        pthread_mutex_unlock(&p11->lock);
    }
    return ok ? tok : NULL;
}

/* A session on which a call failed is closed rather than pooled: the
 * spec ends the operation on most errors (v2.40 §5.2), but not on
 * CKR_BUFFER_TOO_SMALL, and a token in trouble may not follow it. An
 * error path can afford a new session; a stuck operation would fail every
 * later use of the session. */
static int devid_p11_broken(CK_RV rv)
{
    return rv != CKR_OK;
}

/* After a failed signature: 1 when it is worth making again, because what
 * failed was the key's copy (dropped here) or the token's sessions (all
 * forgotten here, as after a fork). Called once per signature. */
static int devid_p11_sign_again(struct devid_key *key,
                                struct devid_p11_token *tok, CK_RV rv,
                                CK_OBJECT_HANDLE h)
{
    switch (rv) {
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
        return devid_p11_copy_lost(key, h) || devid_p11_session_lost(tok);
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
        /* a lost anchor means a lost login; else this session alone was
         * bad (and is closed): another one will do */
        devid_p11_session_lost(tok);
        return 1;
    case CKR_USER_NOT_LOGGED_IN:
        return devid_p11_session_lost(tok);
    default:
        return 0;
    }
}

/* One signature on one pooled session. *fname names the call that
 * failed. */
static CK_RV devid_p11_sign_once(struct devid_key *key,
                                 struct devid_p11_token *tok,
                                 CK_MECHANISM *mech, const unsigned char *in,
                                 size_t inlen, unsigned char *sig,
                                 size_t *siglen, CK_OBJECT_HANDLE *h,
                                 const char **fname)
{
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_ULONG outlen = (CK_ULONG)*siglen;
    CK_RV rv;

    *fname = "C_OpenSession";
    rv = devid_p11_session_take(tok, &s);
    if (rv != CKR_OK) {
        return rv;
    }
    *h = devid_p11_copy_handle(key, tok);
    *fname = "C_SignInit";
    rv = tok->mod->fn->C_SignInit(s, mech, *h);
    if (CKR_OK == rv) {
        *fname = "C_Sign";
        rv = tok->mod->fn->C_Sign(s, (CK_BYTE_PTR)(uintptr_t)in,
                                  (CK_ULONG)inlen, sig, &outlen);
    }
    devid_p11_session_give(tok, s, devid_p11_broken(rv));
    if (CKR_OK == rv) {
        *siglen = outlen;
    }
    return rv;
}

static int devid_p11_sign_call(struct devid_key *key, CK_MECHANISM *mech,
                               const unsigned char *in, size_t inlen,
                               unsigned char *sig, size_t *siglen)
{
    struct devid_p11_token *tok = devid_p11_ops_ready(key);
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    const char *fname = NULL;
    CK_RV rv;

    if (tok == NULL) {
        return 0;
    }
    rv = devid_p11_sign_once(key, tok, mech, in, inlen, sig, siglen, &h,
                             &fname);
    if (rv != CKR_OK && devid_p11_sign_again(key, tok, rv, h)) {
        tok = devid_p11_ops_ready(key);
        if (tok == NULL) {
            return 0;
        }
        rv = devid_p11_sign_once(key, tok, mech, in, inlen, sig, siglen, &h,
                                 &fname);
    }
    if (rv != CKR_OK) {
        devid_p11_raise_rv(key->prov, fname, rv, key->uri);
        return 0;
    }
    return 1;
}

static int devid_p11_sign_check(struct devid_key *key, unsigned int cap,
                                const char *what)
{
    if ((key->caps & cap) == 0) {
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM, "%s: %s not offered",
                    key->uri, what);
        return 0;
    }
    return 1;
}

/* CK_EDDSA_PARAMS (PKCS #11 v3.0 §2.3.14), which p11-kit 0.24's header
 * lacks: same layout. */
struct devid_p11_eddsa_params {
    CK_BBOOL ph_flag;
    CK_ULONG context_len;
    CK_BYTE_PTR context;
};

/* Pure EdDSA over the whole message, one C_Sign. v3.0 §2.3.14's table:
 * Ed25519 takes no parameter (with one it would be Ed25519ctx), Ed448
 * requires one, with phFlag false and no context. */
static int devid_p11_sign_eddsa(struct devid_key *key, const unsigned char *tbs,
                                size_t tbslen, unsigned char *sig,
                                size_t *siglen)
{
    size_t need = devid_key_max_sig_len(key);
    struct devid_p11_eddsa_params ed448 = { CK_FALSE, 0, NULL };
    CK_MECHANISM mech = { CKM_EDDSA, NULL, 0 };

    if (sig == NULL) {
        *siglen = need;
        return 1;
    }
    if (*siglen < need) {
        DEVID_RAISE(key->prov, DEVID_R_BUFFER_TOO_SMALL,
                    "%s: signature needs %zu bytes, buffer has %zu", key->uri,
                    need, *siglen);
        return 0;
    }
    if (!devid_p11_sign_check(key, DEVID_CAP_SIGN_EDDSA, "EdDSA")) {
        return 0;
    }
    if (DEVID_KEY_ED448 == key->pub.type) {
        mech.pParameter = &ed448;
        mech.ulParameterLen = sizeof(ed448);
    }
    return devid_p11_sign_call(key, &mech, tbs, tbslen, sig, siglen);
}

int devid_p11_ops_sign(struct devid_key *key, const struct devid_sign_params *p,
                       const unsigned char *tbs, size_t tbslen,
                       unsigned char *sig, size_t *siglen)
{
    size_t fb = ((size_t)key->pub.bits + 7) / 8;
    size_t need = DEVID_KEY_EC == key->pub.type ? 2 * fb : fb;
    const struct devid_p11_md *md = devid_p11_md_find(p->md_nid);
    const struct devid_p11_md *mgf = devid_p11_md_find(p->mgf1_nid);
    unsigned char di[96];
    CK_RSA_PKCS_PSS_PARAMS pss;
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };

    if (DEVID_SIG_EDDSA == p->scheme) {
        return devid_p11_sign_eddsa(key, tbs, tbslen, sig, siglen);
    }
    if (sig == NULL) {
        *siglen = need;
        return 1;
    }
    if (*siglen < need) {
        DEVID_RAISE(key->prov, DEVID_R_BUFFER_TOO_SMALL,
                    "%s: signature needs %zu bytes, buffer has %zu", key->uri,
                    need, *siglen);
        return 0;
    }
    if (p->md_nid != NID_undef && (md == NULL || md->len != tbslen)) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                    "%s: digest %s of %zu bytes not supported", key->uri,
                    OBJ_nid2sn(p->md_nid), tbslen);
        return 0;
    }
    switch (p->scheme) {
    case DEVID_SIG_ECDSA:
        if (!devid_p11_sign_check(key, DEVID_CAP_SIGN_ECDSA, "ECDSA")) {
            return 0;
        }
        return devid_p11_sign_call(key, &mech, tbs, tbslen, sig, siglen);
    case DEVID_SIG_PKCS1:
        mech.mechanism = CKM_RSA_PKCS;
        if (NID_undef == p->md_nid) {
            return devid_p11_sign_check(key, DEVID_CAP_SIGN_RAW_PKCS1,
                                        "raw PKCS#1")
                   && devid_p11_sign_call(key, &mech, tbs, tbslen, sig, siglen);
        }
        return devid_p11_sign_check(key, DEVID_CAP_SIGN_PKCS1, "PKCS#1")
               && devid_p11_sign_call(key, &mech, di,
                                      devid_p11_digest_info(md, tbs, di), sig,
                                      siglen);
    case DEVID_SIG_PSS:
        if (md == NULL || p->saltlen < 0) {
            DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                        "%s: PSS needs a digest and a salt length", key->uri);
            return 0;
        }
        pss.hashAlg = md->ckm;
        pss.mgf = mgf != NULL ? mgf->mgf : md->mgf;
        pss.sLen = (CK_ULONG)p->saltlen;
        mech.mechanism = CKM_RSA_PKCS_PSS;
        mech.pParameter = &pss;
        mech.ulParameterLen = sizeof(pss);
        return devid_p11_sign_check(key, DEVID_CAP_SIGN_PSS, "RSA-PSS")
               && devid_p11_sign_call(key, &mech, tbs, tbslen, sig, siglen);
    default:
        break;
    }
    DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM, "%s: signature scheme %d",
                key->uri, (int)p->scheme);
    return 0;
}

int devid_p11_ops_decrypt(struct devid_key *key,
                          const struct devid_dec_params *p,
                          const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen)
{
    struct devid_p11_token *tok = NULL;
    const struct devid_p11_md *md = devid_p11_md_find(p->oaep_md_nid);
    const struct devid_p11_md *mgf = devid_p11_md_find(p->mgf1_nid);
    size_t size = ((size_t)key->pub.bits + 7) / 8;
    CK_RSA_PKCS_OAEP_PARAMS oaep;
    CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    unsigned char *buf = NULL;
    CK_ULONG len = (CK_ULONG)size;
    const char *fname = "C_DecryptInit";
    CK_RV rv;
    int ret = 0;

    if (DEVID_PAD_OAEP == p->pad) {
        if (md == NULL) {
            DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                        "%s: OAEP digest %d", key->uri, p->oaep_md_nid);
            goto end;
        }
        oaep.hashAlg = md->ckm;
        oaep.mgf = mgf != NULL ? mgf->mgf : md->mgf;
        oaep.source = CKZ_DATA_SPECIFIED;
        /* an empty label is "no data": some tokens reject a pointer */
        oaep.pSourceData = p->label_len > 0 ? (void *)(uintptr_t)p->label
                                            : NULL;
        oaep.ulSourceDataLen = (CK_ULONG)p->label_len;
        mech.mechanism = CKM_RSA_PKCS_OAEP;
        mech.pParameter = &oaep;
        mech.ulParameterLen = sizeof(oaep);
    }
    if (!devid_p11_sign_check(key, DEVID_PAD_OAEP == p->pad
                                       ? DEVID_CAP_DECRYPT_OAEP
                                       : DEVID_CAP_DECRYPT_PKCS1,
                              DEVID_PAD_OAEP == p->pad ? "RSA-OAEP"
                                                       : "RSA PKCS#1")) {
        goto end;
    }
    /* decrypt into a buffer of the modulus size, so that a small output
     * buffer never leaves a decryption active in a pooled session */
    buf = OPENSSL_secure_malloc(size);
    tok = buf != NULL ? devid_p11_ops_ready(key) : NULL;
    if (tok == NULL) {
        goto end;
    }
    rv = devid_p11_session_take(tok, &s);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(key->prov, "C_OpenSession", rv, key->uri);
        goto end;
    }
    h = devid_p11_copy_handle(key, tok);
    rv = tok->mod->fn->C_DecryptInit(s, &mech, h);
    if (CKR_OK == rv) {
        fname = "C_Decrypt";
        rv = tok->mod->fn->C_Decrypt(s, (CK_BYTE_PTR)(uintptr_t)in,
                                     (CK_ULONG)inlen, buf, &len);
    }
    devid_p11_session_give(tok, s, devid_p11_broken(rv));
    if (rv != CKR_OK) {
        devid_p11_sign_again(key, tok, rv, h);  /* for the next use */
        devid_p11_raise_rv(key->prov, fname, rv, key->uri);
        goto end;
    }
    if (len > *outlen) {
        DEVID_RAISE(key->prov, DEVID_R_BUFFER_TOO_SMALL,
                    "%s: plaintext of %lu bytes, buffer has %zu", key->uri,
                    (unsigned long)len, *outlen);
        goto end;
    }
    memcpy(out, buf, len);
    *outlen = len;
    ret = 1;
end:
    if (buf != NULL) {
        OPENSSL_secure_clear_free(buf, size);
    }
    return ret;
}

/* Reads the derived secret and destroys the session object. */
static int devid_p11_derive_read(struct devid_key *key,
                                 struct devid_p11_token *tok,
                                 CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                                 unsigned char *secret, size_t *secretlen)
{
    CK_ATTRIBUTE a = { CKA_VALUE, secret, (CK_ULONG)*secretlen };
    CK_RV rv = tok->mod->fn->C_GetAttributeValue(s, h, &a, 1);

    tok->mod->fn->C_DestroyObject(s, h);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(key->prov, "C_GetAttributeValue", rv,
                           "(CKA_VALUE of the ECDH secret)");
        return 0;
    }
    *secretlen = a.ulValueLen;
    return 1;
}

int devid_p11_ops_derive(struct devid_key *key, const unsigned char *peer,
                         size_t peer_len, unsigned char *secret,
                         size_t *secretlen)
{
    struct devid_p11_token *tok = NULL;
    size_t fb = ((size_t)key->pub.bits + 7) / 8;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_BBOOL no = CK_FALSE;
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG vlen = (CK_ULONG)fb;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_KEY_TYPE, &kt, sizeof(kt) },
        { CKA_TOKEN, &no, sizeof(no) },
        { CKA_SENSITIVE, &no, sizeof(no) },
        { CKA_EXTRACTABLE, &yes, sizeof(yes) },
        { CKA_VALUE_LEN, &vlen, sizeof(vlen) },
    };
    CK_ECDH1_DERIVE_PARAMS ecdh = {
        CKD_NULL, 0, NULL, (CK_ULONG)peer_len, (CK_BYTE_PTR)(uintptr_t)peer
    };
    CK_MECHANISM mech = { CKM_ECDH1_DERIVE, &ecdh, sizeof(ecdh) };
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE base = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_RV rv;
    int ret = 0;

    if (secret == NULL) {
        *secretlen = fb;
        return 1;
    }
    if (*secretlen < fb) {
        DEVID_RAISE(key->prov, DEVID_R_BUFFER_TOO_SMALL,
                    "%s: secret needs %zu bytes, buffer has %zu", key->uri, fb,
                    *secretlen);
        return 0;
    }
    if (!devid_p11_sign_check(key, DEVID_CAP_DERIVE_ECDH, "ECDH")) {
        return 0;
    }
    tok = devid_p11_ops_ready(key);
    if (tok == NULL) {
        return 0;
    }
    rv = devid_p11_session_take(tok, &s);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(key->prov, "C_OpenSession", rv, key->uri);
        return 0;
    }
    base = devid_p11_copy_handle(key, tok);
    rv = tok->mod->fn->C_DeriveKey(s, &mech, base, tmpl,
                                   sizeof(tmpl) / sizeof(tmpl[0]), &h);
    if (rv != CKR_OK) {
        devid_p11_sign_again(key, tok, rv, base);  /* for the next use */
        devid_p11_raise_rv(key->prov, "C_DeriveKey", rv, key->uri);
        goto end;
    }
    *secretlen = fb;
    ret = devid_p11_derive_read(key, tok, s, h, secret, secretlen);
end:
    devid_p11_session_give(tok, s, 0);
    return ret;
}
