/* SPDX-License-Identifier: Apache-2.0 */
/* devid status and devid print-config: what the device is, what is wrong,
 * and the exact settings programs need to use its identity. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "tools/install.h"
#include "tools/escape.h"
#include "tools/tool.h"
#include "tools/trust.h"

/* Days of validity under which status warns. */
#define DEVID_WARN_DAYS 14
/* Days under which an anchor or the certificate gets a warning (renewal
 * and root migration should have happened by then). */
#define DEVID_WARN_ANCHOR_DAYS 30

/* "name: text" on stdout, text escaped: it may come from the state file,
 * renewal.json or a certificate, all written from what a server said. */
static void devid_status_line(const char *name, const char *text)
{
    char out[4096];

    printf("%s: %s\n", name, devid_text_escape(text, out, sizeof(out)));
}

static void devid_status_problem(struct devid_tool *t, json_object *problems,
                                 const char *text)
{
    json_object_array_add(problems, json_object_new_string(text));
    if (!t->json) {
        devid_status_line("problem", text);
    }
}

static char *devid_name_text(const X509_NAME *name)
{
    return X509_NAME_oneline(name, NULL, 0);
}

/* Certificate facts and problems; returns 1 when the certificate is
 * usable (present and not expired), else 0. */
static int devid_status_cert(struct devid_tool *t, const struct devid_state *st,
                             json_object *problems, X509 **leaf_out)
{
    STACK_OF(X509) *chain = NULL;
    X509 *leaf;
    char *subj = NULL;
    char *iss = NULL;
    char msg[512];
    int days = 0;
    int secs = 0;
    int usable = 1;

    if (st->cert_chain == NULL
        || (chain = devid_tool_read_chain(t, st->cert_chain)) == NULL) {
        ERR_clear_error();
        devid_status_problem(t, problems, "certificate chain missing");
        return 0;
    }
    leaf = sk_X509_value(chain, 0);
    subj = devid_name_text(X509_get_subject_name(leaf));
    iss = devid_name_text(X509_get_issuer_name(leaf));
    devid_tool_result(t, "subject", subj);
    devid_tool_result(t, "issuer", iss);
    devid_tool_result(t, "not_after", st->not_after);
    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(leaf))) {
        if (days < 0 || secs < 0 || (days == 0 && secs == 0)) {
            devid_status_problem(t, problems, "certificate has expired");
            usable = 0;
        } else if (days < DEVID_WARN_DAYS) {
            snprintf(msg, sizeof(msg), "certificate expires in %d days", days);
            devid_status_problem(t, problems, msg);
        }
    }
    *leaf_out = X509_dup(leaf);
    if (*leaf_out == NULL) {
        usable = 0;
    }
    OPENSSL_free(subj);
    OPENSSL_free(iss);
    sk_X509_pop_free(chain, X509_free);
    return usable;
}

/* Returns 1 when the key opens and matches the certificate, else 0. */
static int devid_status_key(struct devid_tool *t, const struct devid_state *st,
                            X509 *leaf, json_object *problems)
{
    EVP_PKEY *pkey = NULL;
    int ok = 1;

    if (st->key == NULL) {
        devid_status_problem(t, problems, "no key recorded");
        return 0;
    }
    pkey = devid_tool_load_key(t, st->key_ref != NULL ? st->key_ref : st->key);
    if (pkey == NULL) {
        ERR_clear_error();
        devid_status_problem(t, problems, "the key cannot be opened");
        return 0;
    }
    devid_tool_result(t, "key_type", EVP_PKEY_get0_type_name(pkey));
    if (leaf != NULL && X509_check_private_key(leaf, pkey) != 1) {
        devid_status_problem(t, problems, "certificate does not match the key");
        ok = 0;
    }
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    return ok;
}

/* The last renewal attempt (STATE/renewal.json, written by devid renew and
 * rollback); a failure is a problem: the old identity is still in use. */
