/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: the checks every route shares, whatever the transport
 * (DPS-PROTOCOL.md 1.2-1.4, 1.7): id scope, registration ID, body, faults,
 * attestation; and the HTTPS transport: path, method and api-version of a
 * request, and how its answer is written (headers). The routes themselves
 * are in register.c, the MQTT transport in dps-mqtt.c. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "emulator/routes.h"

static const struct {
    const char *version;
    enum devid_emu_apiv kind;
} devid_emu_versions[] = {
    { "2019-03-31", DEVID_EMU_APIV_GA },
    { "2021-06-01", DEVID_EMU_APIV_GA },
    { "2021-10-01", DEVID_EMU_APIV_GA },
    { "2021-11-01-preview", DEVID_EMU_APIV_LEGACY },
    { "2025-07-01-preview", DEVID_EMU_APIV_CSR },
};

/* Registration ID rules: up to 128 of [a-z0-9-._:], ends alnum or '-'. */
int devid_emu_regid_ok(const char *id)
{
    size_t n = strlen(id);
    size_t i;

    if (n == 0 || n > 128) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)id[i]) && strchr("-._:", id[i]) == NULL) {
            return 0;
        }
    }
    return isalnum((unsigned char)id[n - 1]) || id[n - 1] == '-';
}

/* Split the path into at most 6 decoded segments; returns the count. */
static int devid_emu_split(const char *path, char **seg, int max)
{
    const char *p = path;
    const char *slash;
    char *raw;
    int n = 0;

    if (*p != '/') {
        return -1;
    }
    while (*p == '/' && n < max) {
        p++;
        slash = strchr(p, '/');
        raw = strndup(p, slash != NULL ? (size_t)(slash - p) : strlen(p));
        seg[n] = raw != NULL ? evhttp_uridecode(raw, 0, NULL) : NULL;
        free(raw);
        if (seg[n] == NULL) {
            return -1;
        }
        n++;
        p = slash != NULL ? slash : p + strlen(p);
    }
    return *p == '\0' ? n : -1;
}

/* Which route the path names; fills scope, regid and op id. */
static int devid_emu_parse_path(struct devid_emu_rctx *cx, const char *path)
{
    char *seg[6] = { NULL };
    int n = devid_emu_split(path, seg, 6);
    int i;

    cx->route = DEVID_EMU_ROUTE_NONE;
    if (n >= 3 && strcmp(seg[1], "registrations") == 0) {
        if (n == 3) {
            cx->route = DEVID_EMU_ROUTE_STATUS;
        } else if (n == 4 && strcmp(seg[3], "register") == 0) {
            cx->route = DEVID_EMU_ROUTE_REGISTER;
        } else if (n == 5 && strcmp(seg[3], "operations") == 0) {
            cx->route = DEVID_EMU_ROUTE_POLL;
            cx->opid = strdup(seg[4]);
        }
    }
    if (cx->route != DEVID_EMU_ROUTE_NONE) {
        cx->scope = strdup(seg[0]);
        cx->regid = strdup(seg[2]);
    }
    for (i = 0; i < 6; i++) {
        free(seg[i]);
    }
    return cx->route != DEVID_EMU_ROUTE_NONE && cx->scope != NULL
           && cx->regid != NULL
           && (cx->route != DEVID_EMU_ROUTE_POLL || cx->opid != NULL);
}

enum devid_emu_apiv devid_emu_apiv_of(const char *value)
{
    size_t n = sizeof(devid_emu_versions) / sizeof(devid_emu_versions[0]);
    size_t i;

    for (i = 0; value != NULL && i < n; i++) {
        if (strcmp(value, devid_emu_versions[i].version) == 0) {
            return devid_emu_versions[i].kind;
        }
    }
    return DEVID_EMU_APIV_NONE;
}

