/* SPDX-License-Identifier: Apache-2.0 */
/* The storage root key that TSS2 key files are loaded under: the persistent
 * SRK at 0x81000001 when it was made from the standard template, else a
 * primary created once per process (per ESYS context) from that template and
 * kept as a saved context, so it takes no object slot between key loads. */
#include "config.h"

#include <string.h>
#include <tss2/tss2_rc.h>

#include "common/err.h"
#include "common/log.h"
#include "provider/prov.h"
#include "tpm2/tpm2.h"

#define DEVID_TPMA_SRK                                                         \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT                            \
     | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH              \
     | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

/* The ECC P-256 storage key template of TCG TPM v2.0 Provisioning Guidance
 * §7.5.1 with an empty unique field, the parent that TCG TPM 2.0 Key Files
 * prescribes for parent TPM_RH_OWNER (as tpm2-tss-engine and
 * tpm2-openssl create it). */
static void devid_tpm2_srk_template(TPM2B_PUBLIC *t)
{
    TPMS_ECC_PARMS *ecc = &t->publicArea.parameters.eccDetail;

    memset(t, 0, sizeof(*t));
    t->publicArea.type = TPM2_ALG_ECC;
    t->publicArea.nameAlg = TPM2_ALG_SHA256;
    t->publicArea.objectAttributes = DEVID_TPMA_SRK;
    ecc->symmetric.algorithm = TPM2_ALG_AES;
    ecc->symmetric.keyBits.aes = 128;
    ecc->symmetric.mode.aes = TPM2_ALG_CFB;
    ecc->scheme.scheme = TPM2_ALG_NULL;
    ecc->curveID = TPM2_ECC_NIST_P256;
    ecc->kdf.scheme = TPM2_ALG_NULL;
}

/* 1 when a persistent key was made from the SRK template: then it is the
 * very key the template yields under the owner seed. */
static int devid_tpm2_srk_matches(const TPMT_PUBLIC *p)
{
    const TPMS_ECC_PARMS *ecc = &p->parameters.eccDetail;

    return p->type == TPM2_ALG_ECC && p->nameAlg == TPM2_ALG_SHA256
           && p->objectAttributes == DEVID_TPMA_SRK
           && p->authPolicy.size == 0
           && ecc->symmetric.algorithm == TPM2_ALG_AES
           && ecc->symmetric.keyBits.aes == 128
           && ecc->symmetric.mode.aes == TPM2_ALG_CFB
           && ecc->scheme.scheme == TPM2_ALG_NULL
           && ecc->curveID == TPM2_ECC_NIST_P256
           && ecc->kdf.scheme == TPM2_ALG_NULL;
}

/* Looks for the SRK at its persistent handle (once per context). */
static void devid_tpm2_srk_probe(struct devid_tpm2 *st)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TPM2B_PUBLIC *pub = NULL;
    ESYS_TR tr = ESYS_TR_NONE;
    TSS2_RC rc;
    int found;

    st->srk_persistent = ESYS_TR_NONE;
    st->srk_gen = st->gen;
    /* ask first: ESYS logs a failed lookup loudly on stderr */
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE,
                                        ESYS_TR_NONE, TPM2_CAP_HANDLES,
                                        DEVID_TPM2_SRK_HANDLE, 1, &more,
                                        &cap));
    found = rc == TSS2_RC_SUCCESS && cap->data.handles.count > 0
            && cap->data.handles.handle[0] == DEVID_TPM2_SRK_HANDLE;
    Esys_Free(cap);
    if (!found) {
        return;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_TR_FromTPMPublic(st->esys, DEVID_TPM2_SRK_HANDLE,
                                           ESYS_TR_NONE, ESYS_TR_NONE,
                                           ESYS_TR_NONE, &tr));
    if (rc != TSS2_RC_SUCCESS) {
        return;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_ReadPublic(st->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &pub, NULL, NULL));
    if (rc == TSS2_RC_SUCCESS && devid_tpm2_srk_matches(&pub->publicArea)) {
        st->srk_persistent = tr;
        DEVID_DEBUG("tpm2", "SRK at 0x%x", DEVID_TPM2_SRK_HANDLE);
    } else {
        Esys_TR_Close(st->esys, &tr);
    }
    Esys_Free(pub);
}

static TSS2_RC devid_tpm2_srk_create_f(struct devid_tpm2 *st, void *arg)
{
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC tmpl;
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };

    memset(&sens, 0, sizeof(sens));
    devid_tpm2_srk_template(&tmpl);
    /* TPM 2.0 Part 3 §24.1 TPM2_CreatePrimary under the owner hierarchy */
    return Esys_CreatePrimary(st->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
                              ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
                              &outside, &pcrs, (ESYS_TR *)arg, NULL, NULL,
                              NULL, NULL);
}

int devid_tpm2_srk_get(struct devid_prov *prov, struct devid_tpm2 *st,
                       ESYS_TR *tr)
{
    ESYS_TR created = ESYS_TR_NONE;
    TSS2_RC rc;
    int r;

    if (st->srk_gen != st->gen) {
        devid_tpm2_srk_probe(st);
    }
    if (st->srk_persistent != ESYS_TR_NONE) {
        *tr = st->srk_persistent;
        return 1;
    }
    r = devid_tpm2_obj_use(prov, st, &st->srk, tr);
    if (r != 0) {
        return r == 1;
    }
    rc = devid_tpm2_obj_with_room(st, devid_tpm2_srk_create_f, &created,
                                  NULL);
    if (rc != TSS2_RC_SUCCESS) {
        return devid_tpm2_rc_raise(prov, "Esys_CreatePrimary(SRK)", rc);
    }
    DEVID_DEBUG("tpm2", "created the SRK from the ECC P-256 template");
    devid_tpm2_obj_set(st, &st->srk, created);
    *tr = created;
    return 1;
}

void devid_tpm2_srk_done(struct devid_tpm2 *st)
{
    TSS2_RC rc;

    if (st->srk.tr == ESYS_TR_NONE || st->srk.gen != st->gen) {
        return;
    }
    /* keep the SRK as a saved context (Part 3 §28.2): its slot is free for
     * keys, and it is never created again in this process */
    rc = Esys_ContextSave(st->esys, st->srk.tr, &st->srk.saved);
    if (rc != TSS2_RC_SUCCESS) {
        st->srk.saved = NULL;
        return;                     /* stays loaded */
    }
    Esys_FlushContext(st->esys, st->srk.tr);
    st->srk.tr = ESYS_TR_NONE;
}
