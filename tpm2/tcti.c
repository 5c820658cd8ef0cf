/* SPDX-License-Identifier: Apache-2.0 */
/* Choosing and opening the TCTI (the transport to the TPM): configuration
 * first, then the environment variables of tpm2-openssl, the TSS and
 * tpm2-tools, then the tctildr default (TCG TSS 2.0 TCTI Loader). A TCTI
 * named by a plain name ("swtpm:port=2321") is loaded by devid itself;
 * anything else by tctildr. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_tcti.h>
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

/* Opens "NAME[:CONF]" without tctildr when NAME is a plain name: the
 * library libtss2-tcti-NAME.so.0, which tctildr would also load for it
 * (after trying a file called NAME itself, which no TCTI package installs),
 * then its Tss2_Tcti_Info init as tctildr calls it (size query, then the
 * context), CONF NULL when empty. That spares a library (libtss2-tctildr)
 * and tctildr's failing search for NAME on the library path: about 0.1 ms
 * of CPU on the first use of the TPM (docs/tpm2.md, "Reaching the TPM").
 * Returns 0 when it did not try (no such name or library: tctildr does
 * it), else 1 with *rc the init's answer and, on success, *tcti a context
 * to close with devid_tpm2_tcti_close(own). The library stays loaded, as
 * the lazily loaded tpm2-tss libraries do. */
static int devid_tpm2_tcti_direct(const char *use, TSS2_TCTI_CONTEXT **tcti,
                                  TSS2_RC *rc)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *colon = strchr(use, ':');
    const char *conf = colon != NULL && colon[1] != '\0' ? colon + 1 : NULL;
    size_t n = colon != NULL ? (size_t)(colon - use) : strlen(use);
    const TSS2_TCTI_INFO *(*info_fn)(void) = NULL;
    const TSS2_TCTI_INFO *info = NULL;
    TSS2_TCTI_CONTEXT *ctx;
    char file[64];
    size_t size = 0;
    void *dl;

    if (n == 0 || n > 32 || strspn(use, plain) < n) {
        return 0;
    }
    snprintf(file, sizeof(file), "libtss2-tcti-%.*s.so.0", (int)n, use);
    dl = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (dl != NULL) {
        *(void **)&info_fn = dlsym(dl, TSS2_TCTI_INFO_SYMBOL);
        info = info_fn != NULL ? info_fn() : NULL;
    }
    if (info == NULL || info->init == NULL) {
        DEVID_DEBUG("tpm2", "%s: not loaded directly, through tctildr", file);
        if (dl != NULL) {
            dlclose(dl);
        }
        return 0;
    }
    *rc = info->init(NULL, &size, conf);
    if (*rc != TSS2_RC_SUCCESS) {
        return 1;
    }
    /* calloc, as tctildr allocates it: freed by devid_tpm2_tcti_close */
    ctx = calloc(1, size);
    if (ctx == NULL) {
        *rc = TSS2_TCTI_RC_MEMORY;
        return 1;
    }
    *rc = info->init(ctx, &size, conf);
    if (*rc != TSS2_RC_SUCCESS) {
        free(ctx);
        return 1;
    }
    *tcti = ctx;
    DEVID_DEBUG("tpm2", "TCTI from %s", file);
    return 1;
}

TSS2_RC devid_tpm2_tcti_open(const char *conf, TSS2_TCTI_CONTEXT **tcti,
                             int *own, char *name, size_t size)
{
    const char *use = devid_tpm2_tcti_choose(conf);
    TSS2_RC rc = TSS2_TCTI_RC_GENERAL_FAILURE;

    snprintf(name, size, "%s", use != NULL ? use : "(tctildr default)");
    DEVID_DEBUG("tpm2", "opening TCTI %s", name);
    *tcti = NULL;
    *own = use != NULL && devid_tpm2_tcti_direct(use, tcti, &rc);
    if (*own) {
        return rc;
    }
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

void devid_tpm2_tcti_close(TSS2_TCTI_CONTEXT **tcti, int own)
{
    if (*tcti == NULL) {
        return;
    }
    if (!own) {
        Tss2_TctiLdr_Finalize(tcti);
        return;
    }
    Tss2_Tcti_Finalize(*tcti);
    free(*tcti);
    *tcti = NULL;
}

void devid_tpm2_tcti_forget(TSS2_TCTI_CONTEXT *tcti, int own, const char *name)
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
    devid_tpm2_tcti_close(&tcti, own);
}