int devid_emu_apiv_set(struct devid_emu_rctx *cx, const char *value)
{
    cx->apiv = devid_emu_apiv_of(value);
    if (cx->apiv != DEVID_EMU_APIV_NONE) {
        snprintf(cx->apiv_text, sizeof(cx->apiv_text), "%s", value);
    }
    return cx->apiv != DEVID_EMU_APIV_NONE;
}

static int devid_emu_parse_apiv(struct devid_emu_rctx *cx, const char *query)
{
    struct evkeyvalq q;
    int ok;

    if (query == NULL) {
        return 0;
    }
    /* evhttp_parse_query_str initialises q even when it fails */
    if (evhttp_parse_query_str(query, &q) != 0) {
        evhttp_clear_headers(&q);
        return 0;
    }
    ok = devid_emu_apiv_set(cx, evhttp_find_header(&q, "api-version"));
    evhttp_clear_headers(&q);
    return ok;
}

static int devid_emu_method_ok(struct devid_emu_rctx *cx)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(cx->conn);

    switch (cx->route) {
    case DEVID_EMU_ROUTE_REGISTER:
        return m == EVHTTP_REQ_PUT;
    case DEVID_EMU_ROUTE_POLL:
        return m == EVHTTP_REQ_GET;
    case DEVID_EMU_ROUTE_STATUS:
        return m == EVHTTP_REQ_POST;
    case DEVID_EMU_ROUTE_NONE:
        break;
    }
    return 0;
}

/* Parse the JSON body of PUT/POST; answers the error itself (returns 0). */
static int devid_emu_read_body(struct devid_emu_rctx *cx)
{
    struct json_tokener *tok = NULL;
    char *text = NULL;
    int ret = 0;

    if (!cx->json_ctype) {
        devid_emu_fail(cx, 415001, "Content-Type must be application/json");
        return 0;
    }
    text = malloc(cx->payload_len + 1);
    tok = json_tokener_new();
    if (text == NULL || tok == NULL) {
        devid_emu_fail(cx, 500000, "out of memory");
        goto end;
    }
    if (cx->payload_len > 0) {
        memcpy(text, cx->payload, cx->payload_len);
    }
    text[cx->payload_len] = '\0';
    cx->body = json_tokener_parse_ex(tok, text, (int)cx->payload_len);
    if (cx->body == NULL || json_tokener_get_error(tok) != json_tokener_success
        || json_tokener_get_parse_end(tok) != cx->payload_len
        || !json_object_is_type(cx->body, json_type_object)) {
        devid_emu_fail(cx, 400006, "The request body is not a JSON object.");
        goto end;
    }
    ret = 1;
end:
    json_tokener_free(tok);
    free(text);
    return ret;
}

/* The enrollment behind the TLS client certificate, and CN = URL id. */
static int devid_emu_authenticate(struct devid_emu_rctx *cx)
{
    if (cx->ssl == NULL
        || !devid_emu_auth_peer(cx->srv->cfg, cx->ssl, &cx->auth)) {
        devid_emu_log("%s: no enrollment accepts the client certificate%s%s",
                      cx->regid, cx->auth.cn[0] != '\0' ? " CN=" : "",
                      cx->auth.cn);
        devid_emu_fail(cx, 401002, "Unauthorized");
        return 0;
    }
    if (strcasecmp(cx->auth.cn, cx->regid) != 0) {
        devid_emu_log("%s: certificate CN %s differs", cx->regid, cx->auth.cn);
        devid_emu_fail(cx, 401002, "Unauthorized");
        return 0;
    }
    return 1;
}

