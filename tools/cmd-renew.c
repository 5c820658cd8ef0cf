/* SPDX-License-Identifier: Apache-2.0 */
/* devid renew. A renewal makes a new key beside the old one, registers
 * again with DPS (authenticated by the current certificate, else the
 * onboarding one), installs the new chain in a new identity directory,
 * proves it with a TLS + MQTT CONNECT to the assigned hub, and only then
 * switches STATE/current in one rename. Until that rename the old identity
 * is the one in use, so a failure or a SIGKILL at any step leaves a device
 * that still connects. After the switch come pruning (identity-prune.c)
 * and the on-change hook (on-change.c); devid rollback (cmd-rollback.c)
 * goes back. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "provider/backend.h"
#include "tools/dps-client.h"
#include "tools/hub-check.h"
#include "tools/install.h"
#include "tools/renew.h"
#include "tools/test-hooks.h"
#include "tools/tool.h"
#include "tools/trust.h"

#define DEVID_RENEW_DEFAULT_BEFORE_TEXT "20%%"
#define DEVID_HUB_DEFAULT_PORT 8883

/* renew-before when the settings say nothing: a fifth of the lifetime */
static const struct devid_renew_before devid_renew_default_before = {
    20, 0, "20%"
};

/* What one renewal run knows; strings are owned. */
struct devid_renew {
    struct devid_state cur;         /* the identity in use */
    char *new_key;                  /* name of the new key */
    char identity[64];              /* the new identity's directory name */
    const char *step;               /* where we are, for renewal.json */
    int key_created;                /* new_key was made by this run */
    char detail[512];               /* why it failed, for renewal.json */
};

/* ---- small helpers ---------------------------------------------------- */

/* Seconds from a to b (b later is positive). */
static long devid_asn1_diff(const ASN1_TIME *a, const ASN1_TIME *b)
{
    int days = 0;
    int secs = 0;

    if (!ASN1_TIME_diff(&days, &secs, a, b)) {
        return 0;
    }
    return (long)days * 86400 + secs;
}

/* Now in UTC: ISO 8601, or compact for names (20250101T120000Z). */
static void devid_utc_stamp(char *buf, size_t size, int compact)
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    if (compact) {
        strftime(buf, size, "%Y%m%dT%H%M%SZ", &tm);
    } else {
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
}

/* ---- renewal.json: the outcome of the last attempt, for status -------- */

void devid_renew_record(struct devid_tool *t, const char *result,
                        const char *step, int code, const char *detail)
{
    json_object *o = json_object_new_object();
    char *path = devid_path(devid_state_dir(t), "renewal.json");
    char when[32];
    const char *text;

    devid_utc_stamp(when, sizeof(when), 0);
    if (o == NULL || path == NULL) {
        goto end;
    }
    json_object_object_add(o, "last_attempt", json_object_new_string(when));
    json_object_object_add(o, "result", json_object_new_string(result));
    if (step != NULL) {
        json_object_object_add(o, "step", json_object_new_string(step));
    }
    json_object_object_add(o, "exit_code", json_object_new_int(code));
    if (detail != NULL && *detail != '\0') {
        json_object_object_add(o, "error", json_object_new_string(detail));
    }
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
    if (!devid_atomic_write(path, text, strlen(text), 0644)) {
        devid_tool_progress(t, "warning: cannot write %s: %s", path,
                            strerror(errno));
    }
end:
    json_object_put(o);
    free(path);
}

/* ---- when to renew ---------------------------------------------------- */

/* 1 when less than before (a share of the lifetime, or a duration) is
 * left of leaf, else 0. *left receives the seconds left. */
static int devid_renew_due(X509 *leaf, const struct devid_renew_before *before,
                           long *left)
{
    const ASN1_TIME *nb = X509_get0_notBefore(leaf);
    const ASN1_TIME *na = X509_get0_notAfter(leaf);
    long life = devid_asn1_diff(nb, na);

    *left = devid_asn1_diff(NULL, na);
    if (before->percent > 0) {
        return *left * 100 < before->percent * life;
    }
    return *left < before->seconds;
}

/* ---- the new key -------------------------------------------------------- */

/* The configured key name with a time stamp, as the backend that owns the
 * name makes it (a new label in the same token, a new key file next to the
 * old). NULL when the name cannot be varied (a persistent handle) or on
 * allocation failure. The caller frees the result with free(). */
