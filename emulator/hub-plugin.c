/* SPDX-License-Identifier: Apache-2.0 */
/* devid-hub-plugin: a mosquitto 2.0 broker plugin (plugin API v5) that
 * makes the IoT Hub stand-in enforce IoT Hub's identity and topic rules
 * (DPS-PROTOCOL.md 5.1-5.5, 9.5):
 *  - CONNECT: the client id must be the device id the TLS client
 *    certificate is registered under in STATE/hub-devices.json (written by
 *    the DPS emulator when it assigns a device: by CA, CN = device id; by
 *    thumbprint, the certificate's SHA-256), and the user name must be
 *    {hub}/{deviceId}/?api-version=...; otherwise CONNACK "not authorized";
 *  - a device publishes telemetry under its own id only, and subscribes to
 *    its own cloud-to-device, twin and method topics; anything else closes
 *    the connection (mosquitto's own ACLs would PUBACK and drop it);
 *  - the "service" identity reads every device's messages and sends
 *    cloud-to-device messages;
 *  - the server certificate follows the DPS emulator's root switch
 *    (STATE/server-root). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* the three entry points are the module's only exported symbols: their
 * declarations give them default visibility. mosquitto 2.1 declares the
 * broker and plugin API in <mosquitto.h> (and warns on the 2.0 names). */
#pragma GCC visibility push(default)
#include <mosquitto.h>
#ifndef DEVID_MOSQUITTO_ONE_HEADER
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#endif
#pragma GCC visibility pop

#include "emulator/hub-plugin.h"

#define DEVID_HUB_LOG "devid-hub: "

/* The topic filters a device may subscribe to besides its own
 * devices/{id}/messages/devicebound/# (DPS-PROTOCOL.md 5.3). */
static const char *const devid_hub_device_filters[] = {
    "$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#",
    "$iothub/methods/POST/#", NULL
};

/* ---- files -------------------------------------------------------------- */

static char *devid_hub_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p != NULL) {
        snprintf(p, n, "%s/%s", dir, name);
    }
    return p;
}

/* Copy src to dst through a temporary file and a rename, so mosquitto never
 * reads half a certificate. */
static int devid_hub_copy(const char *src, const char *dst, int mode)
{
    char buf[4096];
    char *tmp = malloc(strlen(dst) + 8);
    FILE *in = fopen(src, "rb");
    int out = -1;
    size_t n;
    int ret = 0;

    if (tmp == NULL || in == NULL) {
        goto end;
    }
    snprintf(tmp, strlen(dst) + 8, "%s.tmp", dst);
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (out < 0) {
        goto end;
    }
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        if (write(out, buf, n) != (ssize_t)n) {
            goto end;
        }
    }
    ret = ferror(in) == 0 && fsync(out) == 0;
    ret = close(out) == 0 && ret;
    out = -1;
    ret = ret && rename(tmp, dst) == 0;
end:
    if (out >= 0) {
        close(out);
    }
    if (!ret && tmp != NULL) {
        unlink(tmp);
    }
    if (in != NULL) {
        fclose(in);
    }
    free(tmp);
    return ret;
}

/* ---- the device registry ------------------------------------------------ */

/* Re-read STATE/hub-devices.json when it changed (the emulator replaces it
 * by rename: a new inode). A file that does not parse keeps what was read
 * before; a missing file means no device. */
static void devid_hub_refresh(struct devid_hub *hub)
{
    struct stat sb;
    json_object *d;

    if (stat(hub->devices_path, &sb) != 0) {
        if (hub->devices_read || hub->devices == NULL) {
            json_object_put(hub->devices);
            hub->devices = json_object_new_object();
            hub->devices_read = 0;
        }
        return;
    }
    if (hub->devices_read && sb.st_ino == hub->devices_seen.st_ino
        && sb.st_size == hub->devices_seen.st_size
        && sb.st_mtim.tv_sec == hub->devices_seen.st_mtim.tv_sec
        && sb.st_mtim.tv_nsec == hub->devices_seen.st_mtim.tv_nsec) {
        return;
    }
    d = json_object_from_file(hub->devices_path);
    if (d == NULL || !json_object_is_type(d, json_type_object)) {
        json_object_put(d);
        mosquitto_log_printf(MOSQ_LOG_WARNING, DEVID_HUB_LOG "cannot read %s",
                             hub->devices_path);
        return;
    }
    json_object_put(hub->devices);
    hub->devices = d;
    hub->devices_seen = sb;
    hub->devices_read = 1;
    mosquitto_log_printf(MOSQ_LOG_INFO, DEVID_HUB_LOG "%d device(s) in %s",
                         json_object_object_length(d), hub->devices_path);
}

