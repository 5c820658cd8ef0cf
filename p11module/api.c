/* SPDX-License-Identifier: Apache-2.0 */
/* The PKCS#11 functions the module implements: argument checks as PKCS #11
 * v2.40 §5 states them, slots and tokens, sessions, login, objects, and the
 * calls that start and finish sign, decrypt and derive operations. Locking:
 * the module lock guards the tables and is never held across a backend
 * call; a session's own lock serialises the calls on that session. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "p11module/p11module.h"
#include "p11module/api.h"

/* ---- sessions ------------------------------------------------------------ */

static void devid_p11m_session_free(struct devid_p11m_session *s)
{
    devid_p11m_op_clear(&s->op);
    devid_p11m_secrets_free(s);
    devid_p11m_ident_unref(s->ident);
    pthread_mutex_destroy(&s->lock);
    OPENSSL_free(s);
}

/* Drops a reference taken under the module lock. */
static void devid_p11m_session_unref(struct devid_p11m_session *s)
{
    int last;

    devid_p11m_lock();
    last = --s->refs == 0;
    devid_p11m_unlock();
    if (last) {
        devid_p11m_session_free(s);
    }
}

/* Finds session h and takes its lock: every session call starts here. */
static CK_RV devid_p11m_begin(CK_SESSION_HANDLE h,
                              struct devid_p11m_session **out,
                              struct devid_p11m_token **tok)
{
    struct devid_p11m *m = devid_p11m_get();
    struct devid_p11m_session *s = NULL;
    CK_RV rv;
    size_t i;

    devid_p11m_lock();
    rv = devid_p11m_check_init();
    for (i = 0; rv == CKR_OK && i < m->nsessions; i++) {
        if (m->sessions[i]->handle == h) {
            s = m->sessions[i];
            s->refs++;
        }
    }
    if (s != NULL) {
        *tok = devid_p11m_token_get(s->slot);
    }
    devid_p11m_unlock();
    if (rv != CKR_OK) {
        return rv;
    }
    if (s == NULL) {
        return CKR_SESSION_HANDLE_INVALID;
    }
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        pthread_mutex_unlock(&s->lock);
        devid_p11m_session_unref(s);
        return CKR_SESSION_HANDLE_INVALID;
    }
    *out = s;
    return CKR_OK;
}

static void devid_p11m_end(struct devid_p11m_session *s)
{
    pthread_mutex_unlock(&s->lock);
    devid_p11m_session_unref(s);
}

/* ---- slots and tokens ---------------------------------------------------- */

static void devid_p11m_pad(unsigned char *dst, const char *src, size_t len)
{
    size_t n = strlen(src);

    memset(dst, ' ', len);
    memcpy(dst, src, n < len ? n : len);
}

/* 1 when state-dir/current names an identity that loads. */
static int devid_p11m_present(struct devid_p11m_token *t)
{
    struct devid_p11m_ident *id = devid_p11m_token_ident(t);

    if (id != NULL) {
        id->refs--; /* under the module lock: t->ident still holds it */
    }
    return id != NULL;
}

CK_RV devid_p11m_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list,
                               CK_ULONG_PTR count)
{
    struct devid_p11m *m = devid_p11m_get();
    CK_ULONG n = 0;
    CK_RV rv;
    size_t i;

    if (devid_p11m_nested()) {
        /* loaded again by the p11-kit proxy a backend uses: show nothing,
         * so the module never finds itself */
        if (count != NULL) {
            *count = 0;
        }
        return count == NULL ? CKR_ARGUMENTS_BAD : CKR_OK;
    }
    if (count == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    devid_p11m_lock();
    rv = devid_p11m_check_init();
    for (i = 0; rv == CKR_OK && i < m->ntokens; i++) {
        if (present && !devid_p11m_present(&m->tokens[i])) {
            continue;
        }
        if (list != NULL && n < *count) {
            list[n] = (CK_SLOT_ID)i;
        }
        n++;
    }
    devid_p11m_unlock();
    if (rv == CKR_OK && list != NULL && n > *count) {
        rv = CKR_BUFFER_TOO_SMALL;
    }
    if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL) {
        *count = n;
    }
    return rv;
}

