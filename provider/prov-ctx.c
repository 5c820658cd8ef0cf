/* SPDX-License-Identifier: Apache-2.0 */
/* The provider instance, shared by the provider module, the CLI and the unit
 * tests. Settings and state belong to the backends (provider/backends.c);
 * an instance only holds their slots. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "provider/backend.h"
#include "provider/prov.h"
#include "provider/provider.h"
#include "provider/ref-file.h"

const OSSL_CORE_HANDLE *devid_prov_get0_handle(const struct devid_prov *prov)
{
    return prov->handle;
}

struct devid_prov *devid_prov_new_standalone(OSSL_LIB_CTX *libctx)
{
    struct devid_prov *prov = OPENSSL_zalloc(sizeof(*prov));

    if (prov == NULL) {
        return NULL;
    }
    prov->libctx = libctx;
    prov->lock = CRYPTO_THREAD_lock_new();
    if (prov->lock == NULL) {
        OPENSSL_free(prov);
        return NULL;
    }
    return prov;
}

void devid_prov_free(struct devid_prov *prov)
{
    if (prov == NULL) {
        return;
    }
    devid_ref_cache_free(prov);     /* keys first, then their backends */
    devid_backends_teardown(prov);
    if (prov->own_libctx) {
        OSSL_LIB_CTX_free(prov->libctx);
    }
    CRYPTO_THREAD_lock_free(prov->lock);
    OPENSSL_clear_free(prov, sizeof(*prov));
}
