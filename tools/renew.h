/* SPDX-License-Identifier: Apache-2.0 */
/* What devid renew and devid rollback share: the record of the last
 * attempt (STATE/renewal.json), pruning of old identities and the
 * on-change hook. Internal to tools/. */
#ifndef DEVID_RENEW_H
#define DEVID_RENEW_H

#include <stddef.h>

#include "tools/tool.h"

/** Writes STATE/renewal.json atomically: now as last_attempt, result
 *  ("renewed", "failed", "rolled-back"), step (may be NULL), the exit code
 *  and detail (may be NULL or empty). devid status reads it. A write
 *  failure is only a warning on stderr: the outcome itself stands. */
void devid_renew_record(struct devid_tool *t, const char *result,
                        const char *step, int code, const char *detail);

/** Removes identity directories of STATE/identities older than the newest
 *  keep-identities (default 3); current and previous (may be NULL) are
 *  always kept. The key of a removed identity is deleted through its
 *  backend (token objects, TPM key file or handle) when devid made it
 *  (key_created in its state) and no kept identity uses it. Failures are
 *  only warnings: pruning is tidying, it never fails a renewal. */
void devid_identities_prune(struct devid_tool *t, const char *current,
                            const char *previous);

/** Deletes the key name (which devid made) through its backend's
 *  delete_key, with a progress line; a failure is a warning on stderr.
 *  Predicate: 1 when deleted (or nothing to delete), else 0. */
int devid_key_delete(struct devid_tool *t, const char *name);

/** Runs the on-change setting's command through /bin/sh -c with
 *  DEVID_IDENTITY = identity and DEVID_STATE_DIR set, and waits for it.
 *  Returns 1 when it exited with 0 (or no command is set), else 0 with what
 *  happened in why ("exited with 3", "was killed by signal 9", "could not
 *  start: ..."; size bytes). Reports nothing: a failed hook is the
 *  caller's warning, never a failed switch. */
int devid_on_change_run(struct devid_tool *t, const char *identity,
                        char *why, size_t size);

#endif
