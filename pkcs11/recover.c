/* SPDX-License-Identifier: Apache-2.0 */
/* Recovery from a lost token, and the guard around every entry into a
 * module.
 *
 * A token can go away under a long-running process: a card or USB token is
 * pulled and put back, a PKCS#11 proxy or `p11-kit server` restarts. The
 * handles the process holds (sessions, the login, objects, the key's
 * session copy) then name nothing, or something else. When an operation
 * fails in a way that says so, devid_p11_recover() puts things in order
 * for one more try: the token's sessions and login are forgotten (as after
 * a fork), a module that stopped answering altogether is finalized and
 * initialised again (p11-kit's client answers CKR_DEVICE_ERROR for ever
 * once its server socket died), and the key finds its object again. The
 * guard below then makes the operation once more; the second try re-reads
 * the slot list, finds the token again by its label, manufacturer, model
 * and serial (devid_p11_token_refresh), logs in with the kept PIN and
 * finds the key object again (devid_p11_ops_ready). While the token is
 * away that second try fails at once with DEVID_R_NO_TOKEN.
 *
 * The guard also blocks SIGPIPE: a module that talks to its token over a
 * socket (p11-kit's client, proxies) writes to a dead socket when the
 * other end went away, and SIGPIPE's default action would end the
 * program. Blocking it makes the write fail with EPIPE; a SIGPIPE left
 * pending by the module is taken before the mask is restored. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <p11-kit/p11-kit.h>

#include "common/err.h"
#include "common/log.h"
#include "pkcs11/p11.h"

/* A module is restarted at most this often: a token that is away costs
 * one re-initialisation per half second, not one per operation. */
#define DEVID_P11_RESTART_MS 500

/* Set by devid_p11_recover when the failed operation is worth one more
 * try (an error mark is then set too, so the first try's error can go). */
static _Thread_local int devid_p11_retry;

/* ---- SIGPIPE ------------------------------------------------------------ */

void devid_p11_sigpipe_block(struct devid_p11_sigpipe *g)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    /* already blocked by the application: its SIGPIPEs are its own */
    g->blocked = pthread_sigmask(SIG_BLOCK, &set, &g->old) == 0
                 && !sigismember(&g->old, SIGPIPE);
}

