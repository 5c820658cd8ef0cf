/* SPDX-License-Identifier: Apache-2.0 */
/* The per-provider TPM state: one ESYS context opened lazily on first use
 * (never at provider load), one lock that serialises every ESYS call (an
 * ESYS_CONTEXT is not thread-safe), a fresh context in a fork child, and a
 * small object-slot manager for TPMs without a resource manager. */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "common/err.h"
#include "common/log.h"
#include "provider/prov.h"
#include "tpm2/tpm2.h"

static void devid_tpm2_obj_init(struct devid_tpm2_obj *obj)
{
    memset(obj, 0, sizeof(*obj));
    obj->tr = ESYS_TR_NONE;
}

const struct devid_backend_setting devid_tpm2_settings[] = {
    { "tcti", "TPM 2.0 TCTI, e.g. device:/dev/tpmrm0 or swtpm:port=2321" },
    { "tpm2-parent-auth",
      "auth value of key files' persistent parents: a value, file:PATH, or "
      "ask (the passphrase callback)" },
    { NULL, NULL }
};

int devid_tpm2_cfg_set(struct devid_prov *prov, void **vcfg, const char *name,
                       const char *value)
{
    struct devid_tpm2_cfg *cfg = *vcfg;
    char *copy;

    if (strcmp(name, "tcti") != 0 && strcmp(name, "tpm2-parent-auth") != 0) {
        DEVID_RAISE(prov, DEVID_R_BAD_CONFIG, "unknown setting '%s'", name);
        return 0;
    }
    if (cfg == NULL) {
        cfg = OPENSSL_zalloc(sizeof(*cfg));
        if (cfg == NULL) {
            DEVID_RAISE(prov, DEVID_R_MALLOC, "%s", name);
            return 0;
        }
        *vcfg = cfg;
    }
    if (strcmp(name, "tpm2-parent-auth") == 0) {
        return devid_tpm2_parent_auth_cfg(prov, cfg, value);
    }
    copy = OPENSSL_strdup(value);
    if (copy == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "%s", name);
        return 0;
    }
    OPENSSL_free(cfg->tcti);
    cfg->tcti = copy;
    return 1;
}

void devid_tpm2_cfg_free(void *vcfg)
{
    struct devid_tpm2_cfg *cfg = vcfg;

    if (cfg != NULL) {
        OPENSSL_free(cfg->tcti);
        OPENSSL_secure_clear_free(cfg->parent_auth, cfg->parent_auth_len + 1);
        OPENSSL_free(cfg->parent_auth_file);
        OPENSSL_clear_free(cfg, sizeof(*cfg));
    }
}

struct devid_tpm2 *devid_tpm2_state_get(struct devid_prov *prov)
{
    return devid_backend_state(prov, &devid_tpm2_backend);
}

int devid_tpm2_first_use(struct devid_prov *prov, void **state)
{
    const struct devid_tpm2_cfg *cfg =
        devid_backend_config(prov, &devid_tpm2_backend);
    struct devid_tpm2 *st = OPENSSL_zalloc(sizeof(*st));

    if (st == NULL) {
        goto fail;
    }
    st->lock = CRYPTO_THREAD_lock_new();
    if (cfg != NULL && cfg->tcti != NULL) {
        st->tcti_conf = OPENSSL_strdup(cfg->tcti);
        if (st->tcti_conf == NULL) {
            goto fail;
        }
    }
    if (st->lock == NULL) {
        goto fail;
    }
    st->srk_persistent = ESYS_TR_NONE;
    devid_tpm2_obj_init(&st->srk);
    *state = st;
    return 1;
fail:
    if (st != NULL) {
        CRYPTO_THREAD_lock_free(st->lock);
        OPENSSL_free(st->tcti_conf);
        OPENSSL_free(st);
    }
    DEVID_RAISE(prov, DEVID_R_MALLOC, "TPM state");
    return 0;
}

/* Forgets a context that belongs to our parent process: its ESYS memory is
 * freed (Esys_Finalize sends no command), its TCTI connection is closed
 * without a word to the TPM (the parent still uses it) and every object
 * handle of ours becomes stale through the generation counter. */
static void devid_tpm2_esys_forget(struct devid_tpm2 *st)
{
    if (st->esys != NULL) {
        Esys_Finalize(&st->esys);
    }
    devid_tpm2_tcti_forget(st->tcti, st->tcti_own, st->tcti_name);
    st->tcti = NULL;
    st->caps_read = 0;
    st->curves_read = 0;
    st->srk_persistent = ESYS_TR_NONE;
    st->srk_gen = 0;
}

