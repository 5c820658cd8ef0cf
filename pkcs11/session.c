/* SPDX-License-Identifier: Apache-2.0 */
/* The session pool of a token: sessions are opened on demand up to the
 * token's limit, taken for one operation and given back. One extra
 * "anchor" session stays open for the life of the token so that the login
 * (which belongs to the application, not to a session: PKCS #11 v2.40
 * §5.6) lasts while pooled sessions come and go.
 *
 * Taking and giving back an idle session is one atomic exchange on a slot
 * of tok->idle each: the signing path takes no lock (DESIGN.md principle
 * 4). The lock is for opening sessions, waiting at the limit, and the
 * anchor. A giver wakes a waiter only when one is counted in tok->nwait:
 * the waiter counts itself before its last look at the slots, the giver
 * fills a slot before it reads the count (both sequentially consistent),
 * so one of them always sees the other. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "pkcs11/p11.h"

/* Read-write sessions where the token allows them (key generation and
 * certificate objects need them); read-only tokens (p11-kit-trust, smart
 * cards in read-only mode) still get sessions for finding and signing. */
static CK_RV devid_p11_session_open(struct devid_p11_token *tok,
                                    CK_SESSION_HANDLE *s)
{
    CK_RV rv = tok->mod->fn->C_OpenSession(tok->slot,
                                           CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                           NULL, NULL, s);

    if (rv == CKR_TOKEN_WRITE_PROTECTED) {
        rv = tok->mod->fn->C_OpenSession(tok->slot, CKF_SERIAL_SESSION, NULL,
                                         NULL, s);
    }
    return rv;
}

CK_RV devid_p11_session_anchor(struct devid_p11_token *tok)
{
    CK_RV rv;

    if (tok->has_anchor) {
        return CKR_OK;
    }
    rv = devid_p11_session_open(tok, &tok->anchor);
    if (CKR_OK == rv) {
        tok->has_anchor = 1;
        tok->anchor_gen++;
    }
    return rv;
}

/* An idle session from the slots, or 0. */
static int devid_p11_session_grab(struct devid_p11_token *tok,
                                  CK_SESSION_HANDLE *out)
{
    size_t i;

    for (i = 0; i < tok->max; i++) {
        CK_SESSION_HANDLE s = __atomic_load_n(&tok->idle[i], __ATOMIC_SEQ_CST);

        if (s != CK_INVALID_HANDLE
            && __atomic_compare_exchange_n(&tok->idle[i], &s,
                                           CK_INVALID_HANDLE, 0,
                                           __ATOMIC_SEQ_CST,
                                           __ATOMIC_RELAXED)) {
            *out = s;
            return 1;
        }
    }
    return 0;
}

/* Puts s in an empty slot; 0 when there is none (cannot happen while
 * nopen <= max, but then the caller closes s). */
