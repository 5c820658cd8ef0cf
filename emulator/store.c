/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: operations in flight, registrations (kept in
 * STATE/registrations.json for the status lookup), the devices DPS created
 * in the IoT hubs (STATE/hub-devices.json, read by the hub stand-in's
 * broker plugin; STATE/hub-certs/, the self-signed device certificates its
 * TLS listener must accept) and per-device poll times. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emulator/emu.h"

/* Operations older than this are forgotten. */
#define DEVID_EMU_OP_LIFETIME 600

struct devid_emu_op_node {
    struct devid_emu_op op;
    struct devid_emu_op_node *next;
};

struct devid_emu_poll_node {
    char *regid;
    double times[5];
    struct devid_emu_poll_node *next;
};

struct devid_emu_store {
    char *path;                         /* registrations.json */
    json_object *regs;                  /* regid -> registrationState */
    char *devices_path;                 /* hub-devices.json */
    json_object *devices;               /* device id -> hub device record */
    char *certs_dir;                    /* hub-certs/: the hub's capath */
    struct devid_emu_op_node *ops;
    struct devid_emu_poll_node *polls;
};

/* A JSON object persisted in path, or a new empty one. */
static json_object *devid_emu_store_load(const char *path)
{
    json_object *o = path != NULL ? json_object_from_file(path) : NULL;

    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o != NULL ? o : json_object_new_object();
}

struct devid_emu_store *devid_emu_store_new(const char *dir)
{
    struct devid_emu_store *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        return NULL;
    }
    st->path = devid_emu_path(dir, "registrations.json");
    st->devices_path = devid_emu_path(dir, "hub-devices.json");
    st->certs_dir = devid_emu_path(dir, "hub-certs");
    st->regs = devid_emu_store_load(st->path);
    st->devices = devid_emu_store_load(st->devices_path);
    if (st->path == NULL || st->regs == NULL || st->devices_path == NULL
        || st->devices == NULL || st->certs_dir == NULL) {
        devid_emu_store_free(st);
        return NULL;
    }
    return st;
}

static void devid_emu_op_node_free(struct devid_emu_op_node *n)
{
    free(n->op.id);
    free(n->op.regid);
    json_object_put(n->op.result);
    json_object_put(n->op.device);
    free(n);
}

void devid_emu_store_free(struct devid_emu_store *st)
{
    struct devid_emu_op_node *o;
    struct devid_emu_poll_node *p;

    if (st == NULL) {
        return;
    }
    while ((o = st->ops) != NULL) {
        st->ops = o->next;
        devid_emu_op_node_free(o);
    }
    while ((p = st->polls) != NULL) {
        st->polls = p->next;
        free(p->regid);
        free(p);
    }
    json_object_put(st->regs);
    json_object_put(st->devices);
    free(st->path);
    free(st->devices_path);
    free(st->certs_dir);
    free(st);
}

static void devid_emu_store_expire(struct devid_emu_store *st, time_t now)
{
    struct devid_emu_op_node **pp = &st->ops;
    struct devid_emu_op_node *n;

    while ((n = *pp) != NULL) {
        if (now - n->op.created > DEVID_EMU_OP_LIFETIME) {
            *pp = n->next;
            devid_emu_op_node_free(n);
        } else {
            pp = &n->next;
        }
    }
}

struct devid_emu_op *devid_emu_store_add_op(struct devid_emu_store *st,
                                            const char *regid, int polls,
                                            json_object *result)
{
    struct devid_emu_op_node *n = calloc(1, sizeof(*n));
    char hex[17];
    char uuid[40];
    char id[80];

    devid_emu_store_expire(st, time(NULL));
    if (n == NULL) {
        json_object_put(result);
        return NULL;
    }
    /* the form the service uses: <digit>.<16 hex>.<guid> */
    devid_emu_rand_hex(hex, 8);
    devid_emu_uuid(uuid, sizeof(uuid));
    snprintf(id, sizeof(id), "5.%s.%s", hex, uuid);
    n->op.id = strdup(id);
    n->op.regid = strdup(regid);
    n->op.polls_left = polls;
    n->op.result = result;
    n->op.created = time(NULL);
    if (n->op.id == NULL || n->op.regid == NULL) {
        devid_emu_op_node_free(n);
        return NULL;
    }
    n->next = st->ops;
    st->ops = n;
    return &n->op;
}

