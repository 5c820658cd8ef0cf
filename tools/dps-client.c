/* SPDX-License-Identifier: Apache-2.0 */
/* DPS device client over HTTPS (DPS-PROTOCOL.md §1): PUT register, then
 * GET the operation status until it ends, with X.509 attestation by the
 * resident onboarding key. libcurl carries HTTP; the TLS client key is
 * handed to its SSL_CTX as an EVP_PKEY, so it never leaves the token. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tools/dps-client.h"
#include "tools/dps-json.h"
#include "tools/escape.h"

#define DEVID_DPS_DEFAULT_TIMEOUT 60    /* s, C SDK PROV_DEFAULT_TIMEOUT */
#define DEVID_DPS_POLL_DEFAULT 1        /* s, C SDK PROV_GET_THROTTLE_TIME */
#define DEVID_DPS_POLL_MAX 300          /* s, MAX_PROV_GET_THROTTLE_TIME */
#define DEVID_DPS_BACKOFF_MAX_MS 32000  /* ceiling of the retry backoff */
#define DEVID_DPS_TRACE_MAX 2048        /* bytes of a body --verbose shows */

/* One HTTP answer. */
struct devid_dps_answer {
    long status;                /* HTTP status, 0 when none came */
    long retry_after;           /* Retry-After seconds, -1 when absent */
    char *body;
    size_t len;
    int too_big;                /* the body passed DEVID_DPS_MAX_BODY */
    int dropped;                /* the connection closed before an answer */
};

/* Everything one registration needs. */
struct devid_dps_session {
    struct devid_tool *t;
    const struct devid_dps_request *req;
    const char *api;
    const char *endpoint;
    CURL *curl;
    struct curl_slist *put_headers;
    struct curl_slist *get_headers;
    char errbuf[CURL_ERROR_SIZE];
    struct devid_dps_answer ans;
    struct timespec deadline;   /* CLOCK_MONOTONIC */
    long timeout_s;
    unsigned int attempt;       /* transient failures of the current step */
    int ctx_failed;             /* our SSL_CTX callback refused */
    uint64_t rng;               /* jitter only: not a secret */
};

/* ---- time ------------------------------------------------------------ */

/* Milliseconds left before the deadline (negative once it has passed). */
static long devid_dps_left_ms(const struct devid_dps_session *s)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(s->deadline.tv_sec - now.tv_sec) * 1000
           + (s->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

/* xorshift64: spreads retries of many devices (jitter), nothing more. */
static long devid_dps_jitter_ms(struct devid_dps_session *s, long max)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return max > 0 ? (long)(s->rng % (uint64_t)(max + 1)) : 0;
}

/* ---- libcurl callbacks ---------------------------------------------- */

/* Collects the body, refusing more than DEVID_DPS_MAX_BODY bytes. */
static size_t devid_dps_on_body(char *data, size_t size, size_t n, void *arg)
{
    struct devid_dps_answer *a = arg;
    size_t len = size * n;
    char *grown;

    if (len > DEVID_DPS_MAX_BODY - a->len) {
        a->too_big = 1;
        return 0;               /* curl stops with CURLE_WRITE_ERROR */
    }
    grown = realloc(a->body, a->len + len + 1);
    if (grown == NULL) {
        return 0;
    }
    memcpy(grown + a->len, data, len);
    a->body = grown;
    a->len += len;
    a->body[a->len] = '\0';
    return len;
}

/* Retry-After as delta-seconds (RFC 9110 §10.2.3); an HTTP-date or junk
 * counts as absent. A new status line starts a new answer. */
static size_t devid_dps_on_header(char *data, size_t size, size_t n,
                                  void *arg)
{
    static const char name[] = "retry-after:";
    struct devid_dps_answer *a = arg;
    size_t len = size * n;
    char value[32];
    char *v;
    size_t vlen;
    long secs;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        a->retry_after = -1;
    }
    if (len <= sizeof(name) - 1 || len - (sizeof(name) - 1) >= sizeof(value)
        || strncasecmp(data, name, sizeof(name) - 1) != 0) {
        return len;
    }
    memcpy(value, data + sizeof(name) - 1, len - (sizeof(name) - 1));
    value[len - (sizeof(name) - 1)] = '\0';
    /* RFC 9110 §10.2.3: delay-seconds, between optional blanks and CRLF */
    v = value + strspn(value, " \t");
    vlen = strcspn(v, " \t\r\n");
    if (strspn(v + vlen, " \t\r\n") != strlen(v + vlen)) {
        return len;
    }
    v[vlen] = '\0';
    if (devid_parse_long(v, 0, LONG_MAX, &secs)) {
        a->retry_after = secs;
    }
    return len;
}