static int devid_p11_session_park(struct devid_p11_token *tok,
                                  CK_SESSION_HANDLE s)
{
    size_t i;

    for (i = 0; i < tok->max; i++) {
        CK_SESSION_HANDLE empty = CK_INVALID_HANDLE;

        if (__atomic_compare_exchange_n(&tok->idle[i], &empty, s, 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
            return 1;
        }
    }
    return 0;
}

/* No idle session: open one when the token allows more, else wait. */
static CK_RV devid_p11_session_take_slow(struct devid_p11_token *tok,
                                         CK_SESSION_HANDLE *out)
{
    CK_RV rv;

    pthread_mutex_lock(&tok->lock);
    rv = devid_p11_session_anchor(tok);
    if (rv != CKR_OK) {
        goto end;
    }
    __atomic_add_fetch(&tok->nwait, 1, __ATOMIC_SEQ_CST);
    while (!devid_p11_session_grab(tok, out) && tok->nopen >= tok->max) {
        pthread_cond_wait(&tok->cond, &tok->lock);
    }
    __atomic_sub_fetch(&tok->nwait, 1, __ATOMIC_SEQ_CST);
    if (*out != CK_INVALID_HANDLE) {
        goto end;
    }
    /* open a new one outside the lock: others may give sessions back */
    tok->nopen++;
    pthread_mutex_unlock(&tok->lock);
    rv = devid_p11_session_open(tok, out);
    pthread_mutex_lock(&tok->lock);
    if (rv != CKR_OK) {
        tok->nopen--;
        pthread_cond_signal(&tok->cond);
    } else {
        DEVID_DEBUG("pkcs11", "session %lu opened (%zu in pool)",
                    (unsigned long)*out, tok->nopen);
    }
end:
    pthread_mutex_unlock(&tok->lock);
    return rv;
}

/* The token and its epoch the calling thread last took a session in (a
 * thread holds one pooled session at a time; when not, the check below
 * is skipped for the other token). */
static _Thread_local const struct devid_p11_token *devid_p11_taken_tok;
static _Thread_local unsigned long devid_p11_taken_epoch;

CK_RV devid_p11_session_take(struct devid_p11_token *tok,
                             CK_SESSION_HANDLE *out)
{
    *out = CK_INVALID_HANDLE;
    devid_p11_taken_tok = tok;
    devid_p11_taken_epoch = __atomic_load_n(&tok->epoch, __ATOMIC_ACQUIRE);
    /* idle sessions exist only once the anchor is open (the slow path
     * opens it first; loss and fork empty the slots with it) */
    if (devid_p11_session_grab(tok, out)) {
        return CKR_OK;
    }
    return devid_p11_session_take_slow(tok, out);
}

/* Closes a session of the pool and lets a waiter open another. */
static void devid_p11_session_close(struct devid_p11_token *tok,
                                    CK_SESSION_HANDLE s)
{
    pthread_mutex_lock(&tok->lock);
    tok->mod->fn->C_CloseSession(s);
    tok->nopen--;
    pthread_cond_signal(&tok->cond);
    pthread_mutex_unlock(&tok->lock);
}

/* A session taken before the module restarted: its handle may name a new
 * session of someone else now, so it is neither pooled nor closed. */
static void devid_p11_session_drop(struct devid_p11_token *tok)
{
    pthread_mutex_lock(&tok->lock);
    tok->nopen--;
    pthread_cond_signal(&tok->cond);
    pthread_mutex_unlock(&tok->lock);
}

void devid_p11_session_give(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                            int broken)
{
    if (devid_p11_taken_tok == tok
        && devid_p11_taken_epoch
               != __atomic_load_n(&tok->epoch, __ATOMIC_ACQUIRE)) {
        devid_p11_session_drop(tok);
        return;
    }
    if (broken || !devid_p11_session_park(tok, s)) {
        devid_p11_session_close(tok, s);
        return;
    }
    if (__atomic_load_n(&tok->nwait, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&tok->lock);
        pthread_cond_signal(&tok->cond);
        pthread_mutex_unlock(&tok->lock);
    }
}

void devid_p11_session_forget(struct devid_p11_token *tok)
{
    size_t i;

    for (i = 0; i < tok->max; i++) {
        __atomic_store_n(&tok->idle[i], CK_INVALID_HANDLE, __ATOMIC_RELAXED);
    }
    tok->nopen = 0;
    tok->has_anchor = 0;
    tok->logged_in = 0;
}

/* The anchor still open and, when the token wants a login, logged in. */
static int devid_p11_anchor_alive(struct devid_p11_token *tok)
{
    CK_SESSION_INFO si;

    if (!tok->has_anchor
        || tok->mod->fn->C_GetSessionInfo(tok->anchor, &si) != CKR_OK) {
        return 0;
    }
    return !tok->logged_in || (tok->info.flags & CKF_LOGIN_REQUIRED) == 0
           || CKS_RO_USER_FUNCTIONS == si.state
           || CKS_RW_USER_FUNCTIONS == si.state;
}

int devid_p11_session_lost(struct devid_p11_token *tok)
{
    struct devid_p11 *p11 = tok->p11;
    CK_SESSION_HANDLE s;
    size_t i;

    if (__atomic_load_n(&p11->dead, __ATOMIC_ACQUIRE)) {
        return 0;                   /* finalized: no call into the module */
    }
    pthread_mutex_lock(&tok->lock);
    if (devid_p11_anchor_alive(tok)) {
        pthread_mutex_unlock(&tok->lock);
        return 0;
    }
    DEVID_DEBUG("pkcs11", "token %.*s lost its sessions: starting again",
                DEVID_P11_LABEL(tok->info.label));
    /* sessions in use elsewhere fail on their own and are closed as
     * broken when given back; the idle ones are closed here */
    for (i = 0; i < tok->max; i++) {
        s = __atomic_exchange_n(&tok->idle[i], CK_INVALID_HANDLE,
                                __ATOMIC_SEQ_CST);
        if (s != CK_INVALID_HANDLE) {
            tok->mod->fn->C_CloseSession(s);
            tok->nopen--;
        }
    }
    if (tok->has_anchor) {
        tok->mod->fn->C_CloseSession(tok->anchor);
    }
    tok->has_anchor = 0;
    __atomic_store_n(&tok->logged_in, 0, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&tok->cond);
    pthread_mutex_unlock(&tok->lock);
    /* keys find their object again and drop copies made in the old
     * anchor (devid_p11_ops_ready, devid_p11_copy_refound) */
    pthread_mutex_lock(&p11->lock);
    __atomic_store_n(&p11->gen, p11->gen + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&p11->lock);
    return 1;
}

void devid_p11_session_reset(struct devid_p11_token *tok)
{
    size_t i;

    pthread_mutex_lock(&tok->lock);
    for (i = 0; i < tok->max; i++) {
        if (__atomic_exchange_n(&tok->idle[i], CK_INVALID_HANDLE,
                                __ATOMIC_SEQ_CST)
            != CK_INVALID_HANDLE) {
            tok->nopen--;
        }
    }
    tok->has_anchor = 0;
    __atomic_store_n(&tok->logged_in, 0, __ATOMIC_RELEASE);
    __atomic_add_fetch(&tok->epoch, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&tok->cond);
    pthread_mutex_unlock(&tok->lock);
}