json_object *devid_hub_device(struct devid_hub *hub, const char *id)
{
    json_object *rec = NULL;

    if (id == NULL || hub->devices == NULL
        || !json_object_object_get_ex(hub->devices, id, &rec)
        || !json_object_is_type(rec, json_type_object)) {
        return NULL;
    }
    return rec;
}

static const char *devid_hub_str(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v)
        || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

/* ---- identities --------------------------------------------------------- */

static int devid_hub_is_service(const struct devid_hub *hub, X509 *cert)
{
    return hub->service != NULL && cert != NULL
           && X509_cmp(hub->service, cert) == 0;
}

/* Whether the client's certificate is the service's. */
static int devid_hub_client_is_service(const struct devid_hub *hub,
                                       const struct mosquitto *client)
{
    X509 *cert = mosquitto_client_certificate(client);
    int ret = devid_hub_is_service(hub, cert);

    X509_free(cert);
    return ret;
}

/* Whether the subject CN of cert is exactly id (no embedded NUL, no
 * truncation). */
static int devid_hub_cn_is(X509 *cert, const char *id)
{
    char cn[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                      NID_commonName, cn, sizeof(cn));

    return n > 0 && (size_t)n == strlen(cn) && strcmp(cn, id) == 0;
}

/* Whether one of the client CAs issued cert. The TLS listener also trusts
 * the self-signed certificates of thumbprint devices (STATE/hub-certs), so
 * a verified chain alone does not make a CA-signed device. */
static int devid_hub_issued_by_ca(const struct devid_hub *hub, X509 *cert)
{
    X509 *ca;
    int i;

    for (i = 0; i < sk_X509_num(hub->client_cas); i++) {
        ca = sk_X509_value(hub->client_cas, i);
        if (X509_check_issued(ca, cert) == X509_V_OK
            && X509_verify(cert, X509_get0_pubkey(ca)) == 1) {
            return 1;
        }
    }
    return 0;
}

/* The certificate matches the record's authentication: CA-signed devices by
 * CN = device id and a certificate of the client CAs (the chain was
 * verified by the TLS listener), thumbprint devices by the SHA-256 of the
 * certificate. */
static int devid_hub_cert_matches(const struct devid_hub *hub, json_object *rec,
                                  const char *id, X509 *cert, const char **why)
{
    json_object *auth = json_object_object_get(rec, "authentication");
    json_object *tps = json_object_object_get(auth, "x509Thumbprint");
    const char *type = devid_hub_str(auth, "type");
    const char *want[2];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    unsigned int i;

    if (type != NULL && strcmp(type, "certificateAuthority") == 0) {
        *why = "certificate CN is not the device id, or no client CA "
               "issued it";
        return devid_hub_cn_is(cert, id) && devid_hub_issued_by_ca(hub, cert);
    }
    *why = "certificate thumbprint is not the device's";
    if (type == NULL || strcmp(type, "selfSigned") != 0
        || X509_digest(cert, EVP_sha256(), md, &n) != 1) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    want[0] = devid_hub_str(tps, "primaryThumbprint");
    want[1] = devid_hub_str(tps, "secondaryThumbprint");
    return (want[0] != NULL && strcasecmp(want[0], hex) == 0)
           || (want[1] != NULL && strcasecmp(want[1], hex) == 0);
}

/* {hub}/{deviceId}/?api-version={V}[&...] (DPS-PROTOCOL.md 5.1). */
static int devid_hub_username_ok(const char *user, const char *hubname,
                                 const char *id)
{
    static const char tail[] = "/?api-version=";
    size_t hl = strlen(hubname);
    size_t il = strlen(id);

    if (user == NULL || strncasecmp(user, hubname, hl) != 0
        || user[hl] != '/') {
        return 0;
    }
    user += hl + 1;
    if (strncmp(user, id, il) != 0
        || strncmp(user + il, tail, sizeof(tail) - 1) != 0) {
        return 0;
    }
    user += il + sizeof(tail) - 1;
    return *user != '\0' && *user != '&';
}

