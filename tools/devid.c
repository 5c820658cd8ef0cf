/* SPDX-License-Identifier: Apache-2.0 */
/* devid: the device identity CLI. Global options, then one verb. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <openssl/crypto.h>

#include "tools/tool.h"

struct devid_verb {
    const char *name;
    int (*run)(struct devid_tool *t, int argc, char **argv);
    const char *summary;
};

static const struct devid_verb devid_verbs[] = {
    { "keygen", devid_cmd_keygen,
      "create a non-exportable key in a token or TPM (or reuse it)" },
    { "csr", devid_cmd_csr, "make a CSR signed by a resident key" },
    { "register", devid_cmd_register,
      "register with Azure DPS by X.509 attestation (optionally sending a CSR)" },
    { "install", devid_cmd_install,
      "install an issued certificate chain next to its key, atomically" },
    { "provision", devid_cmd_provision,
      "keygen, csr, register and install in one go, from the config file" },
    { "renew", devid_cmd_renew,
      "renew the certificate with a new key; switch after a hub handshake" },
    { "rollback", devid_cmd_rollback,
      "switch back to the identity the last renewal replaced" },
    { "trust-sync", devid_cmd_trust_sync,
      "bring trust-dir in line with trust-roots (pre-stage new roots)" },
    { "status", devid_cmd_status, "show what the device is and what is wrong" },
    { "print-config", devid_cmd_print_config,
      "print the settings curl, mosquitto or openssl need" },
    { NULL, NULL, NULL }
};

static void devid_usage(FILE *out)
{
    const struct devid_verb *v;

    fprintf(out,
            "Usage: devid [--config FILE] [--json] [--verbose] VERB [ARGS]\n"
            "       devid VERB --help\n\n"
            "Verbs:\n");
    for (v = devid_verbs; v->name != NULL; v++) {
        fprintf(out, "  %-13s %s\n", v->name, v->summary);
    }
    fprintf(out,
            "\nGlobal options:\n"
            "  --config FILE  settings file (default $DEVID_CONFIG, else\n"
            "                 /etc/devid/devid.conf when it exists)\n"
            "  --json         print one JSON object on stdout\n"
            "  --verbose      more progress on stderr (never PINs or keys)\n"
            "  --version      print the version\n\n"
            "Exit codes: 0 ok, 1 usage, 2 configuration, 3 key/token/TPM,\n"
            "4 network/TLS, 5 refused by DPS, 6 install, 7 not provisioned,\n"
            "8 timeout, 9 unusable certificate.\n");
}

/* The options before the verb. Returns 1 with the verb's index in *first,
 * or 0 after printing the usage. */
static int devid_main_options(struct devid_tool *t, int argc, char **argv,
                              int *first)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "verbose", no_argument, NULL, 'v' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    while ((c = getopt_long(argc, argv, "+c:jvVh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            t->config_path = optarg;
            break;
        case 'j':
            t->json = 1;
            break;
        case 'v':
            t->verbose = 1;
            break;
        case 'V':
            printf("devid %s\n", PACKAGE_VERSION);
            exit(0);
        case 'h':
            devid_usage(stdout);
            exit(0);
        default:
            devid_usage(stderr);
            return 0;
        }
    }
    *first = optind;
    return 1;
}

/* Before any verb can read a PIN: no core dump of this process, and no
 * ptrace attach by another process of the same user (PR_SET_DUMPABLE 0
 * also makes /proc/PID/mem root's). A core file of provision or renew
 * would otherwise hold the PIN in clear (issue 14, item 4). Commands that
 * devid runs (on-change) get the default back at execve. Failures are
 * reported, not fatal: a kernel without prctl still gets the rest. */
static void devid_harden(void)
{
    struct rlimit none = { 0, 0 };

    if (setrlimit(RLIMIT_CORE, &none) != 0) {
        fprintf(stderr, "devid: warning: cannot disable core dumps\n");
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        fprintf(stderr, "devid: warning: cannot make the process "
                        "non-dumpable\n");
    }
}

int main(int argc, char **argv)
{
    struct devid_tool t;
    const struct devid_verb *v;
    int first = 0;
    int rc = DEVID_EXIT_USAGE;

    memset(&t, 0, sizeof(t));
    devid_harden();
    if (!devid_main_options(&t, argc, argv, &first)) {
        return DEVID_EXIT_USAGE;
    }
    if (first >= argc) {
        devid_usage(stderr);
        return DEVID_EXIT_USAGE;
    }
    for (v = devid_verbs; v->name != NULL; v++) {
        if (strcmp(v->name, argv[first]) == 0) {
            break;
        }
    }
    if (v->name == NULL) {
        fprintf(stderr, "devid: unknown verb '%s'\n", argv[first]);
        devid_usage(stderr);
        return DEVID_EXIT_USAGE;
    }
    t.out = json_object_new_object();
    if (t.out == NULL) {
        return DEVID_EXIT_CONFIG;
    }
    if (!devid_settings_load(&t, t.config_path, t.config_path != NULL)) {
        rc = DEVID_EXIT_CONFIG;
        goto end;
    }
    optind = 1;                 /* each verb parses its own argv */
    rc = v->run(&t, argc - first, argv + first);
end:
    if (t.json) {
        printf("%s\n", json_object_to_json_string_ext(t.out,
                                                      JSON_C_TO_STRING_PRETTY));
    }
    json_object_put(t.out);
    devid_tool_crypto_done(&t);
    devid_settings_clear(&t.set);
    return rc;
}