/* Injected faults for register and poll; 1 = a fault answered. */
static int devid_emu_inject(struct devid_emu_rctx *cx)
{
    int poll = cx->route == DEVID_EMU_ROUTE_POLL;
    int f;

    if (cx->route == DEVID_EMU_ROUTE_STATUS) {
        return 0;
    }
    f = devid_emu_faults_take(cx->srv, poll);
    if (f == 0 && poll && devid_emu_faults_poll_limited(cx->srv, cx->key)) {
        f = 4291;
    }
    if (f == 0) {
        return 0;
    }
    devid_emu_log("%s: injecting %s on %s (%s)", cx->regid,
                  f < 0       ? "a closed connection"
                  : f == 4291 ? "poll limit 429"
                              : "an error",
                  poll ? "poll" : "register", cx->tp->name);
    if (f < 0) {
        cx->tp->close(cx);
        cx->answered = 1;
    } else if (f == 429 || f == 4291) {
        devid_emu_retry_after(cx, cx->srv->cfg->faults.retry_after_429);
        devid_emu_fail(cx, 429001, f == 429 ? "Too many requests."
                                            : "Operation polling rate "
                                              "exceeded: at most 5 in 10 "
                                              "seconds per device.");
    } else {
        devid_emu_fail(cx, f * 1000, f == 500 ? "Internal server error."
                                              : "Service unavailable.");
    }
    return 1;
}

/* The HTTP part of the checks: path, method, api-version, Content-Type. */
static int devid_emu_http_prepare(struct devid_emu_rctx *cx)
{
    struct evhttp_request *req = cx->conn;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn != NULL
                                  ? evhttp_connection_get_bufferevent(conn)
                                  : NULL;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    const char *ctype = evhttp_find_header(headers, "Content-Type");

    cx->ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
    cx->json_ctype = ctype != NULL
                     && strncasecmp(ctype, "application/json", 16) == 0;
    cx->payload_len = evbuffer_get_length(in);
    cx->payload = (const char *)evbuffer_pullup(in, -1);
    if (path == NULL || !devid_emu_parse_path(cx, path)) {
        devid_emu_fail(cx, 404001, "The requested resource does not exist.");
        return 0;
    }
    if (!devid_emu_method_ok(cx)) {
        devid_emu_fail(cx, 405000, "The method is not allowed here.");
        return 0;
    }
    if (!devid_emu_parse_apiv(cx, evhttp_uri_get_query(uri))) {
        devid_emu_fail(cx, 400001, "The api-version query parameter is "
                                   "missing or not supported.");
        return 0;
    }
    return 1;
}

/* The shared checks, in the order the service applies them. */
static int devid_emu_prepare(struct devid_emu_rctx *cx)
{
    size_t i;

    if (strcmp(cx->scope, cx->srv->cfg->id_scope) != 0) {
        devid_emu_fail(cx, 404001, "The ID scope is not known.");
        return 0;
    }
    if (!devid_emu_regid_ok(cx->regid)) {
        devid_emu_fail(cx, 400004, "The registration ID is not valid.");
        return 0;
    }
    cx->key = strdup(cx->regid);
    for (i = 0; cx->key != NULL && cx->key[i] != '\0'; i++) {
        cx->key[i] = (char)tolower((unsigned char)cx->key[i]);
    }
    if (cx->payload_len > DEVID_EMU_MAX_BODY) {
        devid_emu_fail(cx, 413001, "The request body is larger than 96 KB.");
        return 0;
    }
    if (cx->key == NULL || devid_emu_inject(cx)) {
        return 0;
    }
    if (cx->route != DEVID_EMU_ROUTE_POLL && !devid_emu_read_body(cx)) {
        return 0;
    }
    return devid_emu_authenticate(cx);
}

void devid_emu_rctx_init(struct devid_emu_rctx *cx,
                         struct devid_emu_server *srv,
                         const struct devid_emu_transport *tp, void *conn)
{
    memset(cx, 0, sizeof(*cx));
    cx->srv = srv;
    cx->tp = tp;
    cx->conn = conn;
    cx->retry_after = -1;
}

void devid_emu_rctx_clear(struct devid_emu_rctx *cx)
{
    json_object_put(cx->body);
    free(cx->scope);
    free(cx->regid);
    free(cx->key);
    free(cx->opid);
    cx->body = NULL;
    cx->scope = cx->regid = cx->key = cx->opid = NULL;
}

