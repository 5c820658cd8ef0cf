/* SPDX-License-Identifier: Apache-2.0 */
/* Login once per token. The PIN comes from the URI (pin-value, pin-source),
 * the configuration or the application's passphrase callback; it lives in
 * the secure heap and is wiped after use. A PIN the token refused is
 * remembered (in the secure heap) and never sent again, so a wrong PIN costs
 * exactly one failed C_Login and cannot lock the token by repetition. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "pkcs11/p11.h"

#define DEVID_P11_HASH_LEN 257   /* length byte + up to 256 PIN bytes */

/* A PIN under construction: a secure buffer and its length. */
struct devid_p11_pin {
    char *buf;
    size_t len;
    size_t size;
    const char *from;            /* where it came from, for messages */
};

static void devid_p11_pin_clear(struct devid_p11_pin *pin)
{
    if (pin->buf != NULL) {
        OPENSSL_secure_clear_free(pin->buf, pin->size);
    }
    pin->buf = NULL;
    pin->len = 0;
    pin->size = 0;
}

static int devid_p11_pin_copy(struct devid_p11_pin *pin, const char *v,
                              size_t len, const char *from)
{
    pin->buf = OPENSSL_secure_zalloc(len + 1);
    if (pin->buf == NULL) {
        return 0;
    }
    memcpy(pin->buf, v, len);
    pin->len = len;
    pin->size = len + 1;
    pin->from = from;
    return 1;
}

/* pin-source: "file:/path", "file:///path" or a plain path (RFC 7512
 * §2.4 leaves the form open; these are the ones in use). */
static int devid_p11_pin_from_source(struct devid_prov *prov,
                                     struct devid_p11_pin *pin,
                                     const char *src)
{
    const struct devid_p11_cfg *cfg = devid_p11_cfg_get(prov);
    const char *path = src;
    const char *why = NULL;

    if (strncmp(path, "file://", 7) == 0) {
        path += 7;
    } else if (strncmp(path, "file:", 5) == 0) {
        path += 5;
    }
    pin->buf = devid_read_secret_file(path, DEVID_P11_PIN_MAX,
                                      cfg->pin_file_group
                                          ? DEVID_SECRET_GROUP_READABLE
                                          : 0,
                                      &pin->len, &why);
    if (pin->buf == NULL) {
        DEVID_RAISE(prov, DEVID_R_PIN_SOURCE, "pin-source %s %s", path, why);
        return 0;
    }
    pin->size = pin->len + 1;
    pin->from = "pin-source";
    return 1;
}

static int devid_p11_pin_from_cb(struct devid_p11_token *tok,
                                 struct devid_p11_pin *pin,
                                 const struct devid_pin_cb *cb)
{
    char info[80];
    OSSL_PARAM params[2];
    size_t len = 0;

    BIO_snprintf(info, sizeof(info), "PIN for token %.*s",
                 DEVID_P11_LABEL(tok->info.label));
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PASSPHRASE_PARAM_INFO,
                                                 info, 0);
    params[1] = OSSL_PARAM_construct_end();
    pin->size = DEVID_P11_PIN_MAX + 1;
    pin->buf = OPENSSL_secure_zalloc(pin->size);
    if (pin->buf == NULL) {
        pin->size = 0;
        return 0;
    }
    if (!cb->cb(pin->buf, DEVID_P11_PIN_MAX, &len, params, cb->arg)
        || len > DEVID_P11_PIN_MAX) {
        DEVID_RAISE(tok->p11->prov, DEVID_R_PIN_REQUIRED,
                    "token %.*s: passphrase callback gave no PIN",
                    DEVID_P11_LABEL(tok->info.label));
        devid_p11_pin_clear(pin);
        return 0;
    }
    pin->len = len;
    pin->from = "callback";
    return 1;
}

/* The first source that has a PIN wins. Returns 1 with pin->buf NULL when
 * there is none (the caller decides whether that is an error). */
static int devid_p11_pin_get(struct devid_p11_token *tok,
                             const struct devid_p11_uri *u,
                             const struct devid_pin_cb *cb,
                             struct devid_p11_pin *pin)
{
    struct devid_prov *prov = tok->p11->prov;
    const struct devid_p11_cfg *cfg = devid_p11_cfg_get(prov);
    const char *v = u != NULL ? p11_kit_uri_get_pin_value(u->uri) : NULL;
    const char *src = u != NULL ? p11_kit_uri_get_pin_source(u->uri) : NULL;

