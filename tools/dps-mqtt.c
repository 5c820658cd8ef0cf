/* SPDX-License-Identifier: Apache-2.0 */
/* DPS device client over MQTT (DPS-PROTOCOL.md §2): the registration of
 * dps-client.c (the same body, answers, retries, overall timeout and exit
 * codes) carried by libmosquitto instead of libcurl:
 *   CONNECT   client id {registrationId}, user name
 *             {idScope}/registrations/{registrationId}/api-version={V}
 *             &ClientVersion=devid%2F{version}, no password
 *   SUBSCRIBE $dps/registrations/res/#
 *   PUBLISH   $dps/registrations/PUT/iotdps-register/?$rid={n}, then
 *             $dps/registrations/GET/iotdps-get-operationstatus/
 *             ?$rid={n}&operationId={id}
 *   answers   $dps/registrations/res/{status}/?$rid={n}[&retry-after={s}]
 * Variable parts of the user name and topics are URL-encoded, as the HTTPS
 * client encodes its path. The TLS client key is the resident onboarding
 * key in an SSL_CTX handed to libmosquitto (MOSQ_OPT_SSL_CTX): it never
 * leaves its token or TPM, and the server is verified against the trust
 * file only, host name included. */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tools/dps-client.h"
#include "tools/dps-json.h"

#define DEVID_MQTT_PORT 8883      /* DPS's MQTT port (§2) */
#define DEVID_MQTT_KEEPALIVE 60   /* s */
#define DEVID_MQTT_POLL_DEFAULT 1 /* s, as over HTTPS (§1.8) */
#define DEVID_MQTT_POLL_MAX 300   /* s */
#define DEVID_MQTT_BACKOFF_MAX_MS 32000
#define DEVID_MQTT_TRACE_MAX 2048
#define DEVID_MQTT_RES "$dps/registrations/res/"

/* What the libmosquitto callbacks saw. */
struct devid_mqtt_state {
    int connack;      /* -1 until CONNACK, then its code */
    int suback;       /* -1 until SUBACK, then the granted QoS */
    int lost;         /* the connection is gone */
    int answered;     /* the answer to rid arrived */
    long status;      /* its status, from the topic */
    long retry_after; /* its retry-after, -1 when absent */
    char *body;
    size_t len;
    int malformed; /* a res/ topic that does not parse */
    int too_big;
};

/* Everything one registration needs. */
struct devid_mqtt {
    struct devid_tool *t;
    const struct devid_dps_request *req;
    const char *api;
    const char *endpoint; /* as given, for messages */
    char host[256];
    int port;
    char *user;
    SSL_CTX *ctx;
    struct mosquitto *mosq;
    struct devid_mqtt_state st;
    unsigned long rid;        /* of the request in flight */
    char verify_err[160];     /* why the server certificate was refused */
    int conn_errno;           /* why the TCP connection failed, or 0 */
    struct timespec deadline; /* CLOCK_MONOTONIC */
    long timeout_s;
    unsigned int attempt;
    uint64_t rng; /* jitter only: not a secret */
};

/* ---- time (as dps-client.c) ------------------------------------------ */