static char *devid_renew_key_name(const char *base, const char *stamp)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(base);
    char *name = NULL;
    char *out = NULL;

    if (ops == NULL || ops->renew_name == NULL
        || !ops->renew_name(base, stamp, &name) || name == NULL) {
        return NULL;
    }
    out = strdup(name);
    OPENSSL_free(name);
    return out;
}

/* Step "key": a new key of key-type (default ec-p384, what DPS issuance
 * asks for) beside the configured key, else beside the one in use. */
static int devid_renew_make_key(struct devid_tool *t, struct devid_renew *r)
{
    struct devid_key *key = NULL;
    const char *base = t->set.key != NULL ? t->set.key : r->cur.key;
    char stamp[32];
    size_t len;
    int created = 0;
    int n = 1;
    int rc;

    devid_utc_stamp(stamp, sizeof(stamp), 1);
    len = strlen(stamp);
    r->new_key = base != NULL ? devid_renew_key_name(base, stamp) : NULL;
    /* renewed again within the second: a key of this name is there (the
     * one in use, or a kept identity's), and a renewal never reuses a key */
    while (r->new_key != NULL
           && ((r->cur.key != NULL && strcmp(r->new_key, r->cur.key) == 0)
               || devid_key_exists(t, r->new_key))) {
        free(r->new_key);
        r->new_key = NULL;
        if (++n > 99) {
            stamp[len] = '\0';
            snprintf(r->detail, sizeof(r->detail),
                     "cannot name a new key "
                     "next to %s: keys named for %s to %s-99 are all there",
                     base, stamp, stamp);
            return devid_tool_fail(t, DEVID_EXIT_KEY, "%s", r->detail);
        }
        snprintf(stamp + len, sizeof(stamp) - len, "-%d", n);
        r->new_key = devid_renew_key_name(base, stamp);
    }
    if (r->new_key == NULL) {
        snprintf(r->detail, sizeof(r->detail), "cannot name a new key next to "
                 "%s (a pkcs11: URI or a TPM key file is needed)",
                 base != NULL ? base : "(no key)");
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "%s", r->detail);
    }
    devid_tool_progress(t, "new key %s", r->new_key);
    rc = devid_key_ensure(t, r->new_key,
                          t->set.key_type != NULL ? t->set.key_type : "ec-p384",
                          &key, &created);
    devid_key_free(key);
    r->key_created = rc == DEVID_EXIT_OK && created;
    return rc;
}

/* ---- DPS registration --------------------------------------------------- */

/* One registration attempt with the given credential (key name + chain). */
static int devid_renew_register_with(struct devid_tool *t,
                                     struct devid_dps_request *req,
                                     const char *key, const char *chain,
                                     struct devid_dps_result *res)
{
    int rc;

    req->auth_key = devid_tool_load_key(t, key);
    if (req->auth_key == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_KEY, "cannot open the key %s",
                               key);
    }
    req->auth_chain = devid_tool_read_chain(t, chain);
    if (req->auth_chain == NULL) {
        EVP_PKEY_free(req->auth_key);
        req->auth_key = NULL;
        return DEVID_EXIT_CONFIG;
    }
    rc = devid_dps_register(t, req, res);
    EVP_PKEY_free(req->auth_key);
    sk_X509_pop_free(req->auth_chain, X509_free);
    req->auth_key = NULL;
    req->auth_chain = NULL;
    return rc;
}

/* 1 when the current leaf is still valid (it can authenticate to DPS). */
static int devid_renew_current_valid(struct devid_tool *t,
                                     const struct devid_renew *r)
{
    STACK_OF(X509) *chain = r->cur.cert_chain != NULL
                                ? devid_tool_read_chain(t, r->cur.cert_chain)
                                : NULL;
    int ok = chain != NULL
             && ASN1_TIME_cmp_time_t(X509_get0_notAfter(
                                         sk_X509_value(chain, 0)),
                                     time(NULL))
                    > 0;

    ERR_clear_error();
    sk_X509_pop_free(chain, X509_free);
    return ok;
}

/* Names the server's root in detail when DPS's chain is not trusted. */
static int devid_renew_explain_untrusted(struct devid_tool *t,
                                         struct devid_renew *r,
                                         const char *trust_file)
{
    char root[256];

    if (!devid_trust_untrusted_root(t->set.endpoint, trust_file,
                                    t->set.trust_dir, root, sizeof(root))) {
        return DEVID_EXIT_NETWORK;
    }
    snprintf(r->detail, sizeof(r->detail), "the DPS server %s chains to the "
             "untrusted root \"%s\": it is neither in dps-trust nor in "
             "trust-dir (pre-stage it in trust-roots and run devid "
             "trust-sync)", t->set.endpoint, root);
    return devid_tool_fail(t, DEVID_EXIT_NETWORK, "%s", r->detail);
}