static void devid_status_renewal(struct devid_tool *t, json_object *problems)
{
    char *path = devid_path(devid_state_dir(t), "renewal.json");
    json_object *r = path != NULL ? json_object_from_file(path) : NULL;
    json_object *v = NULL;
    const char *result = NULL;
    char msg[768];

    free(path);
    if (r == NULL || !json_object_is_type(r, json_type_object)) {
        json_object_put(r);
        return;
    }
    if (json_object_object_get_ex(r, "result", &v)) {
        result = json_object_get_string(v);
    }
    if (!t->json) {
        devid_status_line("last renewal", result != NULL ? result : "unknown");
    }
    if (result != NULL && strcmp(result, "failed") == 0) {
        json_object *step = NULL;
        json_object *err = NULL;

        json_object_object_get_ex(r, "step", &step);
        json_object_object_get_ex(r, "error", &err);
        snprintf(msg, sizeof(msg), "renewal failed at %s: %s (the old "
                 "identity stays in use)",
                 step != NULL ? json_object_get_string(step) : "?",
                 err != NULL ? json_object_get_string(err) : "see the log");
        devid_status_problem(t, problems, msg);
    }
    json_object_object_add(t->out, "renewal", r);
}

/* Warnings: anchors of trust-dir and the certificate near their end. */
static void devid_status_warnings(struct devid_tool *t,
                                  const struct devid_state *st,
                                  json_object *warnings)
{
    const char *dir = t->set.trust_dir != NULL ? t->set.trust_dir
                                               : st->trust_dir;
    size_t i;

    if (dir != NULL) {
        devid_trust_expiry_warnings(dir, DEVID_WARN_ANCHOR_DAYS, warnings);
    }
    for (i = 0; !t->json && i < json_object_array_length(warnings); i++) {
        devid_status_line("warning",
                          json_object_get_string(
                              json_object_array_get_idx(warnings, i)));
    }
}

static void devid_status_usage(FILE *out)
{
    fprintf(out,
            "Usage: devid status [--state-dir DIR]\n"
            "Shows the device's identity (registration and device id, hub, key,\n"
            "certificate subject, issuer, expiry) and any problem found.\n"
            "Exit 0 when provisioned and healthy, 7 when not provisioned, 9 when\n"
            "the certificate is expired or does not match the key.\n");
}

int devid_cmd_status(struct devid_tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "state-dir", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct devid_state st;
    json_object *problems = json_object_new_array();
    json_object *warnings = NULL;
    X509 *leaf = NULL;
    int loaded;
    int c;
    int rc = DEVID_EXIT_OK;

    while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        if (c == 's') {
            if (!devid_settings_set(t, "--state-dir", "state-dir", optarg)) {
                json_object_put(problems);
                return DEVID_EXIT_CONFIG;
            }
        } else if (c == 'h') {
            devid_status_usage(stdout);
            json_object_put(problems);
            return DEVID_EXIT_OK;
        } else {
            devid_status_usage(stderr);
            json_object_put(problems);
            return DEVID_EXIT_USAGE;
        }
    }
    if (!devid_tool_crypto_init(t)) {
        json_object_put(problems);
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot start OpenSSL");
    }
    loaded = devid_state_load(t, devid_state_dir(t), &st);
    json_object_object_add(t->out, "provisioned",
                           json_object_new_boolean(loaded == DEVID_EXIT_OK
                                                   && st.assigned_hub != NULL));
    json_object_object_add(t->out, "problems", problems);
    devid_tool_result(t, "state_dir", devid_state_dir(t));
    if (loaded != DEVID_EXIT_OK || st.assigned_hub == NULL) {
        if (!t->json) {
            printf("provisioned: no\n");
        }
        devid_status_problem(t, problems,
                             loaded == DEVID_EXIT_INSTALL
                                 ? "state file is corrupt"
                                 : "not provisioned");
        devid_state_clear(&st);
        return DEVID_EXIT_NOT_PROVISIONED;
    }
    if (!t->json) {
        printf("provisioned: yes\n");
    }
    devid_tool_result(t, "registration_id", st.registration_id);
    devid_tool_result(t, "device_id", st.device_id);
    devid_tool_result(t, "assigned_hub", st.assigned_hub);
    devid_tool_result(t, "key", st.key);
    devid_tool_result(t, "key_reference", st.key_ref);
    devid_tool_result(t, "certificate_chain", st.cert_chain);
    devid_tool_result(t, "installed_to", st.install_to);
    devid_tool_result(t, "certificate_stored_at", st.cert_name);
    devid_tool_result(t, "trust_dir", st.trust_dir);
    if (!devid_status_cert(t, &st, problems, &leaf)) {
        rc = DEVID_EXIT_CERT;
    }
    if (!devid_status_key(t, &st, leaf, problems)) {
        rc = DEVID_EXIT_CERT;
    }
    devid_tool_result(t, "identity", st.identity);
    devid_tool_result(t, "previous_identity", st.previous);
    devid_status_renewal(t, problems);
    warnings = json_object_new_array();
    if (warnings != NULL && leaf != NULL) {
        int days = 0;
        int secs = 0;

        if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(leaf))
            && days >= DEVID_WARN_DAYS && days < DEVID_WARN_ANCHOR_DAYS) {
            char msg[96];

            snprintf(msg, sizeof(msg), "certificate expires in %d days", days);
            json_object_array_add(warnings, json_object_new_string(msg));
        }
    }
    if (warnings != NULL) {
        json_object_object_add(t->out, "warnings", warnings);
        devid_status_warnings(t, &st, warnings);
    }
    X509_free(leaf);
    devid_state_clear(&st);
    return rc;
}

