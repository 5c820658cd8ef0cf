/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: types and functions shared by the emulator's modules
 * (config, PKI, issuance, enrollment matching, store, faults, HTTP routes). */
#ifndef DEVID_EMU_H
#define DEVID_EMU_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct event_base;
struct evconnlistener;
struct evhttp;
struct evhttp_request;
struct devid_emu_mqtt_conn;

/* Largest request body DPS accepts (DPS-PROTOCOL.md section 1.8). */
#define DEVID_EMU_MAX_BODY (96 * 1024)

/* Key types an issuance policy may allow. */
#define DEVID_EMU_KEY_P256 0x1u
#define DEVID_EMU_KEY_P384 0x2u
#define DEVID_EMU_KEY_RSA 0x4u

struct devid_emu_policy {
    char *name;
    unsigned key_types;     /* DEVID_EMU_KEY_* mask */
    long validity_seconds;  /* lifetime of issued leaves */
    int rsa_min_bits;
};

struct devid_emu_enrollment {
    int is_group;
    char *id;               /* registration id (individual) or group id */
    char *device_id;        /* individual only; NULL = registration id */
    X509 *cert;             /* individual certificate or group CA, or NULL */
    char *thumbprint;       /* individual: lowercase hex SHA-1 or SHA-256 */
    int disabled;
    char *hub;              /* assigned hub; NULL = first hub */
    char *policy;           /* issuance policy name; NULL = no issuance */
    json_object *payload;   /* returned as registrationState.payload */
    json_object *initial_twin;
};

struct devid_emu_faults {
    int register_429;       /* answer this many registers with 429 */
    int poll_429;
    int register_500;
    int poll_500;
    int register_503;
    int poll_503;
    int close_register;     /* close the connection without answering */
    int close_poll;
    int retry_after_429;    /* Retry-After on injected 429s */
    int delay_ms;           /* delay every answer */
    int poll_limit;         /* >5 polls in 10 s per device gives 429 */
};

struct devid_emu_config {
    char *id_scope;
    char **hubs;
    size_t n_hubs;
    int assigning_polls;
    int retry_after;
    int timeout_seconds;    /* idle connection timeout */
    char server_root;       /* 'A' or 'B' */
    int trust_bundle_a;     /* legacy trustBundle holds server root A */
    int trust_bundle_b;
    struct devid_emu_policy *policies;
    size_t n_policies;
    struct devid_emu_enrollment *enrollments;
    size_t n_enrollments;
    struct devid_emu_faults faults;
};

/* A certificate with its private key. */
struct devid_emu_ca {
    X509 *cert;
    EVP_PKEY *key;
};

/* Every PKI the emulator keeps in its state directory. */
struct devid_emu_pki {
    char *dir;
    struct devid_emu_ca server_root[2]; /* [0] = A, [1] = B */
    struct devid_emu_ca server_leaf[2];
    struct devid_emu_ca device_root;
    struct devid_emu_ca device_ca;
    struct devid_emu_ca factory_root;
    struct devid_emu_ca factory_ca;
};

struct devid_emu_store;

/* Fault counters: armed from the config, consumed by requests. */
struct devid_emu_fault_state {
    struct devid_emu_faults left;
};

struct devid_emu_server {
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *mqtt; /* DPS over MQTT, or NULL */
    struct devid_emu_mqtt_conn *mqtt_conns;
    SSL_CTX *ssl_ctx; /* both listeners' (server root) */
    struct devid_emu_pki pki;
    struct devid_emu_config *cfg;
    const char *config_path;
    struct devid_emu_store *store;
    struct devid_emu_fault_state faults;
    unsigned generation;
    int port;
    int mqtt_port;
    int verbose;
};

/* Result of authenticating the TLS client against the enrollments. */
struct devid_emu_auth {
    const struct devid_emu_enrollment *enrollment; /* borrowed from config */
    X509 *leaf;                                    /* borrowed from SSL */
    char cn[129];
};

/* util.c */

