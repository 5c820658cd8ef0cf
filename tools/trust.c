/* SPDX-License-Identifier: Apache-2.0 */
/* The managed trust-anchor directory and devid trust-sync. Files are named
 * <subject hash>.<n> as "openssl rehash" names them (OpenSSL's CApath looks
 * up n = 0, 1, ... and stops at the first gap, so numbers are kept dense).
 * A manifest records which anchors are pinned (trust-roots) and which came
 * with which DPS trust bundle etag (DPS-PROTOCOL.md §6, §9.3). */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tools/tool.h"
#include "tools/trust.h"

#define DEVID_TRUST_PROBE_TIMEOUT_S 10

/* What the directory holds and what it should hold. */
struct devid_trust_plan {
    STACK_OF(X509) *want;           /* desired anchors, deduplicated */
    STACK_OF(X509) *bundle;         /* the bundle set after this sync */
    STACK_OF(X509) *pinned;         /* from trust-roots */
    json_object *old;               /* the previous manifest (or NULL) */
    const char *etag;               /* bundle etag after this sync */
    int added;
    int removed;
};

/* ---- helpers ------------------------------------------------------------ */

static int devid_trust_fp(X509 *x, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    unsigned int i;

    out[0] = '\0';
    /* a digest that fails (no memory) must not leave an empty fingerprint
     * that matches nothing: the anchor would be taken for a stranger */
    if (!X509_digest(x, EVP_sha256(), md, &len) || len != sizeof(md)) {
        errno = ENOMEM; /* what the caller reports */
        return 0;
    }
    for (i = 0; i < len; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
    return 1;
}

/* 1 when name looks like "<8 hex>.<digits>" (a CApath entry). */
static int devid_trust_hashed_name(const char *name)
{
    size_t i;

    for (i = 0; i < 8; i++) {
        if (!isxdigit((unsigned char)name[i])) {
            return 0;
        }
    }
    if (name[8] != '.' || name[9] == '\0') {
        return 0;
    }
    for (i = 9; name[i] != '\0'; i++) {
        if (!isdigit((unsigned char)name[i])) {
            return 0;
        }
    }
    return 1;
}

/* 1 when the JSON array member key of o lists fp. */
static int devid_trust_listed(json_object *o, const char *key, const char *fp)
{
    json_object *arr = NULL;
    size_t i;

    if (o == NULL || !json_object_object_get_ex(o, key, &arr)
        || !json_object_is_type(arr, json_type_array)) {
        return 0;
    }
    for (i = 0; i < json_object_array_length(arr); i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(arr,
                                                                         i));

        if (s != NULL && strcmp(s, fp) == 0) {
            return 1;
        }
    }
    return 0;
}

