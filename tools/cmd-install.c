/* SPDX-License-Identifier: Apache-2.0 */
/* devid install: puts an issued chain next to its key. The leaf goes into
 * the token as a certificate object with the key's CKA_ID and label (PKCS#11
 * keys) or, with install-to tpm-nv, into a new index of the key's hardware
 * (the backend's store_cert_new; the index in use is never written), the
 * chain file (leaf first) and the reference key file go to the
 * state directory, the trust bundle to the managed trust directory, and the
 * state file is written last. Every file is replaced atomically, so an
 * interrupted install leaves the old identity or the new one: each identity
 * has its own directory and "current" is switched by one rename. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "provider/backend.h"
#include "tools/dps-client.h"
#include "tools/install.h"
#include "tools/tool.h"
#include "tools/trust.h"

#define DEVID_DEFAULT_STATE_DIR "/var/lib/devid"

const char *devid_state_dir(const struct devid_tool *t)
{
    return t->set.state_dir != NULL ? t->set.state_dir
                                    : DEVID_DEFAULT_STATE_DIR;
}

/* PEM text of a whole chain, leaf first; caller frees with OPENSSL_free. */
static char *devid_chain_pem(STACK_OF(X509) *chain, size_t *len)
{
    BIO *mem = BIO_new(BIO_s_mem());
    BUF_MEM *bm = NULL;
    char *out = NULL;
    int i;

    if (mem == NULL) {
        return NULL;
    }
    for (i = 0; i < sk_X509_num(chain); i++) {
        if (!PEM_write_bio_X509(mem, sk_X509_value(chain, i))) {
            goto end;
        }
    }
    BIO_get_mem_ptr(mem, &bm);
    out = OPENSSL_strndup(bm->data, bm->length);
    *len = bm->length;
end:
    BIO_free(mem);
    return out;
}

static void devid_time_iso(const ASN1_TIME *at, char *buf, size_t size)
{
    struct tm tm;

    if (at == NULL || !ASN1_TIME_to_tm(at, &tm)) {
        snprintf(buf, size, "unknown");
        return;
    }
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct devid_found_key {
    struct devid_key *key;
};

static int devid_found_key_cb(const struct devid_object *obj, void *arg)
{
    struct devid_found_key *f = arg;

    if (obj->cls == DEVID_OBJ_PRIVKEY && f->key == NULL) {
        f->key = devid_key_up_ref(obj->key);
        return 0;
    }
    return 1;
}

/* Stores one certificate of the chain beside the key: the leaf with the
 * key's id and label, CA certificates as authorities labelled LABEL-ca<i>. */
static int devid_install_one_cert(const struct devid_backend_ops *ops,
                                  struct devid_key *key, X509 *x, int i)
{
    const char *label = key->label != NULL ? key->label : "device";
    char ca_label[160];
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    int ok = 0;

    if (len > 0 && i == 0) {
        ok = ops->store_cert(key, der, (size_t)len, label);
    } else if (len > 0 && ops->store_ca_cert != NULL) {
        snprintf(ca_label, sizeof(ca_label), "%s-ca%d", label, i);
        ok = ops->store_ca_cert(key, der, (size_t)len, ca_label);
    }
    OPENSSL_free(der);
    return ok;
}

/* The chain as certificate objects beside a PKCS#11 key, created before
 * anything on disk changes, so a failure leaves everything as it was. */
static int devid_install_in_token(struct devid_tool *t, const char *keyname,
                                  STACK_OF(X509) *chain)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(keyname);
    struct devid_found_key f = { NULL };
    int rc = DEVID_EXIT_INSTALL;
    int i;

    if (ops == NULL || ops->store_cert == NULL || ops->search == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_USAGE,
                               "install-to token needs a pkcs11: key, not %s",
                               keyname);
    }
    if (!ops->search(t->prov, keyname, DEVID_OBJ_PRIVKEY, NULL,
                     devid_found_key_cb, &f) || f.key == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_KEY, "cannot find key %s", keyname);
    }
    for (i = 0; i < sk_X509_num(chain); i++) {
        if (!devid_install_one_cert(ops, f.key, sk_X509_value(chain, i), i)) {
            devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot store certificate "
                            "%d of the chain in the token", i);
            goto end;
        }
    }
    devid_tool_progress(t, "certificate chain stored in the token next to "
                        "the key");
    rc = DEVID_EXIT_OK;
end:
    devid_key_free(f.key);
    return rc;
}

