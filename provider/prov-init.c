/* SPDX-License-Identifier: Apache-2.0 */
/* The module's one exported symbol. Kept apart from prov.c so the CLI and
 * tests can register the same provider as a built-in. */
#include "config.h"

#include <openssl/core.h>

#include "provider/provider.h"

__attribute__((visibility("default")))
int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                       const OSSL_DISPATCH **out, void **provctx)
{
    return devid_provider_init(handle, in, out, provctx);
}
