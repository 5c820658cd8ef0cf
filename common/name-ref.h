/* SPDX-License-Identifier: Apache-2.0 */
/* Name references: the DER body of a reference file that holds only a key's
 * name. The shape is pkcs11-provider's "PKCS#11 PROVIDER URI" body, byte for
 * byte, so files move between the two providers:
 *   SEQUENCE { desc VisibleString "PKCS#11 Provider URI v1.0",
 *              uri  UTF8String }
 * devid also writes other backends' names (a TPM's "handle:0x81...") into
 * it; which backend opens the name is the registry's business, not this
 * codec's. */
#ifndef DEVID_NAME_REF_H
#define DEVID_NAME_REF_H

#include <stddef.h>

/* PEM label of a name reference file */
#define DEVID_PEM_NAME_REF "PKCS#11 PROVIDER URI"
#define DEVID_NAME_REF_DESC "PKCS#11 Provider URI v1.0"

/** Encodes name as the DER body of a name reference. Returns 1 and a buffer
 *  the caller frees with OPENSSL_free, or 0 on allocation failure. */
int devid_name_ref_encode(const char *name, unsigned char **der, size_t *len);

/** Decodes the DER body of a name reference. Returns the name as a
 *  NUL-terminated string the caller frees with OPENSSL_free, or NULL when
 *  the body is not one (no error raised). */
char *devid_name_ref_decode(const unsigned char *der, size_t len);

#endif