static int devid_renew_register(struct devid_tool *t, struct devid_renew *r,
                                const unsigned char *csr, size_t csr_len,
                                struct devid_dps_result *res)
{
    struct devid_dps_request req;
    char *trust_path = devid_path(devid_state_dir(t), "dps-trust.pem");
    int rc = DEVID_EXIT_REFUSED;

    memset(&req, 0, sizeof(req));
    req.endpoint = t->set.endpoint;
    req.id_scope = r->cur.id_scope != NULL ? r->cur.id_scope : t->set.id_scope;
    req.registration_id = r->cur.registration_id;
    req.api_version = t->set.api_version;
    req.csr_der = csr;
    req.csr_len = csr_len;
    req.timeout_s = t->set.timeout_s;
    if (trust_path == NULL
        || !devid_trust_dps_file(t, trust_path, &req.trust_file)) {
        rc = DEVID_EXIT_CONFIG;
        goto end;
    }
    if (devid_renew_current_valid(t, r)) {
        devid_tool_progress(t, "authenticating with the current certificate");
        rc = devid_renew_register_with(t, &req, r->cur.key_ref != NULL
                                                    ? r->cur.key_ref
                                                    : r->cur.key,
                                       r->cur.cert_chain, res);
        /* errorCode 401xxx: this credential is not accepted (its CA is not
         * enrolled, say); any other answer would not change with another */
        if (rc != DEVID_EXIT_REFUSED || res->error_code / 1000 != 401) {
            goto end;
        }
        devid_tool_progress(t, "DPS refused the current certificate (401): "
                            "trying the onboarding certificate");
        devid_dps_result_clear(res);
    } else {
        devid_tool_progress(t, "the current certificate has expired: "
                            "authenticating with the onboarding certificate");
    }
    if (t->set.auth_key == NULL || t->set.auth_cert == NULL) {
        rc = devid_tool_fail(t, DEVID_EXIT_CONFIG, "no onboarding-key and "
                             "onboarding-cert to fall back to");
        goto end;
    }
    rc = devid_renew_register_with(t, &req, t->set.auth_key,
                                   t->set.auth_cert, res);
end:
    if (rc == DEVID_EXIT_NETWORK) {
        rc = devid_renew_explain_untrusted(t, r, req.trust_file);
    }
    if (rc != DEVID_EXIT_OK && r->detail[0] == '\0'
        && res->error_message != NULL) {
        snprintf(r->detail, sizeof(r->detail), "DPS: %ld %s", res->error_code,
                 res->error_message);
    }
    free(trust_path);
    return rc;
}

/* ---- install beside the old identity ------------------------------------ */

static int devid_renew_install(struct devid_tool *t, struct devid_renew *r,
                               struct devid_dps_result *res)
{
    struct devid_install in;
    int rc = devid_install_from_dps(t, r->new_key, &r->cur, res, &in);

    if (rc != DEVID_EXIT_OK) {
        return rc;
    }
    /* beside the identity in use: the switch waits for the hub check */
    in.no_switch = 1;
    in.previous = r->cur.identity;
    in.name_out = r->identity;
    in.name_size = sizeof(r->identity);
    in.key_created = r->key_created;
    /* the legacy trust bundle is applied etag-versioned, not just added */
    rc = devid_install_chain(t, &in, res->issued_chain, NULL);
    if (rc == DEVID_EXIT_OK && res->trust_bundle != NULL) {
        rc = devid_trust_sync(t, res->trust_bundle, res->trust_bundle_etag);
    }
    return rc;
}

/* ---- the test handshake with the hub ------------------------------------ */