static void devid_print_config_usage(FILE *out)
{
    fprintf(out,
            "Usage: devid print-config [--port N] curl|mosquitto|openssl\n"
            "Prints what each program needs to use the installed identity:\n"
            "  curl       client certificate and reference key options\n"
            "  mosquitto  mosquitto_pub options for the assigned IoT hub\n"
            "  openssl    an openssl.cnf that activates devid (default first)\n"
            "  --port     the hub's MQTT port (default 8883)\n");
}

/* "name = value" in openssl.cnf syntax: the value in double quotes, with
 * '"' and '\\' escaped, so that '#', '$' or spaces in a path stay part of
 * it (OpenSSL's NCONF reads quoted text literally). A control character
 * would end the line: refused, naming the setting. Returns a devid_exit
 * code. */
static int devid_print_cnf_value(struct devid_tool *t, const char *setting,
                                 const char *name, const char *value)
{
    const char *p;

    if (value == NULL) {
        return DEVID_EXIT_OK;
    }
    if (devid_text_has_control(value)) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG,
                               "%s holds control "
                               "characters: it cannot go into openssl.cnf",
                               setting);
    }
    printf("%s = \"", name);
    for (p = value; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            putchar('\\');
        }
        putchar(*p);
    }
    printf("\"\n");
    return DEVID_EXIT_OK;
}

static int devid_print_openssl_cnf(struct devid_tool *t)
{
    int rc;

    printf("# activate devid next to default for every OpenSSL program\n"
           "openssl_conf = openssl_init\n\n"
           "[openssl_init]\nproviders = provider_sect\n\n"
           "[provider_sect]\n# default must come first\n"
           "default = default_sect\ndevid = devid_sect\n\n"
           "[default_sect]\nactivate = 1\n\n"
           "[devid_sect]\nactivate = 1\n");
    rc = devid_print_cnf_value(t, "pkcs11-module-path", "pkcs11-module-path",
                               t->set.pkcs11_module);
    if (rc == DEVID_EXIT_OK) {
        rc = devid_print_cnf_value(t, "pin-file-group-readable",
                                   "pkcs11-pin-file-group-readable",
                                   t->set.pin_file_group);
    }
    if (rc == DEVID_EXIT_OK) {
        rc = devid_print_cnf_value(t, "pin-source", "pkcs11-module-token-pin",
                                   t->set.pin_source);
    }
    if (rc == DEVID_EXIT_OK) {
        rc = devid_print_cnf_value(t, "tcti", "tcti", t->set.tcti);
    }
    return rc;
}

/* The words of one shell command line, each quoted for a POSIX shell
 * (escape.c), so the line is safe to paste whatever the state file holds.
 * names[i] names words[i] in the error for a word no quoting keeps on one
 * line (a control character: a state file from a hostile DPS answer, as
 * devid before issue 14 wrote them). Returns a devid_exit code. */
static int devid_print_words(struct devid_tool *t, const char *const *words,
                             const char *const *names, size_t n)
{
    char **quoted = calloc(n, sizeof(*quoted));
    size_t i;
    int rc = DEVID_EXIT_OK;

    if (quoted == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_INSTALL, "out of memory");
    }
    for (i = 0; rc == DEVID_EXIT_OK && i < n; i++) {
        quoted[i] = devid_shell_quote(words[i]);
        if (quoted[i] == NULL) {
            rc = devid_tool_fail(t, DEVID_EXIT_INSTALL,
                                 "the state file's %s "
                                 "holds control characters: run devid "
                                 "provision --force",
                                 names[i]);
        }
    }
    for (i = 0; rc == DEVID_EXIT_OK && i < n; i++) {
        printf("%s%s", i > 0 ? " " : "", quoted[i]);
    }
    if (rc == DEVID_EXIT_OK) {
        printf("\n");
    }
    for (i = 0; i < n; i++) {
        free(quoted[i]);
    }
    free(quoted);
    return rc;
}

