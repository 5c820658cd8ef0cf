/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: the HTTPS server (libevent evhttp over
 * bufferevent_openssl), its TLS context, and how answers are sent
 * (JSON bodies, DPS headers, injected delays and dropped connections). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>

#include "emulator/emu.h"

/* Bodies up to this size are read, and above 96 KB answered with a DPS
 * style 413; beyond it libevent refuses the request itself. */
#define DEVID_EMU_READ_LIMIT (4 * 1024 * 1024)

/* Accept any client certificate at the TLS level: the routes authenticate
 * it against the enrollments (DPS answers 401, it does not abort TLS). */
static int devid_emu_verify_cb(int ok, X509_STORE_CTX *ctx)
{
    (void)ok;
    (void)ctx;
    return 1;
}

static SSL_CTX *devid_emu_tls_ctx(const struct devid_emu_server *srv)
{
    int i = srv->cfg->server_root == 'B' ? 1 : 0;
    const struct devid_emu_ca *leaf = &srv->pki.server_leaf[i];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL) {
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    /* no resumption: every connection presents its certificate chain */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, devid_emu_verify_cb);
    if (SSL_CTX_use_certificate(ctx, leaf->cert) != 1
        || SSL_CTX_use_PrivateKey(ctx, leaf->key) != 1
        || SSL_CTX_add1_chain_cert(ctx, srv->pki.server_root[i].cert) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static struct bufferevent *devid_emu_bevcb(struct event_base *base,
                                           void *arg)
{
    struct devid_emu_server *srv = arg;
    SSL *ssl = SSL_new(srv->ssl_ctx);
    struct bufferevent *bev;

    if (ssl == NULL) {
        return NULL;
    }
    bev = bufferevent_openssl_socket_new(base, -1, ssl,
                                         BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static int devid_emu_bound_port(struct evhttp_bound_socket *sock)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    if (getsockname(evhttp_bound_socket_get_fd(sock),
                    (struct sockaddr *)&sin, &len) != 0) {
        return -1;
    }
    return ntohs(sin.sin_port);
}

int devid_emu_http_start(struct devid_emu_server *srv, int port)
{
    struct evhttp_bound_socket *sock;

    srv->ssl_ctx = devid_emu_tls_ctx(srv);
    srv->http = evhttp_new(srv->base);
    if (srv->ssl_ctx == NULL || srv->http == NULL) {
        devid_emu_log("cannot set up TLS/HTTP");
        return 0;
    }
    evhttp_set_bevcb(srv->http, devid_emu_bevcb, srv);
    evhttp_set_gencb(srv->http, devid_emu_route, srv);
    evhttp_set_max_body_size(srv->http, DEVID_EMU_READ_LIMIT);
    evhttp_set_max_headers_size(srv->http, 16 * 1024);
    evhttp_set_timeout(srv->http, srv->cfg->timeout_seconds);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST
                                              | EVHTTP_REQ_PUT
                                              | EVHTTP_REQ_HEAD
                                              | EVHTTP_REQ_DELETE
                                              | EVHTTP_REQ_PATCH);
    sock = evhttp_bind_socket_with_handle(srv->http, "127.0.0.1",
                                          (ev_uint16_t)port);
    if (sock == NULL) {
        devid_emu_log("cannot listen on 127.0.0.1:%d", port);
        return 0;
    }
    srv->port = devid_emu_bound_port(sock);
    return srv->port > 0;
}

int devid_emu_http_reload_tls(struct devid_emu_server *srv)
{
    SSL_CTX *ctx = devid_emu_tls_ctx(srv);

    if (ctx == NULL) {
        return 0;
    }
    SSL_CTX_free(srv->ssl_ctx);             /* live connections hold a ref */
    srv->ssl_ctx = ctx;
    evhttp_set_timeout(srv->http, srv->cfg->timeout_seconds);
    return 1;
}

void devid_emu_http_stop(struct devid_emu_server *srv)
{
    if (srv->http != NULL) {
        evhttp_free(srv->http);
        srv->http = NULL;
    }
    SSL_CTX_free(srv->ssl_ctx);
    srv->ssl_ctx = NULL;
}

static const char *devid_emu_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static const char *devid_emu_method(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_POST:
        return "POST";
    default:
        return "other";
    }
}

/* An answer waiting for its injected delay. */
struct devid_emu_pending {
    struct evhttp_request *req;
    int status;                 /* 0: close the connection instead */
};

static void devid_emu_pending_fire(evutil_socket_t fd, short what, void *arg)
{
    struct devid_emu_pending *p = arg;
    struct evhttp_connection *conn = evhttp_request_get_connection(p->req);

    (void)fd;
    (void)what;
    if (p->status != 0 || conn == NULL) {
        /* with the connection gone evhttp only frees the request */
        evhttp_send_reply(p->req, p->status != 0 ? p->status : 500,
                          devid_emu_reason(p->status), NULL);
    } else {
        evhttp_connection_free(conn);       /* frees the request too */
    }
    free(p);
}

static void devid_emu_defer(struct devid_emu_server *srv,
                            struct evhttp_request *req, int status, int ms)
{
    struct devid_emu_pending *p = malloc(sizeof(*p));
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    if (p == NULL) {
        evhttp_send_reply(req, 500, "Internal Server Error", NULL);
        return;
    }
    p->req = req;
    p->status = status;
    if (event_base_once(srv->base, -1, EV_TIMEOUT, devid_emu_pending_fire, p,
                        &tv) != 0) {
        free(p);
        evhttp_send_reply(req, 500, "Internal Server Error", NULL);
    }
}

void devid_emu_reply(struct devid_emu_server *srv, struct evhttp_request *req,
                     int status, json_object *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char rid[40];
    const char *text;

    devid_emu_uuid(rid, sizeof(rid));
    evhttp_add_header(h, "x-ms-request-id", rid);
    if (body != NULL) {
        text = json_object_to_json_string_ext(
            body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
        evbuffer_add(evhttp_request_get_output_buffer(req), text,
                     strlen(text));
        json_object_put(body);
    }
    if (srv->verbose) {
        devid_emu_log("%s %s -> %d", devid_emu_method(req),
                      evhttp_request_get_uri(req), status);
    }
    if (srv->faults.left.delay_ms > 0) {
        devid_emu_defer(srv, req, status, srv->faults.left.delay_ms);
        return;
    }
    evhttp_send_reply(req, status, devid_emu_reason(status), NULL);
}

void devid_emu_reply_close(struct devid_emu_server *srv,
                           struct evhttp_request *req)
{
    devid_emu_defer(srv, req, 0, srv->faults.left.delay_ms);
}