/* The leaf in a new place of the key's hardware (store_cert_new: a new TPM
 * NV index), before anything on disk changes. Sets *where to its name (free
 * with OPENSSL_free); the caller removes it again when the install fails. */
static int devid_install_in_nv(struct devid_tool *t, const char *keyname,
                               STACK_OF(X509) *chain, char **where)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(keyname);
    struct devid_found_key f = { NULL };
    unsigned char *der = NULL;
    int len;
    int rc = DEVID_EXIT_INSTALL;

    if (ops == NULL || ops->store_cert_new == NULL || ops->search == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_USAGE,
                               "install-to tpm-nv needs a key whose hardware "
                               "stores certificates (a TPM key), not %s",
                               keyname);
    }
    if (!ops->search(t->prov, keyname, DEVID_OBJ_PRIVKEY, NULL,
                     devid_found_key_cb, &f)
        || f.key == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_KEY, "cannot find key %s",
                               keyname);
    }
    len = i2d_X509(sk_X509_value(chain, 0), &der);
    if (len <= 0 || !ops->store_cert_new(f.key, der, (size_t)len, where)) {
        devid_tool_fail(t, DEVID_EXIT_INSTALL,
                        "cannot store the certificate "
                        "next to the key %s",
                        keyname);
        goto end;
    }
    devid_tool_progress(t, "certificate stored at %s next to the key", *where);
    rc = DEVID_EXIT_OK;
end:
    OPENSSL_free(der);
    devid_key_free(f.key);
    return rc;
}

/* Removes what devid_install_in_nv stored, after a failed install. */
static void devid_install_nv_undo(struct devid_tool *t, const char *keyname,
                                  const char *where)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(keyname);

    if (ops != NULL && ops->delete_cert != NULL
        && !ops->delete_cert(t->prov, where)) {
        devid_tool_progress(t, "warning: cannot remove %s", where);
        ERR_print_errors_fp(stderr);
    }
}

/* A symlink at path pointing at target, replacing whatever is there in one
 * rename (a crash leaves the old link or the new one). */
static int devid_symlink_replace(const char *target, const char *path)
{
    size_t len = strlen(path) + sizeof(".new");
    char *tmp = malloc(len);
    int ok = 0;

    if (tmp == NULL) {
        return 0;
    }
    snprintf(tmp, len, "%s.new", path);
    unlink(tmp);
    ok = symlink(target, tmp) == 0 && rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

/* The number after the last identity of base made within stamp's second
 * (stamp-0, stamp-1 ...), 0 when there is none. Not the first free one: an
 * identity pruned meanwhile must not give its number to a newer one, as
 * the numbers order the identities of one second (identity-prune.c). */
static int devid_identity_next(const char *base, const char *stamp)
{
    size_t len = strlen(stamp);
    DIR *d = opendir(base);
    struct dirent *e;
    long v;
    int next = 0;

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, stamp, len) == 0 && e->d_name[len] == '-'
            && devid_parse_long(e->d_name + len + 1, 0, 998, &v) && v >= next) {
            next = (int)v + 1;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return next;
}

/* A fresh directory identities/<UTC time>-<n> for one identity's files:
 * n counts the identities made within that second. */
static char *devid_identity_dir(const char *dir, char *name, size_t size)
{
    char stamp[32];
    char *base = devid_path(dir, "identities");
    char *idir = NULL;
    time_t now = time(NULL);
    int n;

    if (base == NULL || !devid_mkdirs(base, 0755)) {
        free(base);
        return NULL;
    }
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
    for (n = devid_identity_next(base, stamp); n < 1000; n++) {
        snprintf(name, size, "%s-%d", stamp, n);
        idir = devid_path(base, name);
        if (idir == NULL || mkdir(idir, 0755) == 0) {
            break;
        }
        free(idir);
        idir = NULL;
        if (errno != EEXIST) {
            break;
        }
    }
    free(base);
    return idir;
}

/* Fills the state of the new identity. Returns 1, or 0 when out of memory
 * (st then holds a mix of old and new: not to be saved). */
