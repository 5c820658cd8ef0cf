/* SPDX-License-Identifier: Apache-2.0 */
/* The session copy of a private key: a software token (SoftHSM) decrypts
 * and checks a token object's stored key on every operation, but keeps a
 * session object ready in memory. So a key used more than once is copied,
 * once, into a session object (C_CopyObject with CKA_TOKEN false, PKCS #11
 * v2.40 §5.7) held by the token's anchor session, which lives as long as
 * any key of the token; operations then run on the copy from any pooled
 * session, since session objects belong to the application, not to the
 * session that made them (§4.4, §6.7.4). The copy keeps CKA_SENSITIVE and
 * CKA_EXTRACTABLE false; it is destroyed with the key, lost with the
 * anchor (and then made again), and never made when pkcs11-module-key-copy
 * is none. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "pkcs11/p11.h"

#define DEVID_P11_STATE(k) __atomic_load_n(&(k)->copy_state, __ATOMIC_ACQUIRE)
#define DEVID_P11_SET_STATE(k, v)                                              \
    __atomic_store_n(&(k)->copy_state, (v), __ATOMIC_RELEASE)

/* CKA_TOKEN, CKA_SENSITIVE and CKA_EXTRACTABLE of an object; *ok 0 when
 * the token does not tell. */
struct devid_p11_guard {
    CK_BBOOL token;
    CK_BBOOL sensitive;
    CK_BBOOL extractable;
};

static int devid_p11_guard_read(struct devid_p11_token *tok,
                                CK_OBJECT_HANDLE h, struct devid_p11_guard *g)
{
    CK_ATTRIBUTE a[3] = {
        { CKA_TOKEN, &g->token, sizeof(g->token) },
        { CKA_SENSITIVE, &g->sensitive, sizeof(g->sensitive) },
        { CKA_EXTRACTABLE, &g->extractable, sizeof(g->extractable) },
    };

    return tok->mod->fn->C_GetAttributeValue(tok->anchor, h, a, 3) == CKR_OK;
}

/* A copy is kept only when it is a session object no easier to read than
 * the original: some tokens ignore parts of a copy template. */
static int devid_p11_copy_sealed(struct devid_p11_token *tok,
                                 CK_OBJECT_HANDLE orig, CK_OBJECT_HANDLE copy)
{
    struct devid_p11_guard o;
    struct devid_p11_guard c;

    return devid_p11_guard_read(tok, orig, &o)
           && devid_p11_guard_read(tok, copy, &c) && CK_FALSE == c.token
           && (CK_TRUE == c.sensitive || CK_FALSE == o.sensitive)
           && (CK_FALSE == c.extractable || CK_TRUE == o.extractable);
}

/* Makes the copy. Called with tok->lock held and the state WANTED; leaves
 * it READY or NONE. Only CKA_TOKEN is in the template: the copy inherits
 * CKA_SENSITIVE and CKA_EXTRACTABLE, and tokens (SoftHSM among them)
 * refuse even an unchanged value of those as CKR_ATTRIBUTE_READ_ONLY. */
static void devid_p11_copy_make(struct devid_key *key,
                                struct devid_p11_token *tok)
{
    struct devid_p11_key *k = key->be;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE t[1] = { { CKA_TOKEN, &no, sizeof(no) } };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_RV rv = devid_p11_session_anchor(tok);

    if (CKR_OK == rv) {
        rv = tok->mod->fn->C_CopyObject(tok->anchor, k->h, t, 1, &h);
    }
    if (CKR_OK == rv && !devid_p11_copy_sealed(tok, k->h, h)) {
        tok->mod->fn->C_DestroyObject(tok->anchor, h);
        rv = CKR_TEMPLATE_INCONSISTENT;
    }
    if (rv != CKR_OK) {
        DEVID_DEBUG("pkcs11", "%s: no session copy (%s): the token object "
                    "is used", key->uri, devid_p11_rv_name(rv));
        DEVID_P11_SET_STATE(k, DEVID_P11_COPY_NONE);
        return;
    }
    DEVID_DEBUG("pkcs11", "%s: signing on session copy %lu", key->uri,
                (unsigned long)h);
    __atomic_store_n(&k->copy, h, __ATOMIC_RELAXED);
    k->copy_anchor = tok->anchor_gen;
    DEVID_P11_SET_STATE(k, DEVID_P11_COPY_READY);
}

/* The first use only marks the key; the second makes the copy, under the
 * token lock (other threads wait for it there, once). */
