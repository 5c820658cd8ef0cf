/* SPDX-License-Identifier: Apache-2.0 */
/* devid-hub-plugin: the device side of IoT Hub's device twin over MQTT
 * (DPS-PROTOCOL.md 5.3), enough for device SDKs that read their twin and
 * report properties: GET answers {desired, reported} with their $version,
 * PATCH of reported properties merges (null deletes) and answers 204 with
 * the new $version. Desired properties come from the enrollment's
 * initial_twin, as DPS hands it to the hub; they are not pushed later. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#ifndef DEVID_MOSQUITTO_ONE_HEADER /* 2.1: <mosquitto.h> has the broker API */
#include <mosquitto_broker.h>
#endif

#include "emulator/hub-plugin.h"

#define DEVID_HUB_TWIN_GET "$iothub/twin/GET/?"
#define DEVID_HUB_TWIN_PATCH "$iothub/twin/PATCH/properties/reported/?"

/* The twin state of device id: {"reported": {...}, "version": n}. */
static json_object *devid_hub_twin_state(struct devid_hub *hub, const char *id)
{
    json_object *t = NULL;

    if (json_object_object_get_ex(hub->twins, id, &t)) {
        return t;
    }
    t = json_object_new_object();
    json_object_object_add(t, "reported", json_object_new_object());
    json_object_object_add(t, "version", json_object_new_int(1));
    json_object_object_add(hub->twins, id, t);
    return t;
}

/* Desired properties of the device's initial twin, with $version 1. */
static json_object *devid_hub_twin_desired(struct devid_hub *hub,
                                           const char *id)
{
    json_object *rec = devid_hub_device(hub, id);
    json_object *twin = rec != NULL ? json_object_object_get(rec, "initialTwin")
                                    : NULL;
    json_object *props = json_object_object_get(twin, "properties");
    json_object *want = json_object_object_get(props, "desired");
    json_object *desired = NULL;

    if (want == NULL || !json_object_is_type(want, json_type_object)
        || json_object_deep_copy(want, &desired, NULL) != 0) {
        desired = json_object_new_object();
    }
    json_object_object_add(desired, "$version", json_object_new_int(1));
    return desired;
}

/* JSON merge patch of IoT Hub's reported properties: null deletes, objects
 * merge, anything else replaces. */
static void devid_hub_twin_merge(json_object *into, json_object *patch)
{
    json_object *old;
    json_object *copy;

    json_object_object_foreach(patch, key, val) {
        if (val == NULL) {
            json_object_object_del(into, key);
        } else if (json_object_is_type(val, json_type_object)
                   && json_object_object_get_ex(into, key, &old)
                   && json_object_is_type(old, json_type_object)) {
            devid_hub_twin_merge(old, val);
        } else {
            copy = NULL; /* deep_copy wants an empty target */
            if (json_object_deep_copy(val, &copy, NULL) == 0) {
                json_object_object_add(into, key, copy);
            }
        }
    }
}

/* The $rid of a request topic's query ("" when absent), into rid. */
static void devid_hub_twin_rid(const char *topic, char *rid, size_t size)
{
    const char *q = strchr(topic, '?');
    const char *p = q;
    size_t n;

    rid[0] = '\0';
    while (p != NULL) {
        p++;
        if (strncmp(p, "$rid=", 5) == 0) {
            n = strcspn(p + 5, "&");
            snprintf(rid, size, "%.*s", (int)(n < size ? n : size - 1), p + 5);
            return;
        }
        p = strchr(p, '&');
    }
}

static void devid_hub_twin_send(const char *id, const char *topic,
                                const char *body)
{
    int len = body != NULL ? (int)strlen(body) : 0;

    if (mosquitto_broker_publish_copy(id, topic, len, body, 0, false, NULL)
        != MOSQ_ERR_SUCCESS) {
        mosquitto_log_printf(MOSQ_LOG_WARNING,
                             "devid-hub: cannot answer '%s' "
                             "on %s",
                             id, topic);
    }
}

static void devid_hub_twin_get(struct devid_hub *hub, const char *id,
                               const char *rid)
{
    json_object *st = devid_hub_twin_state(hub, id);
    json_object *body = json_object_new_object();
    json_object *reported = NULL;
    char topic[256];

    json_object_object_add(body, "desired", devid_hub_twin_desired(hub, id));
    if (json_object_deep_copy(json_object_object_get(st, "reported"), &reported,
                              NULL)
        != 0) {
        reported = json_object_new_object();
    }
    json_object_object_add(reported, "$version",
                           json_object_get(
                               json_object_object_get(st, "version")));
    json_object_object_add(body, "reported", reported);
    snprintf(topic, sizeof(topic), "$iothub/twin/res/200/?$rid=%s", rid);
    devid_hub_twin_send(id, topic,
                        json_object_to_json_string_ext(body,
                                                       JSON_C_TO_STRING_PLAIN));
    json_object_put(body);
}

static void devid_hub_twin_patch(struct devid_hub *hub, const char *id,
                                 const char *rid, const void *payload,
                                 size_t len)
{
    json_object *st = devid_hub_twin_state(hub, id);
    struct json_tokener *tok = json_tokener_new();
    json_object *patch = NULL;
    char topic[256];
    int version;

    if (tok != NULL && len < 32 * 1024) {
        patch = json_tokener_parse_ex(tok, payload, (int)len);
    }
    if (patch == NULL || json_tokener_get_parse_end(tok) != len
        || !json_object_is_type(patch, json_type_object)) {
        snprintf(topic, sizeof(topic), "$iothub/twin/res/400/?$rid=%s", rid);
        devid_hub_twin_send(id, topic, NULL);
        goto end;
    }
    devid_hub_twin_merge(json_object_object_get(st, "reported"), patch);
    version = json_object_get_int(json_object_object_get(st, "version")) + 1;
    json_object_object_add(st, "version", json_object_new_int(version));
    snprintf(topic, sizeof(topic), "$iothub/twin/res/204/?$rid=%s&$version=%d",
             rid, version);
    devid_hub_twin_send(id, topic, NULL);
end:
    json_object_put(patch);
    json_tokener_free(tok);
}

int devid_hub_twin_request(struct devid_hub *hub, const char *id,
                           const char *topic, const void *payload, size_t len)
{
    char rid[128];

    devid_hub_twin_rid(topic, rid, sizeof(rid));
    if (strncmp(topic, DEVID_HUB_TWIN_GET, strlen(DEVID_HUB_TWIN_GET)) == 0) {
        devid_hub_twin_get(hub, id, rid);
        return 1;
    }
    if (strncmp(topic, DEVID_HUB_TWIN_PATCH, strlen(DEVID_HUB_TWIN_PATCH))
        == 0) {
        devid_hub_twin_patch(hub, id, rid, payload, len);
        return 1;
    }
    return 0;
}
