/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the PKCS#11 PROVIDER URI reference body decoder
 * (common/name-ref.c); a body that decodes is encoded again. */
#include "config.h"

#include <stdint.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "common/name-ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = devid_name_ref_decode(data, size);
    unsigned char *der = NULL;
    size_t len = 0;

    if (name != NULL && devid_name_ref_encode(name, &der, &len)) {
        OPENSSL_free(der);
    }
    OPENSSL_free(name);
    ERR_clear_error();
    return 0;
}
