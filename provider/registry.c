/* SPDX-License-Identifier: Apache-2.0 */
/* The backend registry: the one place that names the backends of a build.
 * Adding a backend is one folder that fills a struct devid_backend_ops, one
 * line below and one include line in Makefile.am (docs/architecture.md).
 * Order matters where names or reference bodies could be read by two
 * backends: the first that claims one wins. */
#include "config.h"

#include <stddef.h>

#include "provider/backend.h"

extern const struct devid_backend_ops devid_pkcs11_backend;
#ifdef DEVID_HAVE_TPM2
extern const struct devid_backend_ops devid_tpm2_backend;
#endif

const struct devid_backend_ops *const devid_registry[] = {
    &devid_pkcs11_backend,
#ifdef DEVID_HAVE_TPM2
    &devid_tpm2_backend,
#endif
    NULL
};
