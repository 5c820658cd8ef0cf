/* SPDX-License-Identifier: Apache-2.0 */
/* Creating keys in the TPM: an unrestricted, non-duplicable key (fixedTPM,
 * fixedParent, sensitiveDataOrigin) made under the storage root key or a
 * persistent parent, then made persistent at a handle (TPM2_EvictControl),
 * written as a TSS2 PRIVATE KEY file, or kept for the encoder to write (no
 * name). tpm2-openssl's generation parameters: user-auth, parent,
 * parent-auth and digest (RSA-PSS keys). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <tss2/tss2_rc.h>

#include "common/err.h"
#include "common/log.h"
#include "provider/prov.h"
#include "tpm2/keyfile.h"
#include "tpm2/tpm2.h"

/* Sign for ECDSA/RSASSA/RSAPSS and decrypt for ECDH/RSAES/OAEP (and raw RSA
 * for our PSS encoding); no auth value, so noDA: a key nobody can guess
 * a password for must not count toward lockout (TPM 2.0 Part 1,
 * "Dictionary Attack Protection"). */
#define DEVID_TPMA_KEY                                                         \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT                            \
     | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH              \
     | TPMA_OBJECT_NODA | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT)

/* A key with an auth value counts its failures toward lockout: noDA only
 * for keys without one. */
#define DEVID_TPMA_KEY_AUTH (DEVID_TPMA_KEY & ~(TPMA_OBJECT_NODA))

/* What tpm2-openssl's generation parameters ask for (its names). */
struct devid_tpm2_genopts {
    const struct devid_gen_extra *user_auth;   /* "user-auth" */
    const struct devid_gen_extra *parent_auth; /* "parent-auth" */
    TPM2_HANDLE parent;                        /* "parent", or owner */
    TPMI_ALG_HASH digest;                      /* "digest", or NULL */
};

static TPMI_ALG_HASH devid_tpm2_hash_by_name(const char *name)
{
    static const struct {
        const char *name;
        TPMI_ALG_HASH alg;
    } t[] = { { "sha1", TPM2_ALG_SHA1 },     { "sha-1", TPM2_ALG_SHA1 },
              { "sha256", TPM2_ALG_SHA256 }, { "sha2-256", TPM2_ALG_SHA256 },
              { "sha384", TPM2_ALG_SHA384 }, { "sha2-384", TPM2_ALG_SHA384 },
              { "sha512", TPM2_ALG_SHA512 }, { "sha2-512", TPM2_ALG_SHA512 } };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (OPENSSL_strcasecmp(name, t[i].name) == 0) {
            return t[i].alg;
        }
    }
    return TPM2_ALG_ERROR;
}

static int devid_tpm2_genopts(struct devid_prov *prov,
                              const struct devid_gen_params *p,
                              struct devid_tpm2_genopts *o)
{
    const struct devid_gen_extra *x;
    char *end = NULL;
    unsigned long v;

    memset(o, 0, sizeof(*o));
    o->parent = TPM2_RH_OWNER;
    o->digest = TPM2_ALG_NULL;
    o->user_auth = devid_gen_extra_get(p, "user-auth");
    o->parent_auth = devid_gen_extra_get(p, "parent-auth");
    x = devid_gen_extra_get(p, "parent");
    if (x != NULL) {
        /* a hex number, as tpm2-openssl documents it */
        v = strtoul(x->value, &end, 16);
        if (end == x->value || *end != '\0'
            || (v != TPM2_RH_OWNER
                && (v & 0xff000000ul) != DEVID_TPM2_HR_PERSISTENT)) {
            DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                        "parent %s: 0x40000001 or a persistent handle "
                        "0x81xxxxxx",
                        x->value);
            return 0;
        }
        o->parent = (TPM2_HANDLE)v;
    }
    x = devid_gen_extra_get(p, "digest");
    if (x != NULL) {
        o->digest = devid_tpm2_hash_by_name(x->value);
        if (o->digest == TPM2_ALG_ERROR || !p->pss) {
            DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                        "digest %s: a SHA-1/SHA-2 name, for RSA-PSS keys",
                        x->value);
            return 0;
        }
    }
    return 1;
}