CK_RV devid_p11m_get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
    struct devid_p11m_token *t;
    CK_RV rv;

    devid_p11m_lock();
    rv = devid_p11m_check_init();
    t = rv == CKR_OK ? devid_p11m_token_get(slot) : NULL;
    if (rv == CKR_OK && t == NULL) {
        rv = CKR_SLOT_ID_INVALID;
    } else if (rv == CKR_OK && info == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (rv == CKR_OK) {
        memset(info, 0, sizeof(*info));
        devid_p11m_pad(info->slotDescription, t->state_dir,
                       sizeof(info->slotDescription));
        devid_p11m_pad(info->manufacturerID, "devid",
                       sizeof(info->manufacturerID));
        info->flags = CKF_REMOVABLE_DEVICE
                      | (devid_p11m_present(t) ? CKF_TOKEN_PRESENT : 0);
    }
    devid_p11m_unlock();
    return rv;
}

/* Looks up the token of slot with its identity loaded; NULL ident when
 * the state directory has none. */
static CK_RV devid_p11m_slot_ident(CK_SLOT_ID slot, struct devid_p11m_token **t,
                                   struct devid_p11m_ident **id)
{
    CK_RV rv;

    devid_p11m_lock();
    rv = devid_p11m_check_init();
    *t = rv == CKR_OK ? devid_p11m_token_get(slot) : NULL;
    if (rv == CKR_OK && *t == NULL) {
        rv = CKR_SLOT_ID_INVALID;
    }
    *id = rv == CKR_OK ? devid_p11m_token_ident(*t) : NULL;
    if (rv == CKR_OK && *id == NULL) {
        rv = CKR_TOKEN_NOT_PRESENT;
    }
    devid_p11m_unlock();
    return rv;
}

CK_RV devid_p11m_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    struct devid_p11m_token *t;
    struct devid_p11m_ident *id;
    CK_RV rv = devid_p11m_slot_ident(slot, &t, &id);

    if (rv != CKR_OK) {
        return rv;
    }
    if (info == NULL) {
        devid_p11m_ident_unref(id);
        return CKR_ARGUMENTS_BAD;
    }
    memset(info, 0, sizeof(*info));
    info->flags = devid_p11m_token_flags(t);
    devid_p11m_lock();
    memcpy(info->label, t->label, sizeof(info->label));
    memcpy(info->serialNumber, t->serial, sizeof(info->serialNumber));
    devid_p11m_unlock();
    devid_p11m_pad(info->manufacturerID, "devid", sizeof(info->manufacturerID));
    devid_p11m_pad(info->model, "device identity", sizeof(info->model));
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = CK_UNAVAILABLE_INFORMATION;
    info->ulMaxRwSessionCount = 0;
    info->ulRwSessionCount = CK_UNAVAILABLE_INFORMATION;
    info->ulMaxPinLen = DEVID_P11M_PIN_MAX;
    info->ulMinPinLen = 0;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->hardwareVersion.major = 1;
    info->firmwareVersion.major = 1;
    devid_p11m_ident_unref(id);
    return CKR_OK;
}

CK_RV devid_p11m_get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list,
                                    CK_ULONG_PTR count)
{
    struct devid_p11m_token *t;
    struct devid_p11m_ident *id;
    CK_MECHANISM_TYPE all[32];
    CK_RV rv = devid_p11m_slot_ident(slot, &t, &id);
    size_t n;

    if (rv != CKR_OK) {
        return rv;
    }
    if (count == NULL) {
        devid_p11m_ident_unref(id);
        return CKR_ARGUMENTS_BAD;
    }
    (void)devid_p11m_ident_key(t, id); /* capabilities when it opens */
    pthread_mutex_lock(&id->lock);
    n = devid_p11m_mechs(id, all);
    pthread_mutex_unlock(&id->lock);
    if (list != NULL && *count < n) {
        rv = CKR_BUFFER_TOO_SMALL;
    } else if (list != NULL) {
        memcpy(list, all, n * sizeof(all[0]));
    }
    *count = (CK_ULONG)n;
    devid_p11m_ident_unref(id);
    return rv;
}

