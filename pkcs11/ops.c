/* SPDX-License-Identifier: Apache-2.0 */
/* The private-key operations: sign, decrypt, derive. The path is one
 * session taken from the pool and one *Init/one call on it, on the key's
 * session copy when it has one (copy.c): no find, no login, no session
 * opened, no lock once the key has been used (DESIGN.md principle 4). An
 * operation that meets a lost copy, lost sessions or a lost token puts
 * things in order (devid_p11_recover) and is made once more by the
 * backend table's guard (recover.c). */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

#include "common/err.h"
#include "common/log.h"
#include "pkcs11/p11.h"
#include "provider/rsa-pad.h"

/* Fields that change only at fork or login are read without a lock on
 * this path (atomically); the slow paths take the locks and check again. */
#define DEVID_P11_LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
/* A key that wants a context login after each *Init (login.c). */
#define DEVID_P11_ALWAYS_AUTH(key)                                             \
    (((const struct devid_p11_key *)(key)->be)->always_auth)

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

/* After a failed operation: puts things in order for one more try, which
 * the guard makes (recover.c). */
static int devid_p11_sign_again(struct devid_key *key,
                                struct devid_p11_token *tok, CK_RV rv,
                                CK_OBJECT_HANDLE h)
{
    return devid_p11_recover(key, tok, rv, h);
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
    if (CKR_OK == rv && DEVID_P11_ALWAYS_AUTH(key)) {
        rv = devid_p11_login_context(key, tok, s);
    }
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

int devid_p11_sign_call(struct devid_key *key, CK_MECHANISM *mech,
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
    if (rv != CKR_OK) {
        devid_p11_sign_again(key, tok, rv, h); /* the guard tries again */
        if (rv != DEVID_P11_RAISED) {
            devid_p11_raise_rv(key->prov, fname, rv, key->uri);
        }
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

/* The key may make signatures of p's scheme (CKA_SIGN, and a mechanism
 * for it in the token and the key's allowed ones). */
static int devid_p11_sign_allowed(struct devid_key *key,
                                  const struct devid_sign_params *p)
{
    switch (p->scheme) {
    case DEVID_SIG_ECDSA:
        return devid_p11_sign_check(key, DEVID_CAP_SIGN_ECDSA, "ECDSA");
    case DEVID_SIG_PKCS1:
        return p->md_nid == NID_undef
                   ? devid_p11_sign_check(key, DEVID_CAP_SIGN_RAW_PKCS1,
                                          "raw PKCS#1")
                   : devid_p11_sign_check(key, DEVID_CAP_SIGN_PKCS1, "PKCS#1");
    case DEVID_SIG_PSS:
        return devid_p11_sign_check(key, DEVID_CAP_SIGN_PSS, "RSA-PSS");
    default:
        break;
    }
    DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM, "%s: signature scheme %d",
                key->uri, (int)p->scheme);
    return 0;
}

/* Raw RSA (CKM_RSA_X_509) over an encoding made here: PKCS#1 v1.5 of a
 * DigestInfo or of raw input, or EMSA-PSS of a digest. */
static int devid_p11_sign_x509(struct devid_key *key,
                               const struct devid_sign_params *p,
                               const struct devid_p11_md *md,
                               const unsigned char *tbs, size_t tbslen,
                               unsigned char *sig, size_t *siglen)
{
    size_t k = ((size_t)key->pub.bits + 7) / 8;
    CK_MECHANISM mech = { CKM_RSA_X_509, NULL, 0 };
    unsigned char di[96];
    unsigned char em[1024]; /* up to RSA-8192: a public value once
                                     * signed, but wiped all the same */
    size_t dilen = 0;
    int ok;

    if (k > sizeof(em)) {
        DEVID_RAISE(key->prov, DEVID_R_UNSUPPORTED_KEY,
                    "%s: RSA modulus of %d bits", key->uri, key->pub.bits);
        return 0;
    }
    if (p->scheme == DEVID_SIG_PSS) {
        ok = devid_key_rsa_pad_pss(key, p, tbs, tbslen, em);
    } else if (md != NULL) {
        dilen = devid_p11_digest_info(md, tbs, di);
        ok = devid_rsa_pad_pkcs1(di, dilen, em, k);
    } else {
        ok = devid_rsa_pad_pkcs1(tbs, tbslen, em, k);
    }
    if (!ok) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                    "%s: cannot pad %zu bytes for a %d-bit key (digest %s, "
                    "salt %d)",
                    key->uri, tbslen, key->pub.bits, OBJ_nid2sn(p->md_nid),
                    p->saltlen);
    } else {
        ok = devid_p11_sign_call(key, &mech, em, k, sig, siglen);
    }
    OPENSSL_cleanse(em, sizeof(em));
    return ok;
}

