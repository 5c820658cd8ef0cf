/* SPDX-License-Identifier: Apache-2.0 */
/* devid provision: the zero-touch pipeline from the config file. The device
 * makes its own key inside its token or TPM, a CSR with CN = registration
 * ID, registers with DPS authenticated by its onboarding certificate, and
 * installs the chain DPS issued. Safe to run again: a provisioned device is
 * left alone unless --force, and an interrupted run resumes (the key is
 * reused, registration is repeatable, files are replaced atomically). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "provider/backend.h"
#include "tools/dps-client.h"
#include "tools/install.h"
#include "tools/renew.h"
#include "tools/tool.h"
#include "tools/trust.h"

struct devid_timer {
    struct timespec start;
};

static void devid_timer_start(struct devid_timer *tm)
{
    clock_gettime(CLOCK_MONOTONIC, &tm->start);
}

static double devid_timer_ms(const struct devid_timer *tm)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - tm->start.tv_sec) * 1000.0
           + (double)(now.tv_nsec - tm->start.tv_nsec) / 1e6;
}

static void devid_step_done(struct devid_tool *t, json_object *timings,
                            const char *step, const struct devid_timer *tm)
{
    double ms = devid_timer_ms(tm);

    json_object_object_add(timings, step, json_object_new_double(ms));
    devid_tool_progress(t, "%s done in %.0f ms", step, ms);
}

/* Names the first required setting that is missing, or NULL. */
static const char *devid_provision_missing(const struct devid_settings *s)
{
    if (s->key == NULL) {
        return "key";
    }
    if (s->registration_id == NULL) {
        return "registration-id";
    }
    if (s->id_scope == NULL) {
        return "id-scope";
    }
    if (s->dps_trust == NULL) {
        return "dps-trust";
    }
    if (s->auth_cert == NULL) {
        return "onboarding-cert";
    }
    if (s->auth_key == NULL) {
        return "onboarding-key";
    }
    return NULL;
}

/* 1 when the state says this registration is done and the identity is
 * still usable; then there is nothing to do. */
static int devid_already_provisioned(struct devid_tool *t)
{
    struct devid_state st;
    STACK_OF(X509) *chain = NULL;
    int done = 0;

    if (devid_state_load(t, devid_state_dir(t), &st) == DEVID_EXIT_OK
        && st.assigned_hub != NULL && st.registration_id != NULL
        && strcmp(st.registration_id, t->set.registration_id) == 0
        && st.cert_chain != NULL) {
        chain = devid_tool_read_chain(t, st.cert_chain);
        done = chain != NULL
               && ASN1_TIME_cmp_time_t(X509_get0_notAfter(
                                           sk_X509_value(chain, 0)),
                                       time(NULL))
                      > 0;
    }
    ERR_clear_error();
    sk_X509_pop_free(chain, X509_free);
    devid_state_clear(&st);
    return done;
}

/* The operational key: the one at `key`, created when missing (*created
 * says which). */
static int devid_provision_key(struct devid_tool *t, int *created)
{
    struct devid_key *key = NULL;
    int rc;

    rc = devid_key_ensure(t, t->set.key,
                          t->set.key_type != NULL ? t->set.key_type : "ec-p384",
                          &key, created);
    devid_key_free(key);
    return rc;
}

static int devid_provision_register(struct devid_tool *t,
                                    const unsigned char *csr, size_t csr_len,
                                    struct devid_dps_result *res)
{
    struct devid_dps_request req;
    int rc;

    memset(&req, 0, sizeof(req));
    req.endpoint = t->set.endpoint;
    req.id_scope = t->set.id_scope;
    req.registration_id = t->set.registration_id;
    req.api_version = t->set.api_version;
    req.trust_file = t->set.dps_trust;
    req.csr_der = csr;
    req.csr_len = csr_len;
    req.timeout_s = t->set.timeout_s;
    req.auth_key = devid_tool_load_key(t, t->set.auth_key);
    if (req.auth_key == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_KEY,
                               "cannot open the onboarding key %s",
                               t->set.auth_key);
    }
    req.auth_chain = devid_tool_read_chain(t, t->set.auth_cert);
    if (req.auth_chain == NULL) {
        EVP_PKEY_free(req.auth_key);
        return DEVID_EXIT_CONFIG;
    }
    rc = devid_dps_register(t, &req, res);
    EVP_PKEY_free(req.auth_key);
    sk_X509_pop_free(req.auth_chain, X509_free);
    return rc;
}

/* The issued chain becomes the identity in use at once. A legacy trust
 * bundle goes through the lifecycle renew uses (trust.c): CA certificates
 * only, tracked in the manifest with the bundle's etag, so that a later
 * bundle removes what it no longer holds. It is applied first, as renew
 * applies it before its switch. */
