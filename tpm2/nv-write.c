/* SPDX-License-Identifier: Apache-2.0 */
/* Writing a certificate into a new TPM NV index ("devid install --to
 * tpm-nv", issue 12): the index is defined in devid's range of the owner
 * hierarchy's indices (docs/tpm2.md), written in chunks the TPM accepts
 * (TPM2_PT_NV_BUFFER_MAX), and never one that already exists, so the
 * certificate in use stays until the CLI has switched to the new one.
 * An index is removed (TPM2_NV_UndefineSpace) only inside devid's range. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <tss2/tss2_rc.h>

#include "common/err.h"
#include "tpm2/tpm2.h"

/* devid's indices: a block of the owner's range 0x01000000-0x013FFFFF of
 * the TCG handle registry, away from the TCG-defined 0x01C00000 ranges
 * (EK certificates, IDevID). */
#define DEVID_TPM2_NV_FIRST 0x013D0000u
#define DEVID_TPM2_NV_LAST 0x013D00FFu

/* When the TPM does not say: the PC Client profile's minimum. */
#define DEVID_TPM2_NV_WRITE_DEFAULT 512u

/* Readable by anyone with the index's empty auth value (a certificate is
 * public; no owner auth needed to read), written only with owner
 * authorization; a wrong read auth does not count towards the
 * dictionary-attack lockout. */
#define DEVID_TPM2_NV_ATTRS                                                    \
    (TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA)

int devid_tpm2_nv_ours(TPM2_HANDLE h)
{
    return h >= DEVID_TPM2_NV_FIRST && h <= DEVID_TPM2_NV_LAST;
}

/* The largest TPM2_NV_Write this TPM takes. */
static UINT16 devid_tpm2_nv_write_max(struct devid_tpm2 *st)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    UINT32 v = DEVID_TPM2_NV_WRITE_DEFAULT;
    TSS2_RC rc;

    rc = Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1,
                            &more, &cap);
    if (rc == TSS2_RC_SUCCESS && cap->data.tpmProperties.count == 1
        && cap->data.tpmProperties.tpmProperty[0].property
               == TPM2_PT_NV_BUFFER_MAX
        && cap->data.tpmProperties.tpmProperty[0].value > 0) {
        v = cap->data.tpmProperties.tpmProperty[0].value;
    }
    Esys_Free(cap);
    if (v > TPM2_MAX_NV_BUFFER_SIZE) {
        v = TPM2_MAX_NV_BUFFER_SIZE;
    }
    return (UINT16)v;
}

/* The lowest index of devid's range that is not defined. */
static int devid_tpm2_nv_free_index(struct devid_prov *prov,
                                    struct devid_tpm2 *st, TPM2_HANDLE *out)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TPM2_HANDLE h;
    TSS2_RC rc;
    UINT32 i;
    int used;

    rc = Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            TPM2_CAP_HANDLES, DEVID_TPM2_NV_FIRST,
                            DEVID_TPM2_NV_LAST - DEVID_TPM2_NV_FIRST + 1, &more,
                            &cap);
    if (rc != TSS2_RC_SUCCESS) {
        return devid_tpm2_rc_raise(prov, "Esys_GetCapability", rc);
    }
    for (h = DEVID_TPM2_NV_FIRST; h <= DEVID_TPM2_NV_LAST; h++) {
        used = 0;
        for (i = 0; !used && i < cap->data.handles.count; i++) {
            used = cap->data.handles.handle[i] == h;
        }
        if (!used) {
            *out = h;
            Esys_Free(cap);
            return 1;
        }
    }
    Esys_Free(cap);
    DEVID_RAISE(prov, DEVID_R_TPM_ERROR,
                "every NV index of devid's range 0x%08x-0x%08x is in use",
                DEVID_TPM2_NV_FIRST, DEVID_TPM2_NV_LAST);
    return 0;
}

/* Undefines index tr (owner authorization, empty auth). */
static int devid_tpm2_nv_undefine(struct devid_prov *prov,
                                  struct devid_tpm2 *st, ESYS_TR *tr)
{
    TSS2_RC rc = Esys_NV_UndefineSpace(st->esys, ESYS_TR_RH_OWNER, *tr,
                                       ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                       ESYS_TR_NONE);

    if (rc != TSS2_RC_SUCCESS) {
        return devid_tpm2_rc_raise(prov, "Esys_NV_UndefineSpace", rc);
    }
    *tr = ESYS_TR_NONE; /* the TSS closed it */
    return 1;
}

