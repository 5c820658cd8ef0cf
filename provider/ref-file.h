/* SPDX-License-Identifier: Apache-2.0 */
/* Reference files: PEM or DER files that name a resident key instead of
 * holding it. Each backend claims the PEM labels it reads (its registry
 * entry); this file only routes bodies to them and caches the result. */
#ifndef DEVID_REF_FILE_H
#define DEVID_REF_FILE_H

#include <stddef.h>

#include "provider/backend.h"

/** 1 when a registered backend reads reference files with this PEM label. */
int devid_ref_is_ours(const char *label);

/** Writes the reference PEM text of key (its backend's encode_ref) into a
 *  new string the caller frees with
 *  OPENSSL_free. Returns NULL with an error raised on failure. */
char *devid_ref_pem_for_key(struct devid_key *key);

/** Writes the reference to key as its backend's DER body: *der (the
 *  caller frees it with OPENSSL_free) and, when pem_label is not NULL, the
 *  PEM label it goes under. Returns 1, or 0 with DEVID_R_NOT_SUPPORTED (the
 *  backend writes no reference files) or the backend's reason raised. */
int devid_ref_der_for_key(struct devid_key *key, const char **pem_label,
                          unsigned char **der, size_t *der_len);

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

/** The certificate a reference file names: a name reference
 *  (common/name-ref.h, a "PKCS#11 PROVIDER URI" body) whose name designates
 *  a certificate ("type=cert"). Returns 1 with its DER in *cert
 *  (OPENSSL_free), 1 with *cert NULL when the body is no name reference,
 *  or 0 with an error raised when no certificate matches the name. */
int devid_ref_open_cert(struct devid_prov *prov, const unsigned char *der,
                        size_t len, const struct devid_pin_cb *pin,
                        unsigned char **cert, size_t *cert_len);

/** Drops the cache (provider teardown). */
void devid_ref_cache_free(struct devid_prov *prov);

#endif
