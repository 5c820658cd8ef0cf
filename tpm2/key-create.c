/* SPDX-License-Identifier: Apache-2.0 */
/* Creating keys in the TPM: an unrestricted, non-duplicable key (fixedTPM,
 * fixedParent, sensitiveDataOrigin) made under the storage root key, then
 * either made persistent at a handle (TPM2_EvictControl) or written as a
 * TSS2 PRIVATE KEY file. */
#include "config.h"

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

static TPMI_ECC_CURVE devid_tpm2_curve(const char *group)
{
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0
        || strcmp(group, "secp256r1") == 0) {
        return TPM2_ECC_NIST_P256;
    }
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
        return TPM2_ECC_NIST_P384;
    }
    return TPM2_ECC_NONE;
}

/* The public template of a new key (TPM 2.0 Part 2 §12.2.4 TPMT_PUBLIC). */
static int devid_tpm2_key_template(struct devid_prov *prov,
                                   const struct devid_gen_params *p,
                                   TPM2B_PUBLIC *t)
{
    TPMT_PUBLIC *a = &t->publicArea;

    memset(t, 0, sizeof(*t));
    a->nameAlg = TPM2_ALG_SHA256;
    a->objectAttributes = DEVID_TPMA_KEY;
    if (p->type == DEVID_KEY_EC) {
        a->type = TPM2_ALG_ECC;
        a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        a->parameters.eccDetail.curveID = devid_tpm2_curve(p->group);
        if (a->parameters.eccDetail.curveID == TPM2_ECC_NONE) {
            DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY, "EC group %s",
                        p->group);
            return 0;
        }
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
    a->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)p->bits;
    /* 0 is the TPM's way of writing 65537 (Part 2 §12.2.3.5) */
    a->parameters.rsaDetail.exponent
        = p->exponent == 65537 ? 0 : (UINT32)p->exponent;
    return 1;
}

struct devid_tpm2_create {
    ESYS_TR parent;
    const TPM2B_PUBLIC *tmpl;
    TPM2B_PUBLIC *pub;
    TPM2B_PRIVATE *priv;
};

static TSS2_RC devid_tpm2_create_f(struct devid_tpm2 *st, void *arg)
{
    struct devid_tpm2_create *a = arg;
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };

    memset(&sens, 0, sizeof(sens));
    /* TPM 2.0 Part 3 §12.1 TPM2_Create */
    return Esys_Create(st->esys, a->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                       ESYS_TR_NONE, &sens, a->tmpl, &outside, &pcrs,
                       &a->priv, &a->pub, NULL, NULL, NULL);
}

/* Creates the key under the SRK; fills kf's blobs. */
static int devid_tpm2_create_blobs(struct devid_prov *prov,
                                   const TPM2B_PUBLIC *tmpl,
                                   struct devid_tpm2_keyfile *kf)
{
    struct devid_tpm2_create a = { ESYS_TR_NONE, tmpl, NULL, NULL };
    struct devid_tpm2 *st = NULL;
    TSS2_RC rc;
    int ret = 0;

    if (!devid_tpm2_esys_acquire(prov, &st)
        || !devid_tpm2_srk_get(prov, st, &a.parent)) {
        goto end;
    }
    rc = devid_tpm2_obj_with_room(st, devid_tpm2_create_f, &a, NULL);
    devid_tpm2_srk_done(st);
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(prov, "Esys_Create", rc);
        goto end;
    }
    kf->pub = *a.pub;
    kf->priv = *a.priv;
    kf->parent = TPM2_RH_OWNER;
    kf->empty_auth = 1;
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
                              TPM2_HANDLE handle)
{
    struct devid_tpm2_loadnew a = { ESYS_TR_NONE, kf, ESYS_TR_NONE };
    struct devid_tpm2 *st = NULL;
    ESYS_TR ptr = ESYS_TR_NONE;
    TSS2_RC rc;
    int ret = 0;

    if (!devid_tpm2_esys_acquire(prov, &st)
        || !devid_tpm2_srk_get(prov, st, &a.parent)) {
        goto end;
    }
    rc = devid_tpm2_obj_with_room(st, devid_tpm2_loadnew_f, &a, NULL);
    devid_tpm2_srk_done(st);
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(prov, "Esys_Load", rc);
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

int devid_tpm2_key_generate(struct devid_prov *prov, const char *name,
                            const struct devid_gen_params *p,
                            const struct devid_pin_cb *pin,
                            struct devid_key **out)
{
    struct devid_tpm2_keyfile *kf = NULL;
    TPM2B_PUBLIC tmpl;
    TPM2_HANDLE h = 0;
    int ask = 0, r, ret = 0;
    const char *path;

    *out = NULL;
    r = devid_tpm2_name_handle(name, &h, &ask);
    if (r < 0 || (r == 1 && ask)) {
        DEVID_RAISE(prov, DEVID_R_BAD_URI,
                    "%s: expected handle:0x81xxxxxx or a file path", name);
        return 0;
    }
    if (!devid_tpm2_key_template(prov, p, &tmpl)
        || (r == 1 && !devid_tpm2_check_handle(prov, h))) {
        return 0;
    }
    kf = OPENSSL_zalloc(sizeof(*kf));
    if (kf == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "key file");
        return 0;
    }
    if (!devid_tpm2_create_blobs(prov, &tmpl, kf)) {
        goto end;
    }
    if (r == 1) {
        ret = devid_tpm2_persist(prov, kf, h)
              && devid_tpm2_key_open(prov, name, NULL, out);
        goto end;
    }
    path = strncmp(name, "file:", 5) == 0 ? name + 5 : name;
    if (strncmp(name, "file://", 7) == 0) {
        path = name + 7;
    }
    if (!devid_tpm2_keyfile_write_pem(prov, path, kf)) {
        goto end;
    }
    ret = devid_tpm2_key_from_keyfile(prov, kf, name, NULL, out);
    kf = NULL;
end:
    devid_tpm2_keyfile_free(kf);
    return ret;
}
