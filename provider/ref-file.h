/* SPDX-License-Identifier: Apache-2.0 */
/* Reference files: PEM files that name a resident key instead of holding it.
 * "PKCS#11 PROVIDER URI" is pkcs11-provider's format, byte for byte:
 *   SEQUENCE { desc VisibleString "PKCS#11 Provider URI v1.0",
 *              uri  UTF8String }
 * "TSS2 PRIVATE KEY" is the TPM 2.0 key file format (tpm2/keyfile.h). */
#ifndef DEVID_REF_FILE_H
#define DEVID_REF_FILE_H

#include <stddef.h>

#include "provider/backend.h"

#define DEVID_PEM_PK11_URI "PKCS#11 PROVIDER URI"
#define DEVID_PEM_TSS2 "TSS2 PRIVATE KEY"
#define DEVID_PK11_URI_DESC "PKCS#11 Provider URI v1.0"

/** Encodes uri as the DER body of a PKCS#11 PROVIDER URI file. Returns 1 and
 *  a buffer the caller frees with OPENSSL_free, or 0. */
int devid_ref_pk11_encode(const char *uri, unsigned char **der, size_t *len);

/** Decodes the DER body of a PKCS#11 PROVIDER URI file. Returns the URI as a
 *  NUL-terminated string the caller frees with OPENSSL_free, or NULL when
 *  the body is not one (no error raised). */
char *devid_ref_pk11_decode(const unsigned char *der, size_t len);

/** Writes the reference PEM text of key (PKCS#11 URI, or the backend's own
 *  format such as TSS2) into a new string the caller frees with
 *  OPENSSL_free. Returns NULL with an error raised on failure. */
char *devid_ref_pem_for_key(struct devid_key *key);

/** Opens the key a reference file body designates. label is the PEM label
 *  (NULL for a DER file: the body is recognised by its content). Returns 1
 *  with a new key reference, 1 with *out NULL when the body is no reference
 *  of ours, or 0 with an error raised when it is ours but cannot be opened. */
int devid_ref_open(struct devid_prov *prov, const char *label,
                   const unsigned char *der, size_t len,
                   const struct devid_pin_cb *pin, struct devid_key **out);

/** devid_ref_open through a short-lived one-entry cache: OpenSSL tries
 *  the EC and the RSA decoder on the same file, and the key should be opened
 *  once. Same contract as devid_ref_open. */
int devid_ref_open_cached(struct devid_prov *prov, const char *label,
                          const unsigned char *der, size_t len,
                          const struct devid_pin_cb *pin,
                          struct devid_key **out);

/** Drops the cache (provider teardown). */
void devid_ref_cache_free(struct devid_prov *prov);

#endif
