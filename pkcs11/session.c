/* SPDX-License-Identifier: Apache-2.0 */
/* The session pool of a token: sessions are opened on demand up to the
 * token's limit, taken for one operation and given back. One extra
 * "anchor" session stays open for the life of the token so that the login
 * (which belongs to the application, not to a session: PKCS #11 v2.40
 * §5.6) lasts while pooled sessions come and go. */
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
    }
    return rv;
}

CK_RV devid_p11_session_take(struct devid_p11_token *tok,
                             CK_SESSION_HANDLE *out)
{
    CK_RV rv = CKR_OK;

    pthread_mutex_lock(&tok->lock);
    rv = devid_p11_session_anchor(tok);
    if (rv != CKR_OK) {
        goto end;
    }
    while (0 == tok->nfree && tok->nopen >= tok->max) {
        pthread_cond_wait(&tok->cond, &tok->lock);
    }
    if (tok->nfree > 0) {
        *out = tok->free[--tok->nfree];
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

void devid_p11_session_give(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                            int broken)
{
    pthread_mutex_lock(&tok->lock);
    if (broken) {
        tok->mod->fn->C_CloseSession(s);
        tok->nopen--;
        goto end;
    }
    if (tok->free == NULL) {
        /* sized once: never more idle sessions than the limit */
        CK_SESSION_HANDLE *l = OPENSSL_realloc(tok->free,
                                               tok->max * sizeof(*l));

        if (l == NULL) {
            tok->mod->fn->C_CloseSession(s);
            tok->nopen--;
            goto end;
        }
        tok->free = l;
    }
    tok->free[tok->nfree++] = s;
end:
    pthread_cond_signal(&tok->cond);
    pthread_mutex_unlock(&tok->lock);
}

void devid_p11_session_forget(struct devid_p11_token *tok)
{
    tok->nfree = 0;
    tok->nopen = 0;
    tok->has_anchor = 0;
    tok->logged_in = 0;
}
