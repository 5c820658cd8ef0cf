/* SPDX-License-Identifier: Apache-2.0 */
/* Slots and tokens: finding the tokens a URI names, reading what each can
 * do once, and turning CKR_ codes into devid errors. */
#include "config.h"

#include <string.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "pkcs11/p11.h"

struct devid_p11_rv_item {
    CK_RV rv;
    const char *name;
    int reason;
};

#define DEVID_P11_RV(name, reason) { name, #name, reason }

static const struct devid_p11_rv_item devid_p11_rvs[] = {
    DEVID_P11_RV(CKR_OK, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_CANCEL, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_HOST_MEMORY, DEVID_R_MALLOC),
    DEVID_P11_RV(CKR_SLOT_ID_INVALID, DEVID_R_NO_TOKEN),
    DEVID_P11_RV(CKR_GENERAL_ERROR, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_FUNCTION_FAILED, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_ARGUMENTS_BAD, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_ATTRIBUTE_READ_ONLY, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_ATTRIBUTE_SENSITIVE, DEVID_R_PRIVATE_EXPORT),
    DEVID_P11_RV(CKR_ATTRIBUTE_TYPE_INVALID, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_ATTRIBUTE_VALUE_INVALID, DEVID_R_INVALID_PARAM),
    DEVID_P11_RV(CKR_DATA_INVALID, DEVID_R_INVALID_PARAM),
    DEVID_P11_RV(CKR_DATA_LEN_RANGE, DEVID_R_INVALID_PARAM),
    DEVID_P11_RV(CKR_DEVICE_ERROR, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_DEVICE_MEMORY, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_DEVICE_REMOVED, DEVID_R_NO_TOKEN),
    DEVID_P11_RV(CKR_ENCRYPTED_DATA_INVALID, DEVID_R_INVALID_PARAM),
    DEVID_P11_RV(CKR_ENCRYPTED_DATA_LEN_RANGE, DEVID_R_INVALID_PARAM),
    DEVID_P11_RV(CKR_FUNCTION_CANCELED, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_FUNCTION_NOT_SUPPORTED, DEVID_R_NOT_SUPPORTED),
    DEVID_P11_RV(CKR_KEY_HANDLE_INVALID, DEVID_R_NO_OBJECT),
    DEVID_P11_RV(CKR_KEY_SIZE_RANGE, DEVID_R_UNSUPPORTED_KEY),
    DEVID_P11_RV(CKR_KEY_TYPE_INCONSISTENT, DEVID_R_MECHANISM),
    DEVID_P11_RV(CKR_KEY_FUNCTION_NOT_PERMITTED, DEVID_R_MECHANISM),
    DEVID_P11_RV(CKR_MECHANISM_INVALID, DEVID_R_MECHANISM),
    DEVID_P11_RV(CKR_MECHANISM_PARAM_INVALID, DEVID_R_MECHANISM),
    DEVID_P11_RV(CKR_OBJECT_HANDLE_INVALID, DEVID_R_NO_OBJECT),
    DEVID_P11_RV(CKR_OPERATION_ACTIVE, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_OPERATION_NOT_INITIALIZED, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_PIN_INCORRECT, DEVID_R_PIN_INCORRECT),
    DEVID_P11_RV(CKR_PIN_INVALID, DEVID_R_PIN_INCORRECT),
    DEVID_P11_RV(CKR_PIN_LEN_RANGE, DEVID_R_PIN_INCORRECT),
    DEVID_P11_RV(CKR_PIN_EXPIRED, DEVID_R_PIN_LOCKED),
    DEVID_P11_RV(CKR_PIN_LOCKED, DEVID_R_PIN_LOCKED),
    DEVID_P11_RV(CKR_SESSION_CLOSED, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_SESSION_COUNT, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_SESSION_HANDLE_INVALID, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_SESSION_READ_ONLY, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_SIGNATURE_INVALID, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_TEMPLATE_INCOMPLETE, DEVID_R_INVALID_PARAM),
    DEVID_P11_RV(CKR_TEMPLATE_INCONSISTENT, DEVID_R_INVALID_PARAM),
    DEVID_P11_RV(CKR_TOKEN_NOT_PRESENT, DEVID_R_NO_TOKEN),
    DEVID_P11_RV(CKR_TOKEN_NOT_RECOGNIZED, DEVID_R_NO_TOKEN),
    DEVID_P11_RV(CKR_TOKEN_WRITE_PROTECTED, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_USER_ALREADY_LOGGED_IN, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_USER_NOT_LOGGED_IN, DEVID_R_PIN_REQUIRED),
    DEVID_P11_RV(CKR_USER_PIN_NOT_INITIALIZED, DEVID_R_PIN_REQUIRED),
    DEVID_P11_RV(CKR_USER_TYPE_INVALID, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_DOMAIN_PARAMS_INVALID, DEVID_R_UNSUPPORTED_KEY),
    DEVID_P11_RV(CKR_CURVE_NOT_SUPPORTED, DEVID_R_UNSUPPORTED_KEY),
    DEVID_P11_RV(CKR_BUFFER_TOO_SMALL, DEVID_R_BUFFER_TOO_SMALL),
    DEVID_P11_RV(CKR_RANDOM_NO_RNG, DEVID_R_TOKEN_ERROR),
    DEVID_P11_RV(CKR_CRYPTOKI_NOT_INITIALIZED, DEVID_R_MODULE_LOAD),
    DEVID_P11_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED, DEVID_R_MODULE_LOAD),
    { 0, NULL, 0 }
};