/* The public template of a new key (TPM 2.0 Part 2 §12.2.4 TPMT_PUBLIC). */
static int devid_tpm2_key_template(struct devid_prov *prov,
                                   const struct devid_gen_params *p,
                                   const struct devid_tpm2_genopts *o,
                                   TPM2B_PUBLIC *t)
{
    TPMT_PUBLIC *a = &t->publicArea;
    const struct devid_tpm2_curve *c;

    /* TPM 2.0 (Part 2 §6.3 up to revision 1.59, what swtpm and tpm2-tss
     * speak) has no Edwards curves: say so before anything is touched */
    if (devid_key_type_is_eddsa(p->type)) {
        DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY,
                    "%s: a TPM makes no EdDSA keys; create Ed25519 and Ed448 "
                    "keys in a PKCS#11 token",
                    p->type == DEVID_KEY_ED25519 ? "Ed25519" : "Ed448");
        return 0;
    }
    memset(t, 0, sizeof(*t));
    a->nameAlg = TPM2_ALG_SHA256;
    a->objectAttributes = o->user_auth != NULL ? DEVID_TPMA_KEY_AUTH
                                               : DEVID_TPMA_KEY;
    if (p->type == DEVID_KEY_EC) {
        c = devid_tpm2_curve_by_name(p->group);
        a->type = TPM2_ALG_ECC;
        a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        if (c == NULL) {
            DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY, "EC group %s",
                        p->group);
            return 0;
        }
        a->parameters.eccDetail.curveID = c->id;
        return 1;
    }
    if (p->type != DEVID_KEY_RSA
        || (p->bits != 2048 && p->bits != 3072 && p->bits != 4096)
        || p->exponent > 0xfffffffful
        || (p->exponent != 0 && (p->exponent & 1) == 0)) {
        DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY,
                    "key type %d, %d bits, exponent %lu", (int)p->type,
                    p->bits, p->exponent);
        return 0;
    }
    a->type = TPM2_ALG_RSA;
    a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    if (p->pss) {
        /* RSA-PSS (RFC 4055): signs, PSS only, with the scheme's hash; not
         * restricted, so it signs any digest of that hash */
        a->objectAttributes &= ~(TPMA_OBJECT)TPMA_OBJECT_DECRYPT;
        a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSAPSS;
        a->parameters.rsaDetail.scheme.details.rsapss.hashAlg =
            o->digest != TPM2_ALG_NULL ? o->digest : TPM2_ALG_SHA256;
    }
    a->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)p->bits;
    /* 0 is the TPM's way of writing 65537 (Part 2 §12.2.3.5) */
    a->parameters.rsaDetail.exponent
        = p->exponent == 65537 ? 0 : (UINT32)p->exponent;
    return 1;
}

/* The parent of a new key with its auth set: the SRK, or a persistent key
 * (parent-auth, else tpm2-parent-auth / TPM2OPENSSL_PARENT_AUTH). A value
 * the TPM refused before is not sent. Release with _parent_done. */
static int devid_tpm2_gen_parent(struct devid_prov *prov, struct devid_tpm2 *st,
                                 const struct devid_tpm2_genopts *o,
                                 const char *auth, size_t len, ESYS_TR *tr)
{
    TPM2B_AUTH a = { 0 };
    TSS2_RC rc;

    if (o->parent == TPM2_RH_OWNER) {
        return devid_tpm2_srk_get(prov, st, tr);
    }
    if (devid_tpm2_parent_auth_refused(st, o->parent, auth, len)) {
        DEVID_RAISE(prov, DEVID_R_PIN_REFUSED_BEFORE,
                    "the TPM refused this auth value for parent 0x%08x "
                    "before",
                    (unsigned int)o->parent);
        return 0;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_TR_FromTPMPublic(st->esys, o->parent, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, tr));
    if (rc != TSS2_RC_SUCCESS) {
        *tr = ESYS_TR_NONE;
        return devid_tpm2_rc_raise(prov, "parent Esys_TR_FromTPMPublic", rc);
    }
    a.size = (UINT16)len;
    memcpy(a.buffer, auth, len);
    rc = Esys_TR_SetAuth(st->esys, *tr, &a);
    OPENSSL_cleanse(&a, sizeof(a));
    return rc == TSS2_RC_SUCCESS
           || devid_tpm2_rc_raise(prov, "Esys_TR_SetAuth", rc);
}

