/* SPDX-License-Identifier: Apache-2.0 */
/* A vendor's telemetry agent on libmosquitto, as it would be written
 * without devid: it is given a certificate file and a key file and calls
 * mosquitto_tls_set(). Nothing in it knows about tokens or TPMs; when the
 * key file is a devid reference file and openssl.cnf activates devid, the
 * TLS client key never leaves the token or TPM (docs/recipes.md).
 *
 *   mqtt-agent --host H --port P --cafile CA --cert CERT --key KEY
 *              [--id CLIENT-ID] [--topic T] [--count N]
 *
 * Publishes N telemetry messages (JSON) with QoS 1 and exits 0 once the
 * broker has acknowledged all of them; 1 on any error, with libmosquitto's
 * reason (and OpenSSL's, which libmosquitto logs) on stderr. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mosquitto.h>

/* Everything the agent is told on its command line. */
struct agent_opts {
    const char *host;
    int port;
    const char *cafile;
    const char *cert;
    const char *key;
    const char *id;
    const char *topic;
    int count;
};

/* What the callbacks tell the main loop. */
struct agent_state {
    int connected;      /* 1 after a successful CONNACK, -1 when refused */
    int acked;          /* PUBACKs received */
};

/* The broker's CONNACK: 0 is accepted, anything else is a refusal. */
static void agent_on_connect(struct mosquitto *mosq, void *arg, int rc)
{
    struct agent_state *st = arg;

    if (rc != 0) {
        fprintf(stderr, "mqtt-agent: connection refused: %s\n",
                mosquitto_connack_string(rc));
        st->connected = -1;
        return;
    }
    st->connected = 1;
}

static void agent_on_publish(struct mosquitto *mosq, void *arg, int mid)
{
    struct agent_state *st = arg;

    st->acked++;
}

/* libmosquitto reports TLS failures (with OpenSSL's error strings) here. */
static void agent_on_log(struct mosquitto *mosq, void *arg, int level,
                         const char *msg)
{
    if (level == MOSQ_LOG_ERR || level == MOSQ_LOG_WARNING) {
        fprintf(stderr, "mqtt-agent: %s\n", msg);
    }
}

static int agent_parse(int argc, char **argv, struct agent_opts *o)
{
    static const struct option longopts[] = {
        { "host", required_argument, NULL, 'h' },
        { "port", required_argument, NULL, 'p' },
        { "cafile", required_argument, NULL, 'a' },
        { "cert", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' },
        { "id", required_argument, NULL, 'i' },
        { "topic", required_argument, NULL, 't' },
        { "count", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    for (;;) {
        c = getopt_long(argc, argv, "h:p:a:c:k:i:t:n:", longopts, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case 'h':
            o->host = optarg;
            break;
        case 'p':
            o->port = (int)strtol(optarg, NULL, 10);
            break;
        case 'a':
            o->cafile = optarg;
            break;
        case 'c':
            o->cert = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'i':
            o->id = optarg;
            break;
        case 't':
            o->topic = optarg;
            break;
        case 'n':
            o->count = (int)strtol(optarg, NULL, 10);
            break;
        default:
            return 0;
        }
    }
    if (o->host == NULL || o->port <= 0 || o->port > 65535 || o->cafile == NULL
        || o->cert == NULL || o->key == NULL || o->count <= 0) {
        fprintf(stderr, "usage: mqtt-agent --host H --port P --cafile CA "
                        "--cert CERT --key KEY [--id ID] [--topic T] "
                        "[--count N]\n");
        return 0;
    }
    return 1;
}

/* Runs the network loop until the broker has accepted the connection and
 * acknowledged want_acked messages; gives up after about 20 s. */
static int agent_loop_until(struct mosquitto *mosq, const struct agent_state *st,
                            int want_acked)
{
    time_t deadline = time(NULL) + 20;
    int rc;

    while (time(NULL) < deadline) {
        if (st->connected < 0) {
            return 0;
        }
        if (st->connected > 0 && st->acked >= want_acked) {
            return 1;
        }
        rc = mosquitto_loop(mosq, 100, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "mqtt-agent: %s\n", mosquitto_strerror(rc));
            return 0;
        }
    }
    fprintf(stderr, "mqtt-agent: timed out\n");
    return 0;
}

static int agent_publish_all(struct mosquitto *mosq, const struct agent_opts *o)
{
    char payload[128];
    int i;
    int n;
    int rc;

    for (i = 0; i < o->count; i++) {
        /* made-up sensor values: the point is the authenticated channel */
        n = snprintf(payload, sizeof(payload),
                     "{\"seq\":%d,\"temperature\":%.1f,\"ts\":%lld}", i + 1,
                     21.0 + i * 0.5, (long long)time(NULL));
        rc = mosquitto_publish(mosq, NULL, o->topic, n, payload, 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "mqtt-agent: publish: %s\n", mosquitto_strerror(rc));
            return 0;
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    struct agent_opts o = { NULL, 0, NULL, NULL, NULL, "mqtt-agent",
                            "devices/agent/telemetry", 1 };
    struct agent_state st = { 0, 0 };
    struct mosquitto *mosq = NULL;
    int ret = 1;
    int rc;

    if (!agent_parse(argc, argv, &o)) {
        return 2;
    }
    /* A write to a connection the broker has closed must come back as an
     * error (EPIPE), not kill the agent: with libmosquitto 2.1 it died of
     * SIGPIPE after its last message. libmosquitto leaves SIGPIPE to the
     * program, as network libraries do. */
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    mosq = mosquitto_new(o.id, true, &st);
    if (mosq == NULL) {
        fprintf(stderr, "mqtt-agent: out of memory\n");
        goto end;
    }
    mosquitto_connect_callback_set(mosq, agent_on_connect);
    mosquitto_publish_callback_set(mosq, agent_on_publish);
    mosquitto_log_callback_set(mosq, agent_on_log);
    /* the vendor's only TLS set-up: CA, certificate, key file */
    rc = mosquitto_tls_set(mosq, o.cafile, NULL, o.cert, o.key, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mqtt-agent: TLS set-up (%s, %s): %s\n", o.cert, o.key,
                mosquitto_strerror(rc));
        goto end;
    }
    rc = mosquitto_connect(mosq, o.host, o.port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mqtt-agent: connect to %s:%d with key %s: %s\n",
                o.host, o.port, o.key, mosquitto_strerror(rc));
        goto end;
    }
    if (!agent_loop_until(mosq, &st, 0) || !agent_publish_all(mosq, &o)
        || !agent_loop_until(mosq, &st, o.count)) {
        goto end;
    }
    printf("mqtt-agent: %d message(s) acknowledged on %s\n", st.acked, o.topic);
    mosquitto_disconnect(mosq);
    ret = 0;
end:
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    return ret;
}