static CK_OBJECT_HANDLE devid_p11_copy_slow(struct devid_key *key,
                                            struct devid_p11_token *tok,
                                            int state)
{
    struct devid_p11_key *k = key->be;
    int unused = DEVID_P11_COPY_UNUSED;

    if (DEVID_P11_COPY_UNUSED == state) {
        state = devid_p11_cfg_get(key->prov)->no_key_copy
                    ? DEVID_P11_COPY_NONE
                    : DEVID_P11_COPY_WANTED;
        __atomic_compare_exchange_n(&k->copy_state, &unused, state, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
        return __atomic_load_n(&k->h, __ATOMIC_RELAXED);
    }
    pthread_mutex_lock(&tok->lock);
    if (DEVID_P11_COPY_WANTED == k->copy_state) {
        devid_p11_copy_make(key, tok);
    }
    pthread_mutex_unlock(&tok->lock);
    return DEVID_P11_STATE(k) == DEVID_P11_COPY_READY
               ? __atomic_load_n(&k->copy, __ATOMIC_RELAXED)
               : __atomic_load_n(&k->h, __ATOMIC_RELAXED);
}

CK_OBJECT_HANDLE devid_p11_copy_handle(struct devid_key *key,
                                       struct devid_p11_token *tok)
{
    struct devid_p11_key *k = key->be;
    int state = DEVID_P11_STATE(k);

    /* the signing path: one load, no lock */
    if (DEVID_P11_COPY_READY == state) {
        return __atomic_load_n(&k->copy, __ATOMIC_RELAXED);
    }
    if (DEVID_P11_COPY_NONE == state || !key->has_private) {
        return __atomic_load_n(&k->h, __ATOMIC_RELAXED);
    }
    return devid_p11_copy_slow(key, tok, state);
}

/* The copy is still in the anchor it was made in: ours to destroy. Call
 * with tok->lock held. */
static int devid_p11_copy_ours(const struct devid_p11_key *k,
                               const struct devid_p11_token *tok)
{
    return DEVID_P11_COPY_READY == k->copy_state && tok->has_anchor
           && k->copy_anchor == tok->anchor_gen;
}

int devid_p11_copy_lost(struct devid_key *key, CK_OBJECT_HANDLE h)
{
    struct devid_p11_key *k = key->be;
    struct devid_p11_token *tok = k->tok;
    int ret = 0;

    pthread_mutex_lock(&tok->lock);
    if (DEVID_P11_COPY_READY == k->copy_state && k->copy == h) {
        DEVID_DEBUG("pkcs11", "%s: session copy %lu lost: making another",
                    key->uri, (unsigned long)h);
        if (devid_p11_copy_ours(k, tok)) {
            tok->mod->fn->C_DestroyObject(tok->anchor, h);
        }
        DEVID_P11_SET_STATE(k, DEVID_P11_COPY_WANTED);
        ret = 1;
    }
    pthread_mutex_unlock(&tok->lock);
    return ret;
}

void devid_p11_copy_refound(struct devid_key *key)
{
    struct devid_p11_key *k = key->be;
    struct devid_p11_token *tok = k->tok;

    pthread_mutex_lock(&tok->lock);
    if (DEVID_P11_COPY_READY == k->copy_state && !devid_p11_copy_ours(k, tok)) {
        /* made in an anchor that is gone (token loss, fork): gone with it,
         * and its handle may name another object now */
        DEVID_P11_SET_STATE(k, DEVID_P11_COPY_WANTED);
    }
    pthread_mutex_unlock(&tok->lock);
}

void devid_p11_copy_free(struct devid_key *key)
{
    struct devid_p11_key *k = key->be;
    struct devid_p11_token *tok = k != NULL ? k->tok : NULL;
    struct devid_p11 *p11 = tok != NULL ? tok->p11 : NULL;

    if (p11 == NULL || DEVID_P11_STATE(k) != DEVID_P11_COPY_READY) {
        return;
    }
    /* after fork the anchor is the parent's; after exit the module is
     * finalized (and C_Finalize destroyed every session object) */
    pthread_mutex_lock(&p11->lock);
    if (!p11->dead && p11->pid == getpid() && tok->gen == p11->gen
        && k->gen == tok->gen) {
        pthread_mutex_lock(&tok->lock);
        if (devid_p11_copy_ours(k, tok)) {
            tok->mod->fn->C_DestroyObject(tok->anchor, k->copy);
        }
        DEVID_P11_SET_STATE(k, DEVID_P11_COPY_NONE);
        pthread_mutex_unlock(&tok->lock);
    }
    pthread_mutex_unlock(&p11->lock);
}