/* MOSQ_EVT_BASIC_AUTH: runs on every CONNECT (the listener does not use
 * the certificate as the user name, so the user name is the client's). */
static int devid_hub_on_auth(int event, void *data, void *ud)
{
    struct mosquitto_evt_basic_auth *ev = data;
    struct devid_hub *hub = ud;
    const char *id = mosquitto_client_id(ev->client);
    X509 *cert = mosquitto_client_certificate(ev->client);
    json_object *rec = NULL;
    const char *why = "no client certificate";
    const char *hubname = NULL;
    int rc = MOSQ_ERR_AUTH;

    (void)event;
    if (cert == NULL) {
        goto end;
    }
    if (devid_hub_is_service(hub, cert)) {
        rc = MOSQ_ERR_SUCCESS; /* any client id, any user */
        goto end;
    }
    devid_hub_refresh(hub);
    rec = devid_hub_device(hub, id);
    hubname = rec != NULL ? devid_hub_str(rec, "hub") : NULL;
    if (rec == NULL || hubname == NULL) {
        why = "the client id is not a registered device";
    } else if (!devid_hub_cert_matches(hub, rec, id, cert, &why)) {
        /* why says which rule */
    } else if (!devid_hub_username_ok(ev->username, hubname, id)) {
        why = "the user name is not {hub}/{deviceId}/?api-version=...";
    } else {
        rc = MOSQ_ERR_SUCCESS;
    }
end:
    if (rc != MOSQ_ERR_SUCCESS) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             DEVID_HUB_LOG "refused client "
                                           "id '%s' user '%s': %s",
                             id != NULL ? id : "",
                             ev->username != NULL ? ev->username : "", why);
    }
    X509_free(cert);
    return rc;
}

/* ---- topics ------------------------------------------------------------- */

/* Whether topic is devices/{id}{sub} or under devices/{id}{sub}/. id NULL
 * stands for any one level. */
static int devid_hub_under(const char *topic, const char *id, const char *sub)
{
    size_t l;

    if (strncmp(topic, "devices/", 8) != 0) {
        return 0;
    }
    topic += 8;
    l = id != NULL ? strlen(id) : strcspn(topic, "/");
    if (l == 0 || (id != NULL && strncmp(topic, id, l) != 0)) {
        return 0;
    }
    topic += l;
    l = strlen(sub);
    return strncmp(topic, sub, l) == 0 && (topic[l] == '\0' || topic[l] == '/');
}

static int devid_hub_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* What a device (client id = device id) may do. */
static int devid_hub_device_acl(const struct mosquitto_evt_acl_check *ev,
                                const char *id)
{
    char own[300];
    size_t i;

    switch (ev->access) {
    case MOSQ_ACL_WRITE:
        /* QoS 2 is not supported by IoT Hub: it closes the connection */
        return ev->qos <= 1
               && (devid_hub_under(ev->topic, id, "/messages/events")
                   || devid_hub_prefix(ev->topic, "$iothub/twin/GET/?")
                   || devid_hub_prefix(ev->topic, "$iothub/twin/PATCH/"
                                                  "properties/reported/?"));
    case MOSQ_ACL_SUBSCRIBE:
        snprintf(own, sizeof(own), "devices/%s/messages/devicebound/#", id);
        if (strcmp(ev->topic, own) == 0) {
            return 1;
        }
        for (i = 0; devid_hub_device_filters[i] != NULL; i++) {
            if (strcmp(ev->topic, devid_hub_device_filters[i]) == 0) {
                return 1;
            }
        }
        return 0;
    case MOSQ_ACL_READ:
        return devid_hub_under(ev->topic, id, "/messages/devicebound");
    default:
        return 1; /* unsubscribe */
    }
}

/* What the service may do: read devices/..., send cloud-to-device. */
static int devid_hub_service_acl(const struct mosquitto_evt_acl_check *ev)
{
    switch (ev->access) {
    case MOSQ_ACL_WRITE:
        return ev->qos <= 1
               && devid_hub_under(ev->topic, NULL, "/messages/devicebound");
    case MOSQ_ACL_SUBSCRIBE:
    case MOSQ_ACL_READ:
        return devid_hub_prefix(ev->topic, "devices/");
    default:
        return 1;
    }
}