static void devid_tpm2_gen_parent_done(struct devid_tpm2 *st,
                                       const struct devid_tpm2_genopts *o,
                                       ESYS_TR *tr)
{
    if (o->parent == TPM2_RH_OWNER) {
        devid_tpm2_srk_done(st);
    } else if (*tr != ESYS_TR_NONE) {
        Esys_TR_Close(st->esys, tr);
    }
}

/* A command under a persistent parent failed: remember a refused auth. */
static int devid_tpm2_gen_parent_fail(struct devid_prov *prov,
                                      struct devid_tpm2 *st,
                                      const struct devid_tpm2_genopts *o,
                                      const char *auth, size_t len,
                                      const char *what, TSS2_RC rc)
{
    if (o->parent != TPM2_RH_OWNER && devid_tpm2_rc_is_auth_fail(rc)) {
        devid_tpm2_parent_auth_remember(st, o->parent, auth, len);
        DEVID_RAISE(prov, DEVID_R_PIN_INCORRECT,
                    "%s: %s (0x%x): parent 0x%08x refused the auth value, "
                    "not retried",
                    what, Tss2_RC_Decode(rc), (unsigned int)rc,
                    (unsigned int)o->parent);
        return 0;
    }
    return devid_tpm2_rc_raise(prov, what, rc);
}

struct devid_tpm2_create {
    ESYS_TR parent;
    const TPM2B_PUBLIC *tmpl;
    const struct devid_gen_extra *user_auth;
    TPM2B_PUBLIC *pub;
    TPM2B_PRIVATE *priv;
};

static TSS2_RC devid_tpm2_create_f(struct devid_tpm2 *st, void *arg)
{
    struct devid_tpm2_create *a = arg;
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TSS2_RC rc;

    memset(&sens, 0, sizeof(sens));
    if (a->user_auth != NULL) {
        sens.sensitive.userAuth.size = (UINT16)a->user_auth->len;
        memcpy(sens.sensitive.userAuth.buffer, a->user_auth->value,
               a->user_auth->len);
    }
    /* TPM 2.0 Part 3 §12.1 TPM2_Create */
    rc = Esys_Create(st->esys, a->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                     ESYS_TR_NONE, &sens, a->tmpl, &outside, &pcrs, &a->priv,
                     &a->pub, NULL, NULL, NULL);
    OPENSSL_cleanse(&sens, sizeof(sens));
    return rc;
}

/* Creates the key under its parent; fills kf's blobs. */
static int devid_tpm2_create_blobs(struct devid_prov *prov,
                                   const TPM2B_PUBLIC *tmpl,
                                   const struct devid_tpm2_genopts *o,
                                   const char *pauth, size_t plen,
                                   struct devid_tpm2_keyfile *kf)
{
    struct devid_tpm2_create a = { ESYS_TR_NONE, tmpl, o->user_auth, NULL,
                                   NULL };
    const struct devid_tpm2_curve *c = devid_tpm2_curve_by_id(
        tmpl->publicArea.parameters.eccDetail.curveID);
    struct devid_tpm2 *st = NULL;
    TSS2_RC rc;
    int ret = 0;

    if (!devid_tpm2_esys_acquire(prov, &st)
        || !devid_tpm2_curves_read(prov, st)) {
        goto end;
    }
    if (tmpl->publicArea.type == TPM2_ALG_ECC
        && (c == NULL || (st->curves & c->bit) == 0)) {
        DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY,
                    "this TPM does not report curve %s",
                    c != NULL ? c->name : "?");
        goto end;
    }
    if (!devid_tpm2_gen_parent(prov, st, o, pauth, plen, &a.parent)) {
        goto end;
    }
    rc = devid_tpm2_obj_with_room(st, devid_tpm2_create_f, &a, NULL);
    devid_tpm2_gen_parent_done(st, o, &a.parent);
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_gen_parent_fail(prov, st, o, pauth, plen, "Esys_Create", rc);
        goto end;
    }
    kf->pub = *a.pub;
    kf->priv = *a.priv;
    kf->parent = o->parent;
    kf->empty_auth = o->user_auth == NULL;
    ret = 1;