/* Puts the onboarding certificate, its intermediates and the resident key
 * into curl's SSL_CTX (DPS-PROTOCOL.md §3: every certificate from the leaf
 * up to the enrolled CA goes in TLS). */
static CURLcode devid_dps_on_ssl_ctx(CURL *curl, void *sslctx, void *arg)
{
    struct devid_dps_session *s = arg;
    const struct devid_dps_request *req = s->req;
    SSL_CTX *ctx = sslctx;
    int i;

    (void)curl;
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        || !SSL_CTX_use_certificate(ctx, sk_X509_value(req->auth_chain, 0))) {
        goto err;
    }
    for (i = 1; i < sk_X509_num(req->auth_chain); i++) {
        if (!SSL_CTX_add1_chain_cert(ctx, sk_X509_value(req->auth_chain, i))) {
            goto err;
        }
    }
    /* checks that the key is the certificate's: a public-key comparison */
    if (!SSL_CTX_use_PrivateKey(ctx, req->auth_key)) {
        goto err;
    }
    return CURLE_OK;
err:
    s->ctx_failed = 1;
    return CURLE_SSL_CERTPROBLEM;
}

/* ---- HTTP ------------------------------------------------------------ */

/* Options that stay the same for every request of the registration. */
static int devid_dps_session_open(struct devid_dps_session *s)
{
    CURL *c = curl_easy_init();
    int ok;

    s->curl = c;
    s->put_headers = curl_slist_append(NULL, "Accept: application/json");
    s->put_headers = curl_slist_append(s->put_headers, "Expect:");
    s->get_headers = curl_slist_append(NULL, "Accept: application/json");
    s->put_headers = curl_slist_append(
        s->put_headers, "Content-Type: application/json; charset=utf-8");
    if (c == NULL || s->put_headers == NULL || s->get_headers == NULL) {
        return 0;
    }
    ok = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf) == CURLE_OK
#if LIBCURL_VERSION_NUM >= 0x075500
         && curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK
#endif
         && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_USERAGENT, "devid/" PACKAGE_VERSION)
                == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_SSLVERSION,
                             (long)CURL_SSLVERSION_TLSv1_2)
                == CURLE_OK
         /* the server is always verified, against trust_file only: curl's
          * built-in CA path would add the system roots */
         && curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_CAINFO, s->req->trust_file) == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_CAPATH, NULL) == CURLE_OK
         /* a resumed session may not carry our chain to the server, which
          * needs it to find the enrollment group (§3) */
         && curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L) == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, devid_dps_on_ssl_ctx)
                == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, s) == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, devid_dps_on_body)
                == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_WRITEDATA, &s->ans) == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, devid_dps_on_header)
                == CURLE_OK
         && curl_easy_setopt(c, CURLOPT_HEADERDATA, &s->ans) == CURLE_OK;
    return ok;
}

static void devid_dps_session_close(struct devid_dps_session *s)
{
    curl_easy_cleanup(s->curl);
    curl_slist_free_all(s->put_headers);
    curl_slist_free_all(s->get_headers);
    free(s->ans.body);
}

/* --verbose trace of a request or answer body: JSON of DPS holds no
 * secret, but a hostile server's bytes are not sent raw to the terminal. */
static void devid_dps_trace(struct devid_dps_session *s, const char *what,
                            const char *data, size_t len)
{
    char buf[DEVID_DPS_TRACE_MAX + 1];
    size_t n = len < DEVID_DPS_TRACE_MAX ? len : DEVID_DPS_TRACE_MAX;
    size_t i;

    if (!s->t->verbose || data == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];

        buf[i] = c < 0x20 || c == 0x7f ? '.' : (char)c;
    }
    buf[n] = '\0';
    devid_tool_progress(s->t, "%s %s%s", what, buf, n < len ? "..." : "");
}

