/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: request routing and the checks every route shares
 * (DPS-PROTOCOL.md 1.2-1.4, 1.7): path, method, api-version, id scope,
 * body, faults, attestation. The routes themselves are in register.c. */
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
static int devid_emu_regid_ok(const char *id)
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

static int devid_emu_parse_apiv(struct devid_emu_rctx *cx, const char *query)
{
    struct evkeyvalq q;
    const char *v;
    size_t i;

    if (query == NULL) {
        return 0;
    }
    /* evhttp_parse_query_str initialises q even when it fails */
    if (evhttp_parse_query_str(query, &q) != 0) {
        evhttp_clear_headers(&q);
        return 0;
    }
    v = evhttp_find_header(&q, "api-version");
    for (i = 0; v != NULL && i < sizeof(devid_emu_versions)
                                     / sizeof(devid_emu_versions[0]); i++) {
        if (strcmp(v, devid_emu_versions[i].version) == 0) {
            cx->apiv = devid_emu_versions[i].kind;
            snprintf(cx->apiv_text, sizeof(cx->apiv_text), "%s", v);
        }
    }
    evhttp_clear_headers(&q);
    return cx->apiv != DEVID_EMU_APIV_NONE;
}

static int devid_emu_method_ok(struct devid_emu_rctx *cx)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(cx->req);

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
    struct evbuffer *in = evhttp_request_get_input_buffer(cx->req);
    size_t len = evbuffer_get_length(in);
    const char *ctype = evhttp_find_header(
        evhttp_request_get_input_headers(cx->req), "Content-Type");
    struct json_tokener *tok = NULL;
    char *text = NULL;
    int ret = 0;

    if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0) {
        devid_emu_fail(cx, 415001, "Content-Type must be application/json");
        return 0;
    }
    text = malloc(len + 1);
    tok = json_tokener_new();
    if (text == NULL || tok == NULL) {
        devid_emu_fail(cx, 500000, "out of memory");
        goto end;
    }
    evbuffer_copyout(in, text, len);
    text[len] = '\0';
    cx->body = json_tokener_parse_ex(tok, text, (int)len);
    if (cx->body == NULL || json_tokener_get_error(tok) != json_tokener_success
        || json_tokener_get_parse_end(tok) != len
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
    struct evhttp_connection *conn = evhttp_request_get_connection(cx->req);
    struct bufferevent *bev = conn != NULL
                                  ? evhttp_connection_get_bufferevent(conn)
                                  : NULL;
    SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;

    if (ssl == NULL || !devid_emu_auth_peer(cx->srv->cfg, ssl, &cx->auth)) {
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
    devid_emu_log("%s: injecting %s on %s", cx->regid,
                  f < 0 ? "a closed connection" : f == 4291 ? "poll limit 429"
                                                              : "an error",
                  poll ? "poll" : "register");
    if (f < 0) {
        devid_emu_reply_close(cx->srv, cx->req);
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

/* The shared checks, in the order the service applies them. */
static int devid_emu_prepare(struct devid_emu_rctx *cx)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(cx->req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    size_t i;

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
    if (evbuffer_get_length(evhttp_request_get_input_buffer(cx->req))
        > DEVID_EMU_MAX_BODY) {
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

void devid_emu_fail(struct devid_emu_rctx *cx, int code, const char *msg)
{
    devid_emu_reply_error(cx->srv, cx->req, code, msg);
    cx->answered = 1;
}

void devid_emu_retry_after(struct devid_emu_rctx *cx, int seconds)
{
    char buf[16];

    snprintf(buf, sizeof(buf), "%d", seconds);
    evhttp_add_header(evhttp_request_get_output_headers(cx->req),
                      "Retry-After", buf);
}

void devid_emu_route(struct evhttp_request *req, void *arg)
{
    struct devid_emu_rctx cx;

    memset(&cx, 0, sizeof(cx));
    cx.srv = arg;
    cx.req = req;
    if (devid_emu_prepare(&cx)) {
        switch (cx.route) {
        case DEVID_EMU_ROUTE_REGISTER:
            devid_emu_do_register(&cx);
            break;
        case DEVID_EMU_ROUTE_POLL:
            devid_emu_do_poll(&cx);
            break;
        case DEVID_EMU_ROUTE_STATUS:
            devid_emu_do_status(&cx);
            break;
        case DEVID_EMU_ROUTE_NONE:
            break;
        }
    }
    if (!cx.answered) {
        devid_emu_fail(&cx, 500000, "The request was not answered.");
    }
    json_object_put(cx.body);
    free(cx.scope);
    free(cx.regid);
    free(cx.key);
    free(cx.opid);
}