static long devid_mqtt_left_ms(const struct devid_mqtt *m)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(m->deadline.tv_sec - now.tv_sec) * 1000
           + (m->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

/* Exponential backoff with jitter, never shorter than a sane retry-after
 * (§1.7, §1.8): the HTTPS client's rule. */
static long devid_mqtt_backoff_ms(struct devid_mqtt *m, long retry_after)
{
    unsigned int shift = m->attempt > 6 ? 5 : m->attempt - 1;
    long ms = 1000L << shift;

    if (ms > DEVID_MQTT_BACKOFF_MAX_MS) {
        ms = DEVID_MQTT_BACKOFF_MAX_MS;
    }
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    ms += (long)(m->rng % (uint64_t)(ms / 4 + 1));
    if (retry_after >= 1 && retry_after <= DEVID_MQTT_POLL_MAX
        && retry_after * 1000 > ms) {
        ms = retry_after * 1000;
    }
    return ms;
}

/* Waits ms, or reports the timeout when the wait would pass the deadline. */
static int devid_mqtt_wait(struct devid_mqtt *m, long ms,
                           const char *waiting_for, const char *why)
{
    if (ms > devid_mqtt_left_ms(m)) {
        return devid_tool_fail(m->t, DEVID_EXIT_TIMEOUT,
                               "timed out waiting "
                               "for DPS at %s to %s: the next try, in %ld.%ld "
                               "s, would pass the %ld s timeout (last answer:"
                               " %s)",
                               m->endpoint, waiting_for, ms / 1000,
                               ms % 1000 / 100, m->timeout_s, why);
    }
    devid_sleep_ms(ms);
    return DEVID_EXIT_OK;
}

/* ---- names ------------------------------------------------------------ */

/* Percent-encoding of everything but RFC 3986 unreserved characters; the
 * caller frees the result with free(). */
static char *devid_mqtt_escape(const char *in)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(in) + 1);
    char *o = out;
    const unsigned char *p;

    if (out == NULL) {
        return NULL;
    }
    for (p = (const unsigned char *)in; *p != '\0'; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
            || (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* HOST[:PORT] or [V6]:PORT of the endpoint; DPS's MQTT port by default. */
static int devid_mqtt_endpoint(struct devid_mqtt *m)
{
    const char *e = m->endpoint;
    const char *colon = NULL;
    size_t hl;
    long port = DEVID_MQTT_PORT;

    if (e[0] == '[') {
        hl = strcspn(e + 1, "]");
        colon = e[hl + 1] == ']' && e[hl + 2] == ':' ? e + hl + 2 : NULL;
        if (e[hl + 1] != ']' || (e[hl + 2] != '\0' && colon == NULL)) {
            return 0;
        }
        e++;
    } else {
        colon = strchr(e, ':');
        hl = colon != NULL ? (size_t)(colon - e) : strlen(e);
    }
    if (hl == 0 || hl >= sizeof(m->host)
        || (colon != NULL && !devid_parse_long(colon + 1, 1, 65535, &port))) {
        return 0;
    }
    memcpy(m->host, e, hl);
    m->host[hl] = '\0';
    m->port = (int)port;
    return 1;
}

/* {scope}/registrations/{id}/api-version={V}&ClientVersion={agent}. */
static int devid_mqtt_username(struct devid_mqtt *m)
{
    char *scope = devid_mqtt_escape(m->req->id_scope);
    char *reg = devid_mqtt_escape(m->req->registration_id);
    char *api = devid_mqtt_escape(m->api);
    char *agent = devid_mqtt_escape("devid/" PACKAGE_VERSION);
    size_t len;

    if (scope != NULL && reg != NULL && api != NULL && agent != NULL) {
        len = strlen(scope) + strlen(reg) + strlen(api) + strlen(agent) + 64;
        m->user = malloc(len);
        if (m->user != NULL) {
            snprintf(m->user, len,
                     "%s/registrations/%s/api-version=%s&ClientVersion=%s",
                     scope, reg, api, agent);
        }
    }
    free(scope);
    free(reg);
    free(api);
    free(agent);
    return m->user != NULL;
}

/* ---- TLS ---------------------------------------------------------------- */

/* Keeps why OpenSSL refused the server's certificate, for the message. */
static int devid_mqtt_verify_cb(int ok, X509_STORE_CTX *x)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(x,
                                          SSL_get_ex_data_X509_STORE_CTX_idx());
    struct devid_mqtt *m = ssl != NULL
                               ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))
                               : NULL;

    if (!ok && m != NULL && m->verify_err[0] == '\0') {
        snprintf(m->verify_err, sizeof(m->verify_err), "%s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(x)));
    }
    return ok;
}

/* The TLS client: TLS 1.2+, the onboarding chain and resident key (§3:
 * every certificate up to the enrolled CA goes in TLS), the server checked
 * against the trust file and the endpoint's host name or address. */