/* The message of a failed transfer, and the exit code it maps to. */
static int devid_dps_transport_fail(struct devid_dps_session *s, CURLcode cc,
                                    const char *what)
{
    const char *why = s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(cc);

    if (s->ctx_failed) {
        return devid_tool_fail(s->t, DEVID_EXIT_KEY, "cannot use the "
                               "onboarding key and certificate in TLS");
    }
    if (s->ans.too_big) {
        return devid_tool_fail(s->t, DEVID_EXIT_NETWORK, "malformed DPS "
                               "answer: %s body over %d bytes from %s", what,
                               DEVID_DPS_MAX_BODY, s->endpoint);
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        return devid_tool_fail(s->t, DEVID_EXIT_TIMEOUT, "timed out after "
                               "%ld s waiting for DPS at %s to answer the %s",
                               s->timeout_s, s->endpoint, what);
    }
    if (cc == CURLE_SSL_CACERT_BADFILE) {
        return devid_tool_fail(s->t, DEVID_EXIT_CONFIG, "cannot use the DPS "
                               "trust file %s: %s", s->req->trust_file, why);
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION) {
        ERR_clear_error();      /* curl's teardown leftovers, not the cause */
        return devid_tool_fail(s->t, DEVID_EXIT_NETWORK, "the DPS server %s "
                               "is not trusted (trust file %s): %s; nothing "
                               "was sent", s->endpoint, s->req->trust_file,
                               why);
    }
    return devid_tool_fail(s->t, DEVID_EXIT_NETWORK, "%s with DPS at %s "
                           "failed: %s", what, s->endpoint, why);
}

/* A connection dropped before any answer: worth another try. */
static int devid_dps_dropped(CURLcode cc)
{
    return cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR
           || cc == CURLE_SEND_ERROR || cc == CURLE_PARTIAL_FILE;
}

/* One request; s->ans holds the answer. Returns DEVID_EXIT_OK when an HTTP
 * answer came or when the connection dropped before one (s->ans.dropped
 * set, not reported: worth another try), or the exit code of a transport
 * failure (reported). */
static int devid_dps_perform(struct devid_dps_session *s, const char *what,
                             const char *url, const char *body)
{
    long left = devid_dps_left_ms(s);
    CURLcode cc;

    free(s->ans.body);
    memset(&s->ans, 0, sizeof(s->ans));
    s->ans.retry_after = -1;
    s->errbuf[0] = '\0';
    s->ctx_failed = 0;
    if (left < 1) {
        left = 1;
    }
    devid_dps_trace(s, body != NULL ? "> PUT" : "> GET", url, strlen(url));
    devid_dps_trace(s, ">", body, body != NULL ? strlen(body) : 0);
    if (curl_easy_setopt(s->curl, CURLOPT_URL, url) != CURLE_OK
        || curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, left) != CURLE_OK
        || curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, left)
               != CURLE_OK
        || (body != NULL
                ? curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, "PUT")
                          != CURLE_OK
                      || curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body)
                             != CURLE_OK
                      || curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER,
                                          s->put_headers) != CURLE_OK
                : curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L) != CURLE_OK
                      || curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST,
                                          NULL) != CURLE_OK
                      || curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER,
                                          s->get_headers) != CURLE_OK)) {
        return devid_tool_fail(s->t, DEVID_EXIT_NETWORK, "libcurl refused an "
                               "option");
    }
    cc = curl_easy_perform(s->curl);
    if (cc != CURLE_OK) {
        if (devid_dps_dropped(cc) && !s->ans.too_big) {
            s->ans.dropped = 1;
            return DEVID_EXIT_OK;
        }
        return devid_dps_transport_fail(s, cc, what);
    }
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->ans.status);
    if (s->t->verbose) {
        devid_tool_progress(s->t, "< HTTP %ld (%s)", s->ans.status, what);
    }
    devid_dps_trace(s, "<", s->ans.body, s->ans.len);
    return DEVID_EXIT_OK;
}

/* Exponential backoff with jitter, never shorter than a sane Retry-After
 * (DPS-PROTOCOL.md §1.7, §1.8). */
static long devid_dps_backoff_ms(struct devid_dps_session *s)
{
    unsigned int shift = s->attempt > 6 ? 5 : s->attempt - 1;
    long ms = 1000L << shift;
    long ra = s->ans.retry_after;

    if (ms > DEVID_DPS_BACKOFF_MAX_MS) {
        ms = DEVID_DPS_BACKOFF_MAX_MS;
    }
    ms += devid_dps_jitter_ms(s, ms / 4);
    if (ra >= 1 && ra <= DEVID_DPS_POLL_MAX && ra * 1000 > ms) {
        ms = ra * 1000;
    }
    return ms;
}