/** Log a line to stderr with a timestamp (printf format). */
void devid_emu_log(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/** Current UTC time as RFC 3339 with 7 fractional digits into buf. */
void devid_emu_now_rfc3339(char *buf, size_t len);
/** ASN1_TIME as RFC 3339 UTC into buf; "" when it cannot be converted. */
void devid_emu_asn1_rfc3339(const ASN1_TIME *t, char *buf, size_t len);
/** A random version-4 UUID string (37 bytes with NUL) into buf. */
void devid_emu_uuid(char *buf, size_t len);
/** Random lowercase hex of nbytes bytes into buf (2*nbytes+1). */
void devid_emu_rand_hex(char *buf, size_t nbytes);
/** Base64 of data without line breaks; caller frees with free(). */
char *devid_emu_b64(const unsigned char *data, size_t len);
/** Strict base64 decode (no whitespace); caller frees *out; 1 = ok. */
int devid_emu_unb64(const char *text, unsigned char **out, size_t *outlen);
/** Lowercase hex digest of the certificate's DER (sha1 or sha256). */
int devid_emu_thumbprint(X509 *cert, const char *md, char *buf, size_t len);
/** Subject CN of cert into buf; 1 = found and fits. */
int devid_emu_cert_cn(X509 *cert, char *buf, size_t len);
/** The first CN of name into buf (NUL-terminated, as it is encoded: every
 * issuer here writes UTF8String). Returns its length, or -1 when there is
 * none, it does not fit or it holds a NUL. */
int devid_emu_name_cn(const X509_NAME *name, char *buf, size_t len);
/** Read a whole file; caller frees; NULL on error. */
char *devid_emu_read_file(const char *path, size_t *len);
/** Write data to path atomically (temp file, fsync, rename). */
int devid_emu_write_file(const char *path, const char *data, size_t len,
                         int mode);
/** Path join of dir and name; caller frees. */
char *devid_emu_path(const char *dir, const char *name);

/* config.c */

/** Parse the config file; NULL on error (printed). Caller frees. */
struct devid_emu_config *devid_emu_config_load(const char *path,
                                               const struct devid_emu_pki *pki);
/** Free a config (NULL is fine). */
void devid_emu_config_free(struct devid_emu_config *cfg);
/** The policy named name, or NULL (borrowed). */
const struct devid_emu_policy *
devid_emu_config_policy(const struct devid_emu_config *cfg, const char *name);
/** Whether hub is one of the configured hubs. */
int devid_emu_config_has_hub(const struct devid_emu_config *cfg,
                             const char *hub);

/* pki.c */

/** Load the PKIs from dir, creating missing ones; 1 = ok. */
int devid_emu_pki_open(struct devid_emu_pki *pki, const char *dir);
/** Free the PKIs' certificates and keys. */
void devid_emu_pki_free(struct devid_emu_pki *pki);
/** Sign a client-auth leaf for pub; new X509 owned by the caller. */
X509 *devid_emu_pki_sign_leaf(const struct devid_emu_ca *issuer,
                              EVP_PKEY *pub, const char *cn, long seconds);
/** Read the first certificate from a PEM file; caller frees. */
X509 *devid_emu_pki_read_cert(const char *path);
/** Read a CSR in PEM or DER; caller frees. */
X509_REQ *devid_emu_pki_read_csr(const char *path);
/** Append cert as PEM to a growing string; 1 = ok. */
int devid_emu_pki_pem_append(X509 *cert, char **text, size_t *len);
/** Path of the server chain file for root 'A' or 'B'; caller frees. */
char *devid_emu_pki_server_file(const struct devid_emu_pki *pki, char root,
                                const char *name);

/* issue.c */

/** Check a CSR string from a request and sign a leaf; on failure *msg is
 * a static message for the 400 answer. Returns a new X509 or NULL. */
X509 *devid_emu_issue_from_b64(const struct devid_emu_pki *pki,
                               const struct devid_emu_policy *pol,
                               const char *b64, const char *regid,
                               const char **msg);
/** X509CertificateInfo JSON object of cert; caller owns it. */
json_object *devid_emu_cert_info(X509 *cert);
/** base64 DER of cert as a JSON string; caller owns it. */
json_object *devid_emu_cert_b64(X509 *cert);
/** "issue-onboarding" and "issue-device" subcommands; exit status. */
int devid_emu_issue_cmd(int argc, char **argv, int factory);

/* auth.c */

/** Authenticate the TLS peer; 1 = an enrollment matched (*out filled),
 * 0 = unknown or invalid. */
int devid_emu_auth_peer(const struct devid_emu_config *cfg, SSL *ssl,
                        struct devid_emu_auth *out);

/* faults.c */

/** Re-arm the fault counters from the config. */
void devid_emu_faults_arm(struct devid_emu_server *srv);
/** Which fault applies to this register (poll=0) or poll (poll=1):
 * 0 none, -1 close, or an HTTP status (429, 500, 503). */
int devid_emu_faults_take(struct devid_emu_server *srv, int poll);
/** Record a poll of regid; 1 = over the per-device limit. */
int devid_emu_faults_poll_limited(struct devid_emu_server *srv,
                                  const char *regid);

/* store.c */

struct devid_emu_op {
    char *id;
    char *regid;
    int polls_left;
    json_object *result;    /* terminal RegistrationOperationStatus */
    time_t created;
    int committed;          /* registration stored for the lookup */
    json_object *device;    /* hub device record to create when assigned */
};

/** New store persisted in dir/registrations.json; caller frees. */
struct devid_emu_store *devid_emu_store_new(const char *dir);
/** Free the store. */
void devid_emu_store_free(struct devid_emu_store *st);
/** Add an operation (store takes result, which may be NULL and set
 * later through op->result); returns the borrowed op or NULL. */
struct devid_emu_op *devid_emu_store_add_op(struct devid_emu_store *st,
                                            const char *regid,
                                            int polls,
                                            json_object *result);
/** The operation with id, or NULL (borrowed). */
struct devid_emu_op *devid_emu_store_op(struct devid_emu_store *st,
                                        const char *id);
/** Stored registrationState of regid, or NULL (borrowed). */
json_object *devid_emu_store_reg(struct devid_emu_store *st,
                                 const char *regid);
/** Remember regid's registrationState (store takes it) and persist. */
void devid_emu_store_set_reg(struct devid_emu_store *st, const char *regid,
                             json_object *state);
/** Create or replace the hub device record of device_id (store takes rec)
 * and persist STATE/hub-devices.json atomically. A thumbprint record keeps
 * the previous primary thumbprint as its secondary. */
void devid_emu_store_set_device(struct devid_emu_store *st,
                                const char *device_id, json_object *rec);
/** Let the hub's TLS listener accept cert, a self-signed certificate of a
 *  thumbprint device (IoT Hub checks no chain for those): a copy in
 *  STATE/hub-certs/ under its subject hash, the listener's capath. */
void devid_emu_store_trust_cert(struct devid_emu_store *st, X509 *cert);
/** Per-device poll timestamps (5 slots) for the poll limit. */
double *devid_emu_store_poll_times(struct devid_emu_store *st,
                                   const char *regid);

/* http.c */

/** Create the HTTPS server on 127.0.0.1:port; 1 = ok, srv->port set. */
int devid_emu_http_start(struct devid_emu_server *srv, int port);
/** Rebuild the TLS context (after a root switch); 1 = ok. */
int devid_emu_http_reload_tls(struct devid_emu_server *srv);
/** Free the HTTP server and TLS context. */
void devid_emu_http_stop(struct devid_emu_server *srv);
/** Send (maybe delayed) a JSON answer; takes body (may be NULL). */
void devid_emu_reply(struct devid_emu_server *srv, struct evhttp_request *req,
                     int status, json_object *body);
/** Close the request's connection without answering (deferred). */
void devid_emu_reply_close(struct devid_emu_server *srv,
                           struct evhttp_request *req);

/* mqtt.c: an MQTT 3.1.1 server over TLS, as much of it as DPS uses */

/** Listen for MQTT over TLS on 127.0.0.1:port (0: any free port), with
 *  the HTTPS server's TLS context; 1 = ok, srv->mqtt_port set. */
int devid_emu_mqtt_start(struct devid_emu_server *srv, int port);
/** Close the listener and every connection. */
void devid_emu_mqtt_stop(struct devid_emu_server *srv);
/** The server, TLS session and DPS state of a connection (borrowed). */
struct devid_emu_server *devid_emu_mqtt_server(struct devid_emu_mqtt_conn *c);
SSL *devid_emu_mqtt_ssl(struct devid_emu_mqtt_conn *c);
struct devid_emu_dps_conn *devid_emu_mqtt_dps(struct devid_emu_mqtt_conn *c);
/** PUBLISH at QoS 0 to the client, after delay_ms (0: now). */
void devid_emu_mqtt_publish(struct devid_emu_mqtt_conn *c, const char *topic,
                            const char *payload, size_t len, int delay_ms);
/** Close the connection after delay_ms (0: once the current packet is
 *  handled), without an answer. */
void devid_emu_mqtt_close(struct devid_emu_mqtt_conn *c, int delay_ms);

/* dps-mqtt.c: DPS over MQTT (DPS-PROTOCOL.md section 2) */

/* What a connection established at CONNECT. */
struct devid_emu_dps_conn {
    char *scope;
    char *regid; /* the user name's (= client id) */
    char apiv[32];
    int subscribed; /* to $dps/registrations/res/# */
};

/** CONNECT: the CONNACK return code (0 accepted, 2 client id, 4 user name,
 *  5 not authorized). */
int devid_emu_dps_connect(struct devid_emu_mqtt_conn *c, const char *client_id,
                          const char *username);
/** SUBSCRIBE of one filter: the granted QoS, or 0x80 (refused). */
int devid_emu_dps_subscribe(struct devid_emu_mqtt_conn *c, const char *filter,
                            int qos);
/** PUBLISH from the client: answered on the response topic; 0 = not a DPS
 *  topic, close the connection. */
int devid_emu_dps_publish(struct devid_emu_mqtt_conn *c, const char *topic,
                          const char *payload, size_t len);
/** Free what a connection's DPS state holds. */
void devid_emu_dps_conn_clear(struct devid_emu_dps_conn *d);

/* routes.c */

/** Entry point for every request (evhttp generic callback). */
void devid_emu_route(struct evhttp_request *req, void *arg);

#endif