static int devid_trust_in(STACK_OF(X509) *s, X509 *x)
{
    int i;

    for (i = 0; i < sk_X509_num(s); i++) {
        if (X509_cmp(sk_X509_value(s, i), x) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Pushes a reference to x when not there yet. */
static int devid_trust_push(STACK_OF(X509) *s, X509 *x)
{
    if (devid_trust_in(s, x)) {
        return 1;
    }
    if (!X509_up_ref(x)) {
        return 0;
    }
    if (!sk_X509_push(s, x)) {
        X509_free(x);
        return 0;
    }
    return 1;
}

static X509 *devid_trust_read_one(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

    BIO_free(b);
    ERR_clear_error();
    return x;
}

/* Every anchor in the directory; names[i] is the file of certs[i]. NULL
 * when memory ran out (names may then hold some: the caller frees them). */
static STACK_OF(X509) *devid_trust_scan(const char *dir,
                                        STACK_OF(OPENSSL_STRING) *names)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    DIR *d = opendir(dir);
    struct dirent *e;

    while (certs != NULL && d != NULL && (e = readdir(d)) != NULL) {
        char *path, *name;
        X509 *x;

        if (!devid_trust_hashed_name(e->d_name)) {
            continue;
        }
        path = devid_path(dir, e->d_name);
        if (path == NULL) {
            goto oom;
        }
        x = devid_trust_read_one(path);
        free(path);
        if (x == NULL) {
            continue; /* not a certificate: not one of ours */
        }
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            goto oom;
        }
        name = OPENSSL_strdup(e->d_name);
        if (name == NULL || !sk_OPENSSL_STRING_push(names, name)) {
            OPENSSL_free(name);
            goto oom;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return certs;
oom:
    /* an anchor missed would be taken for one not there */
    closedir(d);
    sk_X509_pop_free(certs, X509_free);
    return NULL;
}

static void devid_trust_str_free(char *s)
{
    OPENSSL_free(s);
}

static int devid_trust_pem(X509 *x, BIO *mem)
{
    return PEM_write_bio_X509(mem, x);
}

/* ---- the plan ----------------------------------------------------------- */

/* 1 when x may be a trust anchor: a CA certificate (basicConstraints
 * CA:TRUE) allowed to sign certificates (keyUsage with keyCertSign, RFC
 * 5280 §4.2.1.3). A leaf or a CA key restricted to other uses in a DPS
 * bundle is not trusted to issue anything (0). -1 when its extensions
 * cannot be read: malformed, or no memory to decode them, which must not
 * pass for "not a CA" (the anchor in use would be removed). */
static int devid_trust_is_ca(X509 *x)
{
    uint32_t flags = X509_get_extension_flags(x);

    if ((flags & EXFLAG_INVALID) != 0) {
        return -1;
    }
    return (flags & EXFLAG_CA) != 0 && (flags & EXFLAG_KUSAGE) != 0
           && (X509_get_key_usage(x) & KU_KEY_CERT_SIGN) != 0;
}

/* Pushes the CA certificates of a new bundle onto p->bundle; others are
 * left out, each with a progress line. Returns 1, or 0 on ENOMEM or a
 * certificate whose extensions cannot be read (EINVAL). */
static int devid_trust_bundle_cas(struct devid_tool *t,
                                  struct devid_trust_plan *p,
                                  STACK_OF(X509) *bundle)
{
    char subject[256];
    int i;

    for (i = 0; i < sk_X509_num(bundle); i++) {
        X509 *x = sk_X509_value(bundle, i);
        int ca = devid_trust_is_ca(x);

        subject[0] = '\0';
        if (ca < 0) {
            X509_NAME_oneline(X509_get_subject_name(x), subject,
                              sizeof(subject));
            devid_tool_progress(t,
                                "trust bundle: %s: its extensions cannot be "
                                "read: the bundle is not applied",
                                subject);
            errno = EINVAL; /* what the caller reports */
            return 0;
        }
        if (!ca) {
            X509_NAME_oneline(X509_get_subject_name(x), subject,
                              sizeof(subject));
            devid_tool_progress(t,
                                "trust bundle: %s left out: not a CA "
                                "certificate (basicConstraints CA:TRUE and "
                                "keyUsage keyCertSign)",
                                subject);
            continue;
        }
        if (!devid_trust_push(p->bundle, x)) {
            return 0;
        }
    }
    return 1;
}

/* Decides the bundle set: the new bundle when its etag is new, else the
 * anchors of the old manifest's bundle still in the directory. */
static int devid_trust_plan_bundle(struct devid_tool *t,
                                   struct devid_trust_plan *p,
                                   STACK_OF(X509) *existing,
                                   STACK_OF(X509) *bundle, const char *etag)
{
    json_object *e = NULL;
    const char *old_etag = NULL;
    char fp[65];
    int i;

    if (p->old != NULL && json_object_object_get_ex(p->old, "bundle_etag", &e)) {
        old_etag = json_object_get_string(e);
    }
    p->etag = old_etag;
    if (bundle != NULL
        && (etag == NULL || old_etag == NULL || strcmp(etag, old_etag) != 0)) {
        devid_tool_progress(t, "applying the DPS trust bundle (etag %s)",
                            etag != NULL ? etag : "none");
        p->etag = etag;
        return devid_trust_bundle_cas(t, p, bundle);
    }
    if (bundle != NULL) {
        devid_tool_progress(t, "DPS trust bundle etag %s unchanged: skipped",
                            etag);
    }
    for (i = 0; i < sk_X509_num(existing); i++) {
        if (!devid_trust_fp(sk_X509_value(existing, i), fp)) {
            return 0;
        }
        if (devid_trust_listed(p->old, "bundle", fp)
            && !devid_trust_push(p->bundle, sk_X509_value(existing, i))) {
            return 0;
        }
    }
    return 1;
}

/* want = pinned + bundle + anchors devid did not write (kept as found). */
static int devid_trust_plan_want(struct devid_trust_plan *p,
                                 STACK_OF(X509) *existing)
{
    char fp[65];
    int i;

    for (i = 0; i < sk_X509_num(p->pinned); i++) {
        if (!devid_trust_push(p->want, sk_X509_value(p->pinned, i))) {
            return 0;
        }
    }
    for (i = 0; i < sk_X509_num(p->bundle); i++) {
        if (!devid_trust_push(p->want, sk_X509_value(p->bundle, i))) {
            return 0;
        }
    }
    for (i = 0; i < sk_X509_num(existing); i++) {
        X509 *x = sk_X509_value(existing, i);

        if (!devid_trust_fp(x, fp)) {
            return 0;
        }
        if (!devid_trust_listed(p->old, "pinned", fp)
            && !devid_trust_listed(p->old, "bundle", fp)
            && !devid_trust_push(p->want, x)) {
            return 0;
        }
    }
    return 1;
}

/* ---- applying it -------------------------------------------------------- */

/* Writes dir/name with x unless it already holds exactly x. */
static int devid_trust_write(const char *dir, const char *name, X509 *x,
                             int *changed)
{
    char *path = devid_path(dir, name);
    X509 *have = path != NULL ? devid_trust_read_one(path) : NULL;
    BIO *mem = BIO_new(BIO_s_mem());
    BUF_MEM *bm = NULL;
    int ok = 0;

    *changed = 0;
    if (path == NULL || mem == NULL) {
        goto end;
    }
    if (have != NULL && X509_cmp(have, x) == 0) {
        ok = 1;
        goto end;
    }
    if (!devid_trust_pem(x, mem)) {
        goto end;
    }
    BIO_get_mem_ptr(mem, &bm);
    ok = devid_atomic_write(path, bm->data, bm->length, 0644);
    *changed = ok;
end:
    X509_free(have);
    BIO_free(mem);
    free(path);
    return ok;
}

static int devid_trust_name_cmp(const X509 *const *a, const X509 *const *b)
{
    unsigned long ha = X509_subject_name_hash((X509 *)*a);
    unsigned long hb = X509_subject_name_hash((X509 *)*b);

    if (ha != hb) {
        return ha < hb ? -1 : 1;
    }
    return X509_cmp(*a, *b);
}

/* Writes want with dense numbers per hash, then removes every other
 * hashed file (new anchors appear before stale ones go). */
static int devid_trust_apply(const char *dir, struct devid_trust_plan *p,
                             STACK_OF(OPENSSL_STRING) *names)
{
    STACK_OF(OPENSSL_STRING) *keep = sk_OPENSSL_STRING_new_null();
    int count = sk_X509_num(p->want);
    unsigned long *hashes = calloc(count > 0 ? (size_t)count : 1,
                                   sizeof(*hashes));
    char name[32];
    int n = 0;
    int i;
    int k;
    int ok = keep != NULL && hashes != NULL;

    sk_X509_set_cmp_func(p->want, devid_trust_name_cmp);
    sk_X509_sort(p->want);
    for (i = 0; ok && i < count; i++) {
        X509 *x = sk_X509_value(p->want, i);
        int changed = 0;
        char *dup;

        /* the subject hash can fail (no memory for the digest): then
         * nothing is named, rather than an anchor named 00000000.0 */
        hashes[i] = X509_NAME_hash_ex(X509_get_subject_name(x), NULL, NULL,
                                      &ok);
        if (!ok) {
            errno = ENOMEM; /* what the caller reports */
            break;
        }
        /* numbered by the anchors with the same hash before it, whatever
         * order the sort left them in */
        for (n = 0, k = 0; k < i; k++) {
            n += hashes[k] == hashes[i];
        }
        snprintf(name, sizeof(name), "%08lx.%d", hashes[i], n);
        dup = OPENSSL_strdup(name);
        ok = dup != NULL && devid_trust_write(dir, name, x, &changed)
             && sk_OPENSSL_STRING_push(keep, dup) > 0;
        if (!ok) {
            OPENSSL_free(dup);
        }
        p->added += changed;
    }
    for (i = 0; ok && i < sk_OPENSSL_STRING_num(names); i++) {
        const char *old = sk_OPENSSL_STRING_value(names, i);
        int j;
        int kept = 0;

        for (j = 0; j < sk_OPENSSL_STRING_num(keep); j++) {
            kept |= strcmp(sk_OPENSSL_STRING_value(keep, j), old) == 0;
        }
        if (!kept) {
            char *path = devid_path(dir, old);

            if (path != NULL && unlink(path) == 0) {
                p->removed++;
            }
            free(path);
        }
    }
    sk_OPENSSL_STRING_pop_free(keep, devid_trust_str_free);
    free(hashes);
    devid_fsync_dir(dir);
    return ok;
}

static json_object *devid_trust_fp_array(STACK_OF(X509) *s)
{
    json_object *arr = json_object_new_array();
    char fp[65];
    int i;

    for (i = 0; arr != NULL && i < sk_X509_num(s); i++) {
        if (!devid_trust_fp(sk_X509_value(s, i), fp)) {
            json_object_put(arr);
            return NULL;
        }
        json_object_array_add(arr, json_object_new_string(fp));
    }
    return arr;
}

/* The combined PEM, then the manifest (last: it commits the sync). */
static int devid_trust_save(const char *dir, struct devid_trust_plan *p)
{
    json_object *m = json_object_new_object();
    json_object *pinned = devid_trust_fp_array(p->pinned);
    json_object *bundle = devid_trust_fp_array(p->bundle);
    char *path = devid_path(dir, DEVID_TRUST_BUNDLE_FILE);
    BIO *mem = BIO_new(BIO_s_mem());
    BUF_MEM *bm = NULL;
    const char *text;
    int ok = 0;
    int i;

    if (m == NULL || pinned == NULL || bundle == NULL || path == NULL
        || mem == NULL) {
        goto end;
    }
    for (i = 0; i < sk_X509_num(p->want); i++) {
        if (!devid_trust_pem(sk_X509_value(p->want, i), mem)) {
            goto end;
        }
    }
    BIO_get_mem_ptr(mem, &bm);
    if (!devid_atomic_write(path, bm->data, bm->length, 0644)) {
        goto end;
    }
    json_object_object_add(m, "pinned", pinned);
    pinned = NULL; /* m owns it now */
    if (p->etag != NULL) {
        json_object_object_add(m, "bundle_etag",
                               json_object_new_string(p->etag));
    }
    json_object_object_add(m, "bundle", bundle);
    bundle = NULL;
    free(path);
    path = devid_path(dir, DEVID_TRUST_MANIFEST);
    text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PRETTY);
    ok = path != NULL && devid_atomic_write(path, text, strlen(text), 0644);
end:
    BIO_free(mem);
    free(path);
    json_object_put(pinned);
    json_object_put(bundle);
    json_object_put(m);
    return ok;
}

int devid_trust_sync(struct devid_tool *t, STACK_OF(X509) *bundle,
                     const char *etag)
{
    const char *dir = t->set.trust_dir;
    struct devid_trust_plan p;
    STACK_OF(OPENSSL_STRING) *names = sk_OPENSSL_STRING_new_null();
    STACK_OF(X509) *existing = NULL;
    char *mpath = NULL;
    int rc = DEVID_EXIT_INSTALL;

    memset(&p, 0, sizeof(p));
    if (dir == NULL) {
        sk_OPENSSL_STRING_free(names);
        if (bundle != NULL) {
            devid_tool_progress(t, "no trust-dir: the DPS trust bundle is "
                                "ignored");
        }
        return DEVID_EXIT_OK;
    }
    p.want = sk_X509_new_null();
    p.bundle = sk_X509_new_null();
    if (t->set.trust_roots != NULL) {
        p.pinned = devid_tool_read_chain(t, t->set.trust_roots);
        if (p.pinned == NULL) {
            rc = DEVID_EXIT_CONFIG; /* reported by read_chain */
            goto end;
        }
    } else {
        p.pinned = sk_X509_new_null();
    }
    mpath = devid_path(dir, DEVID_TRUST_MANIFEST);
    if (names == NULL || p.want == NULL || p.bundle == NULL || p.pinned == NULL
        || mpath == NULL || !devid_mkdirs(dir, 0755)) {
        rc = devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot use trust-dir %s",
                             dir);
        goto end;
    }
    p.old = access(mpath, F_OK) == 0 ? json_object_from_file(mpath) : NULL;
    existing = devid_trust_scan(dir, names);
    if (existing == NULL
        || !devid_trust_plan_bundle(t, &p, existing, bundle, etag)
        || !devid_trust_plan_want(&p, existing)
        || !devid_trust_apply(dir, &p, names) || !devid_trust_save(dir, &p)) {
        rc = devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot update the trust "
                             "anchors in %s: %s", dir, strerror(errno));
        goto end;
    }
    devid_tool_progress(t, "trust-dir %s: %d anchors (%d written, %d removed)",
                        dir, sk_X509_num(p.want), p.added, p.removed);
    rc = DEVID_EXIT_OK;
end:
    sk_X509_pop_free(existing, X509_free);
    sk_X509_pop_free(p.want, X509_free);
    sk_X509_pop_free(p.bundle, X509_free);
    sk_X509_pop_free(p.pinned, X509_free);
    sk_OPENSSL_STRING_pop_free(names, devid_trust_str_free);
    json_object_put(p.old);
    free(mpath);
    return rc;
}

