/* SPDX-License-Identifier: Apache-2.0 */
/* Catalogue of every dispatch table the provider offers. */
#ifndef DEVID_IMPLEMENTATIONS_H
#define DEVID_IMPLEMENTATIONS_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#ifndef OSSL_DISPATCH_END
#define OSSL_DISPATCH_END { 0, NULL }
#endif

/* One row of a dispatch table: the ID and the function come from the same
 * tokens, so they cannot be cross-wired. */
#define DEVID_DISPATCH(OP, op, NAME, name)                                     \
    { OSSL_FUNC_##OP##_##NAME, (void (*)(void))devid_##op##_##name }

/* Property string of every algorithm. */
#define DEVID_PROPS "provider=devid"

/* Names under which our keys' operations are fetched (the keymgmt's
 * query_operation_name). They are private to devid so that keys of other
 * providers are never routed to devid, and devid keys never to others. */
#define DEVID_NAME_ECDSA "DEVID-ECDSA"
#define DEVID_NAME_RSA_SIG "DEVID-RSA-SIG"
#define DEVID_NAME_RSA_ENC "DEVID-RSA-ENC"
#define DEVID_NAME_ECDH "DEVID-ECDH"
#define DEVID_NAME_ED25519 "DEVID-ED25519"
#define DEVID_NAME_ED448 "DEVID-ED448"

extern const OSSL_DISPATCH devid_keymgmt_ec_functions[];
extern const OSSL_DISPATCH devid_keymgmt_rsa_functions[];
extern const OSSL_DISPATCH devid_keymgmt_rsa_pss_functions[];
extern const OSSL_DISPATCH devid_keymgmt_ed25519_functions[];
extern const OSSL_DISPATCH devid_keymgmt_ed448_functions[];
extern const OSSL_DISPATCH devid_sig_ecdsa_functions[];
extern const OSSL_DISPATCH devid_sig_rsa_functions[];
extern const OSSL_DISPATCH devid_sig_ed25519_functions[];
extern const OSSL_DISPATCH devid_sig_ed448_functions[];
extern const OSSL_DISPATCH devid_asym_rsa_functions[];
extern const OSSL_DISPATCH devid_kex_ecdh_functions[];
extern const OSSL_DISPATCH devid_store_functions[];

#endif