static int devid_mqtt_tls(struct devid_mqtt *m)
{
    const struct devid_dps_request *req = m->req;
    X509_VERIFY_PARAM *param;
    unsigned char addr[16];
    int is_ip;
    int i;

    m->ctx = SSL_CTX_new(TLS_client_method());
    if (m->ctx == NULL
        || !SSL_CTX_set_min_proto_version(m->ctx, TLS1_2_VERSION)) {
        return devid_tool_fail(m->t, DEVID_EXIT_NETWORK, "cannot set up TLS");
    }
    SSL_CTX_set_app_data(m->ctx, m);
    if (SSL_CTX_load_verify_locations(m->ctx, req->trust_file, NULL) != 1) {
        return devid_tool_fail(m->t, DEVID_EXIT_CONFIG,
                               "cannot use the DPS "
                               "trust file %s",
                               req->trust_file);
    }
    SSL_CTX_set_verify(m->ctx, SSL_VERIFY_PEER, devid_mqtt_verify_cb);
    param = SSL_CTX_get0_param(m->ctx);
    is_ip = inet_pton(AF_INET, m->host, addr) == 1
            || inet_pton(AF_INET6, m->host, addr) == 1;
    if (!(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, m->host)
                : X509_VERIFY_PARAM_set1_host(param, m->host, 0))) {
        return devid_tool_fail(m->t, DEVID_EXIT_CONFIG,
                               "cannot check the DPS "
                               "server name %s",
                               m->host);
    }
    if (!SSL_CTX_use_certificate(m->ctx, sk_X509_value(req->auth_chain, 0))) {
        goto key;
    }
    for (i = 1; i < sk_X509_num(req->auth_chain); i++) {
        if (!SSL_CTX_add1_chain_cert(m->ctx,
                                     sk_X509_value(req->auth_chain, i))) {
            goto key;
        }
    }
    /* checks that the key is the certificate's: a public-key comparison */
    if (SSL_CTX_use_PrivateKey(m->ctx, req->auth_key) == 1) {
        return DEVID_EXIT_OK;
    }
key:
    return devid_tool_fail(m->t, DEVID_EXIT_KEY,
                           "cannot use the onboarding "
                           "key and certificate in TLS");
}

/* ---- libmosquitto callbacks ------------------------------------------- */

static void devid_mqtt_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct devid_mqtt *m = obj;

    (void)mosq;
    m->st.connack = rc;
}

static void devid_mqtt_on_subscribe(struct mosquitto *mosq, void *obj, int mid,
                                    int n, const int *granted)
{
    struct devid_mqtt *m = obj;

    (void)mosq;
    (void)mid;
    m->st.suback = n > 0 ? granted[0] : 0x80;
}

static void devid_mqtt_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct devid_mqtt *m = obj;

    (void)mosq;
    (void)rc;
    m->st.lost = 1;
}

/* The value of name in a topic's query, as a new string, or NULL. */
static char *devid_mqtt_param(const char *query, const char *name)
{
    size_t nl = strlen(name);
    const char *p = query;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            return strndup(p + nl + 1, strcspn(p + nl + 1, "&"));
        }
        p = strchr(p, '&');
        p = p != NULL ? p + 1 : NULL;
    }
    return NULL;
}

/* $dps/registrations/res/{status}/?$rid={n}[&retry-after={s}]: an answer
 * to another $rid (late, duplicate) is ignored (§7.3). */
