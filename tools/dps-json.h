/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON of the DPS device API (DPS-PROTOCOL.md §1.5-1.7): the
 * DeviceRegistration body we send, and the RegistrationOperationStatus,
 * DeviceRegistrationResult and ProvisioningServiceErrorDetails we read.
 * Nothing here does I/O, so a fuzzer can drive the parsers directly. */
#ifndef DEVID_DPS_JSON_H
#define DEVID_DPS_JSON_H

#include <stddef.h>
#include <json-c/json.h>
#include <openssl/x509.h>

#include "tools/dps-client.h"

/* Largest answer body we read, and deepest JSON nesting we accept: DPS
 * limits messages to 96 KB (§1.8), so this only guards against a hostile
 * or broken server. */
#define DEVID_DPS_MAX_BODY (1024 * 1024)
#define DEVID_DPS_MAX_DEPTH 32

/** The name of the request member that carries the CSR for api-version
 *  api: "csr" from 2025-07-01-preview on, "clientCertificateCsr" for the
 *  legacy 2021-11-01-preview, NULL when that version cannot carry a CSR. */
const char *devid_dps_json_csr_field(const char *api);

/** Returns 1 when api is the legacy certificate-issuance preview, whose
 *  answer carries issuedClientCertificate (PEM) and trustBundle. */
int devid_dps_json_is_legacy(const char *api);

/** Builds the DeviceRegistration body: registrationId, the CSR as base64
 *  of its DER (no line breaks) under csr_field when csr_der is not NULL,
 *  and payload (borrowed, may be NULL). Returns a NUL-terminated string the
 *  caller frees with free(), or NULL on allocation failure. */
char *devid_dps_json_request(const char *registration_id,
                             const unsigned char *csr_der, size_t csr_len,
                             const char *csr_field, json_object *payload);

/** Parses an answer body of len bytes, which must be one JSON object and
 *  nothing after it. Returns the object (caller puts it) or NULL with the
 *  reason in err. */
json_object *devid_dps_json_parse(const char *body, size_t len, char *err,
                                  size_t errlen);

/** Reads a RegistrationOperationStatus into res: operation_id, status and,
 *  from registrationState when present, substatus, assigned_hub,
 *  device_id, error_code, error_message, and the issued chain
 *  (issuedCertificateChain, or the legacy issuedClientCertificate and
 *  trustBundle). Members already set in res are replaced. Unknown members
 *  are ignored. Returns DEVID_EXIT_OK, DEVID_EXIT_NETWORK for a malformed
 *  answer (missing status, wrong member types) or DEVID_EXIT_CERT for
 *  certificate data that does not decode, with the reason in err. */
int devid_dps_json_operation(json_object *root, struct devid_dps_result *res,
                             char *err, size_t errlen);

/** Reads a ProvisioningServiceErrorDetails: errorCode (number or numeric
 *  string; 0 when absent), message and trackingId (new strings the caller
 *  frees with free(), NULL when absent). root may be NULL (a body that was
 *  not JSON): everything comes back empty. */
void devid_dps_json_error(json_object *root, long *code, char **message,
                          char **tracking_id);

/** Decodes one base64 DER certificate (no PEM armour; trailing bytes are
 *  refused). Returns a new X509 or NULL. */
X509 *devid_dps_json_cert_b64(const char *b64);

/** Counts the PEM blocks of NUL-terminated text that PEM_read_bio_X509
 *  reads ("CERTIFICATE" and the older "X509 CERTIFICATE"), so a caller can
 *  tell a chain cut short: OpenSSL 3.0 can end a read loop on a failed
 *  allocation with nothing on the error queue. */
int devid_pem_cert_count(const char *text);

#endif
