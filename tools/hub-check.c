/* SPDX-License-Identifier: Apache-2.0 */
/* A test connection to the IoT hub with an identity before devid switches
 * to it: TLS with the identity's chain and resident key, then an MQTT
 * CONNECT; the hub accepts the identity when it answers CONNACK 0. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tools/hub-check.h"

#define DEVID_HUB_TIMEOUT_S 10
/* api-version of the user name (DPS-PROTOCOL.md 5.1; the docs' value) */
#define DEVID_HUB_API_VERSION "2021-04-12"

/* Appends an MQTT UTF-8 string (2-byte length, bytes) at pkt + *len. */
static void devid_hub_put_str(unsigned char *pkt, size_t *len, const char *s,
                              size_t slen)
{
    pkt[(*len)++] = (unsigned char)(slen >> 8);
    pkt[(*len)++] = (unsigned char)(slen & 0xff);
    memcpy(pkt + *len, s, slen);
    *len += slen;
}

/* MQTT 3.1.1 §3.1 CONNECT (clean session, keep-alive 60 s) as IoT Hub wants
 * it from an X.509 device: client id = device id, user name
 * {hub}/{deviceId}/?api-version=..., no password; and §3.2 CONNACK: the hub
 * accepts the identity when the return code is 0. */
static int devid_hub_mqtt_connect(SSL *ssl, const char *host,
                                  const char *client_id, char *why, size_t size)
{
    unsigned char pkt[512];
    unsigned char ack[4];
    char user[300];
    size_t idlen = strlen(client_id);
    size_t ulen = (size_t)snprintf(user, sizeof(user),
                                   "%s/%s/?api-version=" DEVID_HUB_API_VERSION,
                                   host, client_id);
    size_t rem = 10 + 2 + idlen + 2 + ulen;
    size_t len = 0;
    size_t got = 0;
    int n;

    if (idlen > 128 || ulen >= sizeof(user)) {
        snprintf(why, size, "device id or hub name too long");
        return 0;
    }
    pkt[len++] = 0x10;
    /* remaining length (§2.2.3), at most 2 bytes here: rem < 16384 */
    if (rem > 127) {
        pkt[len++] = (unsigned char)((rem & 0x7f) | 0x80);
        pkt[len++] = (unsigned char)(rem >> 7);
    } else {
        pkt[len++] = (unsigned char)rem;
    }
    /* protocol name and level 4, flags: user name + clean session */
    memcpy(pkt + len, "\x00\x04MQTT\x04\x82\x00\x3c", 10);
    len += 10;
    devid_hub_put_str(pkt, &len, client_id, idlen);
    devid_hub_put_str(pkt, &len, user, ulen);
    if (SSL_write(ssl, pkt, (int)len) <= 0) {
        snprintf(why, size, "the hub closed the connection (certificate "
                 "refused?)");
        return 0;
    }
    while (got < sizeof(ack)) {
        n = SSL_read(ssl, ack + got, (int)(sizeof(ack) - got));
        if (n <= 0) {
            unsigned long e = ERR_peek_last_error();

            snprintf(why, size, "the hub ended the connection before CONNACK"
                     "%s%s", e != 0 ? ": " : " (certificate refused?)",
                     e != 0 ? ERR_reason_error_string(e) : "");
            return 0;
        }
        got += (size_t)n;
    }
    if (ack[0] != 0x20 || ack[1] != 0x02 || ack[3] != 0) {
        snprintf(why, size, "the hub refused the MQTT CONNECT (CONNACK code "
                 "%u)", ack[3]);
        return 0;
    }
    SSL_write(ssl, "\xe0\x00", 2);      /* DISCONNECT */
    return 1;
}

/* A client SSL_CTX that presents chain + pkey and trusts the hub's roots. */
static SSL_CTX *devid_hub_ctx(struct devid_tool *t, STACK_OF(X509) *chain,
                              EVP_PKEY *pkey)
{
    const char *trust = t->set.hub_trust != NULL ? t->set.hub_trust
                                                 : t->set.dps_trust;
    const char *dir = t->set.trust_dir;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    struct stat sb;
    int i;

    if (dir != NULL && stat(dir, &sb) != 0) {
        dir = NULL;
    }
    if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        || (trust == NULL && dir == NULL)
        || !SSL_CTX_load_verify_locations(ctx, trust, dir)
        || !SSL_CTX_use_certificate(ctx, sk_X509_value(chain, 0))
        || !SSL_CTX_use_PrivateKey(ctx, pkey)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    for (i = 1; i < sk_X509_num(chain); i++) {
        if (!SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i))) {
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

/* A bounded TCP connection to host:port, handed to a new SSL. */
static SSL *devid_hub_ssl(SSL_CTX *ctx, const char *host, const char *port)
{
    struct timeval tv = { DEVID_HUB_TIMEOUT_S, 0 };
    BIO *conn = BIO_new(BIO_s_connect());
    SSL *ssl = NULL;
    int fd;

    if (conn == NULL || !BIO_set_conn_hostname(conn, host)
        || !BIO_set_conn_port(conn, port) || BIO_do_connect(conn) <= 0) {
        BIO_free(conn);
        return NULL;
    }
    fd = (int)BIO_get_fd(conn, NULL);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    ssl = SSL_new(ctx);
    /* the name (or address) the certificate must carry: through the
     * verify parameters, as SSL_set1_host is deprecated in OpenSSL 4.0 */
    if (ssl == NULL
        || (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
            && X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), host, 0) != 1)
        || !SSL_set_tlsext_host_name(ssl, host)) {
        SSL_free(ssl);
        BIO_free(conn);
        return NULL;
    }
    SSL_set_bio(ssl, conn, conn);
    return ssl;
}

int devid_hub_try(struct devid_tool *t, const char *host, const char *port,
                  STACK_OF(X509) *chain, EVP_PKEY *pkey,
                  const char *client_id, char *why, size_t size)
{
    SSL_CTX *ctx = devid_hub_ctx(t, chain, pkey);
    SSL *ssl = ctx != NULL ? devid_hub_ssl(ctx, host, port) : NULL;
    int ok = 0;

    if (ssl == NULL) {
        snprintf(why, size, "cannot connect to %s:%s", host, port);
    } else if (SSL_connect(ssl) != 1) {
        snprintf(why, size, "TLS handshake with %s:%s failed", host, port);
    } else if (devid_hub_mqtt_connect(ssl, host, client_id, why, size)) {
        SSL_shutdown(ssl);
        ok = 1;
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return ok;
}