static int devid_install_state(struct devid_state *st,
                               const struct devid_install *in,
                               STACK_OF(X509) *chain, const char *dir,
                               const char *identity, const char *cert_name)
{
    char when[32];
    char after[32];
    time_t now = time(NULL);
    int ok;

    devid_time_iso(X509_get0_notAfter(sk_X509_value(chain, 0)), after,
                   sizeof(after));
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    free(st->cert_chain);
    free(st->key_ref);
    st->cert_chain = devid_path(dir, "device-chain.pem");
    st->key_ref = devid_path(dir, "device-key.pem");
    ok = st->cert_chain != NULL && st->key_ref != NULL;
    ok &= devid_state_set(&st->key, in->key);
    ok &= devid_state_set(&st->install_to, in->to_nv      ? "tpm-nv"
                                           : in->to_token ? "token"
                                                          : "files");
    ok &= devid_state_set(&st->cert_name, cert_name);
    ok &= devid_state_set(&st->not_after, after);
    ok &= devid_state_set(&st->provisioned_at, when);
    ok &= devid_state_set(&st->registration_id, in->registration_id);
    ok &= devid_state_set(&st->device_id, in->device_id);
    ok &= devid_state_set(&st->assigned_hub, in->assigned_hub);
    ok &= devid_state_set(&st->id_scope, in->id_scope);
    ok &= devid_state_set(&st->trust_dir, in->trust_dir);
    /* the identity this one replaces, for devid rollback */
    ok &= devid_state_set(&st->previous,
                          in->previous != NULL ? in->previous : st->identity);
    ok &= devid_state_set(&st->identity, identity);
    /* only a key devid made may ever be deleted with its identity */
    ok &= devid_state_set(&st->key_created, in->key_created ? "yes" : "no");
    return ok;
}

/* The stable names programs use point through "current" into the identity
 * directory, so switching "current" switches chain, key reference and
 * state together, in one rename. */
static int devid_install_links(const char *dir)
{
    static const char *const names[][2] = {
        { "device-chain.pem", "current/chain.pem" },
        { "device-key.pem", "current/key.pem" },
        { "state.json", "current/state.json" },
    };
    char target[64];
    size_t i;
    int ok = 1;

    for (i = 0; ok && i < sizeof(names) / sizeof(names[0]); i++) {
        char *path = devid_path(dir, names[i][0]);
        ssize_t n = path != NULL ? readlink(path, target, sizeof(target) - 1)
                                 : -1;

        if (n < 0 || (size_t)n != strlen(names[i][1])
            || memcmp(target, names[i][1], (size_t)n) != 0) {
            ok = path != NULL && devid_symlink_replace(names[i][1], path);
        }
        free(path);
    }
    return ok;
}

int devid_identity_switch(struct devid_tool *t, const char *name)
{
    const char *dir = devid_state_dir(t);
    char target[96];
    char *path = devid_path(dir, "current");
    int rc = DEVID_EXIT_INSTALL;

    snprintf(target, sizeof(target), "identities/%s", name);
    if (path == NULL || !devid_install_links(dir)
        || !devid_symlink_replace(target, path)) {
        devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot switch %s/current: %s",
                        dir, strerror(errno));
        goto end;
    }
    devid_fsync_dir(dir);
    rc = DEVID_EXIT_OK;
end:
    free(path);
    return rc;
}

/* Writes the new identity's files into their own directory, then switches
 * to it; on any failure before the switch, the old identity is untouched. */
static int devid_install_files(struct devid_tool *t,
                               const struct devid_install *in,
                               STACK_OF(X509) *chain, EVP_PKEY *pkey,
                               const char *cert_name)
{
    const char *dir = devid_state_dir(t);
    struct devid_state st;
    char name[64];
    char *idir = NULL;
    char *path = NULL;
    char *pem = NULL;
    size_t len = 0;
    int rc = DEVID_EXIT_INSTALL;

    memset(&st, 0, sizeof(st));
    if (!devid_mkdirs(dir, 0755)
        || (idir = devid_identity_dir(dir, name, sizeof(name))) == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot create a new "
                               "identity directory in %s: %s", dir,
                               strerror(errno));
    }
    rc = devid_state_load(t, dir, &st);
    if (rc == DEVID_EXIT_INSTALL && errno == ENOMEM) {
        goto end; /* reported */
    }
    if (rc != DEVID_EXIT_OK) {
        devid_state_clear(&st);         /* none, or corrupt: written anew */
    }
    rc = DEVID_EXIT_INSTALL;
    pem = devid_chain_pem(chain, &len);
    path = devid_path(idir, "chain.pem");
    if (pem == NULL || path == NULL
        || !devid_atomic_write(path, pem, len, 0644)) {
        devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot write %s: %s",
                        path != NULL ? path : idir, strerror(errno));
        goto end;
    }
    free(path);
    path = devid_path(idir, "key.pem");
    rc = path != NULL
             ? devid_write_pkey_ref(t, pkey, in->key, path)
             : devid_tool_fail(t, DEVID_EXIT_INSTALL,
                               "cannot write %s/key.pem: out of memory", idir);
    if (rc != DEVID_EXIT_OK) {
        goto end;
    }
    rc = DEVID_EXIT_INSTALL;
    if (!devid_install_state(&st, in, chain, dir, name, cert_name)) {
        devid_tool_fail(t, DEVID_EXIT_INSTALL,
                        "out of memory for the state of %s", idir);
        goto end;
    }
    if (!devid_state_save(idir, &st)) {
        devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot write %s/state.json: %s",
                        idir, strerror(errno));
        goto end;
    }
    if (in->name_out != NULL) {
        snprintf(in->name_out, in->name_size, "%s", name);
    }
    if (in->no_switch) {
        devid_tool_result(t, "installed_identity", name);
        rc = DEVID_EXIT_OK;
        goto end;
    }
    rc = devid_identity_switch(t, name);
    if (rc != DEVID_EXIT_OK) {
        goto end;
    }
    devid_tool_result(t, "certificate_chain", st.cert_chain);
    devid_tool_result(t, "key_reference", st.key_ref);
    devid_tool_result(t, "certificate_stored_at", st.cert_name);
    devid_tool_result(t, "not_after", st.not_after);
    devid_tool_result(t, "identity", name);
    rc = DEVID_EXIT_OK;