/* ---- users of the directory --------------------------------------------- */

int devid_trust_dps_file(struct devid_tool *t, const char *path,
                         const char **out)
{
    char *anchors_path = t->set.trust_dir != NULL
                             ? devid_path(t->set.trust_dir,
                                          DEVID_TRUST_BUNDLE_FILE)
                             : NULL;
    char *anchors = NULL;
    char *base = NULL;
    char *all = NULL;
    size_t alen = 0;
    size_t blen = 0;
    int ok = 0;

    *out = t->set.dps_trust;
    anchors = anchors_path != NULL ? devid_read_file(anchors_path, &alen)
                                   : NULL;
    if (anchors == NULL || alen == 0) {
        ok = 1;                 /* nothing pre-staged: dps-trust alone */
        goto end;
    }
    if (t->set.dps_trust != NULL) {
        base = devid_read_file(t->set.dps_trust, &blen);
        if (base == NULL) {
            devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot read dps-trust %s",
                            t->set.dps_trust);
            goto end;
        }
    }
    all = malloc(blen + 1 + alen);
    if (all == NULL) {
        goto end;
    }
    if (blen > 0) {
        memcpy(all, base, blen);
    }
    all[blen] = '\n';
    memcpy(all + blen + 1, anchors, alen);
    if (!devid_atomic_write(path, all, blen + 1 + alen, 0644)) {
        devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot write %s: %s", path,
                        strerror(errno));
        goto end;
    }
    *out = path;
    ok = 1;