static int devid_tpm2_esys_open(struct devid_prov *prov, struct devid_tpm2 *st)
{
    TSS2_RC rc;

    rc = devid_tpm2_tcti_open(st->tcti_conf, &st->tcti, &st->tcti_own,
                              st->tcti_name, sizeof(st->tcti_name));
    if (rc != TSS2_RC_SUCCESS) {
        DEVID_RAISE(prov, DEVID_R_TPM_UNREACHABLE, "TCTI %s: %s (0x%x)",
                    st->tcti_name, Tss2_RC_Decode(rc), (unsigned int)rc);
        return 0;
    }
    rc = Esys_Initialize(&st->esys, st->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        DEVID_RAISE(prov, DEVID_R_TPM_UNREACHABLE, "TCTI %s: %s (0x%x)",
                    st->tcti_name, Tss2_RC_Decode(rc), (unsigned int)rc);
        devid_tpm2_tcti_close(&st->tcti, st->tcti_own);
        return 0;
    }
    st->pid = getpid();
    st->gen++;
    DEVID_DEBUG("tpm2", "ESYS context %lu on %s", st->gen, st->tcti_name);
    return 1;
}

int devid_tpm2_esys_acquire(struct devid_prov *prov, struct devid_tpm2 **out)
{
    struct devid_tpm2 *st = devid_tpm2_state_get(prov);

    *out = NULL;
    if (st == NULL) {
        return 0;
    }
    if (!CRYPTO_THREAD_write_lock(st->lock)) {
        DEVID_RAISE(prov, DEVID_R_INTERNAL, "TPM lock");
        return 0;
    }
    if (st->esys == NULL && !devid_tpm2_esys_open(prov, st)) {
        CRYPTO_THREAD_unlock(st->lock);
        return 0;
    }
    *out = st;
    return 1;
}

/* Swaps out obj if this context loaded it: saved (Part 3 §28.2), then
 * flushed (§28.4). Without a saved context it is only flushed; the next use
 * loads it again from its key file or template. */
static void devid_tpm2_obj_swap_out(struct devid_tpm2 *st,
                                    struct devid_tpm2_obj *obj)
{
    if (obj->tr == ESYS_TR_NONE || obj->gen != st->gen) {
        return;
    }
    if (obj->saved == NULL
        && Esys_ContextSave(st->esys, obj->tr, &obj->saved)
               != TSS2_RC_SUCCESS) {
        obj->saved = NULL;
    }
    Esys_FlushContext(st->esys, obj->tr);
    obj->tr = ESYS_TR_NONE;
}

void devid_tpm2_esys_release(struct devid_tpm2 *st)
{
    struct devid_tpm2_obj *o;

    if (st == NULL) {
        return;
    }
    /* A fork child may leave by _exit(), where no handler runs, and a TPM
     * without a resource manager keeps a transient object until it is
     * flushed: so a child keeps none loaded once an operation is over
     * (docs/architecture.md, "Fork"). */
    if (st->forked && st->esys != NULL && st->pid == getpid()) {
        for (o = st->objs; o != NULL; o = o->next) {
            devid_tpm2_obj_swap_out(st, o);
        }
        devid_tpm2_obj_swap_out(st, &st->srk);
    }
    CRYPTO_THREAD_unlock(st->lock);
}

/* Called once in a fork child, under the instance lock, before the child's
 * first use of st (provider/backends.c). */
void devid_tpm2_after_fork(struct devid_prov *prov, void *state)
{
    struct devid_tpm2 *st = state;

    st->forked = 1;
    if (st->esys != NULL && st->pid != getpid()) {
        DEVID_DEBUG("tpm2", "fork child: new ESYS context");
        devid_tpm2_esys_forget(st);
    }
}

void devid_tpm2_state_free(struct devid_prov *prov, void *state)
{
    struct devid_tpm2 *st = state;

    if (st == NULL) {
        return;
    }
    if (st->esys != NULL && st->pid != getpid()) {
        devid_tpm2_esys_forget(st);
    }
    /* keys still alive lose their objects; they would reload on use */
    while (st->objs != NULL) {
        devid_tpm2_obj_clear(st, st->objs);
    }
    devid_tpm2_obj_clear(st, &st->srk);
    if (st->esys != NULL) {
        Esys_Finalize(&st->esys);
    }
    if (st->tcti != NULL) {
        devid_tpm2_tcti_close(&st->tcti, st->tcti_own);
    }
    CRYPTO_THREAD_lock_free(st->lock);
    OPENSSL_free(st->tcti_conf);
    OPENSSL_free(st);
}