/* Waits ms before the next try, or reports the timeout when the wait would
 * end past the deadline. why names what DPS said last. */
static int devid_dps_wait(struct devid_dps_session *s, long ms,
                          const char *waiting_for, const char *why)
{
    if (ms > devid_dps_left_ms(s)) {
        return devid_tool_fail(s->t, DEVID_EXIT_TIMEOUT, "timed out waiting "
                               "for DPS at %s to %s: the next try, in %ld.%ld "
                               "s, would pass the %ld s timeout (last answer:"
                               " %s)", s->endpoint, waiting_for, ms / 1000,
                               ms % 1000 / 100, s->timeout_s, why);
    }
    devid_sleep_ms(ms);
    return DEVID_EXIT_OK;
}

/* One step (the register PUT or a poll GET), retried while DPS throttles
 * (429), fails on its side (5xx) or drops the connection. Returns OK with
 * a final answer in s->ans, or a reported exit code. */
static int devid_dps_step(struct devid_dps_session *s, const char *what,
                          const char *waiting_for, const char *url,
                          const char *body)
{
    char what_happened[64];
    char why[64];
    long ms;
    int rc;

    for (s->attempt = 1;; s->attempt++) {
        rc = devid_dps_perform(s, what, url, body);
        if (rc != DEVID_EXIT_OK) {
            return rc;
        }
        if (!s->ans.dropped && s->ans.status != 429 && s->ans.status < 500) {
            return DEVID_EXIT_OK;
        }
        ms = devid_dps_backoff_ms(s);
        if (s->ans.dropped) {
            snprintf(why, sizeof(why), "connection closed without an answer");
            snprintf(what_happened, sizeof(what_happened),
                     "DPS closed the connection without an answer");
        } else if (s->ans.status == 429) {
            snprintf(why, sizeof(why), "HTTP 429, throttled");
            snprintf(what_happened, sizeof(what_happened),
                     "DPS throttled (429)");
        } else {
            snprintf(why, sizeof(why), "HTTP %ld", s->ans.status);
            snprintf(what_happened, sizeof(what_happened),
                     "DPS failed (HTTP %ld)", s->ans.status);
        }
        if (ms % 1000 == 0) {
            devid_tool_progress(s->t, "%s, retrying in %ld s", what_happened,
                                ms / 1000);
        } else {
            devid_tool_progress(s->t, "%s, retrying in %ld.%ld s",
                                what_happened, ms / 1000, ms % 1000 / 100);
        }
        rc = devid_dps_wait(s, ms, waiting_for, why);
        if (rc != DEVID_EXIT_OK) {
            return rc;
        }
    }
}

/* ---- answers --------------------------------------------------------- */

/* A 4xx: DPS's ProvisioningServiceErrorDetails (§1.7) in the message. */
static int devid_dps_refused(struct devid_dps_session *s,
                             struct devid_dps_result *res)
{
    char err[128];
    json_object *root = NULL;
    char *tid = NULL;

    if (s->ans.len > 0) {
        root = devid_dps_json_parse(s->ans.body, s->ans.len, err, sizeof(err));
    }
    free(res->error_message);
    devid_dps_json_error(root, &res->error_code, &res->error_message, &tid);
    if ((res->error_message != NULL
         && devid_text_has_control(res->error_message))
        || (tid != NULL && devid_text_has_control(tid))) {
        /* a refusal still, but not one to quote (issue 14, item 2) */
        devid_tool_fail(s->t, DEVID_EXIT_NETWORK,
                        "malformed DPS answer: "
                        "%s holds control characters (HTTP %ld from %s)",
                        tid != NULL && devid_text_has_control(tid)
                            ? "trackingId"
                            : "message",
                        s->ans.status, s->endpoint);
        free(tid);
        json_object_put(root);
        return DEVID_EXIT_NETWORK;
    }
    if (res->error_code == 0 && res->error_message == NULL) {
        devid_tool_fail(s->t, DEVID_EXIT_REFUSED, "DPS refused the "
                        "registration of %s: HTTP %ld, no error details",
                        s->req->registration_id, s->ans.status);
    } else {
        devid_tool_fail(s->t, DEVID_EXIT_REFUSED, "DPS refused the "
                        "registration of %s: %ld %s (HTTP %ld%s%s)",
                        s->req->registration_id, res->error_code,
                        res->error_message != NULL ? res->error_message : "",
                        s->ans.status, tid != NULL ? ", trackingId " : "",
                        tid != NULL ? tid : "");
    }
    free(tid);
    json_object_put(root);
    return DEVID_EXIT_REFUSED;
}

