/* SPDX-License-Identifier: Apache-2.0 */
/* Shared declarations of the devid CLI: options every verb takes, exit
 * codes, output (plain or --json), the crypto set-up, atomic file writes.
 *
 * How helpers in tools/ return. Every function follows one of these, and
 * its comment says which when the name does not:
 *  - Verbs (devid_cmd_*) and the steps they are made of return an
 *    enum devid_exit code: DEVID_EXIT_OK, or another code once the failure
 *    has been reported with devid_tool_fail, which returns the code so that
 *    `return devid_tool_fail(t, CODE, ...)` reports and returns at once.
 *    Callers pass a code on as it is, never turn it into 1/0.
 *  - Predicates answer a yes/no question (devid_renew_due,
 *    devid_key_type_known, devid_hub_try: "did the hub accept?"): 1 for
 *    yes, 0 for no. They report nothing; a reason may go into a buffer.
 *  - Parsers and low-level helpers (settings, option parsing, file writes,
 *    directory creation) return 1 on success and 0 on failure. Those that
 *    take a struct devid_tool and say so have reported the failure (its
 *    exit code is then theirs to name: settings errors are
 *    DEVID_EXIT_CONFIG); the others leave errno or a reason buffer to their
 *    caller, which reports. An option parser returns 1 to go on, or 0 to
 *    stop now with the verb's exit code in *rc (DEVID_EXIT_OK after --help).
 *  - Constructors and lookups return what they name (a new object, a path,
 *    a count) or NULL; comparators for qsort return what qsort asks.
 * No helper returns -1 as an error or mixes two of these. */
#ifndef DEVID_TOOL_H
#define DEVID_TOOL_H

#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "provider/backend.h"
#include "provider/prov.h"

/* Stable exit codes (docs/cli.md). */
enum devid_exit {
    DEVID_EXIT_OK = 0,
    DEVID_EXIT_USAGE = 1,       /* bad command line */
    DEVID_EXIT_CONFIG = 2,      /* bad or missing configuration */
    DEVID_EXIT_KEY = 3,         /* token, TPM or key problem */
    DEVID_EXIT_NETWORK = 4,     /* DPS unreachable, TLS failure, bad answer */
    DEVID_EXIT_REFUSED = 5,     /* DPS refused: unauthorized, failed, disabled */
    DEVID_EXIT_INSTALL = 6,     /* writing certificates or state failed */
    DEVID_EXIT_NOT_PROVISIONED = 7, /* status: the device has no identity yet */
    DEVID_EXIT_TIMEOUT = 8,     /* DPS did not finish in time */
    DEVID_EXIT_CERT = 9         /* issued certificate unusable (key mismatch...) */
};

/* install-to: where an issued chain goes besides the state directory. */
enum devid_install_to {
    DEVID_INSTALL_TO_DEFAULT = 0,   /* not set: the verb's default */
    DEVID_INSTALL_TO_FILES,         /* "files": the state directory only */
    DEVID_INSTALL_TO_TOKEN,         /* "token": also beside the key */
    DEVID_INSTALL_TO_NV             /* "tpm-nv": the leaf also in a new
                                     * index of the key's hardware
                                     * (ops->store_cert_new) */
};

/* dps-transport: how the DPS client talks to DPS (DPS-PROTOCOL.md §1, §2). */
enum devid_dps_transport {
    DEVID_DPS_TRANSPORT_DEFAULT = 0, /* not set: HTTPS */
    DEVID_DPS_TRANSPORT_HTTPS,       /* "https" */
    DEVID_DPS_TRANSPORT_MQTT         /* "mqtt": MQTT 3.1.1 over TLS */
};

/* renew-before: renew when less than this is left of the certificate. */
struct devid_renew_before {
    int percent;                /* 1-99: a share of its lifetime, or 0 */
    long seconds;               /* when percent is 0: a duration */
    char text[24];              /* as written, for messages; "" when unset */
};

/* Settings from the config file and the command line (flags win), each
 * parsed and checked once by devid_settings_set (settings.c holds the table
 * of names, types and ranges). Strings are owned. NULL, 0 and
 * DEVID_INSTALL_TO_DEFAULT mean "not set": the verb's default applies. */