end:
    free(all);
    free(base);
    free(anchors);
    free(anchors_path);
    return ok;
}

/* The root a presented chain leads to: the top certificate's subject when
 * it is self-issued, else its issuer. */
static void devid_trust_chain_root(STACK_OF(X509) *chain, char *buf,
                                   size_t size)
{
    X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
    const X509_NAME *name = X509_check_issued(top, top) == X509_V_OK
                                ? X509_get_subject_name(top)
                                : X509_get_issuer_name(top);

    X509_NAME_oneline(name, buf, (int)size);
}

int devid_trust_untrusted_root(const char *hostport, const char *trust_file,
                               const char *trust_dir, char *buf, size_t size)
{
    struct timeval tv = { DEVID_TRUST_PROBE_TIMEOUT_S, 0 };
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    BIO *conn = NULL;
    SSL *ssl = NULL;
    STACK_OF(X509) *chain;
    int ret = 0;

    conn = hostport != NULL ? BIO_new_connect(hostport) : NULL;
    if (ctx == NULL || conn == NULL
        || !SSL_CTX_load_verify_locations(ctx, trust_file, trust_dir)) {
        goto end;
    }
    if (strchr(hostport, ':') == NULL) {
        BIO_set_conn_port(conn, "443");
    }
    if (BIO_do_connect(conn) <= 0) {
        goto end;
    }
    setsockopt((int)BIO_get_fd(conn, NULL), SOL_SOCKET, SO_RCVTIMEO, &tv,
               sizeof(tv));
    ssl = SSL_new(ctx);
    if (ssl == NULL) {
        goto end;
    }
    SSL_set_bio(ssl, conn, conn);
    conn = NULL;
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    if (SSL_connect(ssl) != 1 || SSL_get_verify_result(ssl) == X509_V_OK) {
        goto end;
    }
    chain = SSL_get_peer_cert_chain(ssl);
    if (chain != NULL && sk_X509_num(chain) > 0) {
        devid_trust_chain_root(chain, buf, size);
        ret = 1;
    }
end:
    ERR_clear_error();
    SSL_free(ssl);
    BIO_free(conn);
    SSL_CTX_free(ctx);
    return ret;
}

