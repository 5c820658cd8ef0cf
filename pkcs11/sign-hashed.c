/* SPDX-License-Identifier: Apache-2.0 */
/* Signatures by a hash-and-sign mechanism (CKM_SHA256_RSA_PKCS_PSS,
 * CKM_ECDSA_SHA384, ...: PKCS #11 v2.40 §2.1.14, §2.3.8), for keys whose
 * CKA_ALLOWED_MECHANISMS or token offer no other way to make the
 * signature asked for. The token hashes the message itself.
 *
 * The message is kept here while it is short (a TLS handshake transcript
 * hash input, a CSR): it is then signed with one C_SignInit and one
 * C_Sign on a pooled session, retried once on a lost session like every
 * signature, and no session is held between the caller's calls. Longer
 * messages go to the token as they come, by C_SignUpdate on a session the
 * operation holds until C_SignFinal (PKCS #11 v2.40 §5.12). */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "pkcs11/p11.h"

/* Messages up to this size are signed in one call (C_Sign). */
#define DEVID_P11_HASHED_BUF 8192

struct devid_sign_op {
    struct devid_key *key; /* one reference */
    CK_MECHANISM mech;
    CK_RSA_PKCS_PSS_PARAMS pss;
    unsigned char *buf; /* the message while short */
    size_t len;
    struct devid_p11_token *tok; /* streaming: the token, */
    CK_SESSION_HANDLE s;         /* the session the operation is on */
    int streaming;
    int moved; /* handed over to a copy */
};

int devid_p11_sign_init(struct devid_key *key,
                        const struct devid_sign_params *p,
                        struct devid_sign_op **op)
{
    const struct devid_p11_md *mgf = devid_p11_md_find(p->mgf1_nid);
    struct devid_p11_plan plan;
    struct devid_sign_op *o = NULL;

    *op = NULL;
    if (!devid_p11_mech_plan(key, p, &plan)) {
        return 0;
    }
    if (plan.route != DEVID_P11_ROUTE_HASHED) {
        return 1; /* sign() over the digest */
    }
    o = OPENSSL_zalloc(sizeof(*o));
    if (o == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "signature operation");
        return 0;
    }
    o->key = devid_key_up_ref(key);
    o->s = CK_INVALID_HANDLE;
    o->mech.mechanism = plan.ckm;
    if (p->scheme == DEVID_SIG_PSS) {
        o->pss.hashAlg = plan.md->ckm;
        o->pss.mgf = mgf != NULL ? mgf->mgf : plan.md->mgf;
        o->pss.sLen = (CK_ULONG)p->saltlen;
        o->mech.pParameter = &o->pss;
        o->mech.ulParameterLen = sizeof(o->pss);
    }
    *op = o;
    return 1;
}

static int devid_p11_sign_moved(const struct devid_sign_op *op)
{
    if (op->moved) {
        DEVID_RAISE(op->key->prov, DEVID_R_INVALID_PARAM,
                    "%s: this %s signature went on in a copy of its context",
                    op->key->uri, devid_p11_mech_name(op->mech.mechanism));
        return 1;
    }
    return 0;
}

/* Moves the kept message to a session: C_SignInit, then C_SignUpdate. */
static int devid_p11_sign_stream(struct devid_sign_op *op)
{
    struct devid_key *key = op->key;
    struct devid_p11_token *tok = devid_p11_ops_ready(key);
    const char *fname = "C_OpenSession";
    CK_RV rv;

    if (tok == NULL) {
        return 0;
    }
    rv = devid_p11_session_take(tok, &op->s);
    if (rv == CKR_OK) {
        fname = "C_SignInit";
        rv = tok->mod->fn->C_SignInit(op->s, &op->mech,
                                      devid_p11_copy_handle(key, tok));
    }
    if (rv == CKR_OK && ((const struct devid_p11_key *)key->be)->always_auth) {
        fname = "C_Login";
        rv = devid_p11_login_context(key, tok, op->s);
    }
    if (rv == CKR_OK && op->len > 0) {
        fname = "C_SignUpdate";
        rv = tok->mod->fn->C_SignUpdate(op->s, op->buf, (CK_ULONG)op->len);
    }
    if (rv != CKR_OK) {
        if (op->s != CK_INVALID_HANDLE) {
            devid_p11_session_give(tok, op->s, 1);
            op->s = CK_INVALID_HANDLE;
        }
        devid_p11_raise_rv(key->prov, fname, rv, key->uri);
        return 0;
    }
    op->tok = tok;
    op->streaming = 1;
    OPENSSL_clear_free(op->buf, op->len);
    op->buf = NULL;
    op->len = 0;
    return 1;
}

