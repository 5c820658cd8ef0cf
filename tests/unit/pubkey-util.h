/* SPDX-License-Identifier: Apache-2.0 */
/* A devid key's public half as an OpenSSL key of the default provider, for
 * the unit tests that check a backend's signatures (PKCS#11 and TPM). */
#ifndef DEVID_TESTS_PUBKEY_UTIL_H
#define DEVID_TESTS_PUBKEY_UTIL_H

#include <openssl/evp.h>

#include "provider/backend.h"

/** An OpenSSL public key (default provider) made of pub, EC or RSA; NULL
 *  on error. The caller frees it (EVP_PKEY_free). */
EVP_PKEY *tpub_pkey(const struct devid_pubkey *pub);

#endif