/* The issued chain must be for the key of our CSR and in order, leaf
 * first, each certificate issued by the next (§1.6). */
static int devid_dps_check_chain(struct devid_dps_session *s,
                                 struct devid_dps_result *res)
{
    const unsigned char *p = s->req->csr_der;
    X509_REQ *csr = d2i_X509_REQ(NULL, &p, (long)s->req->csr_len);
    STACK_OF(X509) *chain = res->issued_chain;
    EVP_PKEY *want = csr != NULL ? X509_REQ_get0_pubkey(csr) : NULL;
    int i;
    int rc = DEVID_EXIT_CERT;

    if (chain == NULL || sk_X509_num(chain) == 0) {
        devid_tool_fail(s->t, DEVID_EXIT_CERT, "DPS assigned %s but issued "
                        "no certificate for the CSR", s->req->registration_id);
        goto end;
    }
    if (want == NULL
        || EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(chain, 0)), want) != 1) {
        devid_tool_fail(s->t, DEVID_EXIT_CERT, "the issued certificate is not "
                        "for our key: its public key differs from the CSR's");
        goto end;
    }
    for (i = 0; i + 1 < sk_X509_num(chain); i++) {
        if (X509_check_issued(sk_X509_value(chain, i + 1),
                              sk_X509_value(chain, i)) != X509_V_OK) {
            devid_tool_fail(s->t, DEVID_EXIT_CERT, "the issued chain is out "
                            "of order: element %d did not issue element %d",
                            i + 1, i);
            goto end;
        }
    }
    rc = DEVID_EXIT_OK;
end:
    if (rc != DEVID_EXIT_OK) {
        sk_X509_pop_free(res->issued_chain, X509_free);
        res->issued_chain = NULL;   /* nobody may install it */
    }
    X509_REQ_free(csr);
    ERR_clear_error();
    return rc;
}

/* A terminal operation status (§1.6, §1.7). */
static int devid_dps_terminal(struct devid_dps_session *s,
                              struct devid_dps_result *res)
{
    char detail[512] = "";
    int n = 0;

    if (strcmp(res->status, "assigned") != 0) {
        if (res->error_code != 0) {
            n = snprintf(detail, sizeof(detail), " %ld", res->error_code);
        }
        if (res->error_message != NULL) {
            snprintf(detail + n, sizeof(detail) - (size_t)n, " %s",
                     res->error_message);
        }
        return devid_tool_fail(s->t, DEVID_EXIT_REFUSED, "DPS registration of "
                               "%s ended with status '%s'%s%s",
                               s->req->registration_id, res->status,
                               detail[0] != '\0' ? ":" : "", detail);
    }
    if (res->assigned_hub == NULL || res->device_id == NULL) {
        return devid_tool_fail(s->t, DEVID_EXIT_NETWORK, "malformed DPS "
                               "answer: status assigned without "
                               "registrationState.assignedHub and deviceId");
    }
    if (s->req->csr_der != NULL) {
        return devid_dps_check_chain(s, res);
    }
    return DEVID_EXIT_OK;
}

/* Both transports end here: only t and req of the session are used. */
int devid_dps_finish(struct devid_tool *t, const struct devid_dps_request *req,
                     struct devid_dps_result *res)
{
    struct devid_dps_session s;

    memset(&s, 0, sizeof(s));
    s.t = t;
    s.req = req;
    return devid_dps_terminal(&s, res);
}

int devid_dps_status_terminal(const char *status)
{
    /* "blacklisted": the C SDK's name of old for "disabled" */
    return strcmp(status, "assigned") == 0 || strcmp(status, "failed") == 0
           || strcmp(status, "disabled") == 0
           || strcmp(status, "blacklisted") == 0;
}

/* ---- the registration ------------------------------------------------ */

/* https://{endpoint}/{idScope}/registrations/{registrationId}/{tail}
 * {tail_id}?api-version={V}, every variable part URL-encoded (§1.2). */