CK_RV devid_p11m_get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                                    CK_MECHANISM_INFO_PTR info)
{
    struct devid_p11m_token *t;
    struct devid_p11m_ident *id;
    CK_RV rv = devid_p11m_slot_ident(slot, &t, &id);

    if (rv != CKR_OK) {
        return rv;
    }
    if (info == NULL) {
        devid_p11m_ident_unref(id);
        return CKR_ARGUMENTS_BAD;
    }
    (void)devid_p11m_ident_key(t, id);
    pthread_mutex_lock(&id->lock);
    rv = devid_p11m_mech_info(id, type, info);
    pthread_mutex_unlock(&id->lock);
    devid_p11m_ident_unref(id);
    return rv;
}

/* ---- sessions ------------------------------------------------------------ */

static CK_RV devid_p11m_session_add(struct devid_p11m *m,
                                    struct devid_p11m_session *s)
{
    if (m->nsessions == m->cap) {
        size_t cap = m->cap == 0 ? 8 : 2 * m->cap;
        struct devid_p11m_session **grown =
            OPENSSL_realloc(m->sessions, cap * sizeof(*grown));

        if (grown == NULL) {
            return CKR_HOST_MEMORY;
        }
        m->sessions = grown;
        m->cap = cap;
    }
    s->handle = m->next_session++;
    m->sessions[m->nsessions++] = s;
    return CKR_OK;
}

/* A session works on the identity that was current when it opened, to its
 * end, whatever a renewal switches meanwhile. */