int devid_p11_blank_len(const CK_UTF8CHAR *s, size_t n)
{
    while (n > 0 && (' ' == s[n - 1] || '\0' == s[n - 1])) {
        n--;
    }
    return (int)n;
}

static const struct devid_p11_rv_item *devid_p11_rv_find(CK_RV rv)
{
    const struct devid_p11_rv_item *it;

    for (it = devid_p11_rvs; it->name != NULL; it++) {
        if (it->rv == rv) {
            return it;
        }
    }
    return NULL;
}

const char *devid_p11_rv_name(CK_RV rv)
{
    const struct devid_p11_rv_item *it = devid_p11_rv_find(rv);

    return it != NULL ? it->name : "CKR_?";
}

void devid_p11_raise_rv(struct devid_prov *prov, const char *fn, CK_RV rv,
                        const char *ctx)
{
    const struct devid_p11_rv_item *it = devid_p11_rv_find(rv);
    int reason = it != NULL ? it->reason : DEVID_R_TOKEN_ERROR;

    DEVID_RAISE(prov, reason, "%s: %s (0x%lx)%s%s", fn,
                it != NULL ? it->name : "CKR_?", (unsigned long)rv,
                ctx != NULL ? " " : "", ctx != NULL ? ctx : "");
}

/* Mechanisms read once per token (DESIGN.md principle 4). */
static unsigned int devid_p11_token_mechs(struct devid_p11_module *m,
                                          CK_SLOT_ID slot)
{
    CK_MECHANISM_TYPE *list = NULL;
    CK_ULONG n = 0;
    CK_ULONG i;
    unsigned int mechs = 0;

    if (m->fn->C_GetMechanismList(slot, NULL, &n) != CKR_OK || 0 == n) {
        goto end;
    }
    /* one spare entry: p11-kit's RPC client, when it drops a mechanism it
     * cannot carry, moves the list down reading one entry past its end
     * (mechanism_list_purge in rpc-client.c, p11-kit 0.24) */
    list = OPENSSL_malloc((n + 1) * sizeof(*list));
    if (list == NULL || m->fn->C_GetMechanismList(slot, list, &n) != CKR_OK) {
        goto end;
    }
    for (i = 0; i < n; i++) {
        switch (list[i]) {
        case CKM_ECDSA:
            mechs |= DEVID_P11_MECH_ECDSA;
            break;
        case CKM_RSA_PKCS:
            mechs |= DEVID_P11_MECH_RSA_PKCS;
            break;
        case CKM_RSA_PKCS_PSS:
            mechs |= DEVID_P11_MECH_RSA_PSS;
            break;
        case CKM_RSA_PKCS_OAEP:
            mechs |= DEVID_P11_MECH_RSA_OAEP;
            break;
        case CKM_ECDH1_DERIVE:
            mechs |= DEVID_P11_MECH_ECDH;
            break;
        default:
            break;
        }
    }
end:
    OPENSSL_free(list);
    return mechs;
}

