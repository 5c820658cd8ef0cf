/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the TSS2 PRIVATE KEY decoder (tpm2/keyfile.c), which
 * reads any DER a program hands the provider; a key that decodes is
 * encoded again. */
#include "config.h"

#include <stdint.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "tpm2/keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct devid_tpm2_keyfile *kf = NULL;
    unsigned char *der = NULL;
    size_t len = 0;

    if (devid_tpm2_keyfile_decode(NULL, data, size, &kf)) {
        if (devid_tpm2_keyfile_encode(NULL, kf, &der, &len)) {
            OPENSSL_free(der);
        }
        devid_tpm2_keyfile_free(kf);
    }
    ERR_clear_error();
    return 0;
}