void devid_p11_sigpipe_restore(struct devid_p11_sigpipe *g, int check)
{
    sigset_t set;
    sigset_t pending;
    struct timespec zero = { 0, 0 };

    if (!g->blocked) {
        return;
    }
    /* a write to a dead socket makes the call fail: only a failed (or
     * retried) entry can have left a SIGPIPE behind */
    if (check && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        while (sigtimedwait(&set, NULL, &zero) < 0 && EINTR == errno) {
        }
        DEVID_DEBUG("pkcs11", "%s", "SIGPIPE from a module taken");
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- restarting a module ------------------------------------------------- */

static long devid_p11_ms_between(const struct timespec *a,
                                 const struct timespec *b)
{
    return (long)(b->tv_sec - a->tv_sec) * 1000
           + (b->tv_nsec - a->tv_nsec) / 1000000;
}

int devid_p11_module_restart_locked(struct devid_p11 *p11,
                                    struct devid_p11_module *m, int force)
{
    struct timespec now;
    CK_RV rv;
    size_t i;

    if (p11->dead || p11->pid != getpid()) {
        return 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!force && (m->restarted.tv_sec != 0 || m->restarted.tv_nsec != 0)
        && devid_p11_ms_between(&m->restarted, &now) < DEVID_P11_RESTART_MS) {
        return m->initialized;
    }
    m->restarted = now;
    DEVID_DEBUG("pkcs11", "module %s: finalizing and initialising again",
                m->path);
    /* C_Finalize ends every session of every token of the module (PKCS #11
     * v2.40 §5.4); a module restarted here had none left that worked */
    devid_err_mark(p11->prov);
    if (m->initialized) {
        p11_kit_module_finalize(m->fn);
    }
    rv = p11_kit_module_initialize(m->fn);
    devid_err_pop_to_mark(p11->prov);
    m->initialized = CKR_OK == rv;
    if (rv != CKR_OK) {
        DEVID_DEBUG("pkcs11", "module %s: C_Initialize: %s", m->path,
                    devid_p11_rv_name(rv));
    }
    for (i = 0; i < p11->ntoks; i++) {
        if (p11->toks[i]->mod == m) {
            devid_p11_session_reset(p11->toks[i]);
        }
    }
    __atomic_store_n(&p11->gen, p11->gen + 1, __ATOMIC_RELEASE);
    return m->initialized;
}

/* After CKR_DEVICE_ERROR (or "not initialized"): 1 when the module itself
 * stopped answering, so it was restarted, or when another thread restarted
 * it meanwhile; 0 when it still answers (a real device error: no retry). */
static int devid_p11_module_lost(struct devid_p11_token *tok)
{
    struct devid_p11 *p11 = tok->p11;
    struct devid_p11_module *m = tok->mod;
    CK_ULONG n = 0;
    int ret = 0;

    pthread_mutex_lock(&p11->lock);
    if (tok->gen != p11->gen) {
        ret = 1; /* restarted or lost since: try again */
    } else if (!p11->dead && m->initialized
               && m->fn->C_GetSlotList(CK_FALSE, NULL, &n) == CKR_OK) {
        ret = 0;
    } else {
        /* it answers nothing: starting it again can only help */
        devid_p11_module_restart_locked(p11, m, 1);
        ret = 1;
    }
    pthread_mutex_unlock(&p11->lock);
    return ret;
}

/* ---- deciding on one more try ---------------------------------------------- */

static int devid_p11_recover_why(struct devid_key *key,
                                 struct devid_p11_token *tok, CK_RV rv,
                                 CK_OBJECT_HANDLE h)
{
    struct devid_p11_key *k = key->be;

    switch (rv) {
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
        if (devid_p11_copy_lost(key, h) || devid_p11_session_lost(tok)) {
            return 1;
        }
        /* the token object itself is gone: find it again by its id */
        __atomic_store_n(&k->gen, 0UL, __ATOMIC_RELEASE);
        return 1;
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
        /* a lost anchor means a lost login; else this session alone was
         * bad (and is closed): another one will do */
        devid_p11_session_lost(tok);
        return 1;
    case CKR_USER_NOT_LOGGED_IN:
        return devid_p11_session_lost(tok);
    case CKR_DEVICE_ERROR:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
        return devid_p11_module_lost(tok);
    default:
        return 0;
    }
}

int devid_p11_recover(struct devid_key *key, struct devid_p11_token *tok,
                      CK_RV rv, CK_OBJECT_HANDLE h)
{
    /* the state is put in order for the next use even after a retry */
    if (!devid_p11_recover_why(key, tok, rv, h) || devid_p11_retry) {
        return 0;
    }
    DEVID_DEBUG("pkcs11", "%s: %s: trying once more", key->uri,
                devid_p11_rv_name(rv));
    devid_err_mark(key->prov);
    devid_p11_retry = 1;
    return 1;
}

/* ---- the guarded entries of the backend's table ------------------------- */

/* Starts one guarded private-key operation. */
static void devid_p11_op_begin(struct devid_p11_sigpipe *g)
{
    devid_p11_sigpipe_block(g);
    devid_p11_retry = 0;
}

/* After the first try: 1 when a second is due (the first one's error is
 * dropped then). */
static int devid_p11_op_again(struct devid_key *key, int ret)
{
    if (!devid_p11_retry) {
        return 0;
    }
    if (ret) {
        devid_err_clear_mark(key->prov);
        return 0;
    }
    devid_err_pop_to_mark(key->prov);
    return 1;
}

static int devid_p11_op_end(struct devid_p11_sigpipe *g, int ret)
{
    devid_p11_sigpipe_restore(g, !ret || devid_p11_retry);
    devid_p11_retry = 0;
    return ret;
}

int devid_p11_guard_sign(struct devid_key *key,
                         const struct devid_sign_params *p,
                         const unsigned char *tbs, size_t tbslen,
                         unsigned char *sig, size_t *siglen)
{
    struct devid_p11_sigpipe g;
    size_t size = *siglen;
    int ret;

    devid_p11_op_begin(&g);
    ret = devid_p11_ops_sign(key, p, tbs, tbslen, sig, siglen);
    if (devid_p11_op_again(key, ret)) {
        *siglen = size;
        ret = devid_p11_ops_sign(key, p, tbs, tbslen, sig, siglen);
    }
    return devid_p11_op_end(&g, ret);
}

int devid_p11_guard_decrypt(struct devid_key *key,
                            const struct devid_dec_params *p,
                            const unsigned char *in, size_t inlen,
                            unsigned char *out, size_t *outlen)
{
    struct devid_p11_sigpipe g;
    size_t size = *outlen;
    int ret;

    devid_p11_op_begin(&g);
    ret = devid_p11_ops_decrypt(key, p, in, inlen, out, outlen);
    if (devid_p11_op_again(key, ret)) {
        *outlen = size;
        ret = devid_p11_ops_decrypt(key, p, in, inlen, out, outlen);
    }
    return devid_p11_op_end(&g, ret);
}

int devid_p11_guard_derive(struct devid_key *key, const unsigned char *peer,
                           size_t peer_len, unsigned char *secret,
                           size_t *secretlen)
{
    struct devid_p11_sigpipe g;
    size_t size = *secretlen;
    int ret;

    devid_p11_op_begin(&g);
    ret = devid_p11_ops_derive(key, peer, peer_len, secret, secretlen);
    if (devid_p11_op_again(key, ret)) {
        *secretlen = size;
        ret = devid_p11_ops_derive(key, peer, peer_len, secret, secretlen);
    }
    return devid_p11_op_end(&g, ret);
}

int devid_p11_guard_sign_call(struct devid_key *key, CK_MECHANISM *mech,
                              const unsigned char *in, size_t inlen,
                              unsigned char *sig, size_t *siglen)
{
    struct devid_p11_sigpipe g;
    size_t size = *siglen;
    int ret;

    devid_p11_op_begin(&g);
    ret = devid_p11_sign_call(key, mech, in, inlen, sig, siglen);
    if (devid_p11_op_again(key, ret)) {
        *siglen = size;
        ret = devid_p11_sign_call(key, mech, in, inlen, sig, siglen);
    }
    return devid_p11_op_end(&g, ret);
}

int devid_p11_guard_sign_update(struct devid_sign_op *op,
                                const unsigned char *data, size_t len)
{
    int ret;

    DEVID_P11_GUARDED(ret, devid_p11_sign_update(op, data, len));
    return ret;
}

int devid_p11_guard_sign_final(struct devid_sign_op *op, unsigned char *sig,
                               size_t *siglen)
{
    int ret;

    DEVID_P11_GUARDED(ret, devid_p11_sign_final(op, sig, siglen));
    return ret;
}

void devid_p11_guard_sign_free(struct devid_sign_op *op)
{
    struct devid_p11_sigpipe g;

    devid_p11_sigpipe_block(&g);
    devid_p11_sign_free(op);
    devid_p11_sigpipe_restore(&g, 0);
}