static int devid_renew_hub_check(struct devid_tool *t, struct devid_renew *r,
                                 const char *hub, const char *device_id)
{
    long port_num = t->set.hub_port != 0 ? t->set.hub_port
                                         : DEVID_HUB_DEFAULT_PORT;
    char port[8];
    char *idir = devid_path(devid_state_dir(t), "identities");
    char *base = idir != NULL ? devid_path(idir, r->identity) : NULL;
    char *chain_path = base != NULL ? devid_path(base, "chain.pem") : NULL;
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *pkey = NULL;
    char why[256] = "";
    int rc = DEVID_EXIT_NETWORK;

    snprintf(port, sizeof(port), "%ld", port_num);
    if (chain_path == NULL
        || (chain = devid_tool_read_chain(t, chain_path)) == NULL
        || (pkey = devid_tool_load_key(t, r->new_key)) == NULL) {
        rc = devid_tool_fail(t, DEVID_EXIT_KEY, "cannot load the new identity");
        goto end;
    }
    if (devid_hub_try(t, hub, port, chain, pkey, device_id, why,
                      sizeof(why))) {
        devid_tool_progress(t, "the hub %s:%s accepted the new identity", hub,
                            port);
        rc = DEVID_EXIT_OK;
        goto end;
    }
    snprintf(r->detail, sizeof(r->detail), "test connection to the hub with "
             "the new identity: %s; the old identity stays in use", why);
    rc = devid_tool_fail(t, DEVID_EXIT_NETWORK, "%s", r->detail);
end:
    EVP_PKEY_free(pkey);
    sk_X509_pop_free(chain, X509_free);
    free(chain_path);
    free(base);
    free(idir);
    return rc;
}

/* ---- after the switch --------------------------------------------------- */

/* Switches to the new identity, then prunes and runs the hook. */
static int devid_renew_switch(struct devid_tool *t, struct devid_renew *r)
{
    int rc = devid_identity_switch(t, r->identity);
    char why[128];

    if (rc != DEVID_EXIT_OK) {
        snprintf(r->detail, sizeof(r->detail), "cannot switch to %s",
                 r->identity);
        return rc;
    }
    devid_tool_progress(t, "switched to the identity %s", r->identity);
    devid_test_pause(t, "switched");
    devid_identities_prune(t, r->identity, r->cur.identity);
    if (!devid_on_change_run(t, r->identity, why, sizeof(why))) {
        /* a warning in renewal.json: the switch itself stands */
        snprintf(r->detail, sizeof(r->detail), "on-change command %s", why);
        devid_tool_progress(t, "warning: %s", r->detail);
    }
    return DEVID_EXIT_OK;
}

/* ---- the verb ----------------------------------------------------------- */

/* The pipeline after the decision to renew; each step names itself in r,
 * so renewal.json, the log and DEVID_TEST_PAUSE (test builds) speak of the
 * same step. Nothing before "switch" touches the identity in use. */
static int devid_renew_run(struct devid_tool *t, struct devid_renew *r)
{
    struct devid_dps_result res;
    unsigned char *csr = NULL;
    size_t csr_len = 0;
    int rc;

    memset(&res, 0, sizeof(res));
    r->step = "key";
    devid_test_pause(t, r->step);
    rc = devid_renew_make_key(t, r);
    if (rc == DEVID_EXIT_OK) {
        r->step = "csr";
        devid_test_pause(t, r->step);
        rc = devid_csr_der(t, r->new_key, r->cur.registration_id, &csr,
                           &csr_len);
    }
    if (rc == DEVID_EXIT_OK) {
        r->step = "register";
        devid_test_pause(t, r->step);
        rc = devid_renew_register(t, r, csr, csr_len, &res);
    }
    if (rc == DEVID_EXIT_OK) {
        r->step = "install";
        devid_test_pause(t, r->step);
        rc = devid_renew_install(t, r, &res);
    }
    if (rc == DEVID_EXIT_OK) {
        r->step = "hub-check";
        devid_test_pause(t, r->step);
        rc = devid_renew_hub_check(t, r, res.assigned_hub, res.device_id);
    }
    if (rc == DEVID_EXIT_OK) {
        r->step = "switch";
        devid_test_pause(t, r->step);
        rc = devid_renew_switch(t, r);
    }
    if (rc != DEVID_EXIT_OK && r->key_created
        && strcmp(r->step, "switch") != 0) {
        /* never switched to: the key this run made would only pile up */
        devid_key_delete(t, r->new_key);
    }
    if (rc == DEVID_EXIT_OK) {
        devid_tool_result(t, "identity", r->identity);
        devid_tool_result(t, "previous", r->cur.identity);
        devid_tool_result(t, "key", r->new_key);
        devid_tool_result(t, "assigned_hub", res.assigned_hub);
    }
    OPENSSL_free(csr);
    devid_dps_result_clear(&res);
    return rc;
}

