/* SPDX-License-Identifier: Apache-2.0 */
/* Installing an identity: shared by install, provision and renew. */
#ifndef DEVID_INSTALL_H
#define DEVID_INSTALL_H

#include <openssl/x509.h>

#include "tools/tool.h"

struct devid_dps_result;

/* What devid_install_chain installs and how; strings are borrowed. */
struct devid_install {
    const char *key;                /* name of the key the chain is for */
    int to_token;                   /* also store the leaf in the token */
    int to_nv;                      /* also store the leaf in a new index
                                     * of the key's hardware (tpm-nv) */
    const char *trust_dir;          /* where trust-bundle anchors go */
    const char *registration_id;    /* state fields, may be NULL */
    const char *device_id;
    const char *assigned_hub;
    const char *id_scope;
    int no_switch;                  /* renew: install beside, keep current */
    const char *previous;           /* identity replaced (NULL: current) */
    int key_created;                /* devid made the key in this run */
    char *name_out;                 /* optional: receives the identity name */
    size_t name_size;
};

/** Fills in (zeroed first) to install the chain DPS issued in res for the
 *  key named key: device id and assigned hub from res, trust-dir from the
 *  settings, and the registration (registration id, ID scope) and
 *  install-to of cur, the identity being renewed, or of the settings when
 *  cur is NULL (provisioning). When install-to is not set, the chain also
 *  goes into the token if the key's backend keeps certificates beside its
 *  keys. Every string is borrowed from t, key, cur and res, which must
 *  outlive in. Returns DEVID_EXIT_OK, or DEVID_EXIT_CERT (reported) when DPS
 *  issued no certificate. Shared by provision and renew. */
int devid_install_from_dps(struct devid_tool *t, const char *key,
                           const struct devid_state *cur,
                           const struct devid_dps_result *res,
                           struct devid_install *in);

/** Checks the chain with devid_leaf_check (CN against
 *  in->registration_id), stores it
 *  in the token when asked, adds bundle (may be NULL) to the trust dir, and
 *  writes the chain, reference and state files atomically, state last.
 *  Returns a devid_exit code; on failure nothing of the identity changed. */
int devid_install_chain(struct devid_tool *t, const struct devid_install *in,
                        STACK_OF(X509) *chain, STACK_OF(X509) *bundle);

/** Checks an issued chain before it is installed for pkey: the leaf
 *  belongs to pkey, is valid now (notBefore passed, notAfter not), has one
 *  subject CN equal to regid (skipped when regid is NULL), and each
 *  certificate is issued and signed by the next one (leaf-check.c).
 *  Returns DEVID_EXIT_OK or DEVID_EXIT_CERT (reported, saying what is
 *  wrong). */
int devid_leaf_check(struct devid_tool *t, STACK_OF(X509) *chain,
                     EVP_PKEY *pkey, const char *regid);

/** Points STATE/current at identities/<name> in one rename (and makes the
 *  stable links through current). The identity's files must exist. Returns
 *  a devid_exit code (OK, or INSTALL with an error printed). */
int devid_identity_switch(struct devid_tool *t, const char *name);

/** Removes one identity directory: its files, then itself (nothing is
 *  reported; what cannot be removed stays). Allocates nothing, so an
 *  install that ran out of memory can still undo its new directory
 *  (identity-prune.c). */
void devid_identity_remove(const char *dir);

/** The state directory in force (setting or the default). */
const char *devid_state_dir(const struct devid_tool *t);

#endif
