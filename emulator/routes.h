/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: the request context shared by the router (routes.c)
 * and the three DPS device routes (register.c). */
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

struct devid_emu_rctx {
    struct devid_emu_server *srv;
    struct evhttp_request *req;
    enum devid_emu_route_kind route;
    enum devid_emu_apiv apiv;
    char apiv_text[32];
    char *scope;
    char *regid;                /* as in the URL, decoded */
    char *key;                  /* lowercase regid: store key */
    char *opid;
    json_object *body;          /* PUT/POST JSON object */
    struct devid_emu_auth auth;
    int answered;
};

/** Answer with a ProvisioningServiceErrorDetails body (status code/1000). */
void devid_emu_fail(struct devid_emu_rctx *cx, int code, const char *msg);
/** Add a Retry-After header to the answer. */
void devid_emu_retry_after(struct devid_emu_rctx *cx, int seconds);
/** PUT register: attestation done; start the operation (answers). */
void devid_emu_do_register(struct devid_emu_rctx *cx);
/** GET operation status (answers). */
void devid_emu_do_poll(struct devid_emu_rctx *cx);
/** POST registration status lookup (answers). */
void devid_emu_do_status(struct devid_emu_rctx *cx);

#endif