static void devid_renew_usage(FILE *out)
{
    fprintf(out,
            "Usage: devid renew [--before DURATION|PCT%%] [--force]\n"
            "                   [--on-change CMD] [--hub-port N]\n"
            "Renews the device certificate when less than renew-before of its\n"
            "lifetime is left (default " DEVID_RENEW_DEFAULT_BEFORE_TEXT "; or a "
            "duration: 30d, 12h, 90s):\n"
            "a new key beside the old one, a CSR, a DPS registration with the\n"
            "current certificate (the onboarding one when it has expired or is\n"
            "refused), installation beside the old identity, a test MQTT\n"
            "connection to the hub with the new identity, then the switch.\n"
            "On any failure the old identity stays in use and status says why.\n"
            "  --force      renew now\n"
            "  --on-change  /bin/sh command run after a switch\n"
            "  --hub-port   the hub's port for the test (hub-port, 8883)\n");
}

/* Returns 1 to go on, or 0 to stop now with the exit code in *rc (OK after
 * --help; a bad value of a setting's flag is a configuration error). */
static int devid_renew_options(struct devid_tool *t, int argc, char **argv,
                               int *force, int *rc)
{
    static const struct option opts[] = {
        { "before", required_argument, NULL, 'b' },
        { "force", no_argument, NULL, 'f' },
        { "on-change", required_argument, NULL, 'o' },
        { "hub-port", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int ok = 1;
    int c;

    *rc = DEVID_EXIT_CONFIG;
    while (ok && (c = getopt_long(argc, argv, "b:fo:p:h", opts, NULL)) != -1) {
        if (c == 'b') {
            ok = devid_settings_set(t, "--before", "renew-before", optarg);
        } else if (c == 'f') {
            *force = 1;
        } else if (c == 'o') {
            ok = devid_settings_set(t, "--on-change", "on-change", optarg);
        } else if (c == 'p') {
            ok = devid_settings_set(t, "--hub-port", "hub-port", optarg);
        } else if (c == 'h') {
            devid_renew_usage(stdout);
            *rc = DEVID_EXIT_OK;
            return 0;
        } else {
            devid_renew_usage(stderr);
            *rc = DEVID_EXIT_USAGE;
            return 0;
        }
    }
    if (ok && optind < argc) {
        devid_renew_usage(stderr);
        *rc = DEVID_EXIT_USAGE;
        return 0;
    }
    return ok;
}

/* 1 when a renewal is due (renew-before, or an unreadable chain) or
 * forced, else 0. */
static int devid_renew_decide(struct devid_tool *t, struct devid_renew *r,
                              int force)
{
    const struct devid_renew_before *before
        = t->set.renew_before.text[0] != '\0' ? &t->set.renew_before
                                              : &devid_renew_default_before;
    STACK_OF(X509) *chain = NULL;
    long left = 0;
    int due = 1;

    if (r->cur.cert_chain != NULL) {
        chain = devid_tool_read_chain(t, r->cur.cert_chain);
    }
    if (chain == NULL) {
        ERR_clear_error();
        devid_tool_progress(t, "the current chain is unreadable: renewing");
        return 1;
    }
    due = devid_renew_due(sk_X509_value(chain, 0), before, &left);
    sk_X509_pop_free(chain, X509_free);
    devid_tool_progress(t, "the certificate has %ld s left (renew-before %s)",
                        left, before->text);
    return due || force;
}

int devid_cmd_renew(struct devid_tool *t, int argc, char **argv)
{
    struct devid_renew r;
    int force = 0;
    int rc = DEVID_EXIT_OK;

    if (!devid_renew_options(t, argc, argv, &force, &rc)) {
        return rc;
    }
    memset(&r, 0, sizeof(r));
    if (!devid_tool_crypto_init(t)) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot start OpenSSL");
    }
    if (devid_state_load(t, devid_state_dir(t), &r.cur) != DEVID_EXIT_OK
        || r.cur.registration_id == NULL || r.cur.identity == NULL) {
        devid_state_clear(&r.cur);
        return devid_tool_fail(t, DEVID_EXIT_NOT_PROVISIONED,
                               "not provisioned: run devid provision first");
    }
    if (!devid_renew_decide(t, &r, force)) {
        devid_tool_progress(t, "nothing to do");
        devid_tool_result(t, "changed", "no");
        devid_state_clear(&r.cur);
        return DEVID_EXIT_OK;
    }
    rc = devid_renew_run(t, &r);
    devid_renew_record(t, rc == DEVID_EXIT_OK ? "renewed" : "failed",
                       r.step, rc, r.detail[0] != '\0' ? r.detail : NULL);
    devid_tool_result(t, "changed", rc == DEVID_EXIT_OK ? "yes" : "no");
    free(r.new_key);
    devid_state_clear(&r.cur);
    return rc;
}
