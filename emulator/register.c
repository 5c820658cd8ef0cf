/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: the three device routes (DPS-PROTOCOL.md 1.2, 1.6):
 * register starts an asynchronous operation, polls answer "assigning" a
 * configured number of times then the terminal result, and the status
 * lookup returns the stored registration. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "emulator/routes.h"

/* Fields that are returned once by the operation, never by the lookup. */
static const char *const devid_emu_once_fields[] = {
    "issuedCertificateChain", "issuedClientCertificate", "trustBundle", NULL
};

static void devid_emu_put_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

/* etag as the service shows it: base64 of a quoted GUID. */
static void devid_emu_put_etag(json_object *o)
{
    char uuid[40];
    char quoted[48];
    char *b64;

    devid_emu_uuid(uuid, sizeof(uuid));
    snprintf(quoted, sizeof(quoted), "\"%s\"", uuid);
    b64 = devid_emu_b64((const unsigned char *)quoted, strlen(quoted));
    devid_emu_put_str(o, "etag", b64 != NULL ? b64 : "");
    free(b64);
}

static json_object *devid_emu_x509_info(const struct devid_emu_rctx *cx)
{
    const struct devid_emu_enrollment *e = cx->auth.enrollment;
    json_object *x = json_object_new_object();

    json_object_object_add(x, "certificateInfo",
                           devid_emu_cert_info(cx->auth.leaf));
    if (e->is_group) {
        devid_emu_put_str(x, "enrollmentGroupId", e->id);
        json_object_object_add(x, "signingCertificateInfo",
                               devid_emu_cert_info(e->cert));
    }
    return x;
}

/* The hub device id: a group device's CN, else the enrollment's
 * device_id or the registration ID (DPS-PROTOCOL.md section 3). */
static const char *devid_emu_device_id(const struct devid_emu_rctx *cx)
{
    const struct devid_emu_enrollment *e = cx->auth.enrollment;

    return !e->is_group && e->device_id != NULL ? e->device_id : cx->regid;
}

static const char *devid_emu_hub(const struct devid_emu_rctx *cx)
{
    const struct devid_emu_enrollment *e = cx->auth.enrollment;

    return e->hub != NULL ? e->hub : cx->srv->cfg->hubs[0];
}

/* The device DPS creates in the hub when it assigns (DPS-PROTOCOL.md 5.5,
 * in IoT Hub's registry terms): an enrollment group's device authenticates
 * by CA (its certificate's CN must be the device id), an individual
 * enrollment's by the thumbprint of the certificate it will present there,
 * the issued one, else the one it attested with. */
static json_object *devid_emu_hub_device(const struct devid_emu_rctx *cx,
                                         X509 *cred)
{
    const struct devid_emu_enrollment *e = cx->auth.enrollment;
    json_object *rec = json_object_new_object();
    json_object *auth = json_object_new_object();
    json_object *tp;
    char hex[EVP_MAX_MD_SIZE * 2 + 1];

    devid_emu_put_str(rec, "deviceId", devid_emu_device_id(cx));
    devid_emu_put_str(rec, "hub", devid_emu_hub(cx));
    devid_emu_put_str(rec, "registrationId", cx->regid);
    if (e->is_group) {
        devid_emu_put_str(auth, "type", "certificateAuthority");
    } else {
        tp = json_object_new_object();
        devid_emu_put_str(auth, "type", "selfSigned");
        /* a self-signed credential has no CA the hub could trust: the hub
         * trusts it as it is, before the device hears of its hub */
        if (X509_check_issued(cred, cred) == X509_V_OK) {
            devid_emu_store_trust_cert(cx->srv->store, cred);
        }
        if (devid_emu_thumbprint(cred, "SHA256", hex, sizeof(hex))) {
            devid_emu_put_str(tp, "primaryThumbprint", hex);
        }
        json_object_object_add(auth, "x509Thumbprint", tp);
    }
    json_object_object_add(rec, "authentication", auth);
    if (e->initial_twin != NULL) {
        json_object_object_add(rec, "initialTwin",
                               json_object_get(e->initial_twin));
    }
    return rec;
}