void devid_emu_answer(struct devid_emu_rctx *cx, int status, json_object *body)
{
    cx->tp->reply(cx, status, body);
    cx->answered = 1;
}

void devid_emu_fail(struct devid_emu_rctx *cx, int code, const char *msg)
{
    json_object *body = json_object_new_object();
    char buf[40];

    json_object_object_add(body, "errorCode", json_object_new_int(code));
    devid_emu_uuid(buf, sizeof(buf));
    json_object_object_add(body, "trackingId", json_object_new_string(buf));
    json_object_object_add(body, "message", json_object_new_string(msg));
    devid_emu_now_rfc3339(buf, sizeof(buf));
    json_object_object_add(body, "timestampUtc", json_object_new_string(buf));
    cx->error_code = code;
    devid_emu_answer(cx, code / 1000, body);
}

void devid_emu_retry_after(struct devid_emu_rctx *cx, int seconds)
{
    cx->retry_after = seconds;
}

void devid_emu_handle(struct devid_emu_rctx *cx)
{
    if (devid_emu_prepare(cx)) {
        switch (cx->route) {
        case DEVID_EMU_ROUTE_REGISTER:
            devid_emu_do_register(cx);
            break;
        case DEVID_EMU_ROUTE_POLL:
            devid_emu_do_poll(cx);
            break;
        case DEVID_EMU_ROUTE_STATUS:
            devid_emu_do_status(cx);
            break;
        case DEVID_EMU_ROUTE_NONE:
            break;
        }
    }
    if (!cx->answered) {
        devid_emu_fail(cx, 500000, "The request was not answered.");
    }
}

/* ---- the HTTPS transport -------------------------------------------- */

/* Location of a register answer: https://{Host}{path} (DPS-PROTOCOL.md
 * 1.6). */
static void devid_emu_http_location(struct devid_emu_rctx *cx)
{
    struct evhttp_request *req = cx->conn;
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req),
                                          "Host");
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    char fallback[32];
    char *loc;
    size_t n;

    snprintf(fallback, sizeof(fallback), "127.0.0.1:%d", cx->srv->port);
    host = host != NULL ? host : fallback;
    n = strlen(host) + strlen(path) + 16;
    loc = malloc(n);
    if (loc != NULL) {
        snprintf(loc, n, "https://%s%s", host, path);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
                          loc);
    }
    free(loc);
}

static void devid_emu_http_reply(struct devid_emu_rctx *cx, int status,
                                 json_object *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(cx->conn);
    char buf[16];

    if (cx->retry_after >= 0) {
        snprintf(buf, sizeof(buf), "%d", cx->retry_after);
        evhttp_add_header(h, "Retry-After", buf);
    }
    if (cx->error_code != 0) {
        snprintf(buf, sizeof(buf), "%d", cx->error_code);
        evhttp_add_header(h, "x-ms-error-code", buf);
    }
    if (cx->route == DEVID_EMU_ROUTE_REGISTER && status == 202) {
        devid_emu_http_location(cx);
    }
    devid_emu_reply(cx->srv, cx->conn, status, body);
}

static void devid_emu_http_close(struct devid_emu_rctx *cx)
{
    devid_emu_reply_close(cx->srv, cx->conn);
}

static const struct devid_emu_transport devid_emu_https = {
    "https", devid_emu_http_reply, devid_emu_http_close
};

void devid_emu_route(struct evhttp_request *req, void *arg)
{
    struct devid_emu_rctx cx;

    devid_emu_rctx_init(&cx, arg, &devid_emu_https, req);
    if (devid_emu_http_prepare(&cx)) {
        devid_emu_handle(&cx);
    }
    if (!cx.answered) {
        devid_emu_fail(&cx, 500000, "The request was not answered.");
    }
    devid_emu_rctx_clear(&cx);
}