CK_RV devid_p11m_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
                              CK_NOTIFY notify, CK_SESSION_HANDLE_PTR out)
{
    struct devid_p11m_token *t;
    struct devid_p11m_ident *id;
    struct devid_p11m_session *s;
    CK_RV rv = devid_p11m_slot_ident(slot, &t, &id);

    if (rv != CKR_OK) {
        return rv;
    }
    if (out == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else if ((flags & CKF_SERIAL_SESSION) == 0) {
        rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    }
    /* a R/W session is accepted (pkcs11-tool --test asks for one); the
     * token stays CKF_WRITE_PROTECTED and every write is refused */
    s = rv == CKR_OK ? OPENSSL_zalloc(sizeof(*s)) : NULL;
    if (rv == CKR_OK && s == NULL) {
        rv = CKR_HOST_MEMORY;
    }
    if (rv != CKR_OK) {
        devid_p11m_ident_unref(id);
        return rv;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->slot = slot;
    s->flags = flags;
    s->ident = id;
    s->refs = 1;
    devid_p11m_lock();
    rv = devid_p11m_session_add(devid_p11m_get(), s);
    if (rv == CKR_OK) {
        *out = s->handle;
    }
    devid_p11m_unlock();
    if (rv != CKR_OK) {
        devid_p11m_session_free(s);
    }
    return rv;
}

/* Takes session i out of the table (module lock held); the caller drops
 * the table's reference. */
static struct devid_p11m_session *devid_p11m_session_take(struct devid_p11m *m,
                                                          size_t i)
{
    struct devid_p11m_session *s = m->sessions[i];

    m->sessions[i] = m->sessions[--m->nsessions];
    return s;
}

static void devid_p11m_session_close(struct devid_p11m_session *s)
{
    pthread_mutex_lock(&s->lock); /* waits for a call in flight */
    s->closed = 1;
    pthread_mutex_unlock(&s->lock);
    devid_p11m_session_unref(s);
}

/* v2.40 §5.6: when the last session of a token closes, the user is logged
 * out. */
static void devid_p11m_logout_if_last(struct devid_p11m *m, CK_SLOT_ID slot)
{
    size_t i;

    for (i = 0; i < m->nsessions; i++) {
        if (m->sessions[i]->slot == slot) {
            return;
        }
    }
    if (slot < m->ntokens) {
        devid_p11m_logout(&m->tokens[slot]);
    }
}

CK_RV devid_p11m_close_session(CK_SESSION_HANDLE h)
{
    struct devid_p11m *m = devid_p11m_get();
    struct devid_p11m_session *s = NULL;
    CK_RV rv;
    size_t i;

    devid_p11m_lock();
    rv = devid_p11m_check_init();
    for (i = 0; rv == CKR_OK && s == NULL && i < m->nsessions; i++) {
        if (m->sessions[i]->handle == h) {
            s = devid_p11m_session_take(m, i);
            devid_p11m_logout_if_last(m, s->slot);
        }
    }
    devid_p11m_unlock();
    if (rv == CKR_OK && s == NULL) {
        rv = CKR_SESSION_HANDLE_INVALID;
    }
    if (s != NULL) {
        devid_p11m_session_close(s);
    }
    return rv;
}

CK_RV devid_p11m_close_all_sessions(CK_SLOT_ID slot)
{
    struct devid_p11m *m = devid_p11m_get();
    struct devid_p11m_session *s;
    CK_RV rv;
    size_t i;

    devid_p11m_lock();
    rv = devid_p11m_check_init();
    if (rv == CKR_OK && devid_p11m_token_get(slot) == NULL) {
        rv = CKR_SLOT_ID_INVALID;
    }
    while (rv == CKR_OK) {
        s = NULL;
        for (i = 0; s == NULL && i < m->nsessions; i++) {
            if (m->sessions[i]->slot == slot) {
                s = devid_p11m_session_take(m, i);
            }
        }
        if (s == NULL) {
            devid_p11m_logout(&m->tokens[slot]);
            break;
        }
        devid_p11m_unlock();
        devid_p11m_session_close(s);
        devid_p11m_lock();
    }
    devid_p11m_unlock();
    return rv;
}

CK_RV devid_p11m_get_session_info(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    if (info == NULL) {
        devid_p11m_end(s);
        return CKR_ARGUMENTS_BAD;
    }
    memset(info, 0, sizeof(*info));
    info->slotID = s->slot;
    info->flags = s->flags;
    devid_p11m_lock();
    if ((s->flags & CKF_RW_SESSION) != 0) {
        info->state = t->logged_in ? CKS_RW_USER_FUNCTIONS
                                   : CKS_RW_PUBLIC_SESSION;
    } else {
        info->state = t->logged_in ? CKS_RO_USER_FUNCTIONS
                                   : CKS_RO_PUBLIC_SESSION;
    }
    devid_p11m_unlock();
    devid_p11m_end(s);
    return CKR_OK;
}

CK_RV devid_p11m_login_fn(CK_SESSION_HANDLE h, CK_USER_TYPE user,
                          CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    if (user == CKU_SO) {
        rv = CKR_SESSION_READ_ONLY_EXISTS; /* v2.40 §5.6: SO needs R/W */
    } else if (user != CKU_USER && user != CKU_CONTEXT_SPECIFIC) {
        rv = CKR_USER_TYPE_INVALID;
    } else if (pin == NULL && pin_len > 0) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (pin_len > DEVID_P11M_PIN_MAX) {
        rv = CKR_PIN_LEN_RANGE;
    } else {
        rv = devid_p11m_login(t, pin != NULL ? pin : (CK_UTF8CHAR_PTR) "",
                              pin_len);
    }
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_logout_fn(CK_SESSION_HANDLE h)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    devid_p11m_lock();
    if (!t->logged_in) {
        rv = CKR_USER_NOT_LOGGED_IN;
    } else {
        devid_p11m_logout(t);
    }
    devid_p11m_unlock();
    devid_p11m_end(s);
    return rv;
}

/* ---- objects ------------------------------------------------------------- */

CK_RV devid_p11m_get_object_size(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                                 CK_ULONG_PTR size)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    if (size == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (!devid_p11m_object_valid(s, t, obj)) {
        rv = CKR_OBJECT_HANDLE_INVALID;
    } else {
        *size = CK_UNAVAILABLE_INFORMATION;
    }
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_get_attribute_value(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                                     CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    rv = tmpl == NULL && n > 0 ? CKR_ARGUMENTS_BAD
                               : devid_p11m_get_attrs(s, t, obj, tmpl, n);
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_find_objects_init(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                                   CK_ULONG n)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    if (tmpl == NULL && n > 0) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (s->finding) {
        rv = CKR_OPERATION_ACTIVE;
    } else {
        rv = devid_p11m_find(s, t, tmpl, n);
        s->finding = rv == CKR_OK;
    }
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_find_objects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out,
                              CK_ULONG max, CK_ULONG_PTR count)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);
    CK_ULONG n = 0;

    if (rv != CKR_OK) {
        return rv;
    }
    if (out == NULL || count == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (!s->finding) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        while (n < max && s->found_pos < s->nfound) {
            out[n++] = s->found[s->found_pos++];
        }
        *count = n;
    }
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_find_objects_final(CK_SESSION_HANDLE h)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    if (!s->finding) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    }
    s->finding = 0;
    devid_p11m_end(s);
    return rv;
}

