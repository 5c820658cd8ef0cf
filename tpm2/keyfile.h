/* SPDX-License-Identifier: Apache-2.0 */
/* TSS2 PRIVATE KEY files (TCG "TPM 2.0 Key Files", the format of
 * tpm2-tss-engine, tpm2-openssl and the Linux kernel): parsing and writing
 * the ASN.1 structure, and turning one into a devid key. Used by tpm2/ and
 * by the provider's decoder and encoder.
 *
 *   TPMKey ::= SEQUENCE {
 *       type        OBJECT IDENTIFIER,          -- 2.23.133.10.1.3 loadable
 *       emptyAuth   [0] EXPLICIT BOOLEAN OPTIONAL,
 *       policy      [1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL,
 *       secret      [2] EXPLICIT OCTET STRING OPTIONAL,
 *       authPolicy  [3] EXPLICIT SEQUENCE OF TPMAuthPolicy OPTIONAL,
 *       description [4] EXPLICIT UTF8String OPTIONAL,
 *       rsaParent   [5] EXPLICIT BOOLEAN OPTIONAL,
 *       parent      INTEGER,
 *       pubkey      OCTET STRING,               -- TPM2B_PUBLIC
 *       privkey     OCTET STRING }              -- TPM2B_PRIVATE
 */
#ifndef DEVID_TPM2_KEYFILE_H
#define DEVID_TPM2_KEYFILE_H

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

struct devid_prov;
struct devid_key;
struct devid_pin_cb;

/* PEM label of the format */
#define DEVID_TPM2_KEYFILE_PEM_NAME "TSS2 PRIVATE KEY"

/* A parsed key file. Only loadable keys (the first OID) are produced. */
struct devid_tpm2_keyfile {
    int empty_auth;            /* emptyAuth TRUE: the key has no auth value */
    int has_policy;            /* policy or authPolicy present (unsupported
                                * for use, kept only as a flag) */
    int has_secret;            /* secret present (importable form) */
    int rsa_parent;            /* rsaParent TRUE: parent from the RSA SRK
                                * template */
    uint32_t parent;           /* parent handle, e.g. 0x40000001 (owner) */
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
};

/** Parses the DER of a TPMKey. On success *out is a new keyfile the caller
 *  frees with devid_tpm2_keyfile_free. Returns 1, or 0 with
 *  DEVID_R_BAD_KEY_FILE raised (bad DER, wrong OID, trailing data, public or
 *  private blob that does not unmarshal) or DEVID_R_MALLOC. prov may be
 *  NULL (errors then go to libcrypto's queue). */
int devid_tpm2_keyfile_decode(const struct devid_prov *prov,
                              const unsigned char *der, size_t len,
                              struct devid_tpm2_keyfile **out);

/** Encodes kf as DER. *der is a new buffer (OPENSSL_free) of *len bytes.
 *  Returns 1, or 0 with DEVID_R_MALLOC or DEVID_R_INTERNAL raised. */
int devid_tpm2_keyfile_encode(const struct devid_prov *prov,
                              const struct devid_tpm2_keyfile *kf,
                              unsigned char **der, size_t *len);

/** Frees a keyfile. Accepts NULL. */
void devid_tpm2_keyfile_free(struct devid_tpm2_keyfile *kf);

/** Reads a key file (PEM "TSS2 PRIVATE KEY" or DER) from path. Returns 1
 *  with a new *out, or 0 with DEVID_R_NO_OBJECT (unreadable file) or
 *  DEVID_R_BAD_KEY_FILE raised. */
int devid_tpm2_keyfile_read(const struct devid_prov *prov, const char *path,
                            struct devid_tpm2_keyfile **out);

/** Writes kf as PEM to path atomically (temporary file in the same
 *  directory, mode 0600, fsync, rename, directory fsync). Returns 1, or 0
 *  with DEVID_R_INVALID_PARAM (cannot write there) raised. */
int devid_tpm2_keyfile_write_pem(const struct devid_prov *prov,
                                 const char *path,
                                 const struct devid_tpm2_keyfile *kf);

/** Returns 1 when the first bytes of buf (len bytes) look like a key file:
 *  the PEM header, or DER starting with SEQUENCE and the loadable-key OID
 *  2.23.133.10.1.3. Raises nothing. */
int devid_tpm2_keyfile_sniff(const unsigned char *buf, size_t len);

/** Opens a TPM key from the DER of a TPMKey (what the decoder found in a
 *  PEM block). The TPM object is loaded on first use. pin may be NULL.
 *  Returns 1 with a new key reference in *out, or 0 with
 *  DEVID_R_BAD_KEY_FILE, DEVID_R_UNSUPPORTED_KEY, DEVID_R_TPM_UNREACHABLE
 *  or DEVID_R_TPM_ERROR raised. */
int devid_tpm2_key_from_keyfile_der(struct devid_prov *prov,
                                    const unsigned char *der, size_t len,
                                    const struct devid_pin_cb *pin,
                                    struct devid_key **out);

/** Writes the DER of a TPMKey for a TPM key opened from or written to a key
 *  file (so the encoder can save it). *der is a new buffer (OPENSSL_free).
 *  Returns 1, or 0 with DEVID_R_NOT_SUPPORTED (a persistent-handle key: it
 *  has no key file) or DEVID_R_MALLOC raised. */
int devid_tpm2_key_get_keyfile_der(struct devid_key *key, unsigned char **der,
                                   size_t *len);

#endif
