/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: DPS over MQTT (DPS-PROTOCOL.md section 2), the same
 * routes, attestation, faults, issuance and store as HTTPS (routes.c,
 * register.c), reached through MQTT topics:
 *   CONNECT  client id {registrationId}, user name
 *            {idScope}/registrations/{registrationId}/api-version={V}[&...],
 *            TLS client certificate with CN = registration ID
 *   SUBSCRIBE $dps/registrations/res/#
 *   PUBLISH  $dps/registrations/PUT/iotdps-register/?$rid={rid}   (register)
 *            $dps/registrations/GET/iotdps-get-operationstatus/
 *                ?$rid={rid}&operationId={id}                       (poll)
 *   answers  $dps/registrations/res/{status}/?$rid={rid}[&retry-after={s}]
 * The transport's reply renders status and Retry-After in that topic. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "emulator/routes.h"

#define DEVID_EMU_DPS_RES "$dps/registrations/res/"
#define DEVID_EMU_DPS_PUT "$dps/registrations/PUT/iotdps-register/?"
#define DEVID_EMU_DPS_GET "$dps/registrations/GET/iotdps-get-operationstatus/?"

/* One request on a connection: what the reply needs. */
struct devid_emu_dps_req {
    struct devid_emu_mqtt_conn *conn;
    char rid[128];
};

void devid_emu_dps_conn_clear(struct devid_emu_dps_conn *d)
{
    free(d->scope);
    free(d->regid);
    d->scope = d->regid = NULL;
}

/* The n bytes at s, percent-decoded ('+' stays): a new string, or NULL
 * when the encoding is broken. Clients encode the variable parts of the
 * user name and topics as they encode an HTTPS path. */
static char *devid_emu_dps_decode(const char *s, size_t n)
{
    char *raw = strndup(s, n);
    char *out = raw != NULL ? evhttp_uridecode(raw, 0, NULL) : NULL;

    free(raw);
    return out;
}

/* {idScope}/registrations/{registrationId}/api-version={V}[&...]: scope,
 * registration ID and api-version as new strings (apiv into a buffer). */
static int devid_emu_dps_user(const char *user, char **scope, char **regid,
                              char *apiv, size_t apiv_size)
{
    static const char mid[] = "/registrations/";
    static const char api[] = "/api-version=";
    const char *p = user != NULL ? strstr(user, mid) : NULL;
    const char *r;
    char *v;
    size_t n;
    int ok;

    if (p == NULL || p == user) {
        return 0;
    }
    r = p + sizeof(mid) - 1;
    n = strcspn(r, "/");
    if (n == 0 || strncmp(r + n, api, sizeof(api) - 1) != 0) {
        return 0;
    }
    *scope = devid_emu_dps_decode(user, (size_t)(p - user));
    *regid = devid_emu_dps_decode(r, n);
    r += n + sizeof(api) - 1;
    /* SDKs add &ClientVersion=... */
    v = devid_emu_dps_decode(r, strcspn(r, "&"));
    ok = *scope != NULL && *regid != NULL && v != NULL && v[0] != '\0'
         && strlen(v) < apiv_size;
    if (ok) {
        snprintf(apiv, apiv_size, "%s", v);
    }
    free(v);
    return ok;
}

int devid_emu_dps_connect(struct devid_emu_mqtt_conn *c, const char *client_id,
                          const char *username)
{
    struct devid_emu_server *srv = devid_emu_mqtt_server(c);
    struct devid_emu_dps_conn *d = devid_emu_mqtt_dps(c);
    struct devid_emu_auth peer;
    SSL *ssl = devid_emu_mqtt_ssl(c);

    memset(&peer, 0, sizeof(peer));
    if (!devid_emu_dps_user(username, &d->scope, &d->regid, d->apiv,
                            sizeof(d->apiv))
        || !devid_emu_regid_ok(d->regid)
        || devid_emu_apiv_of(d->apiv) == DEVID_EMU_APIV_NONE) {
        devid_emu_log("mqtt: refused user name '%s'",
                      username != NULL ? username : "");
        return 4; /* bad user name */
    }
    if (strcmp(client_id, d->regid) != 0) {
        devid_emu_log("mqtt: client id '%s' is not the registration ID %s",
                      client_id, d->regid);
        return 2; /* identifier rejected */
    }
    if (strcmp(d->scope, srv->cfg->id_scope) != 0 || ssl == NULL
        || !devid_emu_auth_peer(srv->cfg, ssl, &peer)
        || strcasecmp(peer.cn, d->regid) != 0) {
        /* DPS-PROTOCOL.md 9.4: an unknown or untrusted certificate is
         * refused at CONNECT; enrollment refusals come on res/{status} */
        devid_emu_log("mqtt: %s: refused at CONNECT (scope %s, certificate "
                      "CN %s)",
                      d->regid, d->scope, peer.cn);
        return 5; /* not authorized */
    }
    devid_emu_log("mqtt: %s connected (%s, enrollment %s)", d->regid, d->apiv,
                  peer.enrollment->id);
    return 0;
}