/* ---- sign, decrypt, derive ----------------------------------------------- */

CK_RV devid_p11m_sign_init_fn(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                              CK_OBJECT_HANDLE key)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    rv = mech == NULL ? CKR_ARGUMENTS_BAD
                      : devid_p11m_sign_init(s, t, mech, key);
    devid_p11m_end(s);
    return rv;
}

/* Checks that a sign operation runs; ends it on a bad argument (v2.40
 * §5.12: a call that fails other than for a length query or a short buffer
 * ends the operation). */
static CK_RV devid_p11m_sign_active(struct devid_p11m_session *s, int bad)
{
    if (s->op.kind != DEVID_P11M_OP_SIGN) {
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    if (bad) {
        devid_p11m_op_clear(&s->op);
        return CKR_ARGUMENTS_BAD;
    }
    return CKR_OK;
}

CK_RV devid_p11m_sign_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len,
                         CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    rv = devid_p11m_sign_active(s, (data == NULL && len > 0) || siglen == NULL);
    if (rv == CKR_OK) {
        CK_ULONG need = 0;

        /* sizes first, so a length query or a short buffer leaves the
         * operation as it was (v2.40 §5.2) */
        (void)devid_p11m_sign_final(s, NULL, &need);
        if (sig == NULL || *siglen < need) {
            rv = sig == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;
            *siglen = need;
        } else {
            rv = devid_p11m_sign_update(s, data, len);
            rv = rv == CKR_OK ? devid_p11m_sign_final(s, sig, siglen) : rv;
            devid_p11m_op_clear(&s->op);
        }
    }
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_sign_update_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR data,
                                CK_ULONG len)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    rv = devid_p11m_sign_active(s, data == NULL && len > 0);
    if (rv == CKR_OK) {
        rv = devid_p11m_sign_update(s, data, len);
        if (rv != CKR_OK) {
            devid_p11m_op_clear(&s->op);
        }
    }
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_sign_final_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR sig,
                               CK_ULONG_PTR siglen)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    rv = devid_p11m_sign_active(s, siglen == NULL);
    if (rv == CKR_OK) {
        rv = devid_p11m_sign_final(s, sig, siglen);
    }
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_decrypt_init_fn(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                                 CK_OBJECT_HANDLE key)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    rv = mech == NULL ? CKR_ARGUMENTS_BAD
                      : devid_p11m_decrypt_init(s, t, mech, key);
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_decrypt_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
                            CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    if (s->op.kind != DEVID_P11M_OP_DECRYPT) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else if (in == NULL || outlen == NULL) {
        devid_p11m_op_clear(&s->op);
        rv = CKR_ARGUMENTS_BAD;
    } else {
        rv = devid_p11m_decrypt(s, in, inlen, out, outlen);
    }
    devid_p11m_end(s);
    return rv;
}

CK_RV devid_p11m_derive_key(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                            CK_OBJECT_HANDLE base, CK_ATTRIBUTE_PTR tmpl,
                            CK_ULONG n, CK_OBJECT_HANDLE_PTR out)
{
    struct devid_p11m_session *s;
    struct devid_p11m_token *t;
    CK_RV rv = devid_p11m_begin(h, &s, &t);

    if (rv != CKR_OK) {
        return rv;
    }
    if (mech == NULL || out == NULL || (tmpl == NULL && n > 0)) {
        rv = CKR_ARGUMENTS_BAD;
    } else {
        rv = devid_p11m_derive(s, t, mech, base, tmpl, n, out);
    }
    devid_p11m_end(s);
    return rv;
}