static int devid_print_curl(struct devid_tool *t, const struct devid_state *st,
                            const char *trust)
{
    const char *const words[] = { "--cert",    st->cert_chain, "--key",
                                  st->key_ref, "--capath",     trust };
    const char *const names[] = { "",        "cert_chain", "",
                                  "key_ref", "",           "trust-dir" };

    return devid_print_words(t, words, names, 6);
}

static int devid_print_mosquitto(struct devid_tool *t,
                                 const struct devid_state *st, const char *port,
                                 const char *trust)
{
    const char *hub = st->assigned_hub != NULL ? st->assigned_hub : "";
    const char *dev = st->device_id != NULL ? st->device_id : "";
    size_t len = strlen(hub) + 2 * strlen(dev) + 64;
    char *user = malloc(len);
    char *topic = malloc(len);
    int rc;

    if (user == NULL || topic == NULL) {
        rc = devid_tool_fail(t, DEVID_EXIT_INSTALL, "out of memory");
    } else {
        const char *const words[] = {
            "-h",    hub,         "-p",       port,  "--cert", st->cert_chain,
            "--key", st->key_ref, "--capath", trust, "-i",     dev,
            "-u",    user,        "-t",       topic
        };
        const char *const names[] = { "", "assigned_hub", "", "",
                                      "", "cert_chain",   "", "key_ref",
                                      "", "trust-dir",    "", "device_id",
                                      "", "assigned_hub", "", "device_id" };

        snprintf(user, len, "%s/%s/?api-version=2021-04-12", hub, dev);
        snprintf(topic, len, "devices/%s/messages/events/", dev);
        rc = devid_print_words(t, words, names, 16);
    }
    free(user);
    free(topic);
    return rc;
}

int devid_cmd_print_config(struct devid_tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "port", required_argument, NULL, 'p' },
        { "state-dir", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct devid_state st;
    const char *port = "8883";
    long port_num = 0;
    const char *what;
    const char *trust;
    int c;
    int rc = DEVID_EXIT_OK;

    while ((c = getopt_long(argc, argv, "p:s:h", opts, NULL)) != -1) {
        if (c == 'p') {
            port = optarg;
            if (!devid_parse_long(port, 1, 65535, &port_num)) {
                return devid_tool_fail(t, DEVID_EXIT_USAGE, "--port: bad "
                                       "value '%s': it must be a whole number "
                                       "from 1 to 65535 (a TCP port)", port);
            }
        } else if (c == 's') {
            if (!devid_settings_set(t, "--state-dir", "state-dir", optarg)) {
                return DEVID_EXIT_CONFIG;
            }
        } else if (c == 'h') {
            devid_print_config_usage(stdout);
            return DEVID_EXIT_OK;
        } else {
            devid_print_config_usage(stderr);
            return DEVID_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        devid_print_config_usage(stderr);
        return DEVID_EXIT_USAGE;
    }
    what = argv[optind];
    if (strcmp(what, "openssl") == 0) {
        return devid_print_openssl_cnf(t);
    }
    if (strcmp(what, "curl") != 0 && strcmp(what, "mosquitto") != 0) {
        devid_print_config_usage(stderr);
        return DEVID_EXIT_USAGE;
    }
    if (devid_state_load(t, devid_state_dir(t), &st) != DEVID_EXIT_OK
        || st.cert_chain == NULL || st.key_ref == NULL) {
        devid_state_clear(&st);
        return devid_tool_fail(t, DEVID_EXIT_NOT_PROVISIONED,
                               "not provisioned: run devid provision first");
    }
    trust = t->set.trust_dir != NULL ? t->set.trust_dir : "/etc/ssl/certs";
    rc = strcmp(what, "curl") == 0 ? devid_print_curl(t, &st, trust)
                                   : devid_print_mosquitto(t, &st, port, trust);
    if (rc != DEVID_EXIT_OK) {
        devid_state_clear(&st);
        return rc;
    }
    printf("# with OPENSSL_CONF pointing at the output of: devid print-config openssl\n");
    devid_state_clear(&st);
    return rc;
}
