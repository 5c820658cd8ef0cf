/* SPDX-License-Identifier: Apache-2.0 */
/* TSS2_RC to devid reasons, with the text of Tss2_RC_Decode as error data.
 * TPM response code layout: TPM 2.0 Part 2 §6.6 (TPM_RC), TSS layers: TCG
 * TSS 2.0 Overview and Common Structures (TSS2_RC layers). */
#include "config.h"

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tpm2_types.h>

#include "common/err.h"
#include "tpm2/tpm2.h"

/* The TPM's own code with the handle/session/parameter number taken off
 * (Part 2 §6.6.2: format-one codes carry a number in bits 6..11). */
static TSS2_RC devid_tpm2_rc_base(TSS2_RC rc)
{
    TSS2_RC tpm = rc & ~TSS2_RC_LAYER_MASK;

    if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER
        && (rc & TSS2_RC_LAYER_MASK) != TSS2_RESMGR_TPM_RC_LAYER) {
        return rc;
    }
    if ((tpm & TPM2_RC_FMT1) != 0) {
        return tpm & (TPM2_RC_FMT1 | 0x3fu);
    }
    return tpm;
}

int devid_tpm2_rc_is_auth_fail(TSS2_RC rc)
{
    TSS2_RC b = devid_tpm2_rc_base(rc);

    return b == TPM2_RC_AUTH_FAIL || b == TPM2_RC_BAD_AUTH;
}

int devid_tpm2_rc_is_object_memory(TSS2_RC rc)
{
    return devid_tpm2_rc_base(rc) == TPM2_RC_OBJECT_MEMORY;
}

static int devid_tpm2_rc_reason(TSS2_RC rc)
{
    TSS2_RC b = devid_tpm2_rc_base(rc);
    TSS2_RC base = rc & 0xffffu;

    if (devid_tpm2_rc_is_auth_fail(rc)) {
        return DEVID_R_PIN_INCORRECT;
    }
    if (b == TPM2_RC_LOCKOUT) {
        return DEVID_R_PIN_LOCKED;
    }
    if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER) {
        return DEVID_R_TPM_ERROR;
    }
    /* below the TPM: the TCTI or the TSS could not reach it */
    if (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION
        || base == TSS2_BASE_RC_TRY_AGAIN) {
        return DEVID_R_TPM_UNREACHABLE;
    }
    return DEVID_R_TPM_ERROR;
}

int devid_tpm2_rc_raise(const struct devid_prov *prov, const char *what,
                        TSS2_RC rc)
{
    DEVID_RAISE(prov, devid_tpm2_rc_reason(rc), "%s: %s (0x%x)", what,
                Tss2_RC_Decode(rc), (unsigned int)rc);
    return 0;
}