/* The DEVID_TPM2_ALG_* bit of a TPM algorithm we use, or 0. */
static unsigned int devid_tpm2_alg_bit(TPM2_ALG_ID alg)
{
    switch (alg) {
    case TPM2_ALG_RSASSA:
        return DEVID_TPM2_ALG_RSASSA;
    case TPM2_ALG_RSAPSS:
        return DEVID_TPM2_ALG_RSAPSS;
    case TPM2_ALG_RSAES:
        return DEVID_TPM2_ALG_RSAES;
    case TPM2_ALG_OAEP:
        return DEVID_TPM2_ALG_OAEP;
    case TPM2_ALG_ECDSA:
        return DEVID_TPM2_ALG_ECDSA;
    case TPM2_ALG_ECDH:
        return DEVID_TPM2_ALG_ECDH;
    default:
        return 0;
    }
}

/* TPM 2.0 Part 3 §30.2 TPM2_GetCapability, TPM_CAP_ALGS and
 * TPM_CAP_ECC_CURVES: what this TPM implements, read once per context. */
static const struct devid_tpm2_curve devid_tpm2_curves[] = {
    { TPM2_ECC_NIST_P192, "prime192v1", 192, DEVID_TPM2_CURVE_P192 },
    { TPM2_ECC_NIST_P224, "secp224r1", 224, DEVID_TPM2_CURVE_P224 },
    { TPM2_ECC_NIST_P256, "prime256v1", 256, DEVID_TPM2_CURVE_P256 },
    { TPM2_ECC_NIST_P384, "secp384r1", 384, DEVID_TPM2_CURVE_P384 },
    { TPM2_ECC_NIST_P521, "secp521r1", 521, DEVID_TPM2_CURVE_P521 },
};

const struct devid_tpm2_curve *devid_tpm2_curve_by_id(TPMI_ECC_CURVE id)
{
    size_t i;

    for (i = 0; i < sizeof(devid_tpm2_curves) / sizeof(devid_tpm2_curves[0]);
         i++) {
        if (devid_tpm2_curves[i].id == id) {
            return &devid_tpm2_curves[i];
        }
    }
    return NULL;
}

const struct devid_tpm2_curve *devid_tpm2_curve_by_name(const char *name)
{
    int nid = EC_curve_nist2nid(name);
    size_t i;

    /* "P-256" and "secp256r1" name prime256v1 too */
    if (nid == NID_undef) {
        nid = OBJ_sn2nid(strcmp(name, "secp256r1") == 0 ? "prime256v1" : name);
    }
    name = nid != NID_undef ? OBJ_nid2sn(nid) : name;

    for (i = 0; i < sizeof(devid_tpm2_curves) / sizeof(devid_tpm2_curves[0]);
         i++) {
        if (strcmp(devid_tpm2_curves[i].name, name) == 0) {
            return &devid_tpm2_curves[i];
        }
    }
    return NULL;
}

int devid_tpm2_caps_read(struct devid_prov *prov, struct devid_tpm2 *st)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC rc;
    UINT32 i;
    int ret = 0;

    if (st->caps_read) {
        return 1;
    }
    /* only the six we use, TPM_ALG_RSASSA (0x14) to TPM_ALG_ECDH (0x19):
     * the TPM lists the implemented ones from the first on, so one it
     * lacks lets a later algorithm in, never hides one of ours */
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE,
                                        ESYS_TR_NONE, TPM2_CAP_ALGS,
                                        TPM2_ALG_RSASSA,
                                        TPM2_ALG_ECDH - TPM2_ALG_RSASSA + 1,
                                        &more, &cap));
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(prov, "Esys_GetCapability(ALGS)", rc);
        goto end;
    }
    st->algs = 0;
    for (i = 0; i < cap->data.algorithms.count; i++) {
        st->algs
            |= devid_tpm2_alg_bit(cap->data.algorithms.algProperties[i].alg);
    }
    st->caps_read = 1;
    DEVID_DEBUG("tpm2", "algorithms 0x%x", st->algs);
    ret = 1;
end:
    Esys_Free(cap);
    return ret;
}

int devid_tpm2_curves_read(struct devid_prov *prov, struct devid_tpm2 *st)
{
    const struct devid_tpm2_curve *c;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC rc;
    UINT32 i;

    if (st->curves_read) {
        return 1;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE,
                                        ESYS_TR_NONE, TPM2_CAP_ECC_CURVES,
                                        TPM2_ECC_NONE, TPM2_MAX_ECC_CURVES,
                                        &more, &cap));
    if (rc != TSS2_RC_SUCCESS) {
        return devid_tpm2_rc_raise(prov, "Esys_GetCapability(ECC_CURVES)", rc);
    }
    st->curves = 0;
    for (i = 0; i < cap->data.eccCurves.count; i++) {
        c = devid_tpm2_curve_by_id(cap->data.eccCurves.eccCurves[i]);
        st->curves |= c != NULL ? c->bit : 0;
    }
    Esys_Free(cap);
    st->curves_read = 1;
    DEVID_DEBUG("tpm2", "curves 0x%x", st->curves);
    return 1;
}