/* registrationState in the order the service writes it. */
static json_object *devid_emu_state(const struct devid_emu_rctx *cx,
                                    const char *status, int err,
                                    const char *errmsg)
{
    json_object *prev = devid_emu_store_reg(cx->srv->store, cx->key);
    json_object *created = NULL;
    json_object *st = json_object_new_object();
    int assigned = strcmp(status, "assigned") == 0;
    char now[40];

    devid_emu_now_rfc3339(now, sizeof(now));
    if (assigned) {
        json_object_object_add(st, "x509", devid_emu_x509_info(cx));
    }
    devid_emu_put_str(st, "registrationId", cx->regid);
    if (prev != NULL && json_object_object_get_ex(prev, "createdDateTimeUtc",
                                                  &created)) {
        json_object_object_add(st, "createdDateTimeUtc",
                               json_object_get(created));
    } else {
        devid_emu_put_str(st, "createdDateTimeUtc", now);
    }
    if (assigned) {
        devid_emu_put_str(st, "assignedHub", devid_emu_hub(cx));
        devid_emu_put_str(st, "deviceId", devid_emu_device_id(cx));
    }
    devid_emu_put_str(st, "status", status);
    if (assigned) {
        devid_emu_put_str(st, "substatus", prev != NULL
                                               ? "deviceDataMigrated"
                                               : "initialAssignment");
    }
    if (err != 0) {
        json_object_object_add(st, "errorCode", json_object_new_int(err));
        devid_emu_put_str(st, "errorMessage", errmsg);
    }
    devid_emu_put_str(st, "lastUpdatedDateTimeUtc", now);
    devid_emu_put_etag(st);
    return st;
}

static void devid_emu_put_payload(const struct devid_emu_rctx *cx,
                                  json_object *st)
{
    json_object *p = cx->auth.enrollment->payload;

    if (p == NULL) {
        json_object_object_get_ex(cx->body, "payload", &p);
    }
    if (p != NULL) {
        json_object_object_add(st, "payload", json_object_get(p));
    }
}

/* Legacy 2021-11-01-preview trustBundle: the configured server roots. */
static json_object *devid_emu_trust_bundle(const struct devid_emu_server *srv)
{
    json_object *tb = json_object_new_object();
    json_object *certs = json_object_new_array();
    json_object *item;
    X509 *root;
    char etag[80] = "";
    char quoted[sizeof(etag) + 2];
    char tp[70];
    char now[40];
    char *pem;
    size_t len;
    int i;

    for (i = 0; i < 2; i++) {
        if (!(i == 0 ? srv->cfg->trust_bundle_a : srv->cfg->trust_bundle_b)) {
            continue;
        }
        root = srv->pki.server_root[i].cert;
        pem = NULL;
        len = 0;
        item = json_object_new_object();
        devid_emu_pki_pem_append(root, &pem, &len);
        devid_emu_put_str(item, "certificate", pem != NULL ? pem : "");
        json_object_object_add(item, "metadata", devid_emu_cert_info(root));
        json_object_array_add(certs, item);
        devid_emu_thumbprint(root, "SHA1", tp, sizeof(tp));
        /* the etag changes exactly when the set of roots changes */
        snprintf(etag + strlen(etag), sizeof(etag) - strlen(etag), "%.8s",
                 tp);
        free(pem);
    }
    devid_emu_now_rfc3339(now, sizeof(now));
    devid_emu_put_str(tb, "id", "devid-emulator-trust-bundle");
    devid_emu_put_str(tb, "createdDateTime", now);
    devid_emu_put_str(tb, "lastModifiedDateTime", now);
    snprintf(quoted, sizeof(quoted), "\"%s\"", etag);
    devid_emu_put_str(tb, "etag", quoted);
    json_object_object_add(tb, "certificates", certs);
    return tb;
}

static void devid_emu_put_issued(const struct devid_emu_rctx *cx,
                                 json_object *st, X509 *leaf)
{
    const struct devid_emu_pki *pki = &cx->srv->pki;
    json_object *chain;
    char *pem = NULL;
    size_t len = 0;

    if (cx->apiv == DEVID_EMU_APIV_CSR) {
        chain = json_object_new_array();
        json_object_array_add(chain, devid_emu_cert_b64(leaf));
        json_object_array_add(chain, devid_emu_cert_b64(pki->device_ca.cert));
        json_object_array_add(chain, devid_emu_cert_b64(pki->device_root.cert));
        json_object_object_add(st, "issuedCertificateChain", chain);
        return;
    }
    devid_emu_pki_pem_append(leaf, &pem, &len);
    devid_emu_pki_pem_append(pki->device_ca.cert, &pem, &len);
    devid_emu_put_str(st, "issuedClientCertificate", pem != NULL ? pem : "");
    free(pem);
}

