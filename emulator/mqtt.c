/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: an MQTT 3.1.1 server over TLS (libevent, the HTTPS
 * server's TLS context), as much of MQTT as DPS devices use
 * (DPS-PROTOCOL.md section 2): CONNECT, SUBSCRIBE, UNSUBSCRIBE, PUBLISH at
 * QoS 0 and 1, PINGREQ, DISCONNECT; answers are published at QoS 0. What
 * the packets mean for DPS is in dps-mqtt.c. Anything else a client sends
 * closes its connection, as the service does. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "emulator/emu.h"

/* Largest packet read: a DPS body (96 KB, answered 413 above) and its
 * topic fit; anything larger closes the connection. */
#define DEVID_EMU_MQTT_MAX_PACKET (DEVID_EMU_MAX_BODY + 64 * 1024)

/* An answer (or a close) waiting for the injected delay. */
struct devid_emu_mqtt_later {
    struct devid_emu_mqtt_conn *conn;
    struct event *ev;
    unsigned char *packet; /* NULL: close the connection */
    size_t len;
    struct devid_emu_mqtt_later *next;
};

struct devid_emu_mqtt_conn {
    struct devid_emu_server *srv;
    struct bufferevent *bev;
    struct devid_emu_mqtt_conn *next; /* srv->mqtt_conns */
    struct devid_emu_mqtt_later *later;
    struct devid_emu_dps_conn dps;
    int connected; /* CONNECT accepted */
    int draining;  /* close once the output is sent */
    int dead;      /* close at the end of the read callback */
    int reading;   /* inside the read callback */
};

/* A packet being parsed. */
struct devid_emu_mqtt_in {
    const unsigned char *p;
    const unsigned char *end;
};

struct devid_emu_server *devid_emu_mqtt_server(struct devid_emu_mqtt_conn *c)
{
    return c->srv;
}

SSL *devid_emu_mqtt_ssl(struct devid_emu_mqtt_conn *c)
{
    return bufferevent_openssl_get_ssl(c->bev);
}

struct devid_emu_dps_conn *devid_emu_mqtt_dps(struct devid_emu_mqtt_conn *c)
{
    return &c->dps;
}

/* ---- connections -------------------------------------------------------- */

static void devid_emu_mqtt_free(struct devid_emu_mqtt_conn *c)
{
    struct devid_emu_mqtt_conn **pp;
    struct devid_emu_mqtt_later *l;

    for (pp = &c->srv->mqtt_conns; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    while ((l = c->later) != NULL) {
        c->later = l->next;
        event_free(l->ev);
        free(l->packet);
        free(l);
    }
    devid_emu_dps_conn_clear(&c->dps);
    bufferevent_free(c->bev); /* closes the socket and the SSL */
    free(c);
}

/* Queue a whole packet on the connection. */
static void devid_emu_mqtt_write(struct devid_emu_mqtt_conn *c,
                                 const unsigned char *packet, size_t len)
{
    if (!c->dead) {
        bufferevent_write(c->bev, packet, len);
    }
}

/* Fixed header (type byte, remaining length, §2.2) into hdr; its size. */
static size_t devid_emu_mqtt_header(unsigned char *hdr, unsigned char type,
                                    size_t rem)
{
    size_t n = 0;

    hdr[n++] = type;
    do {
        hdr[n] = (unsigned char)(rem % 128);
        rem /= 128;
        if (rem > 0) {
            hdr[n] |= 0x80;
        }
        n++;
    } while (rem > 0 && n < 5);
    return n;
}

static void devid_emu_mqtt_later_fire(evutil_socket_t fd, short what, void *arg)
{
    struct devid_emu_mqtt_later *l = arg;
    struct devid_emu_mqtt_conn *c = l->conn;
    struct devid_emu_mqtt_later **pp;

    (void)fd;
    (void)what;
    for (pp = &c->later; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    event_free(l->ev);
    if (l->packet == NULL) {
        free(l);
        devid_emu_mqtt_free(c);
        return;
    }
    devid_emu_mqtt_write(c, l->packet, l->len);
    free(l->packet);
    free(l);
}

/* Send packet (taken) or, when it is NULL, close, after delay_ms. */
static void devid_emu_mqtt_defer(struct devid_emu_mqtt_conn *c,
                                 unsigned char *packet, size_t len,
                                 int delay_ms)
{
    struct devid_emu_mqtt_later *l = calloc(1, sizeof(*l));
    struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

    if (l != NULL) {
        l->ev = evtimer_new(c->srv->base, devid_emu_mqtt_later_fire, l);
    }
    if (l == NULL || l->ev == NULL || evtimer_add(l->ev, &tv) != 0) {
        if (l != NULL && l->ev != NULL) {
            event_free(l->ev);
        }
        free(l);
        free(packet);
        c->dead = 1;
        return;
    }
    l->conn = c;
    l->packet = packet;
    l->len = len;
    l->next = c->later;
    c->later = l;
}

void devid_emu_mqtt_publish(struct devid_emu_mqtt_conn *c, const char *topic,
                            const char *payload, size_t len, int delay_ms)
{
    size_t tlen = strlen(topic);
    size_t rem = 2 + tlen + len;
    unsigned char hdr[5];
    size_t hlen = devid_emu_mqtt_header(hdr, 0x30, rem);
    unsigned char *pkt = malloc(hlen + rem);

    if (pkt == NULL || tlen > 65535) {
        free(pkt);
        c->dead = 1;
        return;
    }
    memcpy(pkt, hdr, hlen);
    pkt[hlen] = (unsigned char)(tlen >> 8);
    pkt[hlen + 1] = (unsigned char)(tlen & 0xff);
    memcpy(pkt + hlen + 2, topic, tlen);
    if (len > 0) {
        memcpy(pkt + hlen + 2 + tlen, payload, len);
    }
    if (delay_ms > 0) {
        devid_emu_mqtt_defer(c, pkt, hlen + rem, delay_ms);
        return;
    }
    devid_emu_mqtt_write(c, pkt, hlen + rem);
    free(pkt);
}

void devid_emu_mqtt_close(struct devid_emu_mqtt_conn *c, int delay_ms)
{
    if (delay_ms > 0) {
        devid_emu_mqtt_defer(c, NULL, 0, delay_ms);
        return;
    }
    c->dead = 1;
    if (!c->reading) {
        devid_emu_mqtt_free(c);
    }
}

/* ---- reading packets ---------------------------------------------------- */

static int devid_emu_mqtt_u16(struct devid_emu_mqtt_in *in, unsigned *v)
{
    if (in->end - in->p < 2) {
        return 0;
    }
    *v = ((unsigned)in->p[0] << 8) | in->p[1];
    in->p += 2;
    return 1;
}

/* A UTF-8 string (§1.5.3) as a new NUL-terminated copy; one with a NUL
 * in it is malformed. */
static int devid_emu_mqtt_str(struct devid_emu_mqtt_in *in, char **out)
{
    unsigned n;

    *out = NULL;
    if (!devid_emu_mqtt_u16(in, &n) || (size_t)(in->end - in->p) < n
        || memchr(in->p, '\0', n) != NULL) {
        return 0;
    }
    *out = strndup((const char *)in->p, n);
    in->p += n;
    return *out != NULL;
}

/* Skip binary data with a 2-byte length (will message, password). */
static int devid_emu_mqtt_skip(struct devid_emu_mqtt_in *in)
{
    unsigned n;

    if (!devid_emu_mqtt_u16(in, &n) || (size_t)(in->end - in->p) < n) {
        return 0;
    }
    in->p += n;
    return 1;
}

static void devid_emu_mqtt_connack(struct devid_emu_mqtt_conn *c, int code)
{
    unsigned char pkt[4] = { 0x20, 0x02, 0x00, (unsigned char)code };

    devid_emu_mqtt_write(c, pkt, sizeof(pkt));
    if (code != 0) {
        c->draining = 1; /* §3.2.2.3: then close */
    }
}

/* CONNECT (§3.1). Returns 0 when the packet is malformed. */
static int devid_emu_mqtt_on_connect(struct devid_emu_mqtt_conn *c,
                                     struct devid_emu_mqtt_in *in)
{
    char *proto = NULL;
    char *client_id = NULL;
    char *user = NULL;
    char *will_topic = NULL;
    unsigned level_flags = 0;
    unsigned keepalive = 0;
    unsigned flags;
    struct timeval tv = { 0, 0 };
    int ret = 0;
    int code;

    if (!devid_emu_mqtt_str(in, &proto) || !devid_emu_mqtt_u16(in, &level_flags)
        || !devid_emu_mqtt_u16(in, &keepalive)) {
        goto end;
    }
    flags = level_flags & 0xff;
    if (strcmp(proto, "MQTT") != 0 || (level_flags >> 8) != 4) {
        devid_emu_mqtt_connack(c, 1); /* unacceptable protocol level */
        ret = 1;
        goto end;
    }
    if ((flags & 0x01) != 0 || !devid_emu_mqtt_str(in, &client_id)
        || ((flags & 0x04) != 0
            && (!devid_emu_mqtt_str(in, &will_topic)
                || !devid_emu_mqtt_skip(in)))
        || ((flags & 0x80) != 0 && !devid_emu_mqtt_str(in, &user))
        || ((flags & 0x40) != 0 && !devid_emu_mqtt_skip(in))
        || in->p != in->end) {
        goto end;
    }
    code = devid_emu_dps_connect(c, client_id, user);
    devid_emu_mqtt_connack(c, code);
    c->connected = code == 0;
    if (c->connected) {
        /* §3.1.2.10: one and a half keep-alive periods without a packet */
        tv.tv_sec = (time_t)keepalive + (time_t)keepalive / 2;
        bufferevent_set_timeouts(c->bev, keepalive > 0 ? &tv : NULL, NULL);
    }
    ret = 1;
end:
    free(proto);
    free(client_id);
    free(user);
    free(will_topic);
    return ret;
}

/* SUBSCRIBE (§3.8) and SUBACK (§3.9). */
static int devid_emu_mqtt_on_subscribe(struct devid_emu_mqtt_conn *c,
                                       struct devid_emu_mqtt_in *in)
{
    unsigned char pkt[5 + 2 + 64];
    size_t n = 0;
    unsigned id;
    char *filter;
    size_t hlen;
    unsigned char codes[64];

    if (!devid_emu_mqtt_u16(in, &id) || in->p == in->end) {
        return 0;
    }
    while (in->p < in->end) {
        if (n == sizeof(codes) || !devid_emu_mqtt_str(in, &filter)
            || in->p == in->end || (*in->p & 0xfc) != 0 || *in->p > 2) {
            return 0;
        }
        codes[n++] = (unsigned char)devid_emu_dps_subscribe(c, filter, *in->p);
        in->p++;
        free(filter);
    }
    hlen = devid_emu_mqtt_header(pkt, 0x90, 2 + n);
    pkt[hlen] = (unsigned char)(id >> 8);
    pkt[hlen + 1] = (unsigned char)(id & 0xff);
    memcpy(pkt + hlen + 2, codes, n);
    devid_emu_mqtt_write(c, pkt, hlen + 2 + n);
    return 1;
}

/* UNSUBSCRIBE (§3.10): nothing to forget but the answer. */
static int devid_emu_mqtt_on_unsubscribe(struct devid_emu_mqtt_conn *c,
                                         struct devid_emu_mqtt_in *in)
{
    unsigned char pkt[4] = { 0xb0, 0x02, in->p[0], in->p[1] };

    devid_emu_mqtt_write(c, pkt, sizeof(pkt));
    return 1;
}

/* PUBLISH (§3.3) at QoS 0 or 1; QoS 2 is not for DPS: closed. */
static int devid_emu_mqtt_on_publish(struct devid_emu_mqtt_conn *c,
                                     unsigned char type,
                                     struct devid_emu_mqtt_in *in)
{
    int qos = (type >> 1) & 3;
    unsigned id = 0;
    char *topic = NULL;
    unsigned char ack[4] = { 0x40, 0x02, 0, 0 };
    int ret = 0;

    /* §4.7.1: a topic name holds no wildcard */
    if (qos > 1 || !devid_emu_mqtt_str(in, &topic)
        || strpbrk(topic, "+#") != NULL
        || (qos == 1 && !devid_emu_mqtt_u16(in, &id))) {
        goto end;
    }
    if (qos == 1) {
        ack[2] = (unsigned char)(id >> 8);
        ack[3] = (unsigned char)(id & 0xff);
        devid_emu_mqtt_write(c, ack, sizeof(ack));
    }
    ret = devid_emu_dps_publish(c, topic, (const char *)in->p,
                                (size_t)(in->end - in->p));
end:
    free(topic);
    return ret;
}

/* One whole packet; 0 = close the connection. */
static int devid_emu_mqtt_packet(struct devid_emu_mqtt_conn *c,
                                 unsigned char type,
                                 struct devid_emu_mqtt_in *in)
{
    static const unsigned char pingresp[2] = { 0xd0, 0x00 };

    if (!c->connected) {
        return type == 0x10 && devid_emu_mqtt_on_connect(c, in);
    }
    switch (type >> 4) {
    case 3:
        return devid_emu_mqtt_on_publish(c, type, in);
    case 4: /* PUBACK: we publish at QoS 0 */
        return type == 0x40;
    case 8:
        return type == 0x82 && devid_emu_mqtt_on_subscribe(c, in);
    case 10:
        return type == 0xa2 && in->end - in->p >= 2
               && devid_emu_mqtt_on_unsubscribe(c, in);
    case 12:
        devid_emu_mqtt_write(c, pingresp, sizeof(pingresp));
        return type == 0xc0;
    default: /* DISCONNECT, a second CONNECT... */
        return 0;
    }
}

/* Length of the packet at the head of buf, 0 when incomplete, -1 when
 * malformed or too large. */
static long devid_emu_mqtt_framed(struct evbuffer *buf, size_t *hlen)
{
    unsigned char h[5];
    size_t have = evbuffer_get_length(buf);
    size_t n = have < sizeof(h) ? have : sizeof(h);
    size_t rem = 0;
    size_t i;

    evbuffer_copyout(buf, h, n);
    for (i = 1; i < n; i++) {
        rem |= (size_t)(h[i] & 0x7f) << (7 * (i - 1));
        if ((h[i] & 0x80) == 0) {
            *hlen = i + 1;
            if (rem > DEVID_EMU_MQTT_MAX_PACKET) {
                return -1;
            }
            return have >= i + 1 + rem ? (long)(i + 1 + rem) : 0;
        }
    }
    return n == sizeof(h) ? -1 : 0; /* §2.2.3: 4 length bytes at most */
}

static void devid_emu_mqtt_on_read(struct bufferevent *bev, void *arg)
{
    struct devid_emu_mqtt_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct devid_emu_mqtt_in pin;
    unsigned char *pkt;
    size_t hlen = 0;
    long len;

    c->reading = 1;
    while (!c->dead && !c->draining) {
        len = devid_emu_mqtt_framed(in, &hlen);
        if (len == 0) {
            break; /* wait for the rest */
        }
        pkt = len > 0 ? malloc((size_t)len) : NULL;
        if (pkt == NULL) {
            c->dead = 1;
            break;
        }
        evbuffer_remove(in, pkt, (size_t)len);
        pin.p = pkt + hlen;
        pin.end = pkt + len;
        if (!devid_emu_mqtt_packet(c, pkt[0], &pin)) {
            c->dead = 1;
        }
        free(pkt);
    }
    c->reading = 0;
    if (c->dead
        || (c->draining
            && evbuffer_get_length(bufferevent_get_output(bev)) == 0)) {
        devid_emu_mqtt_free(c);
    }
}

/* The output is sent: a refused connection closes now. */
static void devid_emu_mqtt_on_write(struct bufferevent *bev, void *arg)
{
    struct devid_emu_mqtt_conn *c = arg;

    (void)bev;
    if (c->draining && !c->reading) {
        devid_emu_mqtt_free(c);
    }
}

static void devid_emu_mqtt_on_event(struct bufferevent *bev, short what,
                                    void *arg)
{
    struct devid_emu_mqtt_conn *c = arg;

    (void)bev;
    if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) == 0) {
        return;
    }
    if (c->reading) {
        c->dead = 1; /* the read callback frees it */
        return;
    }
    devid_emu_mqtt_free(c);
}

/* ---- the listener ------------------------------------------------------- */

static void devid_emu_mqtt_accept(struct evconnlistener *l, evutil_socket_t fd,
                                  struct sockaddr *addr, int socklen, void *arg)
{
    struct devid_emu_server *srv = arg;
    struct devid_emu_mqtt_conn *c = calloc(1, sizeof(*c));
    SSL *ssl = c != NULL ? SSL_new(srv->ssl_ctx) : NULL; /* current root */
    struct timeval tv = { srv->cfg->timeout_seconds, 0 };

    (void)l;
    (void)addr;
    (void)socklen;
    if (ssl != NULL) {
        c->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
                                                BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE);
    }
    if (c == NULL || c->bev == NULL) {
        SSL_free(ssl);
        free(c);
        evutil_closesocket(fd);
        return;
    }
    c->srv = srv;
    c->next = srv->mqtt_conns;
    srv->mqtt_conns = c;
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    bufferevent_setcb(c->bev, devid_emu_mqtt_on_read, devid_emu_mqtt_on_write,
                      devid_emu_mqtt_on_event, c);
    /* until CONNECT: the idle limit of HTTPS connections */
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int devid_emu_mqtt_start(struct devid_emu_server *srv, int port)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((unsigned short)port);
    srv->mqtt = evconnlistener_new_bind(srv->base, devid_emu_mqtt_accept, srv,
                                        LEV_OPT_CLOSE_ON_FREE
                                            | LEV_OPT_REUSEABLE
                                            | LEV_OPT_CLOSE_ON_EXEC,
                                        -1, (struct sockaddr *)&sin,
                                        sizeof(sin));
    if (srv->mqtt == NULL
        || getsockname(evconnlistener_get_fd(srv->mqtt),
                       (struct sockaddr *)&sin, &len)
               != 0) {
        devid_emu_log("cannot listen for MQTT on 127.0.0.1:%d", port);
        return 0;
    }
    srv->mqtt_port = ntohs(sin.sin_port);
    return 1;
}

void devid_emu_mqtt_stop(struct devid_emu_server *srv)
{
    while (srv->mqtt_conns != NULL) {
        devid_emu_mqtt_free(srv->mqtt_conns);
    }
    if (srv->mqtt != NULL) {
        evconnlistener_free(srv->mqtt);
        srv->mqtt = NULL;
    }
}
