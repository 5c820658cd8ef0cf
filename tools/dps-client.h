/* SPDX-License-Identifier: Apache-2.0 */
/* DPS device client over HTTPS (DPS-PROTOCOL.md §1) or MQTT (§2, in
 * dps-mqtt.c): X.509 attestation with
 * a resident key, optional CSR for certificate issuance, 202/Retry-After
 * polling, retries of 429/5xx with backoff and jitter, an overall timeout. */
#ifndef DEVID_DPS_CLIENT_H
#define DEVID_DPS_CLIENT_H

#include <stddef.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tools/tool.h"

#define DEVID_DPS_DEFAULT_ENDPOINT "global.azure-devices-provisioning.net"
#define DEVID_DPS_API_PLAIN "2021-06-01"
#define DEVID_DPS_API_CSR "2025-07-01-preview"
#define DEVID_DPS_API_LEGACY "2021-11-01-preview"

struct devid_dps_request {
    const char *endpoint;           /* host[:port] (default global DPS) */
    const char *id_scope;
    const char *registration_id;
    const char *api_version;        /* NULL: CSR ? API_CSR : API_PLAIN */
    EVP_PKEY *auth_key;             /* TLS client key (resident) */
    STACK_OF(X509) *auth_chain;     /* leaf first, sent in TLS */
    const char *trust_file;         /* CA file the DPS server must chain to */
    const unsigned char *csr_der;   /* optional PKCS#10 DER */
    size_t csr_len;
    json_object *payload;           /* optional custom payload (borrowed) */
    long timeout_s;                 /* overall; 0 means 60 s */
    enum devid_dps_transport transport; /* DEFAULT: the dps-transport setting */
};

struct devid_dps_result {
    char *status;                   /* assigned, failed, disabled, ... */
    char *substatus;
    char *assigned_hub;
    char *device_id;
    char *operation_id;
    long error_code;                /* DPS errorCode (0 when none) */
    char *error_message;
    STACK_OF(X509) *issued_chain;   /* leaf first (CSR registrations) */
    STACK_OF(X509) *trust_bundle;   /* legacy trustBundle certificates */
    char *trust_bundle_etag;
};

/** Registers with DPS and waits for the operation to end, over HTTPS or
 *  MQTT (req->transport, else the dps-transport setting). Progress lines
 *  go through devid_tool_progress. Returns a devid_exit code: OK only when
 *  the status is "assigned"; REFUSED for 401/403/404, failed and disabled
 *  (with DPS's errorCode and message in res and in the error printed);
 *  NETWORK for TLS failures, an untrusted server or a malformed answer;
 *  TIMEOUT when the overall timeout passes. res is filled as far as the
 *  answers went; clear it with devid_dps_result_clear. */
int devid_dps_register(struct devid_tool *t, const struct devid_dps_request *req,
                       struct devid_dps_result *res);

/** The end of a registration whose operation reached a terminal status
 *  (both transports): OK when assigned with a hub and a device id and, for
 *  a CSR, an issued chain for the CSR's key in order; else the exit code,
 *  reported (REFUSED, NETWORK or CERT). */
int devid_dps_finish(struct devid_tool *t, const struct devid_dps_request *req,
                     struct devid_dps_result *res);

/** Whether an operation status ends the registration. */
int devid_dps_status_terminal(const char *status);

/** devid_dps_register over MQTT (DPS-PROTOCOL.md §2, dps-mqtt.c), for a
 *  checked request: api is the api-version to use, timeout_s the overall
 *  limit. The same results and exit codes as over HTTPS. */
int devid_dps_mqtt_register(struct devid_tool *t,
                            const struct devid_dps_request *req,
                            const char *api, long timeout_s,
                            struct devid_dps_result *res);

/** Frees everything a result holds and zeroes it. Accepts NULL. */
void devid_dps_result_clear(struct devid_dps_result *res);

#endif