struct devid_emu_op *devid_emu_store_op(struct devid_emu_store *st,
                                        const char *id)
{
    struct devid_emu_op_node *n;

    for (n = st->ops; n != NULL; n = n->next) {
        if (strcmp(n->op.id, id) == 0) {
            return &n->op;
        }
    }
    return NULL;
}

json_object *devid_emu_store_reg(struct devid_emu_store *st,
                                 const char *regid)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(st->regs, regid, &v)) {
        return NULL;
    }
    return v;
}

/* Write obj to path atomically; the readers (the status lookup after a
 * restart, the hub plugin at any time) see the old file or the new one. */
static void devid_emu_store_save(const char *path, json_object *obj)
{
    const char *text =
        json_object_to_json_string_ext(obj,
                                       JSON_C_TO_STRING_PRETTY
                                           | JSON_C_TO_STRING_NOSLASHESCAPE);

    if (text == NULL || !devid_emu_write_file(path, text, strlen(text), 0644)) {
        devid_emu_log("cannot save %s", path);
    }
}

void devid_emu_store_set_reg(struct devid_emu_store *st, const char *regid,
                             json_object *state)
{
    json_object_object_add(st->regs, regid, state);
    devid_emu_store_save(st->path, st->regs);
}

/* The primary thumbprint of a thumbprint-authenticated record, or NULL. */
static const char *devid_emu_primary(json_object *rec)
{
    json_object *auth = NULL;
    json_object *tp = NULL;
    json_object *v = NULL;

    if (rec == NULL || !json_object_object_get_ex(rec, "authentication", &auth)
        || !json_object_object_get_ex(auth, "x509Thumbprint", &tp)
        || !json_object_object_get_ex(tp, "primaryThumbprint", &v)
        || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

void devid_emu_store_set_device(struct devid_emu_store *st,
                                const char *device_id, json_object *rec)
{
    json_object *old = NULL;
    json_object *tp = NULL;
    const char *was;
    const char *now = devid_emu_primary(rec);

    json_object_object_get_ex(st->devices, device_id, &old);
    was = devid_emu_primary(old);
    /* like the hub's primary and secondary thumbprints: the credential
     * the device had keeps working next to the new one (renewal, rollback) */
    if (now != NULL && was != NULL && strcmp(now, was) != 0
        && json_object_object_get_ex(json_object_object_get(rec,
                                                            "authentication"),
                                     "x509Thumbprint", &tp)) {
        json_object_object_add(tp, "secondaryThumbprint",
                               json_object_new_string(was));
    }
    json_object_object_add(st->devices, device_id, rec);
    devid_emu_store_save(st->devices_path, st->devices);
}

double *devid_emu_store_poll_times(struct devid_emu_store *st,
                                   const char *regid)
{
    struct devid_emu_poll_node *n;

    for (n = st->polls; n != NULL; n = n->next) {
        if (strcmp(n->regid, regid) == 0) {
            return n->times;
        }
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL || (n->regid = strdup(regid)) == NULL) {
        free(n);
        return NULL;
    }
    n->next = st->polls;
    st->polls = n;
    return n->times;
}

/* The first free <hash>.<n> name for cert in the hashed directory (as
 * openssl rehash names them), or NULL when cert is there already. */
static char *devid_emu_store_cert_slot(const char *dir, X509 *cert)
{
    unsigned long h = X509_subject_name_hash(cert);
    char name[32];
    char *path;
    X509 *have;
    int same;
    int i;

    for (i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "%08lx.%d", h, i);
        path = devid_emu_path(dir, name);
        if (path == NULL || access(path, F_OK) != 0) {
            return path;
        }
        have = devid_emu_pki_read_cert(path);
        same = have != NULL && X509_cmp(have, cert) == 0;
        X509_free(have);
        if (same) {
            free(path);
            return NULL;
        }
        free(path);
    }
    return NULL;
}

void devid_emu_store_trust_cert(struct devid_emu_store *st, X509 *cert)
{
    char *path = NULL;
    char *pem = NULL;
    size_t len = 0;

    if (mkdir(st->certs_dir, 0755) != 0 && errno != EEXIST) {
        devid_emu_log("cannot create %s: %s", st->certs_dir, strerror(errno));
        return;
    }
    path = devid_emu_store_cert_slot(st->certs_dir, cert);
    if (path != NULL && devid_emu_pki_pem_append(cert, &pem, &len)
        && !devid_emu_write_file(path, pem, len, 0644)) {
        devid_emu_log("cannot save %s", path);
    }
    free(pem);
    free(path);
}