int devid_p11_ops_sign(struct devid_key *key, const struct devid_sign_params *p,
                       const unsigned char *tbs, size_t tbslen,
                       unsigned char *sig, size_t *siglen)
{
    size_t fb = ((size_t)key->pub.bits + 7) / 8;
    size_t need = DEVID_KEY_EC == key->pub.type ? 2 * fb : fb;
    const struct devid_p11_md *mgf = devid_p11_md_find(p->mgf1_nid);
    struct devid_p11_plan plan;
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
    if (!devid_p11_sign_allowed(key, p)
        || !devid_p11_mech_plan(key, p, &plan)) {
        return 0;
    }
    if (p->md_nid != NID_undef && (plan.md == NULL || plan.md->len != tbslen)) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                    "%s: digest %s of %zu bytes not supported", key->uri,
                    OBJ_nid2sn(p->md_nid), tbslen);
        return 0;
    }
    if (p->scheme == DEVID_SIG_PSS && (plan.md == NULL || p->saltlen < 0)) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                    "%s: PSS needs a digest and a salt length", key->uri);
        return 0;
    }
    if (plan.route == DEVID_P11_ROUTE_HASHED) {
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                    "%s: the key signs only with %s, which hashes the "
                    "message itself: sign the message (dgst -sign, "
                    "EVP_DigestSign), not a digest",
                    key->uri, devid_p11_mech_name(plan.ckm));
        return 0;
    }
    if (plan.route == DEVID_P11_ROUTE_X509) {
        return devid_p11_sign_x509(key, p, plan.md, tbs, tbslen, sig, siglen);
    }
    mech.mechanism = plan.ckm;
    if (p->scheme == DEVID_SIG_PKCS1 && plan.md != NULL) {
        return devid_p11_sign_call(key, &mech, di,
                                   devid_p11_digest_info(plan.md, tbs, di), sig,
                                   siglen);
    }
    if (p->scheme == DEVID_SIG_PSS) {
        pss.hashAlg = plan.md->ckm;
        pss.mgf = mgf != NULL ? mgf->mgf : plan.md->mgf;
        pss.sLen = (CK_ULONG)p->saltlen;
        mech.pParameter = &pss;
        mech.ulParameterLen = sizeof(pss);
    }
    return devid_p11_sign_call(key, &mech, tbs, tbslen, sig, siglen);
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
    if (p->pad == DEVID_PAD_NONE) {
        mech.mechanism = CKM_RSA_X_509;
    }
    if (!devid_p11_sign_check(key,
                              p->pad == DEVID_PAD_OAEP ? DEVID_CAP_DECRYPT_OAEP
                              : p->pad == DEVID_PAD_NONE
                                  ? DEVID_CAP_DECRYPT_RAW
                                  : DEVID_CAP_DECRYPT_PKCS1,
                              devid_p11_mech_name(mech.mechanism))) {
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
        devid_p11_sign_again(key, tok, rv, CK_INVALID_HANDLE);
        devid_p11_raise_rv(key->prov, "C_OpenSession", rv, key->uri);
        goto end;
    }
    h = devid_p11_copy_handle(key, tok);
    rv = tok->mod->fn->C_DecryptInit(s, &mech, h);
    if (CKR_OK == rv && DEVID_P11_ALWAYS_AUTH(key)) {
        rv = devid_p11_login_context(key, tok, s);
    }
    if (CKR_OK == rv) {
        fname = "C_Decrypt";
        rv = tok->mod->fn->C_Decrypt(s, (CK_BYTE_PTR)(uintptr_t)in,
                                     (CK_ULONG)inlen, buf, &len);
    }
    devid_p11_session_give(tok, s, devid_p11_broken(rv));
    if (rv != CKR_OK) {
        devid_p11_sign_again(key, tok, rv, h); /* the guard tries again */
        if (rv != DEVID_P11_RAISED) {
            devid_p11_raise_rv(key->prov, fname, rv, key->uri);
        }
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
        devid_p11_sign_again(key, tok, rv, CK_INVALID_HANDLE);
        devid_p11_raise_rv(key->prov, "C_OpenSession", rv, key->uri);
        return 0;
    }
    base = devid_p11_copy_handle(key, tok);
    rv = tok->mod->fn->C_DeriveKey(s, &mech, base, tmpl,
                                   sizeof(tmpl) / sizeof(tmpl[0]), &h);
    if (rv != CKR_OK) {
        devid_p11_sign_again(key, tok, rv, base); /* the guard tries again */
        devid_p11_raise_rv(key->prov, "C_DeriveKey", rv, key->uri);
        goto end;
    }
    *secretlen = fb;
    ret = devid_p11_derive_read(key, tok, s, h, secret, secretlen);
end:
    devid_p11_session_give(tok, s, 0);
    return ret;
}
