/* SPDX-License-Identifier: Apache-2.0 */
/* What the TPM unit tests against a swtpm share (test-tpm2-backend.c,
 * test-tpm2-open.c): shell commands in the test directory, keys made by
 * tpm2-tools, opening a key through the backend, and signatures made
 * through it and checked with OpenSSL's default provider. */
#ifndef DEVID_TESTS_TPM2_UTIL_H
#define DEVID_TESTS_TPM2_UTIL_H

#include <openssl/evp.h>

#include "provider/backend.h"
#include "provider/prov.h"

/** Runs the shell command cmd in dir (tpm2-tools reach the swtpm through
 *  the TCTI tswtpm_start exported), its output appended to dir/cmd.log.
 *  Returns 1 when it exited 0. */
int ttpm2_run(const char *dir, const char *cmd);

/** Makes, with tpm2-tools in dir, an owner ECC primary at 0x81000100 and
 *  under it: an EC P-256 key without a scheme at 0x81000020, a sign-only
 *  RSA-2048 key without a scheme at 0x81000021, a sign-only EC P-256 key
 *  fixed to ECDSA-SHA256 at 0x81000022. Flushes what tpm2-tools leave
 *  loaded. Returns 1 or 0. */
int ttpm2_make_tools_keys(const char *dir);

/** The first private key the TPM backend finds at name, or NULL with the
 *  backend's errors left queued. The caller frees it (devid_key_free). */
struct devid_key *ttpm2_open_key(struct devid_prov *pv, const char *name,
                                 const struct devid_pin_cb *pin);

/** Signs a fixed message's md digest with scheme (DEVID_SIG_*; PSS salt =
 *  digest length) through key's backend and verifies the signature with
 *  OpenSSL's default provider on key's public part. Returns 1 or 0. */
int ttpm2_sign_verify(struct devid_key *key, const char *md, int scheme);

/** The reason of the last queued error when it is devid's, else -1. */
int ttpm2_last_reason(void);

#endif