/* MOSQ_EVT_ACL_CHECK. A refused publish or subscribe returns an error that
 * is not MOSQ_ERR_ACL_DENIED: mosquitto then closes the connection instead
 * of answering PUBACK (a silent drop) or a SUBACK failure code, as IoT Hub
 * closes it. A message another client sent is just not delivered. */
static int devid_hub_on_acl(int event, void *data, void *ud)
{
    struct mosquitto_evt_acl_check *ev = data;
    struct devid_hub *hub = ud;
    const char *id = mosquitto_client_id(ev->client);
    int service = devid_hub_client_is_service(hub, ev->client);
    int ok;

    (void)event;
    if (id == NULL || ev->topic == NULL) {
        return MOSQ_ERR_ACL_DENIED;
    }
    ok = service ? devid_hub_service_acl(ev) : devid_hub_device_acl(ev, id);
    if (ok) {
        return MOSQ_ERR_SUCCESS;
    }
    if (ev->access == MOSQ_ACL_READ) {
        return MOSQ_ERR_ACL_DENIED;
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         DEVID_HUB_LOG "closing '%s': %s "
                                       "'%s' (QoS %d) is not allowed",
                         id,
                         ev->access == MOSQ_ACL_WRITE ? "publish to"
                                                      : "subscribe to",
                         ev->topic, ev->qos);
    return MOSQ_ERR_AUTH;
}

/* MOSQ_EVT_MESSAGE: a device's twin request is answered here and goes no
 * further (refused as a message: acknowledged, not routed). */
static int devid_hub_on_message(int event, void *data, void *ud)
{
    struct mosquitto_evt_message *ev = data;
    struct devid_hub *hub = ud;
    const char *id = mosquitto_client_id(ev->client);

    (void)event;
    if (id == NULL || ev->topic == NULL || ev->topic[0] != '$'
        || devid_hub_client_is_service(hub, ev->client)) {
        return MOSQ_ERR_SUCCESS;
    }
    devid_hub_refresh(hub);
    if (devid_hub_twin_request(hub, id, ev->topic, ev->payload,
                               ev->payloadlen)) {
        return MOSQ_ERR_ACL_DENIED;
    }
    return MOSQ_ERR_SUCCESS;
}

/* ---- the server root ---------------------------------------------------- */

/* Write STATE/hub.root: the root the listener presents now. */
static void devid_hub_write_root(const struct devid_hub *hub)
{
    char *path = devid_hub_path(hub->state_dir, "hub.root");
    char *tmp = devid_hub_path(hub->state_dir, "hub.root.tmp");
    FILE *f = tmp != NULL ? fopen(tmp, "w") : NULL;
    int ok = 0;

    if (f != NULL) {
        ok = fprintf(f, "%c\n", hub->root) > 0;
        ok = fclose(f) == 0 && ok;
    }
    if (!ok || path == NULL || rename(tmp, path) != 0) {
        mosquitto_log_printf(MOSQ_LOG_WARNING,
                             DEVID_HUB_LOG "cannot write "
                                           "%s/hub.root",
                             hub->state_dir);
    }
    free(path);
    free(tmp);
}

/* Install the chain and key of root r where the listener reads them. */
static int devid_hub_install_root(struct devid_hub *hub, char r)
{
    char sub[32];
    char *chain;
    char *key;
    int ok;

    snprintf(sub, sizeof(sub), "server-%c/chain.pem", r == 'B' ? 'b' : 'a');
    chain = devid_hub_path(hub->state_dir, sub);
    snprintf(sub, sizeof(sub), "server-%c/cert.key", r == 'B' ? 'b' : 'a');
    key = devid_hub_path(hub->state_dir, sub);
    ok = chain != NULL && key != NULL && devid_hub_copy(key, hub->keyfile, 0600)
         && devid_hub_copy(chain, hub->certfile, 0644);
    free(chain);
    free(key);
    return ok;
}

/* MOSQ_EVT_TICK: follow the emulator's server root (STATE/server-root).
 * A switch installs the other chain and asks mosquitto to reload with
 * SIGHUP, which reloads listener certificates (mosquitto >= 1.6); the
 * reload event then records the root in STATE/hub.root. */