static void devid_mqtt_on_message(struct mosquitto *mosq, void *obj,
                                  const struct mosquitto_message *msg)
{
    struct devid_mqtt *m = obj;
    const char *t = msg->topic;
    char *status = NULL;
    char *rid = NULL;
    char *ra = NULL;
    long v;
    size_t n;

    (void)mosq;
    if (strncmp(t, DEVID_MQTT_RES, strlen(DEVID_MQTT_RES)) != 0) {
        return;
    }
    t += strlen(DEVID_MQTT_RES);
    n = strcspn(t, "/");
    status = strndup(t, n);
    rid = strncmp(t + n, "/?", 2) == 0 ? devid_mqtt_param(t + n + 2, "$rid")
                                       : NULL;
    if (status == NULL || rid == NULL
        || !devid_parse_long(status, 100, 999, &v)) {
        m->st.malformed = 1;
        goto end;
    }
    if (!devid_parse_long(rid, 0, LONG_MAX, &v) || (unsigned long)v != m->rid
        || m->st.answered) {
        goto end;
    }
    m->st.answered = 1;
    devid_parse_long(status, 100, 999, &m->st.status);
    ra = devid_mqtt_param(t + n + 2, "retry-after");
    if (ra == NULL || !devid_parse_long(ra, 0, LONG_MAX, &m->st.retry_after)) {
        m->st.retry_after = -1;
    }
    if (msg->payloadlen < 0 || (size_t)msg->payloadlen > DEVID_DPS_MAX_BODY) {
        m->st.too_big = 1;
        goto end;
    }
    m->st.body = malloc((size_t)msg->payloadlen + 1);
    if (m->st.body != NULL) {
        memcpy(m->st.body, msg->payload, (size_t)msg->payloadlen);
        m->st.body[msg->payloadlen] = '\0';
        m->st.len = (size_t)msg->payloadlen;
    }
end:
    free(status);
    free(rid);
    free(ra);
}

/* ---- the connection ----------------------------------------------------- */

/* --verbose trace, sanitised for the terminal (as over HTTPS). */
static void devid_mqtt_trace(struct devid_mqtt *m, const char *what,
                             const char *data, size_t len)
{
    char buf[DEVID_MQTT_TRACE_MAX + 1];
    size_t n = len < DEVID_MQTT_TRACE_MAX ? len : DEVID_MQTT_TRACE_MAX;
    size_t i;

    if (!m->t->verbose || data == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];

        buf[i] = c < 0x20 || c == 0x7f ? '.' : (char)c;
    }
    buf[n] = '\0';
    devid_tool_progress(m->t, "%s %s%s", what, buf, n < len ? "..." : "");
}

static void devid_mqtt_drop(struct devid_mqtt *m)
{
    if (m->mosq != NULL) {
        mosquitto_disconnect(m->mosq);
        mosquitto_destroy(m->mosq);
        m->mosq = NULL;
    }
}

enum devid_mqtt_until {
    DEVID_MQTT_CONNACK,
    DEVID_MQTT_SUBACK,
    DEVID_MQTT_ANSWER
};

/* A TCP connection to the endpoint within the time left, closed at once.
 * libmosquitto's non-blocking connect, once TLS is set up on it, does not
 * report a refused or failed connection: it waits. Returns 1, or 0 with
 * m->conn_errno (or EHOSTUNREACH when the name does not resolve). */
static int devid_mqtt_reachable(struct devid_mqtt *m)
{
    struct addrinfo hints;
    struct addrinfo *ai = NULL;
    struct addrinfo *a;
    struct pollfd pfd;
    char port[8];
    socklen_t len;
    long left;
    int err = EHOSTUNREACH;
    int fd;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", m->port);
    if (getaddrinfo(m->host, port, &hints, &ai) != 0) {
        m->conn_errno = err;
        return 0;
    }
    for (a = ai; a != NULL; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        err = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
        if (err == EINPROGRESS) {
            pfd.fd = fd;
            pfd.events = POLLOUT;
            left = devid_mqtt_left_ms(m);
            len = sizeof(err);
            err = poll(&pfd, 1, left > 0 ? (int)left : 0) != 1 ? ETIMEDOUT
                  : getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0
                      ? errno
                      : err;
        }
        close(fd);
        if (err == 0) {
            break;
        }
    }
    freeaddrinfo(ai);
    m->conn_errno = err;
    return err == 0;
}

/* Runs the network until the event comes. Returns OK, -1 when the
 * connection went away first, or the exit code of the timeout (reported). */
