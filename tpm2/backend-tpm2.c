/* SPDX-License-Identifier: Apache-2.0 */
/* TPM 2.0 backend: placeholder until the TPM half lands; it names no keys. */
#include "config.h"

#include "provider/backend.h"

static int devid_tpm2_be_handles(const char *name)
{
    return 0;
}

static void devid_tpm2_be_teardown(struct devid_prov *prov)
{
}

const struct devid_backend_ops devid_tpm2_backend = {
    .name = "tpm2",
    .handles = devid_tpm2_be_handles,
    .teardown = devid_tpm2_be_teardown,
};