int devid_trust_expiry_warnings(const char *trust_dir, int days,
                                json_object *warnings)
{
    STACK_OF(OPENSSL_STRING) *names = sk_OPENSSL_STRING_new_null();
    STACK_OF(X509) *certs = names != NULL ? devid_trust_scan(trust_dir, names)
                                          : NULL;
    char subj[256];
    char msg[512];
    int n = 0;
    int i;

    for (i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        int d = 0;
        int s = 0;

        if (!ASN1_TIME_diff(&d, &s, NULL, X509_get0_notAfter(x))
            || d >= days) {
            continue;
        }
        X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
        if (d < 0 || s < 0 || (d == 0 && s == 0)) {
            snprintf(msg, sizeof(msg), "trust anchor %s (%s) has expired",
                     subj, sk_OPENSSL_STRING_value(names, i));
        } else {
            snprintf(msg, sizeof(msg), "trust anchor %s (%s) expires in %d "
                     "days", subj, sk_OPENSSL_STRING_value(names, i), d);
        }
        json_object_array_add(warnings, json_object_new_string(msg));
        n++;
    }
    sk_X509_pop_free(certs, X509_free);
    sk_OPENSSL_STRING_pop_free(names, devid_trust_str_free);
    return n;
}

int devid_cmd_trust_sync(struct devid_tool *t, int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            printf("Usage: devid trust-sync\n"
                   "Writes the roots of trust-roots (pinned) into trust-dir as\n"
                   "hashed names (a CApath), keeps the last DPS trust bundle,\n"
                   "removes roots no longer pinned. Pre-stage a new server\n"
                   "root before a migration: add it to trust-roots, run this.\n");
            return DEVID_EXIT_OK;
        }
        fprintf(stderr, "Usage: devid trust-sync\n");
        return DEVID_EXIT_USAGE;
    }
    if (t->set.trust_dir == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "setting 'trust-dir' is "
                               "required");
    }
    devid_tool_result(t, "trust_dir", t->set.trust_dir);
    return devid_trust_sync(t, NULL, NULL);
}