end:
    devid_tpm2_esys_release(st);
    Esys_Free(a.pub);
    Esys_Free(a.priv);
    return ret;
}

struct devid_tpm2_loadnew {
    ESYS_TR parent;
    const struct devid_tpm2_keyfile *kf;
    ESYS_TR tr;
};

static TSS2_RC devid_tpm2_loadnew_f(struct devid_tpm2 *st, void *arg)
{
    struct devid_tpm2_loadnew *a = arg;

    return Esys_Load(st->esys, a->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                     ESYS_TR_NONE, &a->kf->priv, &a->kf->pub, &a->tr);
}

/* Fails when something already lives at handle. */
static int devid_tpm2_handle_free(struct devid_prov *prov,
                                  struct devid_tpm2 *st, TPM2_HANDLE handle)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC rc;
    int ret = 0;

    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE,
                                        ESYS_TR_NONE, TPM2_CAP_HANDLES, handle,
                                        1, &more, &cap));
    if (rc != TSS2_RC_SUCCESS) {
        return devid_tpm2_rc_raise(prov, "Esys_GetCapability(HANDLES)", rc);
    }
    if (cap->data.handles.count > 0 && cap->data.handles.handle[0] == handle) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                    "persistent handle 0x%x is in use", (unsigned int)handle);
        goto end;
    }
    ret = 1;
end:
    Esys_Free(cap);
    return ret;
}

/* TPM 2.0 Part 3 §28.5 TPM2_EvictControl: makes the new key persistent. */
static int devid_tpm2_persist(struct devid_prov *prov,
                              const struct devid_tpm2_keyfile *kf,
                              const struct devid_tpm2_genopts *o,
                              const char *pauth, size_t plen,
                              TPM2_HANDLE handle)
{
    struct devid_tpm2_loadnew a = { ESYS_TR_NONE, kf, ESYS_TR_NONE };
    struct devid_tpm2 *st = NULL;
    ESYS_TR ptr = ESYS_TR_NONE;
    TSS2_RC rc;
    int ret = 0;

    if (!devid_tpm2_esys_acquire(prov, &st)
        || !devid_tpm2_gen_parent(prov, st, o, pauth, plen, &a.parent)) {
        goto end;
    }
    rc = devid_tpm2_obj_with_room(st, devid_tpm2_loadnew_f, &a, NULL);
    devid_tpm2_gen_parent_done(st, o, &a.parent);
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_gen_parent_fail(prov, st, o, pauth, plen, "Esys_Load", rc);
        goto end;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_EvictControl(st->esys, ESYS_TR_RH_OWNER, a.tr,
                                       ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                       ESYS_TR_NONE, handle, &ptr));
    Esys_FlushContext(st->esys, a.tr);
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(prov, "Esys_EvictControl", rc);
        goto end;
    }
    Esys_TR_Close(st->esys, &ptr);
    DEVID_DEBUG("tpm2", "new key persisted at 0x%x", (unsigned int)handle);
    ret = 1;
end:
    devid_tpm2_esys_release(st);
    return ret;
}

static int devid_tpm2_check_handle(struct devid_prov *prov, TPM2_HANDLE h)
{
    struct devid_tpm2 *st = NULL;
    int ret;

    if (!devid_tpm2_esys_acquire(prov, &st)) {
        return 0;
    }
    ret = devid_tpm2_handle_free(prov, st, h);
    devid_tpm2_esys_release(st);
    return ret;
}

/* Where the new key goes: a persistent handle (1), a file (0, *path set)
 * or nowhere but its reference file (0, *path NULL: name NULL). */
