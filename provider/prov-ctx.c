/* SPDX-License-Identifier: Apache-2.0 */
/* The provider instance, shared by the provider module, the CLI and the unit
 * tests. Settings and state belong to the backends (provider/backends.c);
 * an instance only holds their slots. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "common/log.h"
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
    prov->libctx_lock = CRYPTO_THREAD_lock_new();
    if (prov->lock == NULL || prov->libctx_lock == NULL) {
        CRYPTO_THREAD_lock_free(prov->lock);
        CRYPTO_THREAD_lock_free(prov->libctx_lock);
        OPENSSL_free(prov);
        return NULL;
    }
    return prov;
}

int devid_prov_libctx(struct devid_prov *prov, OSSL_LIB_CTX **libctx)
{
    OSSL_LIB_CTX *lc = __atomic_load_n(&prov->libctx, __ATOMIC_ACQUIRE);

    if (lc != NULL || prov->core_in == NULL) {
        *libctx = lc;
        return 1;
    }
    if (!CRYPTO_THREAD_write_lock(prov->libctx_lock)) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "library context lock");
        return 0;
    }
    lc = prov->libctx;
    if (lc == NULL) {
        /* The core's handle and functions of OSSL_provider_init: its
         * dispatch table lives as long as libcrypto. */
        lc = OSSL_LIB_CTX_new_child(prov->handle, prov->core_in);
        if (lc != NULL) {
            prov->own_libctx = 1;
            __atomic_store_n(&prov->libctx, lc, __ATOMIC_RELEASE);
            DEVID_DEBUG("provider", "library context made (first use)");
        }
    }
    CRYPTO_THREAD_unlock(prov->libctx_lock);
    if (lc == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "library context");
        return 0;
    }
    *libctx = lc;
    return 1;
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
    CRYPTO_THREAD_lock_free(prov->libctx_lock);
    OPENSSL_clear_free(prov, sizeof(*prov));
}