static int devid_mqtt_until(struct devid_mqtt *m, enum devid_mqtt_until u,
                            const char *waiting_for)
{
    long left;
    int rc;

    for (;;) {
        if ((u == DEVID_MQTT_CONNACK && m->st.connack >= 0)
            || (u == DEVID_MQTT_SUBACK && m->st.suback >= 0)
            || (u == DEVID_MQTT_ANSWER
                && (m->st.answered || m->st.malformed))) {
            return DEVID_EXIT_OK;
        }
        if (m->st.lost) {
            return -1;
        }
        left = devid_mqtt_left_ms(m);
        if (left <= 0) {
            return devid_tool_fail(m->t, DEVID_EXIT_TIMEOUT,
                                   "timed out after "
                                   "%ld s waiting for DPS at %s to %s",
                                   m->timeout_s, m->endpoint, waiting_for);
        }
        rc = mosquitto_loop(m->mosq, left < 200 ? (int)left : 200, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            m->st.lost = 1;
        }
    }
}

/* Connects, subscribes to the answers (§2: before publishing). Returns OK,
 * -1 for a connection to try again (dropped, or CONNACK 3 "server
 * unavailable"), or a reported exit code. */
static int devid_mqtt_connect(struct devid_mqtt *m)
{
    int crc;
    int rc;

    devid_mqtt_drop(m);
    memset(&m->st, 0, sizeof(m->st));
    m->st.connack = -1;
    m->st.suback = -1;
    m->verify_err[0] = '\0';
    m->mosq = mosquitto_new(m->req->registration_id, true, m);
    if (m->mosq == NULL
        || mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                                MQTT_PROTOCOL_V311)
               != MOSQ_ERR_SUCCESS
        || mosquitto_int_option(m->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0)
               != MOSQ_ERR_SUCCESS
        || mosquitto_void_option(m->mosq, MOSQ_OPT_SSL_CTX, m->ctx)
               != MOSQ_ERR_SUCCESS
        || mosquitto_username_pw_set(m->mosq, m->user, NULL)
               != MOSQ_ERR_SUCCESS) {
        return devid_tool_fail(m->t, DEVID_EXIT_NETWORK,
                               "cannot set up "
                               "libmosquitto for MQTT over TLS");
    }
    mosquitto_connect_callback_set(m->mosq, devid_mqtt_on_connect);
    mosquitto_subscribe_callback_set(m->mosq, devid_mqtt_on_subscribe);
    mosquitto_message_callback_set(m->mosq, devid_mqtt_on_message);
    mosquitto_disconnect_callback_set(m->mosq, devid_mqtt_on_disconnect);
    if (!devid_mqtt_reachable(m)) {
        if (m->conn_errno == ETIMEDOUT && devid_mqtt_left_ms(m) <= 0) {
            return devid_tool_fail(m->t, DEVID_EXIT_TIMEOUT,
                                   "timed out after "
                                   "%ld s waiting for DPS at %s to accept the "
                                   "connection",
                                   m->timeout_s, m->endpoint);
        }
        return devid_tool_fail(m->t, DEVID_EXIT_NETWORK,
                               "MQTT connection to "
                               "DPS at %s failed: %s",
                               m->endpoint, strerror(m->conn_errno));
    }
    m->conn_errno = 0;
    crc = mosquitto_connect_async(m->mosq, m->host, m->port,
                                  DEVID_MQTT_KEEPALIVE);
    if (crc != MOSQ_ERR_SUCCESS) {
        m->conn_errno = crc == MOSQ_ERR_ERRNO ? errno : 0;
        m->st.lost = 1;
    }
    rc = devid_mqtt_until(m, DEVID_MQTT_CONNACK, "accept the MQTT connection");
    if (rc > 0) {
        return rc;
    }
    if (m->st.connack < 0) {
        ERR_clear_error();
        if (m->verify_err[0] != '\0') {
            return devid_tool_fail(m->t, DEVID_EXIT_NETWORK,
                                   "the DPS server "
                                   "%s is not trusted (trust file %s): %s; "
                                   "nothing was sent",
                                   m->endpoint, m->req->trust_file,
                                   m->verify_err);
        }
        return devid_tool_fail(m->t, DEVID_EXIT_NETWORK,
                               "MQTT connection to "
                               "DPS at %s failed: %s",
                               m->endpoint,
                               m->conn_errno != 0 ? strerror(m->conn_errno)
                               : crc != MOSQ_ERR_SUCCESS
                                   ? mosquitto_strerror(crc)
                                   : "closed before CONNACK");
    }
    if (m->st.connack == 3) {
        return -1; /* server unavailable: transient */
    }
    if (m->st.connack != 0) {
        return devid_tool_fail(m->t, DEVID_EXIT_REFUSED,
                               "DPS refused the "
                               "MQTT connection of %s: CONNACK %d (%s)",
                               m->req->registration_id, m->st.connack,
                               mosquitto_connack_string(m->st.connack));
    }
    if (mosquitto_subscribe(m->mosq, NULL, DEVID_MQTT_RES "#", 1)
        != MOSQ_ERR_SUCCESS) {
        return -1;
    }
    rc = devid_mqtt_until(m, DEVID_MQTT_SUBACK, "accept the subscription");
    if (rc != DEVID_EXIT_OK) {
        return rc;
    }
    if (m->st.suback > 2) {
        return devid_tool_fail(m->t, DEVID_EXIT_REFUSED,
                               "DPS refused the "
                               "subscription to " DEVID_MQTT_RES "#");
    }
    return DEVID_EXIT_OK;
}