static int devid_provision_install(struct devid_tool *t,
                                   struct devid_dps_result *res,
                                   int key_created)
{
    struct devid_install in;
    struct devid_state st;
    int rc = devid_install_from_dps(t, t->set.key, NULL, res, &in);

    if (rc == DEVID_EXIT_OK && res->trust_bundle != NULL) {
        rc = devid_trust_sync(t, res->trust_bundle, res->trust_bundle_etag);
    }
    if (rc != DEVID_EXIT_OK) {
        return rc;
    }
    in.key_created = key_created;
    memset(&st, 0, sizeof(st));
    rc = devid_install_chain(t, &in, res->issued_chain, NULL);
    /* provision --force makes an identity each time: old ones are pruned
     * as after a renewal (keep-identities), with what devid made for them */
    if (rc == DEVID_EXIT_OK
        && devid_state_load(t, devid_state_dir(t), &st) == DEVID_EXIT_OK
        && st.identity != NULL) {
        devid_identities_prune(t, st.identity, st.previous);
    }
    devid_state_clear(&st);
    return rc;
}

static void devid_provision_usage(FILE *out)
{
    fprintf(out,
            "Usage: devid [--config FILE] provision [--force]\n"
            "Runs keygen, csr, register and install from the settings: key,\n"
            "key-type, registration-id, id-scope, dps-endpoint, dps-trust,\n"
            "onboarding-cert, onboarding-key, state-dir, install-to,\n"
            "trust-dir, pin-source, pkcs11-module-path, tcti, api-version,\n"
            "dps-timeout. Does nothing on a provisioned device unless --force.\n"
            "Prints the time each step took.\n");
}

int devid_cmd_provision(struct devid_tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct devid_dps_result res;
    struct devid_timer tm;
    json_object *timings = json_object_new_object();
    unsigned char *csr = NULL;
    size_t csr_len = 0;
    const char *missing;
    int force = 0;
    int created = 0;
    int c;
    int rc;

    memset(&res, 0, sizeof(res));
    json_object_object_add(t->out, "timings_ms", timings);
    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        if (c == 'f') {
            force = 1;
        } else if (c == 'h') {
            devid_provision_usage(stdout);
            return DEVID_EXIT_OK;
        } else {
            devid_provision_usage(stderr);
            return DEVID_EXIT_USAGE;
        }
    }
    missing = devid_provision_missing(&t->set);
    if (missing != NULL) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG,
                               "setting '%s' is required (config file)",
                               missing);
    }
    if (!devid_tool_crypto_init(t)) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot start OpenSSL");
    }
    if (!force && devid_already_provisioned(t)) {
        devid_tool_progress(t, "%s is already provisioned: nothing to do "
                            "(--force to provision again)",
                            t->set.registration_id);
        devid_tool_result(t, "changed", "no");
        return DEVID_EXIT_OK;
    }
    devid_tool_progress(t, "step 1/4: key %s", t->set.key);
    devid_timer_start(&tm);
    rc = devid_provision_key(t, &created);
    if (rc != DEVID_EXIT_OK) {
        goto end;
    }
    devid_step_done(t, timings, "keygen", &tm);
    devid_tool_progress(t, "step 2/4: CSR for CN=%s", t->set.registration_id);
    devid_timer_start(&tm);
    rc = devid_csr_der(t, t->set.key, t->set.registration_id, &csr, &csr_len);
    if (rc != DEVID_EXIT_OK) {
        goto end;
    }
    devid_step_done(t, timings, "csr", &tm);
    devid_tool_progress(t, "step 3/4: DPS registration");
    devid_timer_start(&tm);
    rc = devid_provision_register(t, csr, csr_len, &res);
    if (rc != DEVID_EXIT_OK) {
        goto end;
    }
    devid_step_done(t, timings, "register", &tm);
    devid_tool_progress(t, "step 4/4: install (hub %s, device %s)",
                        res.assigned_hub, res.device_id);
    devid_timer_start(&tm);
    rc = devid_provision_install(t, &res, created);
    if (rc != DEVID_EXIT_OK) {
        goto end;
    }
    devid_step_done(t, timings, "install", &tm);
    devid_tool_result(t, "registration_id", t->set.registration_id);
    devid_tool_result(t, "device_id", res.device_id);
    devid_tool_result(t, "assigned_hub", res.assigned_hub);
    devid_tool_result(t, "changed", "yes");
end:
    OPENSSL_free(csr);
    devid_dps_result_clear(&res);
    return rc;
}