static int devid_hub_on_tick(int event, void *data, void *ud)
{
    struct devid_hub *hub = ud;
    char *path;
    FILE *f;
    int c = EOF;
    time_t now = time(NULL);

    (void)event;
    (void)data;
    if (hub->certfile == NULL || now < hub->next_root_check) {
        return MOSQ_ERR_SUCCESS;
    }
    hub->next_root_check = now + 1;
    path = devid_hub_path(hub->state_dir, "server-root");
    f = path != NULL ? fopen(path, "r") : NULL;
    if (f != NULL) {
        c = fgetc(f);
        fclose(f);
    }
    free(path);
    if ((c != 'A' && c != 'B') || c == hub->root) {
        return MOSQ_ERR_SUCCESS;
    }
    if (!devid_hub_install_root(hub, (char)c)) {
        mosquitto_log_printf(MOSQ_LOG_WARNING,
                             DEVID_HUB_LOG "cannot install "
                                           "server root %c: %s",
                             c, strerror(errno));
        return MOSQ_ERR_SUCCESS;
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         DEVID_HUB_LOG "server root %c -> %c:"
                                       " reloading",
                         hub->root, c);
    hub->root = (char)c;
    kill(getpid(), SIGHUP);
    return MOSQ_ERR_SUCCESS;
}

/* MOSQ_EVT_RELOAD: comes after mosquitto reloaded the listener
 * certificates. */
static int devid_hub_on_reload(int event, void *data, void *ud)
{
    struct devid_hub *hub = ud;

    (void)event;
    (void)data;
    if (hub->certfile != NULL) {
        devid_hub_write_root(hub);
    }
    return MOSQ_ERR_SUCCESS;
}

/* ---- plugin life cycle -------------------------------------------------- */

static const char *devid_hub_opt(struct mosquitto_opt *opts, int n,
                                 const char *key)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strcmp(opts[i].key, key) == 0) {
            return opts[i].value;
        }
    }
    return NULL;
}

static X509 *devid_hub_read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *cert = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

    if (f != NULL) {
        fclose(f);
    }
    return cert;
}

/* Every certificate of a PEM file, or NULL when there is none. */
static STACK_OF(X509) *devid_hub_read_certs(const char *path)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    FILE *f = fopen(path, "r");
    X509 *cert = NULL;

    while (f != NULL && certs != NULL) {
        cert = PEM_read_X509(f, NULL, NULL, NULL);
        if (cert == NULL || !sk_X509_push(certs, cert)) {
            break;
        }
        cert = NULL;
    }
    X509_free(cert);
    if (f != NULL) {
        fclose(f);
    }
    ERR_clear_error(); /* the end of the file */
    if (certs != NULL && sk_X509_num(certs) == 0) {
        sk_X509_free(certs);
        certs = NULL;
    }
    return certs;
}

static void devid_hub_free(struct devid_hub *hub)
{
    if (hub == NULL) {
        return;
    }
    sk_X509_pop_free(hub->client_cas, X509_free);
    json_object_put(hub->devices);
    json_object_put(hub->twins);
    X509_free(hub->service);
    free(hub->devices_path);
    free(hub->state_dir);
    free(hub->certfile);
    free(hub->keyfile);
    free(hub);
}

/* Options (plugin_opt_NAME in mosquitto.conf):
 *   devices       STATE/hub-devices.json (required)
 *   client_cas    PEM of the CAs the listener trusts for devices (required)
 *   service_cert  PEM of the service identity's certificate
 *   state         STATE, for following the server root, with
 *   certfile, keyfile, root   the listener's files and the root in them */
static struct devid_hub *devid_hub_new(struct mosquitto_opt *opts, int n)
{
    struct devid_hub *hub = calloc(1, sizeof(*hub));
    const char *devices = devid_hub_opt(opts, n, "devices");
    const char *service = devid_hub_opt(opts, n, "service_cert");
    const char *cas = devid_hub_opt(opts, n, "client_cas");
    const char *state = devid_hub_opt(opts, n, "state");
    const char *certfile = devid_hub_opt(opts, n, "certfile");
    const char *keyfile = devid_hub_opt(opts, n, "keyfile");
    const char *root = devid_hub_opt(opts, n, "root");