end:
    /* never switched to: its directory would only pile up */
    if (rc != DEVID_EXIT_OK) {
        devid_identity_remove(idir);
    }
    free(path);
    free(idir);
    OPENSSL_free(pem);
    devid_state_clear(&st);
    return rc;
}

/* Whether the key's backend keeps certificates beside its keys (its
 * registry entry says so): where an unset install-to puts the chain. */
static int devid_install_cert_beside_key(const char *key)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(key);

    return ops != NULL && (ops->flags & DEVID_BACKEND_CERT_BESIDE_KEY) != 0;
}

/* install-to as state.json records it ("token", "files" or "tpm-nv";
 * NULL: unset). */
static enum devid_install_to devid_install_to_of(const char *recorded)
{
    if (recorded == NULL) {
        return DEVID_INSTALL_TO_DEFAULT;
    }
    if (strcmp(recorded, "tpm-nv") == 0) {
        return DEVID_INSTALL_TO_NV;
    }
    return strcmp(recorded, "token") == 0 ? DEVID_INSTALL_TO_TOKEN
                                          : DEVID_INSTALL_TO_FILES;
}

int devid_install_from_dps(struct devid_tool *t, const char *key,
                           const struct devid_state *cur,
                           const struct devid_dps_result *res,
                           struct devid_install *in)
{
    enum devid_install_to to = cur != NULL
                                   ? devid_install_to_of(cur->install_to)
                                   : t->set.install_to;

    memset(in, 0, sizeof(*in));
    in->key = key;
    in->to_token = to != DEVID_INSTALL_TO_DEFAULT
                       ? to == DEVID_INSTALL_TO_TOKEN
                       : devid_install_cert_beside_key(key);
    in->to_nv = to == DEVID_INSTALL_TO_NV;
    in->trust_dir = t->set.trust_dir;
    /* a renewal keeps the registration it renews, whatever the settings */
    in->registration_id = cur != NULL ? cur->registration_id
                                      : t->set.registration_id;
    in->id_scope = cur != NULL ? cur->id_scope : t->set.id_scope;
    in->device_id = res->device_id;
    in->assigned_hub = res->assigned_hub;
    if (res->issued_chain == NULL || sk_X509_num(res->issued_chain) == 0) {
        return devid_tool_fail(t, DEVID_EXIT_CERT,
                               "DPS issued no certificate (is certificate "
                               "issuance configured for this enrollment?)");
    }
    return DEVID_EXIT_OK;
}