    if (v != NULL) {
        return devid_p11_pin_copy(pin, v, strlen(v), "pin-value");
    }
    if (src != NULL) {
        return devid_p11_pin_from_source(prov, pin, src);
    }
    if (tok->pin != NULL) {
        return devid_p11_pin_copy(pin, tok->pin, tok->pin_len, "cached PIN");
    }
    if (cfg->pin != NULL) {
        return devid_p11_pin_copy(pin, cfg->pin, cfg->pin_len,
                                  "configured PIN");
    }
    if (cb != NULL && cb->cb != NULL) {
        return devid_p11_pin_from_cb(tok, pin, cb);
    }
    return 1;
}

/* The form a refused PIN is remembered in: its length and bytes, zero
 * padded, in the secure heap. Kept as is rather than hashed because hashing
 * needs a digest provider, which a process that loads only devid lacks. */
static int devid_p11_pin_hash(struct devid_p11_token *tok,
                              const struct devid_p11_pin *pin,
                              unsigned char *out)
{
    if (pin->len > DEVID_P11_HASH_LEN - 1) {
        return 0;
    }
    memset(out, 0, DEVID_P11_HASH_LEN);
    out[0] = (unsigned char)pin->len;
    memcpy(out + 1, pin->buf, pin->len);
    return 1;
}

