/* SPDX-License-Identifier: Apache-2.0 */
/* devid rollback: back to the identity the last renewal replaced, when its
 * certificate is still valid and its key opens and matches. Like renew, it
 * switches STATE/current in one rename. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tools/install.h"
#include "tools/renew.h"
#include "tools/tool.h"

/* DEVID_EXIT_OK when identities/<name> has a valid chain whose key opens
 * and matches, else an error printed. */
static int devid_rollback_check(struct devid_tool *t, const char *name)
{
    char *base = devid_path(devid_state_dir(t), "identities");
    char *dir = base != NULL ? devid_path(base, name) : NULL;
    char *chain_path = dir != NULL ? devid_path(dir, "chain.pem") : NULL;
    char *key_path = dir != NULL ? devid_path(dir, "key.pem") : NULL;
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *pkey = NULL;
    int rc = DEVID_EXIT_CERT;

    if (chain_path == NULL || key_path == NULL
        || (chain = devid_tool_read_chain(t, chain_path)) == NULL) {
        rc = devid_tool_fail(t, DEVID_EXIT_CERT, "the previous identity %s is "
                             "gone (pruned?)", name);
        goto end;
    }
    if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(sk_X509_value(chain, 0)),
                             time(NULL))
        <= 0) {
        rc = devid_tool_fail(t, DEVID_EXIT_CERT, "the certificate of the "
                             "previous identity %s has expired: cannot roll "
                             "back (renew instead)", name);
        goto end;
    }
    /* the reference file, not state's key name: it is what programs open */
    pkey = devid_tool_load_key(t, key_path);
    if (pkey == NULL || X509_check_private_key(sk_X509_value(chain, 0), pkey)
                            != 1) {
        rc = devid_tool_fail(t, DEVID_EXIT_KEY, "the key of the previous "
                             "identity %s cannot be used", name);
        goto end;
    }
    rc = DEVID_EXIT_OK;
end:
    EVP_PKEY_free(pkey);
    sk_X509_pop_free(chain, X509_free);
    free(key_path);
    free(chain_path);
    free(dir);
    free(base);
    return rc;
}

int devid_cmd_rollback(struct devid_tool *t, int argc, char **argv)
{
    struct devid_state st;
    char *prev = NULL;
    char why[128];
    int rc;

    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            printf("Usage: devid rollback\nSwitches back to the identity the "
                   "last renewal replaced, when its certificate is still "
                   "valid.\n");
            return DEVID_EXIT_OK;
        }
        fprintf(stderr, "Usage: devid rollback\n");
        return DEVID_EXIT_USAGE;
    }
    if (!devid_tool_crypto_init(t)) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot start OpenSSL");
    }
    if (devid_state_load(t, devid_state_dir(t), &st) != DEVID_EXIT_OK
        || st.identity == NULL) {
        devid_state_clear(&st);
        return devid_tool_fail(t, DEVID_EXIT_NOT_PROVISIONED,
                               "not provisioned: nothing to roll back");
    }
    /* the first identity of a device replaced none */
    if (st.previous == NULL || strcmp(st.previous, st.identity) == 0) {
        rc = devid_tool_fail(t, DEVID_EXIT_NOT_PROVISIONED, "the identity %s "
                             "replaced none: nothing to roll back to",
                             st.identity);
        goto end;
    }
    prev = strdup(st.previous);
    rc = prev != NULL ? devid_rollback_check(t, prev) : DEVID_EXIT_INSTALL;
    if (rc == DEVID_EXIT_OK) {
        rc = devid_identity_switch(t, prev);
    }
    if (rc == DEVID_EXIT_OK) {
        devid_tool_progress(t, "rolled back from %s to %s", st.identity, prev);
        devid_tool_result(t, "identity", prev);
        devid_tool_result(t, "rolled_back_from", st.identity);
        devid_renew_record(t, "rolled-back", "rollback", rc, NULL);
        if (!devid_on_change_run(t, prev, why, sizeof(why))) {
            devid_tool_progress(t, "warning: the on-change command failed "
                                "(%s)", why);
        }
    }
end:
    free(prev);
    devid_state_clear(&st);
    return rc;
}