    if (hub == NULL || devices == NULL || cas == NULL) {
        mosquitto_log_printf(MOSQ_LOG_ERR, DEVID_HUB_LOG
                             "plugin_opt_devices "
                             "and plugin_opt_client_cas are required");
        devid_hub_free(hub);
        return NULL;
    }
    hub->devices_path = strdup(devices);
    hub->twins = json_object_new_object();
    hub->root = root != NULL && root[0] == 'B' ? 'B' : 'A';
    hub->client_cas = devid_hub_read_certs(cas);
    if (hub->client_cas == NULL) {
        mosquitto_log_printf(MOSQ_LOG_ERR,
                             DEVID_HUB_LOG "no certificate in "
                                           "%s",
                             cas);
        devid_hub_free(hub);
        return NULL;
    }
    hub->service = service != NULL ? devid_hub_read_cert(service) : NULL;
    if (service != NULL && hub->service == NULL) {
        mosquitto_log_printf(MOSQ_LOG_ERR,
                             DEVID_HUB_LOG "cannot read the "
                                           "service certificate %s",
                             service);
        devid_hub_free(hub);
        return NULL;
    }
    if (state != NULL && certfile != NULL && keyfile != NULL) {
        hub->state_dir = strdup(state);
        hub->certfile = strdup(certfile);
        hub->keyfile = strdup(keyfile);
    }
    if (hub->devices_path == NULL || hub->twins == NULL
        || (state != NULL && certfile != NULL && keyfile != NULL
            && (hub->state_dir == NULL || hub->certfile == NULL
                || hub->keyfile == NULL))) {
        devid_hub_free(hub);
        return NULL;
    }
    return hub;
}

static const struct {
    int event;
    MOSQ_FUNC_generic_callback cb;
} devid_hub_callbacks[] = {
    { MOSQ_EVT_BASIC_AUTH, devid_hub_on_auth },
    { MOSQ_EVT_ACL_CHECK, devid_hub_on_acl },
    { MOSQ_EVT_MESSAGE, devid_hub_on_message },
    { MOSQ_EVT_TICK, devid_hub_on_tick },
    { MOSQ_EVT_RELOAD, devid_hub_on_reload },
};

#define DEVID_HUB_NCB                                                          \
    (sizeof(devid_hub_callbacks) / sizeof(devid_hub_callbacks[0]))

int mosquitto_plugin_version(int supported_version_count,
                             const int *supported_versions)
{
    int i;

    for (i = 0; i < supported_version_count; i++) {
        if (supported_versions[i] == 5) {
            return 5;
        }
    }
    return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *options, int option_count)
{
    struct devid_hub *hub = devid_hub_new(options, option_count);
    size_t i;

    if (hub == NULL) {
        return MOSQ_ERR_INVAL;
    }
    hub->pid = identifier;
    for (i = 0; i < DEVID_HUB_NCB; i++) {
        if (mosquitto_callback_register(identifier,
                                        devid_hub_callbacks[i].event,
                                        devid_hub_callbacks[i].cb, NULL, hub)
            != MOSQ_ERR_SUCCESS) {
            mosquitto_log_printf(MOSQ_LOG_ERR,
                                 DEVID_HUB_LOG "cannot register"
                                               " callback %d",
                                 devid_hub_callbacks[i].event);
            while (i-- > 0) {
                mosquitto_callback_unregister(identifier,
                                              devid_hub_callbacks[i].event,
                                              devid_hub_callbacks[i].cb, NULL);
            }
            devid_hub_free(hub);
            return MOSQ_ERR_UNKNOWN;
        }
    }
    devid_hub_refresh(hub);
    if (hub->certfile != NULL) {
        devid_hub_write_root(hub);
    }
    *userdata = hub;
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         DEVID_HUB_LOG "IoT Hub rules on, "
                                       "devices from %s, server root %c",
                         hub->devices_path, hub->root);
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
                             int option_count)
{
    struct devid_hub *hub = userdata;
    size_t i;

    (void)options;
    (void)option_count;
    if (hub == NULL) {
        return MOSQ_ERR_SUCCESS;
    }
    for (i = 0; i < DEVID_HUB_NCB; i++) {
        mosquitto_callback_unregister(hub->pid, devid_hub_callbacks[i].event,
                                      devid_hub_callbacks[i].cb, NULL);
    }
    devid_hub_free(hub);
    return MOSQ_ERR_SUCCESS;
}