static int devid_p11_pin_refused_before(struct devid_p11_token *tok,
                                        const unsigned char *hash)
{
    size_t i;

    for (i = 0; i < tok->nbad; i++) {
        if (CRYPTO_memcmp(tok->bad_pins + i * DEVID_P11_HASH_LEN, hash,
                          DEVID_P11_HASH_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}

static void devid_p11_pin_remember_bad(struct devid_p11_token *tok,
                                       const unsigned char *hash)
{
    if (tok->bad_pins == NULL) {
        tok->bad_pins = OPENSSL_secure_zalloc(DEVID_P11_BAD_PINS
                                              * DEVID_P11_HASH_LEN);
        if (tok->bad_pins == NULL) {
            return;
        }
    }
    /* the oldest entry goes when the table is full */
    if (DEVID_P11_BAD_PINS == tok->nbad) {
        memmove(tok->bad_pins, tok->bad_pins + DEVID_P11_HASH_LEN,
                (DEVID_P11_BAD_PINS - 1) * DEVID_P11_HASH_LEN);
        tok->nbad--;
    }
    memcpy(tok->bad_pins + tok->nbad * DEVID_P11_HASH_LEN, hash,
           DEVID_P11_HASH_LEN);
    tok->nbad++;
}

/* Keep the PIN that worked, so the child of a fork can log in again. A PIN
 * from the callback is kept only when the configuration asks for it. */
static void devid_p11_pin_keep(struct devid_p11_token *tok,
                               const struct devid_p11_pin *pin)
{
    if (pin->buf == NULL || tok->pin != NULL
        || (strcmp(pin->from, "callback") == 0
            && !devid_p11_cfg_get(tok->p11->prov)->cache_pins)) {
        return;
    }
    tok->pin = OPENSSL_secure_zalloc(pin->len + 1);
    if (tok->pin != NULL) {
        memcpy(tok->pin, pin->buf, pin->len);
        tok->pin_len = pin->len;
    }
}

/* Already logged in by someone else sharing the module (another instance)?
 * Then the anchor session is in a user state. */
static int devid_p11_login_state(struct devid_p11_token *tok)
{
    CK_SESSION_INFO si;

    if (tok->mod->fn->C_GetSessionInfo(tok->anchor, &si) != CKR_OK) {
        return 0;
    }
    return CKS_RO_USER_FUNCTIONS == si.state
           || CKS_RW_USER_FUNCTIONS == si.state;
}

static int devid_p11_login_call(struct devid_p11_token *tok,
                                struct devid_p11_pin *pin)
{
    struct devid_prov *prov = tok->p11->prov;
    unsigned char hash[DEVID_P11_HASH_LEN];
    char what[64];
    CK_RV rv;
    int ret = 0;

    BIO_snprintf(what, sizeof(what), "(token %.*s)",
                 DEVID_P11_LABEL(tok->info.label));
    /* an empty PIN would use up a retry of a real token (issue 14) */
    if (pin->buf != NULL && pin->len == 0) {
        DEVID_RAISE(prov, DEVID_R_BAD_PIN,
                    "token %.*s: the %s is empty; "
                    "not sent",
                    DEVID_P11_LABEL(tok->info.label), pin->from);
        goto end;
    }
    if (pin->buf != NULL && pin->len > DEVID_P11_PIN_MAX) {
        DEVID_RAISE(prov, DEVID_R_BAD_PIN,
                    "token %.*s: the %s is over %d "
                    "bytes; not sent",
                    DEVID_P11_LABEL(tok->info.label), pin->from,
                    DEVID_P11_PIN_MAX);
        goto end;
    }
    if (pin->buf != NULL && !devid_p11_pin_hash(tok, pin, hash)) {
        DEVID_RAISE(prov, DEVID_R_INTERNAL, "PIN hash");
        goto end;
    }
    if (pin->buf != NULL && devid_p11_pin_refused_before(tok, hash)) {
        DEVID_RAISE(prov, DEVID_R_PIN_REFUSED_BEFORE,
                    "token %.*s: this %s was refused before; not sent again",
                    DEVID_P11_LABEL(tok->info.label), pin->from);
        goto end;
    }
    DEVID_DEBUG("pkcs11", "C_Login on token %.*s with %s",
                DEVID_P11_LABEL(tok->info.label),
                pin->buf != NULL ? pin->from : "protected path");
    rv = tok->mod->fn->C_Login(tok->anchor, CKU_USER,
                               (CK_UTF8CHAR_PTR)pin->buf, (CK_ULONG)pin->len);
    if (CKR_PIN_INCORRECT == rv || CKR_PIN_INVALID == rv
        || CKR_PIN_LEN_RANGE == rv) {
        if (pin->buf != NULL) {
            devid_p11_pin_remember_bad(tok, hash);
        }
    }
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        devid_p11_raise_rv(prov, "C_Login", rv, what);
        goto end;
    }
    devid_p11_pin_keep(tok, pin);
    __atomic_store_n(&tok->logged_in, 1, __ATOMIC_RELEASE);
    ret = 1;
end:
    OPENSSL_cleanse(hash, sizeof(hash));
    return ret;
}

int devid_p11_login(struct devid_p11_token *tok, const struct devid_p11_uri *u,
                    const struct devid_pin_cb *cb)
{
    struct devid_prov *prov = tok->p11->prov;
    struct devid_p11_pin pin = { NULL, 0, 0, NULL };
    CK_FUNCTION_LIST *fn = tok->mod->fn;
    CK_RV rv;
    int ret = 0;

    pthread_mutex_lock(&tok->lock);
    if (tok->logged_in) {
        ret = 1;
        goto end;
    }
    rv = devid_p11_session_anchor(tok);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(prov, "C_OpenSession", rv, NULL);
        goto end;
    }
    /* fresh flags: a PIN may have been locked since the token was seen */
    rv = fn->C_GetTokenInfo(tok->slot, &tok->info);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(prov, "C_GetTokenInfo", rv, NULL);
        goto end;
    }
    if ((tok->info.flags & CKF_LOGIN_REQUIRED) == 0
        || devid_p11_login_state(tok)) {
        __atomic_store_n(&tok->logged_in, 1, __ATOMIC_RELEASE);
        ret = 1;
        goto end;
    }
    if ((tok->info.flags & CKF_USER_PIN_LOCKED) != 0) {
        DEVID_RAISE(prov, DEVID_R_PIN_LOCKED, "token %.*s: user PIN locked",
                    DEVID_P11_LABEL(tok->info.label));
        goto end;
    }
    if (!devid_p11_pin_get(tok, u, cb, &pin)) {
        goto end;
    }
    if (pin.buf == NULL
        && (tok->info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) == 0) {
        DEVID_RAISE(prov, DEVID_R_PIN_REQUIRED,
                    "token %.*s: no pin-value, pin-source, configured PIN "
                    "or passphrase callback", DEVID_P11_LABEL(tok->info.label));
        goto end;
    }
    ret = devid_p11_login_call(tok, &pin);
end:
    devid_p11_pin_clear(&pin);
    pthread_mutex_unlock(&tok->lock);
    return ret;
}

/* The PIN of a context login: the one the user login kept, else the
 * configured one. The application's callback is not at hand here (an
 * operation has none), so a callback PIN serves only when cached. */
