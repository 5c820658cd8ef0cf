/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: the request context shared by the transports (HTTPS in
 * routes.c, MQTT in dps-mqtt.c) and the three DPS device routes
 * (register.c). A transport fills the context from its own framing, then
 * devid_emu_handle() applies the checks every route shares and answers
 * through the transport's functions. */
#ifndef DEVID_EMU_ROUTES_H
#define DEVID_EMU_ROUTES_H

#include "emulator/emu.h"

enum devid_emu_route_kind {
    DEVID_EMU_ROUTE_NONE,
    DEVID_EMU_ROUTE_REGISTER,   /* PUT  /{scope}/registrations/{id}/register */
    DEVID_EMU_ROUTE_POLL,       /* GET  .../{id}/operations/{operationId} */
    DEVID_EMU_ROUTE_STATUS      /* POST /{scope}/registrations/{id} */
};

/* How an api-version shapes the CSR fields (DPS-PROTOCOL.md 9.1). */
enum devid_emu_apiv {
    DEVID_EMU_APIV_NONE,
    DEVID_EMU_APIV_GA,          /* no certificate issuance */
    DEVID_EMU_APIV_LEGACY,      /* clientCertificateCsr / trustBundle */
    DEVID_EMU_APIV_CSR          /* csr / issuedCertificateChain */
};

struct devid_emu_rctx;

/* How an answer leaves: each transport renders status, Retry-After and the
 * error code in its own framing (HTTP headers, MQTT response topic). */
struct devid_emu_transport {
    const char *name; /* "https", "mqtt": for the log */
    /* Send status and body (takes body, which may be NULL). */
    void (*reply)(struct devid_emu_rctx *cx, int status, json_object *body);
    /* Close the connection without an answer. */
    void (*close)(struct devid_emu_rctx *cx);
};

struct devid_emu_rctx {
    struct devid_emu_server *srv;
    const struct devid_emu_transport *tp;
    void *conn; /* the transport's request or connection */
    SSL *ssl;   /* the TLS client, for attestation */
    enum devid_emu_route_kind route;
    enum devid_emu_apiv apiv;
    char apiv_text[32];
    char *scope;
    char *regid;                /* as the client named it, decoded */
    char *key;                  /* lowercase regid: store key */
    char *opid;
    const char *payload; /* raw request body (borrowed), or NULL */
    size_t payload_len;
    int json_ctype;             /* the body was declared application/json */
    json_object *body;          /* PUT/POST JSON object */
    struct devid_emu_auth auth;
    int retry_after; /* seconds the answer announces, -1: none */
    int error_code;  /* extended code of an error answer, or 0 */
    int answered;
};

/** Prepare a context: zeroed, no Retry-After. */
void devid_emu_rctx_init(struct devid_emu_rctx *cx,
                         struct devid_emu_server *srv,
                         const struct devid_emu_transport *tp, void *conn);
/** Free what the context owns (not the transport's connection). */
void devid_emu_rctx_clear(struct devid_emu_rctx *cx);
/** How the api-version value shapes issuance; NONE = not served. */
enum devid_emu_apiv devid_emu_apiv_of(const char *value);
/** Set cx->apiv from an api-version value; 1 = a served version. */
int devid_emu_apiv_set(struct devid_emu_rctx *cx, const char *value);
/** Whether id follows the registration ID rules (DPS-PROTOCOL.md 1.2). */
int devid_emu_regid_ok(const char *id);
/** Check scope and registration ID of a filled context, then inject
 * faults, parse the body, attest the client and run the route. Always
 * answers (or closes) through the transport. */
void devid_emu_handle(struct devid_emu_rctx *cx);

/** Answer status with body (taken) through the transport. */
void devid_emu_answer(struct devid_emu_rctx *cx, int status, json_object *body);
/** Answer with a ProvisioningServiceErrorDetails body (status code/1000). */
void devid_emu_fail(struct devid_emu_rctx *cx, int code, const char *msg);
/** Announce a Retry-After with the answer. */
void devid_emu_retry_after(struct devid_emu_rctx *cx, int seconds);
/** PUT register: attestation done; start the operation (answers). */
void devid_emu_do_register(struct devid_emu_rctx *cx);
/** GET operation status (answers). */
void devid_emu_do_poll(struct devid_emu_rctx *cx);
/** POST registration status lookup (answers). */
void devid_emu_do_status(struct devid_emu_rctx *cx);

#endif