static int devid_p11_token_same(const CK_TOKEN_INFO *a, const CK_TOKEN_INFO *b)
{
    return memcmp(a->label, b->label, sizeof(a->label)) == 0
           && memcmp(a->serialNumber, b->serialNumber,
                     sizeof(a->serialNumber)) == 0
           && memcmp(a->manufacturerID, b->manufacturerID,
                     sizeof(a->manufacturerID)) == 0
           && memcmp(a->model, b->model, sizeof(a->model)) == 0;
}

static struct devid_p11_token *devid_p11_token_new(struct devid_p11 *p11,
                                                   struct devid_p11_module *m,
                                                   CK_SLOT_ID slot,
                                                   const CK_SLOT_INFO *si,
                                                   const CK_TOKEN_INFO *ti)
{
    struct devid_p11_token **toks = NULL;
    struct devid_p11_token *tok = OPENSSL_zalloc(sizeof(*tok));

    if (tok == NULL) {
        return NULL;
    }
    toks = OPENSSL_realloc(p11->toks, (p11->ntoks + 1) * sizeof(*toks));
    if (toks == NULL) {
        OPENSSL_free(tok);
        return NULL;
    }
    p11->toks = toks;
    tok->p11 = p11;
    tok->mod = m;
    tok->slot = slot;
    tok->slot_info = *si;
    tok->info = *ti;
    tok->gen = p11->gen;
    tok->mechs = devid_p11_token_mechs(m, slot);
    tok->mset = devid_p11_mech_token(m->fn, slot);
    /* CK_EFFECTIVELY_INFINITE is 0, CK_UNAVAILABLE_INFORMATION is ~0 */
    tok->max = ti->ulMaxSessionCount;
    if (0 == tok->max || tok->max > DEVID_P11_POOL_MAX) {
        tok->max = DEVID_P11_POOL_MAX;
    }
    if (tok->max > 1) {
        tok->max--;                 /* one is the anchor */
    }
    /* the idle slots, sized once: never more idle sessions than the limit */
    tok->idle = OPENSSL_zalloc(tok->max * sizeof(*tok->idle));
    if (tok->idle == NULL
        || devid_random_bytes(tok->salt, sizeof(tok->salt)) != 1) {
        OPENSSL_free(tok->idle);
        OPENSSL_free(tok);
        return NULL;
    }
    pthread_mutex_init(&tok->lock, NULL);
    pthread_cond_init(&tok->cond, NULL);
    p11->toks[p11->ntoks++] = tok;
    DEVID_DEBUG("pkcs11", "token %.*s in slot %lu: mechanisms 0x%x",
                DEVID_P11_LABEL(ti->label), (unsigned long)slot, tok->mechs);
    return tok;
}

static struct devid_p11_token *devid_p11_token_find(struct devid_p11 *p11,
                                                    struct devid_p11_module *m,
                                                    CK_SLOT_ID slot,
                                                    const CK_TOKEN_INFO *ti)
{
    size_t i;

    for (i = 0; i < p11->ntoks; i++) {
        struct devid_p11_token *tok = p11->toks[i];

        if (tok->mod == m && tok->slot == slot
            && devid_p11_token_same(&tok->info, ti)) {
            return tok;
        }
    }
    return NULL;
}

/* Reads the slots of one module into a new array (*out, OPENSSL_free). */
static CK_RV devid_p11_slot_list(struct devid_p11_module *m, CK_SLOT_ID **out,
                                 CK_ULONG *n)
{
    CK_SLOT_ID *slots = NULL;
    CK_RV rv;

    *out = NULL;
    *n = 0;
    rv = m->fn->C_GetSlotList(CK_TRUE, NULL, n);
    if (rv != CKR_OK || 0 == *n) {
        return rv;
    }
    slots = OPENSSL_malloc(*n * sizeof(*slots));
    if (slots == NULL) {
        return CKR_HOST_MEMORY;
    }
    rv = m->fn->C_GetSlotList(CK_TRUE, slots, n);
    if (rv != CKR_OK) {
        OPENSSL_free(slots);
        return rv;
    }
    *out = slots;
    return CKR_OK;
}