int devid_install_chain(struct devid_tool *t, const struct devid_install *in,
                        STACK_OF(X509) *chain, STACK_OF(X509) *bundle)
{
    EVP_PKEY *pkey = devid_tool_load_key(t, in->key);
    char *cert_name = NULL;
    int rc;

    if (pkey == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_KEY, "cannot open key %s",
                               in->key);
    }
    rc = devid_leaf_check(t, chain, pkey, in->registration_id);
    if (rc == DEVID_EXIT_OK && in->to_token) {
        rc = devid_install_in_token(t, in->key, chain);
    }
    if (rc == DEVID_EXIT_OK && in->to_nv) {
        rc = devid_install_in_nv(t, in->key, chain, &cert_name);
    }
    /* the trust bundle's lifecycle is trust.c's, as for DPS bundles: CA
     * certificates only, tracked in the manifest (no etag: a later bundle
     * replaces this one) */
    if (rc == DEVID_EXIT_OK && bundle != NULL) {
        rc = in->trust_dir == NULL
                 ? devid_tool_fail(t, DEVID_EXIT_CONFIG,
                                   "a trust bundle needs trust-dir")
                 : devid_trust_sync(t, bundle, NULL);
    }
    if (rc == DEVID_EXIT_OK) {
        rc = devid_install_files(t, in, chain, pkey, cert_name);
    }
    /* never switched to: the new index would only pile up */
    if (rc != DEVID_EXIT_OK && cert_name != NULL) {
        devid_install_nv_undo(t, in->key, cert_name);
    }
    OPENSSL_free(cert_name);
    EVP_PKEY_free(pkey);
    return rc;
}

static void devid_install_usage(FILE *out)
{
    fprintf(out,
            "Usage: devid install --cert CHAIN.pem --key NAME [--to "
            "token|files|tpm-nv]\n"
            "                     [--trust-bundle FILE] [--state-dir DIR]\n"
            "Installs an issued chain (leaf first) for the key NAME: with\n"
            "--to token the chain also becomes certificate objects beside a\n"
            "PKCS#11 key (leaf with the key's id and label, CAs as "
            "LABEL-caN); with --to tpm-nv the leaf also goes into a new NV\n"
            "index next to a TPM key (devid status shows which).\n"
            "Writes a new identity directory DIR/identities/<time>-<n> "
            "(chain,\n"
            "reference key file with no secret, state) and then switches\n"
            "DIR/current to it in one rename; DIR/device-chain.pem,\n"
            "DIR/device-key.pem and DIR/state.json point through current.\n"
            "A chain is refused (exit 9, nothing written) unless its leaf\n"
            "matches the key, is valid now, has CN = registration-id (when\n"
            "set), and each certificate is signed by the next.\n"
            "  --trust-bundle  CA certificates to add to trust-dir\n"
            "  --state-dir     default: state-dir setting, "
            "else " DEVID_DEFAULT_STATE_DIR "\n");
}

int devid_cmd_install(struct devid_tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "cert", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' },
        { "to", required_argument, NULL, 't' },
        { "trust-bundle", required_argument, NULL, 'b' },
        { "state-dir", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct devid_install in;
    STACK_OF(X509) *chain = NULL;
    STACK_OF(X509) *bundle = NULL;
    const char *cert = NULL;
    const char *bundle_file = NULL;
    int c;
    int rc = DEVID_EXIT_USAGE;

    memset(&in, 0, sizeof(in));
    in.key = t->set.key;
    while ((c = getopt_long(argc, argv, "c:k:t:b:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            cert = optarg;
            break;
        case 'k':
            in.key = optarg;
            break;
        case 't':
            if (!devid_settings_set(t, "--to", "install-to", optarg)) {
                return DEVID_EXIT_CONFIG;
            }
            break;
        case 'b':
            bundle_file = optarg;
            break;
        case 's':
            if (!devid_settings_set(t, "--state-dir", "state-dir", optarg)) {
                return DEVID_EXIT_CONFIG;
            }
            break;
        case 'h':
            devid_install_usage(stdout);
            return DEVID_EXIT_OK;
        default:
            devid_install_usage(stderr);
            return DEVID_EXIT_USAGE;
        }
    }
    if (cert == NULL || in.key == NULL || optind < argc) {
        devid_install_usage(stderr);
        return DEVID_EXIT_USAGE;
    }
    /* devid install's default is files: --to token asks for the token */
    in.to_token = t->set.install_to == DEVID_INSTALL_TO_TOKEN;
    in.to_nv = t->set.install_to == DEVID_INSTALL_TO_NV;
    in.trust_dir = t->set.trust_dir;
    /* the leaf's CN is checked against registration-id when it is set */
    in.registration_id = t->set.registration_id;
    if (!devid_tool_crypto_init(t)) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot start OpenSSL");
    }
    chain = devid_tool_read_chain(t, cert);
    if (chain == NULL) {
        return DEVID_EXIT_CONFIG;
    }
    if (bundle_file != NULL) {
        bundle = devid_tool_read_chain(t, bundle_file);
        if (bundle == NULL) {
            rc = DEVID_EXIT_CONFIG;
            goto end;
        }
    }
    rc = devid_install_chain(t, &in, chain, bundle);
end:
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(bundle, X509_free);
    return rc;
}
