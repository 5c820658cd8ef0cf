/* SPDX-License-Identifier: Apache-2.0 */
/* Test connection to the IoT hub with a candidate identity. */
#ifndef DEVID_HUB_CHECK_H
#define DEVID_HUB_CHECK_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tools/tool.h"

/** Connects to host:port over TLS 1.2+ presenting chain (leaf first) and
 *  pkey, verifying the hub against the hub-trust (else dps-trust) file and
 *  the trust directory, and sends an MQTT 3.1.1 CONNECT as IoT Hub wants it:
 *  client id client_id, user name {host}/{client_id}/?api-version=....
 *  Returns 1 when the hub answers CONNACK 0, else 0 with the reason in why
 *  (size bytes). Raises no exit code: the caller decides. */
int devid_hub_try(struct devid_tool *t, const char *host, const char *port,
                  STACK_OF(X509) *chain, EVP_PKEY *pkey,
                  const char *client_id, char *why, size_t size);

#endif
