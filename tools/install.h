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
    const char *trust_dir;          /* where trust-bundle anchors go */
    const char *registration_id;    /* state fields, may be NULL */
    const char *device_id;
    const char *assigned_hub;
    const char *id_scope;
    int no_switch;                  /* renew: install beside, keep current */
    const char *previous;           /* identity replaced (NULL: current) */
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

/** Checks that the chain's leaf belongs to in->key and is valid, stores it
 *  in the token when asked, adds bundle (may be NULL) to the trust dir, and
 *  writes the chain, reference and state files atomically, state last.
 *  Returns a devid_exit code; on failure nothing of the identity changed. */
int devid_install_chain(struct devid_tool *t, const struct devid_install *in,
                        STACK_OF(X509) *chain, STACK_OF(X509) *bundle);

/** Points STATE/current at identities/<name> in one rename (and makes the
 *  stable links through current). The identity's files must exist. Returns
 *  a devid_exit code (OK, or INSTALL with an error printed). */
int devid_identity_switch(struct devid_tool *t, const char *name);

/** Adds one CA certificate to a hashed trust directory, under the name
 *  "openssl rehash" would give it, unless it is there already. Returns a
 *  devid_exit code (INSTALL, reported, when it cannot be written). */
int devid_trust_add(struct devid_tool *t, const char *dir, X509 *ca);

/** The state directory in force (setting or the default). */
const char *devid_state_dir(const struct devid_tool *t);

#endif
