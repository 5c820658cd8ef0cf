/* SPDX-License-Identifier: Apache-2.0 */
/* Declarations shared by the files of the provider module. */
#ifndef DEVID_PROVIDER_H
#define DEVID_PROVIDER_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include "provider/backend.h"
#include "provider/prov.h"

/** The provider's init function (OSSL_provider_init forwards to it; the CLI
 *  registers it with OSSL_PROVIDER_add_builtin). */
int devid_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                        const OSSL_DISPATCH **out, void **provctx);

/** The store's algorithm table: one row per URI scheme a registered
 *  backend claims. Built once; static, never freed. */
const OSSL_ALGORITHM *devid_store_algorithms(void);

/** Tears down every backend's state and settings in prov (registry order).
 *  Called by devid_prov_free once the keys it caches are gone. */
void devid_backends_teardown(struct devid_prov *prov);

/** Every setting name of every registered backend, NULL-terminated, in
 *  registry order. Built once; static, never freed. */
const char *const *devid_setting_names(void);

/** Fills params (keymgmt get_params) from a key's public half. Returns 1/0. */
int devid_key_get_params(const struct devid_key *key, OSSL_PARAM params[]);

/** Calls cb with the key's public half as OSSL_PARAMs (keymgmt export). */
int devid_key_export_public(const struct devid_key *key, OSSL_CALLBACK *cb,
                            void *cbarg);

extern const OSSL_ALGORITHM devid_decoders[];
extern const OSSL_ALGORITHM devid_encoders[];

#endif