struct devid_settings {
    char *state_dir;            /* state-dir: where identity files live */
    char *key;                  /* key: pkcs11: URI, handle:, or TSS2 file */
    char *key_type;             /* key-type: a type keygen makes (ec-p256...) */
    char *registration_id;      /* registration-id */
    char *id_scope;             /* id-scope */
    char *endpoint;             /* dps-endpoint: host[:port] */
    char *dps_trust;            /* dps-trust: CA file for the DPS server */
    char *auth_cert;            /* onboarding-cert: chain, leaf first */
    char *auth_key;             /* onboarding-key */
    char *api_version;          /* api-version */
    enum devid_dps_transport dps_transport; /* dps-transport: https | mqtt */
    enum devid_install_to install_to;       /* install-to: token | files |
                                         * tpm-nv */
    char *trust_dir;            /* trust-dir: managed trust anchors */
    char *pkcs11_module;        /* pkcs11-module-path */
    char *pin_source;           /* pin-source: file:/path (never the PIN) */
    char *pin_file_group;       /* pin-file-group-readable: yes | no */
    char *tcti;                 /* tcti */
    long timeout_s;             /* dps-timeout: 1-86400 s (DPS client: 60) */
    struct devid_renew_before renew_before; /* renew-before (20%) */
    long keep_identities;       /* keep-identities: 1-1000 (3) */
    char *on_change;            /* on-change: /bin/sh command after a switch */
    long hub_port;              /* hub-port: the hub's MQTT/TLS port (8883) */
    char *hub_trust;            /* hub-trust: CA file for the hub (dps-trust) */
    char *trust_roots;          /* trust-roots: PEM of operator-pinned roots */
};

/* What every verb receives. */
struct devid_tool {
    int json;                   /* --json: one JSON object on stdout */
    int verbose;                /* --verbose: progress details on stderr */
    const char *config_path;    /* --config */
    struct devid_settings set;
    struct devid_prov *prov;    /* the in-process devid provider's context */
    OSSL_PROVIDER *ossl_default; /* providers loaded by crypto_init */
    OSSL_PROVIDER *ossl_devid;
    json_object *out;           /* the --json result being built */
};

/** Prints a progress line on stderr (stdout stays for results and --json).
 *  Never pass a PIN or key material. */