/* The legacy shape returns the trust bundle with every assignment. */
static void devid_emu_put_bundle(const struct devid_emu_rctx *cx,
                                 json_object *st)
{
    if (cx->apiv == DEVID_EMU_APIV_LEGACY) {
        json_object_object_add(st, "trustBundle",
                               devid_emu_trust_bundle(cx->srv));
    }
}

/* The CSR string of this api-version's shape; 0 = bad type (answered). */
static int devid_emu_csr_field(struct devid_emu_rctx *cx, const char **csr)
{
    const char *field = NULL;
    json_object *v = NULL;

    *csr = NULL;
    if (cx->apiv == DEVID_EMU_APIV_CSR) {
        field = "csr";
    } else if (cx->apiv == DEVID_EMU_APIV_LEGACY) {
        field = "clientCertificateCsr";
    }
    if (field == NULL || !json_object_object_get_ex(cx->body, field, &v)
        || v == NULL) {
        return 1;                           /* other versions ignore it */
    }
    if (!json_object_is_type(v, json_type_string)) {
        devid_emu_fail(cx, 400004, "csr must be a string");
        return 0;
    }
    *csr = json_object_get_string(v);
    return 1;
}

/* The terminal registrationState, or NULL when a 400 was answered; with
 * an assignment, the hub device to create in *device. */
static json_object *devid_emu_outcome(struct devid_emu_rctx *cx,
                                      json_object **device)
{
    const struct devid_emu_enrollment *e = cx->auth.enrollment;
    const char *hub = devid_emu_hub(cx);
    const struct devid_emu_policy *pol;
    const char *csr = NULL;
    const char *msg = "";
    json_object *st;
    X509 *leaf;

    if (!devid_emu_csr_field(cx, &csr)) {
        return NULL;
    }
    if (e->disabled) {
        return devid_emu_state(cx, "disabled", 0, NULL);
    }
    if (!devid_emu_config_has_hub(cx->srv->cfg, hub)) {
        return devid_emu_state(cx, "failed", 400208,
                               "No IoT hub could be assigned.");
    }
    if (csr == NULL) {
        st = devid_emu_state(cx, "assigned", 0, NULL);
        devid_emu_put_payload(cx, st);
        devid_emu_put_bundle(cx, st);
        *device = devid_emu_hub_device(cx, cx->auth.leaf);
        return st;
    }
    pol = devid_emu_config_policy(cx->srv->cfg, e->policy);
    if (pol == NULL) {
        return devid_emu_state(cx, "failed", 400000, "Device sent CSR but it "
                               "is not configured in the service.");
    }
    leaf = devid_emu_issue_from_b64(&cx->srv->pki, pol, csr, cx->regid, &msg);
    if (leaf == NULL) {
        devid_emu_log("%s: csr refused: %s", cx->regid, msg);
        devid_emu_fail(cx, 400004, msg);
        return NULL;
    }
    st = devid_emu_state(cx, "assigned", 0, NULL);
    devid_emu_put_payload(cx, st);
    devid_emu_put_issued(cx, st, leaf);
    devid_emu_put_bundle(cx, st);
    *device = devid_emu_hub_device(cx, leaf);
    X509_free(leaf);
    return st;
}

static int devid_emu_body_regid_ok(struct devid_emu_rctx *cx)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(cx->body, "registrationId", &v)) {
        return 1;
    }
    if (!json_object_is_type(v, json_type_string)
        || strcasecmp(json_object_get_string(v), cx->regid) != 0) {
        devid_emu_fail(cx, 400004, "registrationId in the body does not match "
                                   "the registration ID in the path.");
        return 0;
    }
    return 1;
}