/* One request: (re)connects when needed, publishes body (NULL: the poll
 * of opid) under a new $rid and waits for its answer in m->st. Returns OK
 * when an answer came or the connection dropped before one (m->st.lost,
 * worth another try), or a reported exit code. */
static int devid_mqtt_perform(struct devid_mqtt *m, const char *what,
                              const char *body, const char *opid)
{
    char topic[512];
    char *op = NULL;
    int rc;

    if (m->mosq == NULL || m->st.lost) {
        rc = devid_mqtt_connect(m);
        if (rc != DEVID_EXIT_OK) {
            m->st.lost = 1;
            return rc < 0 ? DEVID_EXIT_OK : rc;
        }
    }
    free(m->st.body);
    m->st.body = NULL;
    m->st.len = 0;
    m->st.answered = m->st.malformed = m->st.too_big = 0;
    m->rid++;
    if (body != NULL) {
        snprintf(topic, sizeof(topic),
                 "$dps/registrations/PUT/iotdps-register/?$rid=%lu", m->rid);
    } else {
        op = devid_mqtt_escape(opid);
        if (op == NULL || strlen(op) > 400) {
            free(op);
            return devid_tool_fail(m->t, DEVID_EXIT_NETWORK,
                                   "malformed DPS "
                                   "answer: operationId too long");
        }
        snprintf(topic, sizeof(topic),
                 "$dps/registrations/GET/"
                 "iotdps-get-operationstatus/?$rid=%lu&operationId=%s",
                 m->rid, op);
        free(op);
    }
    devid_mqtt_trace(m, "> PUBLISH", topic, strlen(topic));
    devid_mqtt_trace(m, ">", body, body != NULL ? strlen(body) : 0);
    rc = mosquitto_publish(m->mosq, NULL, topic,
                           body != NULL ? (int)strlen(body) : 0, body, 0,
                           false);
    if (rc == MOSQ_ERR_SUCCESS) {
        rc = devid_mqtt_until(m, DEVID_MQTT_ANSWER, what);
        if (rc > 0) {
            return rc;
        }
    }
    if (m->st.answered) {
        if (m->t->verbose) {
            devid_tool_progress(m->t, "< MQTT %ld (%s)", m->st.status, what);
        }
        devid_mqtt_trace(m, "<", m->st.body, m->st.len);
    } else if (m->st.malformed || m->st.too_big) {
        return devid_tool_fail(m->t, DEVID_EXIT_NETWORK,
                               "malformed DPS "
                               "answer to the %s from %s: %s",
                               what, m->endpoint,
                               m->st.too_big ? "body too large"
                                             : "response topic");
    } else {
        m->st.lost = 1;
    }
    return DEVID_EXIT_OK;
}

/* One step (register or a poll), retried while DPS throttles (429), fails
 * on its side (5xx) or drops the connection, as over HTTPS. */
