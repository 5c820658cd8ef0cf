/* SPDX-License-Identifier: Apache-2.0 */
/* The managed trust-anchor directory (DPS-PROTOCOL.md §9.3): hashed names
 * as "openssl rehash" makes them, filled from operator-pinned roots
 * (trust-roots) and from the legacy DPS trust bundle (etag-versioned). */
#ifndef DEVID_TRUST_H
#define DEVID_TRUST_H

#include <stddef.h>
#include <openssl/x509.h>

#include "tools/tool.h"

/* Manifest kept in the trust directory (not a hashed name, so OpenSSL's
 * CApath lookup ignores it). */
#define DEVID_TRUST_MANIFEST ".devid-trust.json"
/* Every anchor of the directory in one PEM file, for CAfile-only users. */
#define DEVID_TRUST_BUNDLE_FILE ".devid-anchors.pem"

/** Brings the trust-dir in line with the trust-roots setting (pinned) and,
 *  when bundle is not NULL and etag differs from the one applied last, with
 *  that DPS trust bundle: anchors of the new bundle are added, anchors of an
 *  older bundle that are neither in it nor pinned are removed; pinned roots
 *  are never removed by a bundle. Hashed files not written by devid stay.
 *  Every file is written atomically, the manifest last. A no-op when the
 *  trust-dir setting is missing. Returns a devid_exit code. */
int devid_trust_sync(struct devid_tool *t, STACK_OF(X509) *bundle,
                     const char *etag);

/** Writes path (atomically): the dps-trust file followed by every anchor of
 *  the trust-dir, so a CAfile-only client (the DPS client) trusts pre-staged
 *  roots too. Sets *out to path when written, else to dps-trust unchanged.
 *  Returns 1, or 0 with an error printed. */
int devid_trust_dps_file(struct devid_tool *t, const char *path,
                         const char **out);

/** Connects to host:port (default port 443) without trusting the server,
 *  and names the root its chain leads to when that chain does not verify
 *  against trust_file (and trust_dir, may be NULL). Writes the root's
 *  subject into buf and returns 1; returns 0 when the chain verifies or the
 *  server cannot be reached (buf untouched). */
int devid_trust_untrusted_root(const char *hostport, const char *trust_file,
                               const char *trust_dir, char *buf, size_t size);

/** Adds warnings (text) to the JSON array for anchors of trust_dir that
 *  expire within days. Returns the number of warnings added. */
int devid_trust_expiry_warnings(const char *trust_dir, int days,
                                json_object *warnings);

#endif