static int devid_p11_pin_context(struct devid_p11_token *tok,
                                 struct devid_p11_pin *pin)
{
    const struct devid_p11_cfg *cfg = devid_p11_cfg_get(tok->p11->prov);

    if (tok->pin != NULL) {
        return devid_p11_pin_copy(pin, tok->pin, tok->pin_len, "cached PIN");
    }
    if (cfg->pin != NULL) {
        return devid_p11_pin_copy(pin, cfg->pin, cfg->pin_len,
                                  "configured PIN");
    }
    return 1;
}

/* A refused context PIN is remembered in the same table as the user PIN's:
 * for PIV cards it is the same PIN, and either way it is never resent. */
static CK_RV devid_p11_login_context_call(struct devid_key *key,
                                          struct devid_p11_token *tok,
                                          CK_SESSION_HANDLE s,
                                          struct devid_p11_pin *pin)
{
    unsigned char hash[DEVID_P11_HASH_LEN];
    char what[600];
    CK_RV rv = DEVID_P11_RAISED;
    /* a PIN pad asks the user itself: no PIN is passed (§5.6) */
    int pad = pin->buf == NULL
              && (tok->info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;

    memset(hash, 0, sizeof(hash));
    if (!pad
        && (pin->buf == NULL || 0 == pin->len
            || !devid_p11_pin_hash(tok, pin, hash))) {
        DEVID_RAISE(key->prov, DEVID_R_PIN_REQUIRED,
                    "%s: the key needs its PIN for each use "
                    "(CKA_ALWAYS_AUTHENTICATE) and none is kept: give "
                    "pin-value, pin-source or pkcs11-module-token-pin, or "
                    "cache callback PINs (pkcs11-module-cache-pins = cache)",
                    key->uri);
        goto end;
    }
    if (!pad && devid_p11_pin_refused_before(tok, hash)) {
        DEVID_RAISE(key->prov, DEVID_R_PIN_REFUSED_BEFORE,
                    "%s: this %s was refused before; not sent again", key->uri,
                    pin->from);
        goto end;
    }
    DEVID_DEBUG("pkcs11", "C_Login(CKU_CONTEXT_SPECIFIC) for %s with %s",
                key->uri, pad ? "protected path" : pin->from);
    rv = tok->mod->fn->C_Login(s, CKU_CONTEXT_SPECIFIC,
                               (CK_UTF8CHAR_PTR)pin->buf, (CK_ULONG)pin->len);
    if (!pad
        && (CKR_PIN_INCORRECT == rv || CKR_PIN_INVALID == rv
            || CKR_PIN_LEN_RANGE == rv)) {
        devid_p11_pin_remember_bad(tok, hash);
    }
    if (rv != CKR_OK) {
        BIO_snprintf(what, sizeof(what), "(context-specific, %s)", key->uri);
        devid_p11_raise_rv(key->prov, "C_Login", rv, what);
        rv = DEVID_P11_RAISED;
    }
end:
    OPENSSL_cleanse(hash, sizeof(hash));
    return rv;
}

CK_RV devid_p11_login_context(struct devid_key *key,
                              struct devid_p11_token *tok, CK_SESSION_HANDLE s)
{
    struct devid_p11_pin pin = { NULL, 0, 0, NULL };
    CK_RV rv = DEVID_P11_RAISED;

    /* the lock guards the kept PIN and the refused ones; a key that needs
     * a login per use is slow anyway (a card's PIN check) */
    pthread_mutex_lock(&tok->lock);
    if (!devid_p11_pin_context(tok, &pin)) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "PIN");
    } else {
        rv = devid_p11_login_context_call(key, tok, s, &pin);
    }
    devid_p11_pin_clear(&pin);
    pthread_mutex_unlock(&tok->lock);
    return rv;
}

void devid_p11_login_clear(struct devid_p11_token *tok)
{
    if (tok->bad_pins != NULL) {
        OPENSSL_secure_clear_free(tok->bad_pins,
                                  DEVID_P11_BAD_PINS * DEVID_P11_HASH_LEN);
        tok->bad_pins = NULL;
    }
    if (tok->pin != NULL) {
        OPENSSL_secure_clear_free(tok->pin, tok->pin_len + 1);
        tok->pin = NULL;
    }
    tok->nbad = 0;
    tok->pin_len = 0;
}