static int devid_p11_token_append(struct devid_p11_token ***list, size_t *n,
                                  struct devid_p11_token *tok)
{
    struct devid_p11_token **l = OPENSSL_realloc(*list, (*n + 1) * sizeof(*l));

    if (l == NULL) {
        return 0;
    }
    l[(*n)++] = tok;
    *list = l;
    return 1;
}

/* The tokens of one module that match u, appended to *list. */
static int devid_p11_token_scan(struct devid_p11 *p11,
                                struct devid_p11_module *m,
                                const struct devid_p11_uri *u,
                                struct devid_p11_token ***list, size_t *n,
                                int revive)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG nslots = 0;
    CK_ULONG i;
    CK_RV rv;
    int ret = 0;

    rv = devid_p11_slot_list(m, &slots, &nslots);
    /* a module that shows nothing may have lost its token or its server
     * (p11-kit's client connects in C_Initialize only): with no session
     * to lose, it is started again and asked once more */
    if (revive && (rv != CKR_OK || 0 == nslots)
        && devid_p11_module_restart_locked(p11, m, 0)) {
        OPENSSL_free(slots);
        rv = devid_p11_slot_list(m, &slots, &nslots);
    }
    if (rv != CKR_OK && !revive) {
        ret = 1; /* asked again if no token matches */
        goto end;
    }
    if (rv != CKR_OK) {
        devid_p11_raise_rv(p11->prov, "C_GetSlotList", rv, m->path);
        goto end;
    }
    for (i = 0; i < nslots; i++) {
        struct devid_p11_token *tok = NULL;
        CK_SLOT_INFO si;
        CK_TOKEN_INFO ti;

        if (m->fn->C_GetSlotInfo(slots[i], &si) != CKR_OK
            || m->fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK
            || !devid_p11_uri_match_token(u, &m->info, slots[i], &si, &ti)) {
            continue;
        }
        /* an uninitialised token (SoftHSM's spare slot, a blank card) has
         * no keys and takes none: it is never a candidate */
        if ((ti.flags & CKF_TOKEN_INITIALIZED) == 0) {
            DEVID_DEBUG("pkcs11",
                        "slot %lu of %s: token not initialised, "
                        "skipped",
                        (unsigned long)slots[i], m->path);
            continue;
        }
        tok = devid_p11_token_find(p11, m, slots[i], &ti);
        if (tok == NULL) {
            tok = devid_p11_token_new(p11, m, slots[i], &si, &ti);
        } else {
            tok->info = ti;          /* flags change (PIN counters) */
        }
        if (tok == NULL || !devid_p11_token_append(list, n, tok)) {
            DEVID_RAISE(p11->prov, DEVID_R_MALLOC, "token list");
            goto end;
        }
    }
    ret = 1;
end:
    OPENSSL_free(slots);
    return ret;
}

int devid_p11_token_list(struct devid_p11 *p11, const struct devid_p11_uri *u,
                         struct devid_p11_token ***out, size_t *n)
{
    struct devid_p11_token **list = NULL;
    size_t i;
    int pass;
    int ret = 0;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&p11->lock);
    if (p11->dead) {
        DEVID_RAISE(p11->prov, DEVID_R_MODULE_LOAD, "pkcs11: shut down");
        goto end;
    }
    if (!devid_p11_module_load_for(p11, u)) {
        goto end;
    }
    /* when no token matches, the modules that show none, or failed, are
     * started again (devid_p11_module_restart_locked) and asked once more:
     * a token that appeared after they were initialised is found */
    for (pass = 0; pass < 2 && 0 == *n; pass++) {
        for (i = 0; i < p11->nmods; i++) {
            if (1 == pass && !p11->mods[i]->initialized) {
                devid_p11_module_restart_locked(p11, p11->mods[i], 0);
            }
            if (!devid_p11_module_wanted(p11, p11->mods[i], u)) {
                continue;
            }
            if (!devid_p11_token_scan(p11, p11->mods[i], u, &list, n,
                                      1 == pass)) {
                goto end;
            }
        }
    }
    *out = list;
    list = NULL;
    ret = 1;