static int devid_tpm2_gen_place(struct devid_prov *prov, const char *name,
                                TPM2_HANDLE *h, const char **path)
{
    int ask = 0, r;

    *path = NULL;
    if (name == NULL) {
        return 0;
    }
    r = devid_tpm2_name_handle(name, h, &ask);
    if (r < 0 || (r == 1 && ask)) {
        DEVID_RAISE(prov, DEVID_R_BAD_URI,
                    "%s: expected handle:0x81xxxxxx or a file path", name);
        return -1;
    }
    if (r == 1) {
        return devid_tpm2_check_handle(prov, *h) ? 1 : -1;
    }
    *path = name;
    if (strncmp(name, "file://", 7) == 0) {
        *path = name + 7;
    } else if (strncmp(name, "file:", 5) == 0) {
        *path = name + 5;
    }
    return 0;
}

/* The parent's auth for a generation: parent-auth, else the setting or
 * TPM2OPENSSL_PARENT_AUTH (no passphrase callback here). */
static int devid_tpm2_gen_parent_auth(struct devid_prov *prov,
                                      const struct devid_tpm2_genopts *o,
                                      const char *name, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (o->parent == TPM2_RH_OWNER) {
        return 1;
    }
    if (o->parent_auth == NULL) {
        return devid_tpm2_parent_auth_get(prov, o->parent,
                                          name != NULL ? name : "a new key",
                                          NULL, buf, len);
    }
    *buf = OPENSSL_secure_zalloc(DEVID_TPM2_PARENT_AUTH_SIZE);
    if (*buf == NULL || o->parent_auth->len > sizeof(TPMU_HA)) {
        DEVID_RAISE(prov, *buf == NULL ? DEVID_R_MALLOC : DEVID_R_INVALID_PARAM,
                    "parent-auth");
        return 0;
    }
    memcpy(*buf, o->parent_auth->value, o->parent_auth->len);
    *len = o->parent_auth->len;
    return 1;
}

int devid_tpm2_key_generate(struct devid_prov *prov, const char *name,
                            const struct devid_gen_params *p,
                            const struct devid_pin_cb *pin,
                            struct devid_key **out)
{
    struct devid_tpm2_keyfile *kf = NULL;
    struct devid_tpm2_genopts o;
    struct devid_tpm2_auths given = { NULL, 0, NULL, 0 };
    TPM2B_PUBLIC tmpl;
    TPM2_HANDLE h = 0;
    const char *path = NULL;
    char *pauth = NULL;
    size_t plen = 0;
    int r, ret = 0;

    *out = NULL;
    if (!devid_tpm2_genopts(prov, p, &o)
        || !devid_tpm2_key_template(prov, p, &o, &tmpl)
        || (r = devid_tpm2_gen_place(prov, name, &h, &path)) < 0
        || !devid_tpm2_gen_parent_auth(prov, &o, name, &pauth, &plen)) {
        goto end;
    }
    kf = OPENSSL_zalloc(sizeof(*kf));
    if (kf == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "key file");
        goto end;
    }
    if (!devid_tpm2_create_blobs(prov, &tmpl, &o, pauth, plen, kf)) {
        goto end;
    }
    if (o.user_auth != NULL) {
        given.user = o.user_auth->value;
        given.user_len = o.user_auth->len;
    }
    given.parent = pauth;
    given.parent_len = plen;
    if (r == 1) {
        ret = devid_tpm2_persist(prov, kf, &o, pauth, plen, h)
              && devid_tpm2_key_open(prov, name, NULL, out)
              && (given.user == NULL
                  || devid_tpm2_key_set_auth_value(*out, 0, given.user,
                                                   given.user_len));
        goto end;
    }
    if (path != NULL && !devid_tpm2_keyfile_write_pem(prov, path, kf)) {
        goto end;
    }
    ret = devid_tpm2_key_from_keyfile(prov, kf, name, pin, &given, out);
    kf = NULL;
end:
    if (!ret && *out != NULL) {
        devid_key_free(*out);
        *out = NULL;
    }
    OPENSSL_secure_clear_free(pauth, DEVID_TPM2_PARENT_AUTH_SIZE);
    devid_tpm2_keyfile_free(kf);
    return ret;
}
