/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the pkcs11: URI parser (pkcs11/uri.c), as any program
 * reaches it through a key name. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>

#include "pkcs11/p11.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct devid_p11_uri *u = NULL;
    char *text = malloc(size + 1);

    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (devid_p11_uri_parse(NULL, text, &u)) {
        devid_p11_uri_free(u);
    }
    ERR_clear_error();
    free(text);
    return 0;
}