static int devid_mqtt_step(struct devid_mqtt *m, const char *what,
                           const char *waiting_for, const char *body,
                           const char *opid)
{
    char why[80];
    long ms;
    int rc;

    for (m->attempt = 1;; m->attempt++) {
        rc = devid_mqtt_perform(m, what, body, opid);
        if (rc != DEVID_EXIT_OK) {
            return rc;
        }
        if (m->st.answered && m->st.status != 429 && m->st.status < 500) {
            return DEVID_EXIT_OK;
        }
        if (!m->st.answered) {
            snprintf(why, sizeof(why), "connection closed without an answer");
        } else {
            snprintf(why, sizeof(why), "status %ld%s", m->st.status,
                     m->st.status == 429 ? ", throttled" : "");
        }
        ms = devid_mqtt_backoff_ms(m, m->st.answered ? m->st.retry_after : -1);
        devid_tool_progress(m->t, "DPS over MQTT: %s, retrying in %ld.%ld s",
                            why, ms / 1000, ms % 1000 / 100);
        rc = devid_mqtt_wait(m, ms, waiting_for, why);
        if (rc != DEVID_EXIT_OK) {
            return rc;
        }
    }
}

/* ---- answers ------------------------------------------------------------ */

/* A 4xx: DPS's ProvisioningServiceErrorDetails (§1.7) in the message. */
static int devid_mqtt_refused(struct devid_mqtt *m,
                              struct devid_dps_result *res)
{
    char err[128];
    json_object *root = NULL;
    char *tid = NULL;

    if (m->st.len > 0) {
        root = devid_dps_json_parse(m->st.body, m->st.len, err, sizeof(err));
    }
    free(res->error_message);
    devid_dps_json_error(root, &res->error_code, &res->error_message, &tid);
    if (res->error_code == 0 && res->error_message == NULL) {
        devid_tool_fail(m->t, DEVID_EXIT_REFUSED,
                        "DPS refused the "
                        "registration of %s: MQTT status %ld, no error "
                        "details",
                        m->req->registration_id, m->st.status);
    } else {
        devid_tool_fail(m->t, DEVID_EXIT_REFUSED,
                        "DPS refused the "
                        "registration of %s: %ld %s (MQTT status %ld%s%s)",
                        m->req->registration_id, res->error_code,
                        res->error_message != NULL ? res->error_message : "",
                        m->st.status, tid != NULL ? ", trackingId " : "",
                        tid != NULL ? tid : "");
    }
    free(tid);
    json_object_put(root);
    return DEVID_EXIT_REFUSED;
}

/* Reads a 200/202 answer into res; the exit code of any other. */
static int devid_mqtt_read(struct devid_mqtt *m, struct devid_dps_result *res)
{
    char err[160];
    json_object *root;
    int rc;

    if (m->st.status != 200 && m->st.status != 202) {
        if (m->st.status >= 400) {
            return devid_mqtt_refused(m, res);
        }
        return devid_tool_fail(m->t, DEVID_EXIT_NETWORK,
                               "unexpected status "
                               "%ld from DPS at %s",
                               m->st.status, m->endpoint);
    }
    root = devid_dps_json_parse(m->st.body != NULL ? m->st.body : "", m->st.len,
                                err, sizeof(err));
    rc = root != NULL ? devid_dps_json_operation(root, res, err, sizeof(err))
                      : DEVID_EXIT_NETWORK;
    json_object_put(root);
    if (rc != DEVID_EXIT_OK) {
        return devid_tool_fail(m->t, rc,
                               "%s DPS answer: %s (MQTT status %ld "
                               "from %s)",
                               rc == DEVID_EXIT_CERT
                                   ? "unusable certificate in the"
                                   : "malformed",
                               err, m->st.status, m->endpoint);
    }
    return DEVID_EXIT_OK;
}