static char *devid_dps_url(struct devid_dps_session *s, const char *tail,
                           const char *tail_id)
{
    char *scope = curl_easy_escape(s->curl, s->req->id_scope, 0);
    char *reg = curl_easy_escape(s->curl, s->req->registration_id, 0);
    char *id = curl_easy_escape(s->curl, tail_id != NULL ? tail_id : "", 0);
    char *api = curl_easy_escape(s->curl, s->api, 0);
    char *url = NULL;
    size_t len;

    if (scope == NULL || reg == NULL || id == NULL || api == NULL) {
        goto end;
    }
    len = strlen(s->endpoint) + strlen(scope) + strlen(reg) + strlen(tail)
          + strlen(id) + strlen(api) + 64;
    url = malloc(len);
    if (url != NULL) {
        snprintf(url, len, "https://%s/%s/registrations/%s/%s%s?api-version=%s",
                 s->endpoint, scope, reg, tail, id, api);
    }
end:
    curl_free(scope);
    curl_free(reg);
    curl_free(id);
    curl_free(api);
    return url;
}

/* Reads a 200/202 answer into res; the exit code of a malformed one. */
static int devid_dps_read(struct devid_dps_session *s,
                          struct devid_dps_result *res)
{
    char err[160];
    json_object *root;
    int rc;

    if (s->ans.status != 200 && s->ans.status != 202) {
        if (s->ans.status >= 400) {
            return devid_dps_refused(s, res);
        }
        return devid_tool_fail(s->t, DEVID_EXIT_NETWORK, "unexpected HTTP %ld "
                               "from DPS at %s", s->ans.status, s->endpoint);
    }
    root = devid_dps_json_parse(s->ans.body, s->ans.len, err, sizeof(err));
    rc = root != NULL ? devid_dps_json_operation(root, res, err, sizeof(err))
                      : DEVID_EXIT_NETWORK;
    json_object_put(root);
    if (rc != DEVID_EXIT_OK) {
        return devid_tool_fail(s->t, rc, "%s DPS answer: %s (HTTP %ld from "
                               "%s)", rc == DEVID_EXIT_CERT
                                          ? "unusable certificate in the"
                                          : "malformed", err, s->ans.status,
                               s->endpoint);
    }
    return DEVID_EXIT_OK;
}

/* Polls the operation until it ends (202/assigning -> wait Retry-After). */
static int devid_dps_poll(struct devid_dps_session *s,
                          struct devid_dps_result *res)
{
    char waiting_for[160];
    char why[64];
    char *url = NULL;
    long ra;
    int rc;

    for (;;) {
        rc = devid_dps_read(s, res);
        if (rc != DEVID_EXIT_OK || devid_dps_status_terminal(res->status)) {
            break;
        }
        if (res->operation_id == NULL) {
            rc = devid_tool_fail(s->t, DEVID_EXIT_NETWORK, "malformed DPS "
                                 "answer: status '%s' without operationId",
                                 res->status);
            break;
        }
        /* C SDK rule (§1.8): a missing, < 1 or > 300 s Retry-After is 1 s */
        ra = s->ans.retry_after;
        if (ra < 1 || ra > DEVID_DPS_POLL_MAX) {
            ra = DEVID_DPS_POLL_DEFAULT;
        }
        devid_tool_progress(s->t, "DPS is %s, next poll in %ld s", res->status,
                            ra);
        snprintf(waiting_for, sizeof(waiting_for), "finish assigning %s",
                 s->req->registration_id);
        snprintf(why, sizeof(why), "HTTP %ld, %s", s->ans.status, res->status);
        rc = devid_dps_wait(s, ra * 1000, waiting_for, why);
        if (rc != DEVID_EXIT_OK) {
            break;
        }
        if (url == NULL) {
            url = devid_dps_url(s, "operations/", res->operation_id);
        }
        rc = url != NULL ? devid_dps_step(s, "operation status request",
                                          waiting_for, url, NULL)
                         : devid_tool_fail(s->t, DEVID_EXIT_NETWORK,
                                           "out of memory");
        if (rc != DEVID_EXIT_OK) {
            break;
        }
    }
    free(url);
    return rc == DEVID_EXIT_OK ? devid_dps_terminal(s, res) : rc;
}

