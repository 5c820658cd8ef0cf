/* SPDX-License-Identifier: Apache-2.0 */
/* Deleting a TPM key devid made, so renewals leave nothing behind (issue
 * 14, item 7): a key file is removed; a persistent handle is evicted (TPM
 * 2.0 Part 3 §28.5 TPM2_EvictControl on a persistent object). The CLI asks
 * only for keys it created itself, never for one it found in place. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "tpm2/tpm2.h"

/* Evicts the persistent object at handle; nothing there is success. */
static int devid_tpm2_evict(struct devid_prov *prov, TPM2_HANDLE handle)
{
    struct devid_tpm2 *st = NULL;
    ESYS_TR tr = ESYS_TR_NONE;
    ESYS_TR out = ESYS_TR_NONE;
    TSS2_RC rc;
    int ret = 0;

    if (!devid_tpm2_esys_acquire(prov, &st)) {
        goto end;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_TR_FromTPMPublic(st->esys, handle, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, &tr));
    /* TPM_RC_HANDLE, a format-one code (Part 2 §6.6.3): no such object */
    if ((rc & TPM2_RC_FMT1) != 0 && (rc & 0x3fu) == (TPM2_RC_HANDLE & 0x3fu)) {
        ret = 1; /* nothing there: gone already */
        goto end;
    }
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(prov, "Esys_TR_FromTPMPublic", rc);
        goto end;
    }
    rc = Esys_EvictControl(st->esys, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
                           ESYS_TR_NONE, ESYS_TR_NONE, handle, &out);
    if (rc != TSS2_RC_SUCCESS) {
        Esys_TR_Close(st->esys, &tr);
        devid_tpm2_rc_raise(prov, "Esys_EvictControl", rc);
        goto end;
    }
    ret = 1;
end:
    devid_tpm2_esys_release(st);
    return ret;
}

int devid_tpm2_key_delete(struct devid_prov *prov, const char *name,
                          const struct devid_pin_cb *pin)
{
    TPM2_HANDLE handle = 0;
    int ask = 0;
    int r = devid_tpm2_name_handle(name, &handle, &ask);
    const char *path = name;

    if (r < 0) {
        DEVID_RAISE(prov, DEVID_R_BAD_URI,
                    "%s: expected handle:0x81xxxxxx or a file path", name);
        return 0;
    }
    if (r == 1) {
        return devid_tpm2_evict(prov, handle);
    }
    if (strncmp(name, "file://", 7) == 0) {
        path = name + 7;
    } else if (strncmp(name, "file:", 5) == 0) {
        path = name + 5;
    }
    /* a file key is only its blobs: loaded copies are transient */
    if (unlink(path) != 0 && errno != ENOENT) {
        DEVID_RAISE(prov, DEVID_R_TPM_ERROR,
                    "%s: cannot remove the key "
                    "file: %s",
                    path, strerror(errno));
        return 0;
    }
    return 1;
}