/* Swaps out the least recently used loaded object other than keep: its
 * context is saved (Part 3 §28.2) and the object flushed (§28.4). */
int devid_tpm2_obj_make_room(struct devid_tpm2 *st,
                             const struct devid_tpm2_obj *keep)
{
    struct devid_tpm2_obj *o, *lru = NULL;
    TSS2_RC rc;

    for (o = st->objs; o != NULL; o = o->next) {
        if (o != keep && o->tr != ESYS_TR_NONE && o->gen == st->gen
            && (lru == NULL || o->used < lru->used)) {
            lru = o;
        }
    }
    if (lru == NULL) {
        return 0;
    }
    rc = Esys_ContextSave(st->esys, lru->tr, &lru->saved);
    if (rc != TSS2_RC_SUCCESS) {
        DEVID_DEBUG("tpm2", "ContextSave: %s", Tss2_RC_Decode(rc));
        lru->saved = NULL;
        return 0;
    }
    rc = Esys_FlushContext(st->esys, lru->tr);
    if (rc != TSS2_RC_SUCCESS) {
        DEVID_DEBUG("tpm2", "FlushContext: %s", Tss2_RC_Decode(rc));
    }
    lru->tr = ESYS_TR_NONE;
    DEVID_DEBUG("tpm2", "swapped out an object to free a slot");
    return 1;
}

TSS2_RC devid_tpm2_obj_with_room(struct devid_tpm2 *st,
                                 TSS2_RC (*f)(struct devid_tpm2 *, void *),
                                 void *arg, const struct devid_tpm2_obj *keep)
{
    TSS2_RC rc;

    DEVID_TPM2_RETRY(st, keep, rc, f(st, arg));
    return rc;
}

struct devid_tpm2_ctxload {
    TPMS_CONTEXT *ctx;
    ESYS_TR tr;
};

static TSS2_RC devid_tpm2_ctxload_f(struct devid_tpm2 *st, void *arg)
{
    struct devid_tpm2_ctxload *a = arg;

    return Esys_ContextLoad(st->esys, a->ctx, &a->tr);
}

int devid_tpm2_obj_use(struct devid_prov *prov, struct devid_tpm2 *st,
                       struct devid_tpm2_obj *obj, ESYS_TR *tr)
{
    struct devid_tpm2_ctxload a = { NULL, ESYS_TR_NONE };
    TSS2_RC rc;

    if (obj->gen != st->gen) {
        /* loaded by another context (our parent's): not ours to use */
        devid_tpm2_obj_clear(st, obj);
        return 0;
    }
    if (obj->tr != ESYS_TR_NONE) {
        obj->used = ++st->clock;
        *tr = obj->tr;
        return 1;
    }
    if (obj->saved == NULL) {
        return 0;
    }
    a.ctx = obj->saved;
    rc = devid_tpm2_obj_with_room(st, devid_tpm2_ctxload_f, &a, obj);
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(prov, "Esys_ContextLoad", rc);
        return -1;
    }
    Esys_Free(obj->saved);
    obj->saved = NULL;
    devid_tpm2_obj_set(st, obj, a.tr);
    *tr = obj->tr;
    return 1;
}

void devid_tpm2_obj_set(struct devid_tpm2 *st, struct devid_tpm2_obj *obj,
                        ESYS_TR tr)
{
    obj->tr = tr;
    obj->gen = st->gen;
    obj->used = ++st->clock;
    if (!obj->listed && obj != &st->srk) {
        obj->next = st->objs;
        st->objs = obj;
        obj->listed = 1;
    }
}

void devid_tpm2_obj_clear(struct devid_tpm2 *st, struct devid_tpm2_obj *obj)
{
    struct devid_tpm2_obj **pp;

    if (obj->tr != ESYS_TR_NONE && obj->gen == st->gen && st->esys != NULL
        && st->pid == getpid()) {
        Esys_FlushContext(st->esys, obj->tr);
    }
    obj->tr = ESYS_TR_NONE;
    Esys_Free(obj->saved);
    obj->saved = NULL;
    if (obj->listed) {
        for (pp = &st->objs; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == obj) {
                *pp = obj->next;
                break;
            }
        }
        obj->listed = 0;
        obj->next = NULL;
    }
}