/* What a request must hold before anything goes on the wire. */
static int devid_dps_check_request(struct devid_tool *t,
                                   const struct devid_dps_request *req,
                                   const char *api)
{
    if (req->id_scope == NULL || req->registration_id == NULL
        || req->auth_key == NULL || req->auth_chain == NULL
        || sk_X509_num(req->auth_chain) == 0 || req->trust_file == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "DPS registration needs "
                               "an ID scope, a registration ID, the onboarding"
                               " key and certificate and a DPS trust file");
    }
    if (req->endpoint != NULL
        && (req->endpoint[0] == '\0'
            || strcspn(req->endpoint, "/?#@ \t\r\n") != strlen(req->endpoint))) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "the DPS endpoint must be"
                               " HOST[:PORT], not '%s'", req->endpoint);
    }
    if (req->csr_der != NULL && devid_dps_json_csr_field(api) == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "api-version %s cannot "
                               "carry a CSR (use %s or later, or %s)", api,
                               DEVID_DPS_API_CSR, DEVID_DPS_API_LEGACY);
    }
    return DEVID_EXIT_OK;
}

int devid_dps_register(struct devid_tool *t, const struct devid_dps_request *req,
                       struct devid_dps_result *res)
{
    struct devid_dps_session s;
    struct timespec now;
    char waiting_for[160];
    char *url = NULL;
    char *body = NULL;
    int rc;

    memset(&s, 0, sizeof(s));
    s.t = t;
    s.req = req;
    s.api = req->api_version != NULL ? req->api_version
            : req->csr_der != NULL   ? DEVID_DPS_API_CSR
                                     : DEVID_DPS_API_PLAIN;
    s.endpoint = req->endpoint != NULL ? req->endpoint
                                       : DEVID_DPS_DEFAULT_ENDPOINT;
    s.timeout_s = req->timeout_s > 0 ? req->timeout_s
                                     : DEVID_DPS_DEFAULT_TIMEOUT;
    rc = devid_dps_check_request(t, req, s.api);
    if (rc != DEVID_EXIT_OK) {
        return rc;
    }
    if ((req->transport != DEVID_DPS_TRANSPORT_DEFAULT ? req->transport
                                                       : t->set.dps_transport)
        == DEVID_DPS_TRANSPORT_MQTT) {
        return devid_dps_mqtt_register(t, req, s.api, s.timeout_s, res);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    s.deadline = now;
    s.deadline.tv_sec += s.timeout_s;
    s.rng = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)getpid() ^ 0x9e3779b9u;
    /* after devid_tool_crypto_init: OpenSSL is already set up without the
     * system openssl.cnf, and curl's init does not change that */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return devid_tool_fail(t, DEVID_EXIT_NETWORK, "cannot start libcurl");
    }
    rc = DEVID_EXIT_NETWORK;
    if (!devid_dps_session_open(&s)) {
        devid_tool_fail(t, rc, "cannot set up libcurl for HTTPS with a client "
                        "key (libcurl built without OpenSSL?)");
        goto end;
    }
    url = devid_dps_url(&s, "register", NULL);
    body = devid_dps_json_request(req->registration_id, req->csr_der,
                                  req->csr_len,
                                  devid_dps_json_csr_field(s.api),
                                  req->payload);
    if (url == NULL || body == NULL) {
        devid_tool_fail(t, rc, "out of memory");
        goto end;
    }
    devid_tool_progress(t, "registering %s with %s (api-version %s)%s",
                        req->registration_id, s.endpoint, s.api,
                        req->csr_der != NULL ? ", sending a CSR" : "");
    snprintf(waiting_for, sizeof(waiting_for), "accept the registration of "
             "%s", req->registration_id);
    rc = devid_dps_step(&s, "registration request", waiting_for, url, body);
    if (rc == DEVID_EXIT_OK) {
        rc = devid_dps_poll(&s, res);
    }
end:
    free(url);
    free(body);
    devid_dps_session_close(&s);
    curl_global_cleanup();
    return rc;
}

void devid_dps_result_clear(struct devid_dps_result *res)
{
    if (res == NULL) {
        return;
    }
    free(res->status);
    free(res->substatus);
    free(res->assigned_hub);
    free(res->device_id);
    free(res->operation_id);
    free(res->error_message);
    sk_X509_pop_free(res->issued_chain, X509_free);
    sk_X509_pop_free(res->trust_bundle, X509_free);
    free(res->trust_bundle_etag);
    memset(res, 0, sizeof(*res));
}