int devid_tpm2_nv_store_cert(struct devid_key *key, const unsigned char *der,
                             size_t der_len, char **where)
{
    struct devid_prov *prov = key->prov;
    struct devid_tpm2 *st = NULL;
    TPM2B_AUTH auth;
    TPM2B_NV_PUBLIC pub;
    TPM2B_MAX_NV_BUFFER chunk;
    ESYS_TR tr = ESYS_TR_NONE;
    TPM2_HANDLE h = 0;
    UINT16 max, n;
    size_t off;
    TSS2_RC rc;
    char name[32];
    int ret = 0;

    *where = NULL;
    if (der_len == 0 || der_len > 0xffffu) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM,
                    "a %zu-byte certificate does not fit an NV index", der_len);
        return 0;
    }
    if (!devid_tpm2_esys_acquire(prov, &st)
        || !devid_tpm2_nv_free_index(prov, st, &h)) {
        goto end;
    }
    OPENSSL_cleanse(&auth, sizeof(auth)); /* the empty auth value */
    memset(&pub, 0, sizeof(pub));
    pub.nvPublic.nvIndex = h;
    pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
    pub.nvPublic.attributes = DEVID_TPM2_NV_ATTRS; /* TPM2_NT_ORDINARY */
    pub.nvPublic.dataSize = (UINT16)der_len;
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_NV_DefineSpace(st->esys, ESYS_TR_RH_OWNER,
                                         ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                         ESYS_TR_NONE, &auth, &pub, &tr));
    if (rc != TSS2_RC_SUCCESS) {
        tr = ESYS_TR_NONE;
        DEVID_RAISE(prov, DEVID_R_TPM_ERROR,
                    "cannot define NV index 0x%08x (%zu bytes): %s (0x%x)",
                    (unsigned int)h, der_len, Tss2_RC_Decode(rc),
                    (unsigned int)rc);
        goto end;
    }
    max = devid_tpm2_nv_write_max(st);
    for (off = 0; off < der_len; off += n) {
        n = (UINT16)(der_len - off > max ? max : der_len - off);
        chunk.size = n;
        memcpy(chunk.buffer, der + off, n);
        rc = Esys_NV_Write(st->esys, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
                           ESYS_TR_NONE, ESYS_TR_NONE, &chunk, (UINT16)off);
        if (rc != TSS2_RC_SUCCESS) {
            devid_tpm2_rc_raise(prov, "Esys_NV_Write", rc);
            /* a half-written index is of no use: take it away again */
            devid_tpm2_nv_undefine(prov, st, &tr);
            goto end;
        }
    }
    snprintf(name, sizeof(name), "handle:0x%08x", (unsigned int)h);
    *where = OPENSSL_strdup(name);
    if (*where == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "%s", name);
        devid_tpm2_nv_undefine(prov, st, &tr);
        goto end;
    }
    ret = 1;
end:
    if (tr != ESYS_TR_NONE) {
        Esys_TR_Close(st->esys, &tr);
    }
    devid_tpm2_esys_release(st);
    return ret;
}

int devid_tpm2_nv_delete_cert(struct devid_prov *prov, const char *name)
{
    struct devid_tpm2 *st = NULL;
    ESYS_TR tr = ESYS_TR_NONE;
    TPM2_HANDLE h = 0;
    TSS2_RC rc;
    int ret = 0;

    if (!devid_tpm2_name_nv(name, &h) || !devid_tpm2_nv_ours(h)) {
        DEVID_RAISE(prov, DEVID_R_BAD_URI,
                    "%s: not an NV index of devid's range 0x%08x-0x%08x", name,
                    DEVID_TPM2_NV_FIRST, DEVID_TPM2_NV_LAST);
        return 0;
    }
    if (!devid_tpm2_esys_acquire(prov, &st)) {
        goto end;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_TR_FromTPMPublic(st->esys, h, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, &tr));
    /* TPM_RC_HANDLE (format one): the index is gone already */
    if ((rc & TPM2_RC_FMT1) != 0 && (rc & 0x3fu) == (TPM2_RC_HANDLE & 0x3fu)) {
        tr = ESYS_TR_NONE;
        ret = 1;
        goto end;
    }
    if (rc != TSS2_RC_SUCCESS) {
        tr = ESYS_TR_NONE;
        devid_tpm2_rc_raise(prov, "Esys_TR_FromTPMPublic", rc);
        goto end;
    }
    ret = devid_tpm2_nv_undefine(prov, st, &tr);
end:
    if (tr != ESYS_TR_NONE) {
        Esys_TR_Close(st->esys, &tr);
    }
    devid_tpm2_esys_release(st);
    return ret;
}
