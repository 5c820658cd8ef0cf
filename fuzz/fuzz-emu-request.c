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

void devid_emu_reply_error(struct devid_emu_server *srv,
                           struct evhttp_request *req, int code,
                           const char *message)
{
}

void devid_emu_reply_close(struct devid_emu_server *srv,
                           struct evhttp_request *req)
{
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

/* Parses the request target as devid_emu_prepare does, then the body. */
static void devid_fuzz_request(const char *target, const char *body,
                               size_t body_len)
{
    struct devid_emu_rctx cx;
    struct evhttp_uri *uri = evhttp_uri_parse(target);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

    memset(&cx, 0, sizeof(cx));
    cx.req = evhttp_request_new(NULL, NULL);
    if (cx.req == NULL) {
        goto end;
    }
    if (path != NULL && devid_emu_parse_path(&cx, path)) {
        (void)devid_emu_regid_ok(cx.regid);
    }
    (void)devid_emu_parse_apiv(&cx,
                               uri != NULL ? evhttp_uri_get_query(uri) : NULL);
    evhttp_add_header(evhttp_request_get_input_headers(cx.req), "Content-Type",
                      "application/json");
    evbuffer_add(evhttp_request_get_input_buffer(cx.req), body, body_len);
    (void)devid_emu_read_body(&cx);
end:
    json_object_put(cx.body);
    free(cx.scope);
    free(cx.regid);
    free(cx.opid);
    if (cx.req != NULL) {
        evhttp_request_free(cx.req);
    }
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