void devid_tool_progress(struct devid_tool *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** Reports an error: "devid VERB: message" on stderr, plus the OpenSSL error
 *  queue's reasons (drained), and in --json mode an "error" member. Returns
 *  code, so verbs can `return devid_tool_fail(t, CODE, ...)`. */
int devid_tool_fail(struct devid_tool *t, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** Sets a string member of the JSON result (and prints "name: value" in
 *  plain mode). value may be NULL (prints nothing). */
void devid_tool_result(struct devid_tool *t, const char *name,
                       const char *value);

/** Loads the "default" provider and devid (built in) into the default
 *  library context, without reading the system openssl.cnf, and applies the
 *  settings (module path, PIN source, TCTI) to devid. Returns 1, or 0 with
 *  nothing reported (verbs say "cannot start OpenSSL", exit 2). */
int devid_tool_crypto_init(struct devid_tool *t);

/** Unloads what devid_tool_crypto_init loaded, so the provider's teardown
 *  runs (closing sessions, flushing TPM objects) before the process ends. */
void devid_tool_crypto_done(struct devid_tool *t);

/** Opens a private key by name (pkcs11: URI, handle:, reference file or
 *  TSS2 file). Returns a new EVP_PKEY (caller frees) or NULL. */
EVP_PKEY *devid_tool_load_key(struct devid_tool *t, const char *name);

/** Reads every certificate of a PEM file, leaf first. Returns a new stack
 *  (free with sk_X509_pop_free(s, X509_free)) or NULL with an error printed. */
STACK_OF(X509) *devid_tool_read_chain(struct devid_tool *t, const char *path);

/** Writes data to path atomically: a temporary file in the same directory,
 *  fsync, rename over path, fsync of the directory. mode is applied to the
 *  new file. Returns 1, or 0 with errno set and nothing changed. */
int devid_atomic_write(const char *path, const void *data, size_t len,
                       unsigned int mode);

/** fsyncs a directory (after renames in it). Returns 1 or 0. */
int devid_fsync_dir(const char *dir);

/** Reads a whole file into a NUL-terminated buffer the caller frees with
 *  free(). Returns NULL when it cannot be read. */
char *devid_read_file(const char *path, size_t *len);

/** Reads the config file (path, else $DEVID_CONFIG, else
 *  /etc/devid/devid.conf when it exists) into t->set, each line through
 *  devid_settings_set. A missing file is an error only when required.
 *  Returns 1, or 0 after reporting a DEVID_EXIT_CONFIG error that says
 *  FILE:LINE (unreadable file, a line that is not "name = value", an
 *  unknown setting, a bad value). */
int devid_settings_load(struct devid_tool *t, const char *path, int required);

/** Frees the strings of a settings struct and zeroes it. */
void devid_settings_clear(struct devid_settings *s);

/** Sets the setting called name (its config-file name) from the text
 *  value: parsed and checked (a number in its range, a duration or share,
 *  one of a list...) into its typed member of t->set, replacing what was
 *  there. where names the source in the message: "FILE:LINE" for a config
 *  line, the flag ("--before") for the command line. Returns 1, or 0 after
 *  reporting a DEVID_EXIT_CONFIG error naming where, the setting and the
 *  refused value (t->set then keeps its previous value). */
int devid_settings_set(struct devid_tool *t, const char *where,
                       const char *name, const char *value);

/** Parses a whole decimal number from min to max, with nothing before or
 *  after it. Returns 1 with *out set, or 0 with *out untouched (nothing
 *  reported). The one place tools/ turns text into a number. */
int devid_parse_long(const char *text, long min, long max, long *out);

/** Sleeps ms milliseconds, resuming after signals. The one place tools/
 *  waits between network tries (DPS polls, Retry-After, backoff). */
void devid_sleep_ms(long ms);

/** Returns 1 when name is a key type devid keygen can make ("ec-p256",
 *  "rsa-2048"...), else 0. */
int devid_key_type_known(const char *name);

/** Writes the key types devid keygen can make, comma-separated, into buf
 *  (size bytes, always NUL-terminated), for messages. */
void devid_key_type_list(char *buf, size_t size);

/* The verbs (docs/cli.md). Each parses its own arguments (argv[0] is the
 * verb) over t->set, reports a failure with devid_tool_fail, puts results
 * through devid_tool_result and returns a devid_exit code. */

/** devid keygen: finds the key at NAME or creates it; writes its reference
 *  file (cmd-key.c). */
int devid_cmd_keygen(struct devid_tool *t, int argc, char **argv);

/** devid csr: a PKCS#10 request signed by a resident key (cmd-key.c). */
int devid_cmd_csr(struct devid_tool *t, int argc, char **argv);

/** devid register: one DPS registration by X.509 attestation, optionally
 *  with a CSR (cmd-register.c). */
int devid_cmd_register(struct devid_tool *t, int argc, char **argv);

/** devid install: an issued chain installed beside its key, atomically
 *  (cmd-install.c). */
int devid_cmd_install(struct devid_tool *t, int argc, char **argv);

/** devid provision: keygen, csr, register and install from the settings
 *  (cmd-provision.c). */
int devid_cmd_provision(struct devid_tool *t, int argc, char **argv);

/** devid status: what the device is and what is wrong (cmd-status.c). */
int devid_cmd_status(struct devid_tool *t, int argc, char **argv);

/** devid print-config: the settings curl, mosquitto or openssl need
 *  (cmd-status.c). */
int devid_cmd_print_config(struct devid_tool *t, int argc, char **argv);

/** devid renew: a new key and certificate, switched to after the hub
 *  accepted them (cmd-renew.c). */
int devid_cmd_renew(struct devid_tool *t, int argc, char **argv);

/** devid rollback: back to the identity the last renewal replaced
 *  (cmd-rollback.c). */
int devid_cmd_rollback(struct devid_tool *t, int argc, char **argv);

/** devid trust-sync: trust-dir brought in line with trust-roots
 *  (trust.c). */
int devid_cmd_trust_sync(struct devid_tool *t, int argc, char **argv);

/* What the device is, kept in STATE_DIR/state.json (written atomically).
 * Every string is owned by the struct; absent members are NULL. */
struct devid_state {
    char *registration_id;
    char *device_id;
    char *assigned_hub;
    char *id_scope;
    char *key;                  /* name of the operational key */
    char *key_ref;              /* reference key file for programs */
    char *cert_chain;           /* PEM chain, leaf first */
    char *install_to;           /* "token", "files" or "tpm-nv" */
    char *cert_name;            /* tpm-nv: the name the leaf is stored
                                 * at (a new index per identity; removed
                                 * with the identity when pruned) */
    char *trust_dir;
    char *not_after;            /* leaf notAfter, ISO 8601 UTC */
    char *provisioned_at;       /* ISO 8601 UTC */
    char *identity;             /* identities/<name> this state belongs to */
    char *previous;             /* the identity this one replaced (renew) */
    char *key_created;          /* "yes": devid made key (pruning may
                                 * delete it), else never deleted */
};

/** Loads STATE_DIR/state.json into st (zeroed first; free it with
 *  devid_state_clear in every case). Returns DEVID_EXIT_OK when it was
 *  read, DEVID_EXIT_NOT_PROVISIONED (nothing reported, st empty) when there
 *  is no state file, or DEVID_EXIT_INSTALL when it is unreadable or corrupt
 *  (reported; errno is then ENOMEM when memory ran out, which a caller
 *  that replaces a corrupt state must not take for one). */
int devid_state_load(struct devid_tool *t, const char *dir,
                     struct devid_state *st);

/** Writes st to STATE_DIR/state.json atomically (mode 0644). Returns 1 or 0
 *  with errno set. */
int devid_state_save(const char *dir, const struct devid_state *st);

/** Frees the strings of st and zeroes it. */
void devid_state_clear(struct devid_state *st);

/** Joins dir and name into a new string the caller frees with free(). */
char *devid_path(const char *dir, const char *name);

/** Creates dir (and parents) with mode if missing. Returns 1 or 0. */
int devid_mkdirs(const char *dir, unsigned int mode);

/** Finds the key at name or creates one of type ("ec-p256"...) there.
 *  Returns a devid_exit code, a new reference in *out and whether it was
 *  created. A key of another type at name is an error. */
int devid_key_ensure(struct devid_tool *t, const char *name, const char *type,
                     struct devid_key **out, int *created);

/** Returns 1 when a private key is at name, 0 when none is (or name's
 *  backend cannot tell); reports nothing. */
int devid_key_exists(struct devid_tool *t, const char *name);

/** Writes key's reference file (PKCS#11 URI or TSS2 PEM) to path, or to
 *  stdout when path is NULL. Returns a devid_exit code. */
int devid_write_key_ref(struct devid_tool *t, struct devid_key *key,
                        const char *path);

/** A DER CSR with subject CN=cn signed by the key keyname, in a buffer the
 *  caller frees with OPENSSL_free. Returns a devid_exit code. */
int devid_csr_der(struct devid_tool *t, const char *keyname, const char *cn,
                  unsigned char **der, size_t *len);

/** Makes a CSR with subject CN=cn (and subjectAltNames) signed by pkey.
 *  Returns a new X509_REQ (caller frees) or NULL. */
X509_REQ *devid_make_csr(EVP_PKEY *pkey, const char *cn, char **sans,
                         int n_sans);

/** Replaces *slot with a copy of value; keeps *slot when value is NULL.
 *  Returns 1, or 0 when out of memory (*slot then unchanged). */
int devid_state_set(char **slot, const char *value);

/** Writes the reference file of a resident EVP_PKEY (what the provider's
 *  encoder makes) to path atomically. name is used in messages. Returns a
 *  devid_exit code. */
int devid_write_pkey_ref(struct devid_tool *t, EVP_PKEY *pkey,
                         const char *name, const char *path);

#endif
