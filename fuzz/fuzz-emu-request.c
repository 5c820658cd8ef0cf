/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the DPS emulator's request parsing (emulator/routes.c):
 * the request target (path, percent-decoded segments, registration ID,
 * api-version query) and the JSON body. The input is the request target,
 * a newline, then the body. routes.c is included whole, so its static
 * parsers are reached without changing it; the emulator functions it
 * calls beyond parsing are stood in for below (they answer or route, which
 * a parser test need not do). */
#include "emulator/routes.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- stand-ins for the rest of the emulator ---------------------------- */

void devid_emu_log(const char *fmt, ...)
{
    (void)fmt;
}

int devid_emu_auth_peer(const struct devid_emu_config *cfg, SSL *ssl,
                        struct devid_emu_auth *out)
{
    return 0;
}

int devid_emu_faults_take(struct devid_emu_server *srv, int poll)
{
    return 0;
}

int devid_emu_faults_poll_limited(struct devid_emu_server *srv,
                                  const char *regid)
{
    return 0;
}

void devid_emu_reply(struct devid_emu_server *srv, struct evhttp_request *req,
                     int status, json_object *body)
{
    json_object_put(body);
}

void devid_emu_reply_close(struct devid_emu_server *srv,
                           struct evhttp_request *req)
{
}

void devid_emu_uuid(char *buf, size_t len)
{
    snprintf(buf, len, "00000000-0000-0000-0000-000000000000");
}

void devid_emu_now_rfc3339(char *buf, size_t len)
{
    snprintf(buf, len, "2026-01-01T00:00:00Z");
}

void devid_emu_do_register(struct devid_emu_rctx *cx)
{
}

void devid_emu_do_poll(struct devid_emu_rctx *cx)
{
}

void devid_emu_do_status(struct devid_emu_rctx *cx)
{
}

/* ---- the target --------------------------------------------------------- */

/* A transport that only frees what an answer would send. */
static void devid_fuzz_reply(struct devid_emu_rctx *cx, int status,
                             json_object *body)
{
    (void)cx;
    (void)status;
    json_object_put(body);
}

static void devid_fuzz_close(struct devid_emu_rctx *cx)
{
    (void)cx;
}

static const struct devid_emu_transport devid_fuzz_transport = {
    "fuzz", devid_fuzz_reply, devid_fuzz_close
};

/* Parses the request target as devid_emu_http_prepare does, then the body
 * as a JSON request body, whatever the transport. */
static void devid_fuzz_request(const char *target, const char *body,
                               size_t body_len)
{
    struct devid_emu_rctx cx;
    struct evhttp_uri *uri = evhttp_uri_parse(target);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

    devid_emu_rctx_init(&cx, NULL, &devid_fuzz_transport, NULL);
    if (path != NULL && devid_emu_parse_path(&cx, path)) {
        (void)devid_emu_regid_ok(cx.regid);
    }
    (void)devid_emu_parse_apiv(&cx,
                               uri != NULL ? evhttp_uri_get_query(uri) : NULL);
    cx.json_ctype = 1;
    cx.payload = body;
    cx.payload_len = body_len;
    (void)devid_emu_read_body(&cx);
    devid_emu_rctx_clear(&cx);
    if (uri != NULL) {
        evhttp_uri_free(uri);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl != NULL ? (size_t)(nl - data) : size;
    char *target = malloc(tlen + 1);

    if (target == NULL) {
        return 0;
    }
    memcpy(target, data, tlen);
    target[tlen] = '\0';
    devid_fuzz_request(target, nl != NULL ? (const char *)nl + 1 : "",
                       nl != NULL ? size - tlen - 1 : 0);
    free(target);
    return 0;
}
