/* SPDX-License-Identifier: Apache-2.0 */
/* Choosing and opening the TCTI (the transport to the TPM): configuration
 * first, then the environment variables of tpm2-openssl, the TSS and
 * tpm2-tools, then the tctildr default (TCG TSS 2.0 TCTI Loader). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_tctildr.h>

#include "common/log.h"
#include "tpm2/tpm2.h"

static const char *devid_tpm2_tcti_choose(const char *conf)
{
    static const char *const vars[] = {
        "TPM2OPENSSL_TCTI", "TSS2_TCTI", "TPM2TOOLS_TCTI"
    };
    const char *v;
    size_t i;

    if (conf != NULL && conf[0] != '\0') {
        return conf;
    }
    for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        v = getenv(vars[i]);
        if (v != NULL && v[0] != '\0') {
            return v;
        }
    }
    return NULL;
}

TSS2_RC devid_tpm2_tcti_open(const char *conf, TSS2_TCTI_CONTEXT **tcti,
                             char *name, size_t size)
{
    const char *use = devid_tpm2_tcti_choose(conf);
    TSS2_RC rc;

    snprintf(name, size, "%s", use != NULL ? use : "(tctildr default)");
    DEVID_DEBUG("tpm2", "opening TCTI %s", name);
    rc = Tss2_TctiLdr_Initialize(use, tcti);
    if (rc != TSS2_RC_SUCCESS) {
        /* tpm2-tss 4.1 (Debian 13 has 4.1.3) gives back its loader
         * context, allocated and still empty, when the TCTI does not
         * start, and Tss2_TctiLdr_Finalize ignores it (no magic yet); 3.x
         * and later releases free it themselves and give back NULL. */
        free(*tcti);
        *tcti = NULL;
    }
    return rc;
}

void devid_tpm2_tcti_forget(TSS2_TCTI_CONTEXT *tcti, const char *name)
{
    if (tcti == NULL) {
        return;
    }
    /* mssim ends its session on finalize and tabrmd tears down its D-Bus
     * connection: both would cut off the parent, so the child leaves those
     * alone. device closes its own copy of the fd and swtpm holds no
     * connection between commands: finalizing them is harmless. */
    if (strncmp(name, "mssim", 5) == 0 || strncmp(name, "tabrmd", 6) == 0) {
        DEVID_DEBUG("tpm2", "fork child: leaving the parent's %s TCTI", name);
        return;
    }
    Tss2_TctiLdr_Finalize(&tcti);
}