end:
    pthread_mutex_unlock(&p11->lock);
    OPENSSL_free(list);
    if (!ret) {
        *n = 0;
    }
    return ret;
}

/* The slot tok is in now, found by its label, manufacturer, model and
 * serial number (slot ids may change when a module starts again). */
static int devid_p11_token_seek(struct devid_p11_token *tok, CK_ULONG *nslots)
{
    struct devid_p11_module *m = tok->mod;
    CK_SLOT_ID *slots = NULL;
    CK_ULONG i;
    int ret = 0;

    *nslots = 0;
    if (!m->initialized || devid_p11_slot_list(m, &slots, nslots) != CKR_OK) {
        return 0;
    }
    for (i = 0; i < *nslots && !ret; i++) {
        CK_TOKEN_INFO ti;

        if (m->fn->C_GetTokenInfo(slots[i], &ti) == CKR_OK
            && devid_p11_token_same(&tok->info, &ti)) {
            tok->slot = slots[i];
            tok->info = ti;
            ret = 1;
        }
    }
    OPENSSL_free(slots);
    return ret;
}

int devid_p11_token_refresh(struct devid_p11_token *tok)
{
    struct devid_p11 *p11 = tok->p11;
    CK_ULONG nslots = 0;
    int ret = 0;

    pthread_mutex_lock(&p11->lock);
    if (tok->gen == p11->gen) {
        ret = 1;
        goto end;
    }
    if (p11->dead) {
        goto end;
    }
    ret = devid_p11_token_seek(tok, &nslots);
    /* a module that shows no slot at all (p11-kit's client whose server
     * was away when it started) is started again, at most twice a second */
    if (!ret && 0 == nslots
        && devid_p11_module_restart_locked(p11, tok->mod, 0)) {
        ret = devid_p11_token_seek(tok, &nslots);
    }
    if (ret) {
        __atomic_store_n(&tok->gen, p11->gen, __ATOMIC_RELEASE);
    }
end:
    pthread_mutex_unlock(&p11->lock);
    if (!ret) {
        DEVID_RAISE(p11->prov, DEVID_R_NO_TOKEN,
                    "token \"%.*s\" (serial %.*s) is not present in %s; "
                    "it is used again once it is back",
                    DEVID_P11_LABEL(tok->info.label),
                    DEVID_P11_LABEL(tok->info.serialNumber), tok->mod->path);
    }
    return ret;
}

/* Appends "label "L" serial "S"" of tok to buf (size n), separated by
 * "; " from what is there. */
static void devid_p11_token_name_add(char *buf, size_t n,
                                     const struct devid_p11_token *tok)
{
    size_t len = strlen(buf);

    if (len + 1 >= n) {
        return;
    }
    BIO_snprintf(buf + len, n - len, "%slabel \"%.*s\" serial \"%.*s\"",
                 len > 0 ? "; " : "", DEVID_P11_LABEL(tok->info.label),
                 DEVID_P11_LABEL(tok->info.serialNumber));
}

struct devid_p11_token *devid_p11_token_pick(struct devid_prov *prov,
                                             const char *what,
                                             struct devid_p11_token **toks,
                                             size_t n)
{
    struct devid_p11_token *pick = NULL;
    char names[512];
    size_t left = 0;
    size_t ro = 0;
    size_t i;

    names[0] = '\0';
    for (i = 0; i < n; i++) {
        /* p11-kit's trust store, a card switched to read-only */
        if ((toks[i]->info.flags & CKF_WRITE_PROTECTED) != 0) {
            ro++;
            continue;
        }
        pick = toks[i];
        left++;
        devid_p11_token_name_add(names, sizeof(names), toks[i]);
    }
    if (0 == left) {
        DEVID_RAISE(prov, DEVID_R_NO_TOKEN,
                    "%s: no writable token (%zu write-protected)", what, ro);
        return NULL;
    }
    if (left > 1) {
        DEVID_RAISE(prov, DEVID_R_AMBIGUOUS,
                    "%s: %zu writable tokens match, name one with token= or "
                    "serial=: %s",
                    what, left, names);
        return NULL;
    }
    return pick;
}