int devid_p11_sign_update(struct devid_sign_op *op, const unsigned char *data,
                          size_t len)
{
    unsigned char *grown = NULL;
    CK_RV rv;

    if (devid_p11_sign_moved(op)) {
        return 0;
    }
    if (!op->streaming && len <= DEVID_P11_HASHED_BUF - op->len) {
        grown = OPENSSL_clear_realloc(op->buf, op->len, op->len + len + 1);
        if (grown == NULL) {
            DEVID_RAISE(op->key->prov, DEVID_R_MALLOC, "message");
            return 0;
        }
        memcpy(grown + op->len, data, len);
        op->buf = grown;
        op->len += len;
        return 1;
    }
    if (!op->streaming && !devid_p11_sign_stream(op)) {
        return 0;
    }
    rv = op->tok->mod->fn->C_SignUpdate(op->s, (CK_BYTE_PTR)(uintptr_t)data,
                                        (CK_ULONG)len);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(op->key->prov, "C_SignUpdate", rv, op->key->uri);
        return 0;
    }
    return 1;
}

int devid_p11_sign_final(struct devid_sign_op *op, unsigned char *sig,
                         size_t *siglen)
{
    CK_ULONG outlen = (CK_ULONG)*siglen;
    CK_RV rv;

    if (devid_p11_sign_moved(op)) {
        return 0;
    }
    if (!op->streaming) {
        return devid_p11_guard_sign_call(op->key, &op->mech,
                                         op->buf != NULL
                                             ? op->buf
                                             : (const unsigned char *)"",
                                         op->len, sig, siglen);
    }
    rv = op->tok->mod->fn->C_SignFinal(op->s, sig, &outlen);
    devid_p11_session_give(op->tok, op->s, rv != CKR_OK);
    op->s = CK_INVALID_HANDLE;
    op->streaming = 0;
    op->moved = 1; /* ended: nothing more to do with it */
    if (rv != CKR_OK) {
        devid_p11_raise_rv(op->key->prov, "C_SignFinal", rv, op->key->uri);
        return 0;
    }
    *siglen = outlen;
    return 1;
}

int devid_p11_sign_dup(struct devid_sign_op *op, struct devid_sign_op **out)
{
    struct devid_sign_op *o = OPENSSL_memdup(op, sizeof(*op));

    *out = NULL;
    if (o == NULL) {
        DEVID_RAISE(op->key->prov, DEVID_R_MALLOC, "signature operation");
        return 0;
    }
    devid_key_up_ref(o->key);
    if (o->mech.pParameter != NULL) {
        o->mech.pParameter = &o->pss;
    }
    o->buf = NULL;
    if (op->buf != NULL) {
        o->buf = OPENSSL_memdup(op->buf, op->len + 1);
        if (o->buf == NULL) {
            o->len = 0;
            devid_p11_sign_free(o);
            DEVID_RAISE(op->key->prov, DEVID_R_MALLOC, "message");
            return 0;
        }
    }
    /* a token operation in progress cannot be copied (C_GetOperationState
     * is rare, and SoftHSM has none): the copy takes it over */
    if (op->streaming) {
        op->streaming = 0;
        op->s = CK_INVALID_HANDLE;
        op->moved = 1;
    }
    *out = o;
    return 1;
}

void devid_p11_sign_free(struct devid_sign_op *op)
{
    if (op == NULL) {
        return;
    }
    /* an unfinished operation stays active in its session: close it */
    if (op->streaming && op->s != CK_INVALID_HANDLE) {
        devid_p11_session_give(op->tok, op->s, 1);
    }
    OPENSSL_clear_free(op->buf, op->len);
    devid_key_free(op->key);
    OPENSSL_clear_free(op, sizeof(*op));
}