/* Polls the operation until it ends (202/assigning: wait retry-after). */
static int devid_mqtt_poll(struct devid_mqtt *m, struct devid_dps_result *res)
{
    char waiting_for[160];
    char why[64];
    char *opid;
    long ra;
    int rc;

    for (;;) {
        rc = devid_mqtt_read(m, res);
        if (rc != DEVID_EXIT_OK || devid_dps_status_terminal(res->status)) {
            break;
        }
        if (res->operation_id == NULL) {
            rc = devid_tool_fail(m->t, DEVID_EXIT_NETWORK,
                                 "malformed DPS "
                                 "answer: status '%s' without operationId",
                                 res->status);
            break;
        }
        /* C SDK rule (§1.8): a missing, < 1 or > 300 s retry-after is 1 s */
        ra = m->st.retry_after;
        if (ra < 1 || ra > DEVID_MQTT_POLL_MAX) {
            ra = DEVID_MQTT_POLL_DEFAULT;
        }
        devid_tool_progress(m->t, "DPS is %s, next poll in %ld s", res->status,
                            ra);
        snprintf(waiting_for, sizeof(waiting_for), "finish assigning %s",
                 m->req->registration_id);
        snprintf(why, sizeof(why), "status %ld, %s", m->st.status, res->status);
        rc = devid_mqtt_wait(m, ra * 1000, waiting_for, why);
        opid = rc == DEVID_EXIT_OK ? strdup(res->operation_id) : NULL;
        if (rc == DEVID_EXIT_OK) {
            rc = opid != NULL ? devid_mqtt_step(m, "operation status request",
                                                waiting_for, NULL, opid)
                              : devid_tool_fail(m->t, DEVID_EXIT_NETWORK,
                                                "out of memory");
        }
        free(opid);
        if (rc != DEVID_EXIT_OK) {
            break;
        }
    }
    return rc == DEVID_EXIT_OK ? devid_dps_finish(m->t, m->req, res) : rc;
}

int devid_dps_mqtt_register(struct devid_tool *t,
                            const struct devid_dps_request *req,
                            const char *api, long timeout_s,
                            struct devid_dps_result *res)
{
    struct devid_mqtt m;
    struct timespec now;
    struct sigaction ign;
    struct sigaction old;
    char waiting_for[160];
    char *body = NULL;
    int rc = DEVID_EXIT_NETWORK;

    memset(&m, 0, sizeof(m));
    m.t = t;
    m.req = req;
    m.api = api;
    m.timeout_s = timeout_s;
    m.endpoint = req->endpoint != NULL ? req->endpoint
                                       : DEVID_DPS_DEFAULT_ENDPOINT;
    if (!devid_mqtt_endpoint(&m)) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG,
                               "the DPS endpoint must be"
                               " HOST[:PORT], not '%s'",
                               m.endpoint);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    m.deadline = now;
    m.deadline.tv_sec += timeout_s;
    m.rng = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)getpid() ^ 0x9e3779b9u;
    /* a write to a connection DPS closed must be an error, not SIGPIPE */
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    mosquitto_lib_init();
    rc = devid_mqtt_tls(&m);
    if (rc != DEVID_EXIT_OK) {
        goto end;
    }
    body = devid_dps_json_request(req->registration_id, req->csr_der,
                                  req->csr_len, devid_dps_json_csr_field(api),
                                  req->payload);
    if (body == NULL || !devid_mqtt_username(&m)) {
        rc = devid_tool_fail(t, DEVID_EXIT_NETWORK, "out of memory");
        goto end;
    }
    devid_tool_progress(t,
                        "registering %s with %s over MQTT (api-version "
                        "%s)%s",
                        req->registration_id, m.endpoint, api,
                        req->csr_der != NULL ? ", sending a CSR" : "");
    snprintf(waiting_for, sizeof(waiting_for),
             "accept the registration of "
             "%s",
             req->registration_id);
    rc = devid_mqtt_step(&m, "registration request", waiting_for, body, NULL);
    if (rc == DEVID_EXIT_OK) {
        rc = devid_mqtt_poll(&m, res);
    }
end:
    devid_mqtt_drop(&m);
    SSL_CTX_free(m.ctx);
    free(m.st.body);
    free(m.user);
    free(body);
    mosquitto_lib_cleanup();
    sigaction(SIGPIPE, &old, NULL);
    return rc;
}