int devid_emu_dps_subscribe(struct devid_emu_mqtt_conn *c, const char *filter,
                            int qos)
{
    struct devid_emu_dps_conn *d = devid_emu_mqtt_dps(c);

    if (strcmp(filter, DEVID_EMU_DPS_RES "#") != 0) {
        devid_emu_log("mqtt: %s: refused subscription to %s", d->regid, filter);
        return 0x80;
    }
    d->subscribed = 1;
    return qos > 1 ? 1 : qos; /* QoS 2 is granted as 1 */
}

/* The value of name in a topic's query (after '?', '&'-separated),
 * decoded, as a new string, or NULL. */
static char *devid_emu_dps_param(const char *query, const char *name)
{
    size_t nl = strlen(name);
    const char *p = query;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            return devid_emu_dps_decode(p + nl + 1, strcspn(p + nl + 1, "&"));
        }
        p = strchr(p, '&');
        p = p != NULL ? p + 1 : NULL;
    }
    return NULL;
}

static void devid_emu_dps_reply(struct devid_emu_rctx *cx, int status,
                                json_object *body)
{
    struct devid_emu_dps_req *rq = cx->conn;
    struct devid_emu_dps_conn *d = devid_emu_mqtt_dps(rq->conn);
    const char *text = "";
    char topic[256];
    int n;

    n = snprintf(topic, sizeof(topic), DEVID_EMU_DPS_RES "%d/?$rid=%s", status,
                 rq->rid);
    if (cx->retry_after >= 0 && n > 0 && (size_t)n < sizeof(topic)) {
        snprintf(topic + n, sizeof(topic) - (size_t)n, "&retry-after=%d",
                 cx->retry_after);
    }
    if (body != NULL) {
        text = json_object_to_json_string_ext(
            body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    }
    if (cx->srv->verbose) {
        devid_emu_log("mqtt %s %s -> %s", cx->regid,
                      cx->route == DEVID_EMU_ROUTE_POLL ? "poll" : "register",
                      topic);
    }
    if (!d->subscribed) {
        /* MQTT delivers only to subscribers: the answer is lost, as it
         * would be at the service (subscribe before publishing, §2) */
        devid_emu_log("mqtt: %s is not subscribed to " DEVID_EMU_DPS_RES
                      "#: answer dropped",
                      cx->regid);
    } else {
        devid_emu_mqtt_publish(rq->conn, topic, text, strlen(text),
                               cx->srv->faults.left.delay_ms);
    }
    json_object_put(body);
}

static void devid_emu_dps_close(struct devid_emu_rctx *cx)
{
    struct devid_emu_dps_req *rq = cx->conn;

    devid_emu_mqtt_close(rq->conn, cx->srv->faults.left.delay_ms);
}

static const struct devid_emu_transport devid_emu_mqtt_transport = {
    "mqtt", devid_emu_dps_reply, devid_emu_dps_close
};

/* Which route the topic names; its query in *query. */
static enum devid_emu_route_kind devid_emu_dps_route(const char *topic,
                                                     const char **query)
{
    if (strncmp(topic, DEVID_EMU_DPS_PUT, strlen(DEVID_EMU_DPS_PUT)) == 0) {
        *query = topic + strlen(DEVID_EMU_DPS_PUT);
        return DEVID_EMU_ROUTE_REGISTER;
    }
    if (strncmp(topic, DEVID_EMU_DPS_GET, strlen(DEVID_EMU_DPS_GET)) == 0) {
        *query = topic + strlen(DEVID_EMU_DPS_GET);
        return DEVID_EMU_ROUTE_POLL;
    }
    return DEVID_EMU_ROUTE_NONE;
}

int devid_emu_dps_publish(struct devid_emu_mqtt_conn *c, const char *topic,
                          const char *payload, size_t len)
{
    struct devid_emu_dps_conn *d = devid_emu_mqtt_dps(c);
    struct devid_emu_dps_req rq;
    struct devid_emu_rctx cx;
    const char *query = NULL;
    char *rid;

    memset(&rq, 0, sizeof(rq));
    rq.conn = c;
    devid_emu_rctx_init(&cx, devid_emu_mqtt_server(c),
                        &devid_emu_mqtt_transport, &rq);
    cx.route = devid_emu_dps_route(topic, &query);
    if (cx.route == DEVID_EMU_ROUTE_NONE) {
        devid_emu_log("mqtt: %s published to %s: not a DPS topic, closing",
                      d->regid, topic);
        return 0;
    }
    rid = devid_emu_dps_param(query, "$rid");
    snprintf(rq.rid, sizeof(rq.rid), "%s", rid != NULL ? rid : "");
    free(rid);
    cx.ssl = devid_emu_mqtt_ssl(c);
    cx.scope = strdup(d->scope);
    cx.regid = strdup(d->regid);
    cx.payload = payload;
    cx.payload_len = len;
    cx.json_ctype = 1; /* MQTT carries no content type */
    devid_emu_apiv_set(&cx, d->apiv);
    if (cx.route == DEVID_EMU_ROUTE_POLL) {
        cx.opid = devid_emu_dps_param(query, "operationId");
    }
    if (cx.scope == NULL || cx.regid == NULL) {
        devid_emu_fail(&cx, 500000, "out of memory");
    } else if (cx.route == DEVID_EMU_ROUTE_POLL && cx.opid == NULL) {
        devid_emu_fail(&cx, 400004, "The operationId parameter is missing.");
    } else {
        devid_emu_handle(&cx);
    }
    devid_emu_rctx_clear(&cx);
    return 1;
}
