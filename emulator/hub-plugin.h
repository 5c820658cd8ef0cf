/* SPDX-License-Identifier: Apache-2.0 */
/* devid-hub-plugin: what the IoT Hub stand-in's mosquitto plugin keeps
 * (hub-plugin.c: identities and topics; hub-twin.c: device twins). */
#ifndef DEVID_HUB_PLUGIN_H
#define DEVID_HUB_PLUGIN_H

#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/x509.h>

struct mosquitto;
typedef struct mosquitto_plugin_id_t mosquitto_plugin_id_t;

struct devid_hub {
    mosquitto_plugin_id_t *pid;
    char *devices_path;         /* STATE/hub-devices.json (the emulator's) */
    json_object *devices;       /* device id -> record, as last read */
    struct stat devices_seen;   /* the file behind devices */
    int devices_read;           /* devices_seen is valid */
    X509 *service;              /* the service identity's certificate */
    STACK_OF(X509) *client_cas; /* CAs whose devices authenticate by CA */
    char *state_dir;            /* server-root, server-a|b/, hub.root */
    char *certfile;             /* the listener's certificate chain ... */
    char *keyfile;              /* ... and key: rewritten on a root switch */
    char root;                  /* the server root presented or loading */
    time_t next_root_check;
    json_object *twins; /* device id -> twin state (hub-twin.c) */
};

/** The registry record of device id (borrowed), or NULL. */
json_object *devid_hub_device(struct devid_hub *hub, const char *id);

/** Answer a device's twin request (GET, or PATCH of reported properties,
 *  DPS-PROTOCOL.md 5.3) on $iothub/twin/res/{status}/?$rid=... Returns 1
 *  when topic was a twin request. */
int devid_hub_twin_request(struct devid_hub *hub, const char *id,
                           const char *topic, const void *payload, size_t len);

#endif