void devid_emu_do_register(struct devid_emu_rctx *cx)
{
    json_object *state = NULL;
    json_object *device = NULL;
    json_object *result = NULL;
    json_object *body = NULL;
    struct devid_emu_op *op;

    if (!devid_emu_body_regid_ok(cx)
        || (state = devid_emu_outcome(cx, &device)) == NULL) {
        return;
    }
    op = devid_emu_store_add_op(cx->srv->store, cx->key,
                                cx->srv->cfg->assigning_polls, NULL);
    if (op == NULL) {
        json_object_put(state);
        json_object_put(device);
        devid_emu_fail(cx, 500000, "out of memory");
        return;
    }
    op->device = device;
    result = json_object_new_object();
    devid_emu_put_str(result, "operationId", op->id);
    json_object_object_add(result, "status",
                           json_object_get(json_object_object_get(state,
                                                                  "status")));
    json_object_object_add(result, "registrationState", state);
    op->result = result;
    devid_emu_log("%s: registering over %s (%s, enrollment %s), operation %s",
                  cx->regid, cx->tp->name, cx->apiv_text,
                  cx->auth.enrollment->id, op->id);
    body = json_object_new_object();
    devid_emu_put_str(body, "operationId", op->id);
    devid_emu_put_str(body, "status", "assigning");
    devid_emu_retry_after(cx, cx->srv->cfg->retry_after);
    devid_emu_answer(cx, 202, body);
}

/* Keep the terminal registrationState for the lookup (once per op). */
static void devid_emu_commit(struct devid_emu_rctx *cx, struct devid_emu_op *op)
{
    json_object *state = NULL;
    json_object *copy = NULL;
    json_object *id;
    size_t i;

    if (op->committed) {
        return;
    }
    op->committed = 1;
    if (!json_object_object_get_ex(op->result, "registrationState", &state)
        || json_object_deep_copy(state, &copy, NULL) != 0) {
        return;
    }
    for (i = 0; devid_emu_once_fields[i] != NULL; i++) {
        json_object_object_del(copy, devid_emu_once_fields[i]);
    }
    devid_emu_store_set_reg(cx->srv->store, cx->key, copy);
    if (op->device != NULL) {
        /* before the answer leaves: a device that hears "assigned" may
         * connect to its hub at once */
        id = json_object_object_get(op->device, "deviceId");
        devid_emu_store_set_device(cx->srv->store, json_object_get_string(id),
                                   op->device);
        op->device = NULL;
    }
    devid_emu_log("%s: %s", cx->regid,
                  json_object_get_string(json_object_object_get(copy,
                                                                "status")));
}

void devid_emu_do_poll(struct devid_emu_rctx *cx)
{
    struct devid_emu_op *op = devid_emu_store_op(cx->srv->store, cx->opid);
    json_object *body;
    json_object *st;

    if (op == NULL || op->result == NULL || strcmp(op->regid, cx->key) != 0) {
        devid_emu_fail(cx, 404202, "Operation not found.");
        return;
    }
    if (op->polls_left > 0) {
        op->polls_left--;
        body = json_object_new_object();
        st = json_object_new_object();
        devid_emu_put_str(body, "operationId", op->id);
        devid_emu_put_str(body, "status", "assigning");
        devid_emu_put_str(st, "registrationId", cx->regid);
        devid_emu_put_str(st, "status", "assigning");
        json_object_object_add(body, "registrationState", st);
        devid_emu_retry_after(cx, cx->srv->cfg->retry_after);
        devid_emu_answer(cx, 202, body);
        return;
    }
    devid_emu_commit(cx, op);
    devid_emu_answer(cx, 200, json_object_get(op->result));
}

void devid_emu_do_status(struct devid_emu_rctx *cx)
{
    json_object *st;

    if (json_object_object_get_ex(cx->body, "csr", NULL)
        || json_object_object_get_ex(cx->body, "clientCertificateCsr", NULL)) {
        devid_emu_fail(cx, 400004, "csr is not accepted by the device "
                                   "registration status lookup.");
        return;
    }
    if (!devid_emu_body_regid_ok(cx)) {
        return;
    }
    st = devid_emu_store_reg(cx->srv->store, cx->key);
    if (st == NULL) {
        devid_emu_fail(cx, 404201, "Registration not found.");
        return;
    }
    devid_emu_answer(cx, 200, json_object_get(st));
}
