/* SPDX-License-Identifier: Apache-2.0 */
/* The key management functions every key type shares (keymgmt.c), for the
 * tables of the types that live in files of their own (keymgmt-ed.c). */
#ifndef DEVID_KEYMGMT_H
#define DEVID_KEYMGMT_H

#include <openssl/core_dispatch.h>

#include "provider/backend.h"

/* Dispatch functions, as OpenSSL's keymgmt API defines them: a key made by
 * new() holds no public half until import(); load() takes the reference
 * the store or decoder passed; export() gives the public half only and
 * raises DEVID_R_PRIVATE_EXPORT when asked for the private one. */
OSSL_FUNC_keymgmt_new_fn devid_km_new;
OSSL_FUNC_keymgmt_free_fn devid_km_free;
OSSL_FUNC_keymgmt_dup_fn devid_km_dup;
OSSL_FUNC_keymgmt_load_fn devid_km_load;
OSSL_FUNC_keymgmt_has_fn devid_km_has;
OSSL_FUNC_keymgmt_export_fn devid_km_export;
OSSL_FUNC_keymgmt_get_params_fn devid_km_get_params;
OSSL_FUNC_keymgmt_gen_set_params_fn devid_km_gen_set_params;
OSSL_FUNC_keymgmt_gen_fn devid_km_gen;
OSSL_FUNC_keymgmt_gen_cleanup_fn devid_km_gen_cleanup;

/** A generation context for a key of type (pss: an RSA key that makes only
 *  PSS signatures), with params applied. Returns a context that
 *  devid_km_gen_cleanup frees, or NULL (selection without a key pair, or a
 *  bad parameter, raised). */
void *devid_km_gen_init_type(void *provctx, int selection,
                             const OSSL_PARAM params[],
                             enum devid_key_type type, int pss);

#endif
