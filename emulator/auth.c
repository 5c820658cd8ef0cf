/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: X.509 attestation (DPS-PROTOCOL.md section 3): find the
 * enrollment of the TLS client, individual first, then the nearest group up
 * the chain the client sent. */
#include "config.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "emulator/emu.h"

#define DEVID_EMU_MAX_PATH 8

static int devid_emu_thumb_matches(X509 *leaf, const char *want)
{
    char got[130];
    const char *md = strlen(want) == 40 ? "SHA1" : "SHA256";

    return devid_emu_thumbprint(leaf, md, got, sizeof(got))
           && strcmp(got, want) == 0;
}

static const struct devid_emu_enrollment *
devid_emu_find_individual(const struct devid_emu_config *cfg, X509 *leaf,
                          const char *cn)
{
    const struct devid_emu_enrollment *e;
    size_t i;

    for (i = 0; i < cfg->n_enrollments; i++) {
        e = &cfg->enrollments[i];
        if (e->is_group || strcasecmp(e->id, cn) != 0) {
            continue;
        }
        if ((e->cert != NULL && X509_cmp(e->cert, leaf) == 0)
            || (e->thumbprint != NULL
                && devid_emu_thumb_matches(leaf, e->thumbprint))) {
            return e;
        }
    }
    return NULL;
}

/* Whether ca signed cert (names, key identifiers and signature). */
static int devid_emu_issued_by(X509 *ca, X509 *cert)
{
    EVP_PKEY *pub = X509_get0_pubkey(ca);

    return X509_check_issued(ca, cert) == X509_V_OK && pub != NULL
           && X509_verify(cert, pub) == 1;
}

/* path[0] = leaf, then each issuer found among the certificates the
 * client sent, as far as they go. Returns the path length. */
static int devid_emu_build_path(X509 *leaf, STACK_OF(X509) *sent,
                                X509 **path)
{
    int n = 1;
    int i;
    X509 *c;

    path[0] = leaf;
    while (n < DEVID_EMU_MAX_PATH) {
        if (X509_check_issued(path[n - 1], path[n - 1]) == X509_V_OK) {
            break;                          /* self-signed: the top */
        }
        c = NULL;
        for (i = 0; sent != NULL && i < sk_X509_num(sent); i++) {
            if (devid_emu_issued_by(sk_X509_value(sent, i), path[n - 1])) {
                c = sk_X509_value(sent, i);
                break;
            }
        }
        if (c == NULL) {
            break;
        }
        path[n++] = c;
    }
    return n;
}

static const struct devid_emu_enrollment *
devid_emu_group_issuing(const struct devid_emu_config *cfg, X509 *cert)
{
    size_t i;

    for (i = 0; i < cfg->n_enrollments; i++) {
        if (cfg->enrollments[i].is_group && cfg->enrollments[i].cert != NULL
            && devid_emu_issued_by(cfg->enrollments[i].cert, cert)) {
            return &cfg->enrollments[i];
        }
    }
    return NULL;
}

/* Full path validation of leaf up to the group's CA (trusted, possibly
 * an intermediate) through the certificates the client sent. */
static int devid_emu_verify_to(X509 *ca, X509 *leaf, STACK_OF(X509) *sent)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ret = 0;

    if (store == NULL || ctx == NULL || X509_STORE_add_cert(store, ca) != 1
        || X509_STORE_CTX_init(ctx, store, leaf, sent) != 1) {
        goto end;
    }
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    ret = X509_verify_cert(ctx) == 1;
    if (!ret) {
        devid_emu_log("chain does not verify: %s",
                      X509_verify_cert_error_string(
                          X509_STORE_CTX_get_error(ctx)));
    }
end:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ret;
}

/* notBefore <= now < notAfter; ASN1_TIME_cmp_time_t gives -2 for a time it
 * cannot read (X509_cmp_current_time is deprecated in OpenSSL 4.0) */
static int devid_emu_leaf_current(X509 *leaf)
{
    time_t now = time(NULL);
    int nb = ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), now);

    return (nb == -1 || nb == 0)
           && ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), now) == 1;
}

int devid_emu_auth_peer(const struct devid_emu_config *cfg, SSL *ssl,
                        struct devid_emu_auth *out)
{
    X509 *leaf = SSL_get0_peer_certificate(ssl);
    STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl); /* no leaf here */
    X509 *path[DEVID_EMU_MAX_PATH];
    const struct devid_emu_enrollment *e = NULL;
    int n;
    int i;

    memset(out, 0, sizeof(*out));
    if (leaf == NULL || !devid_emu_cert_cn(leaf, out->cn, sizeof(out->cn))) {
        return 0;
    }
    out->leaf = leaf;
    if (!devid_emu_leaf_current(leaf)) {
        devid_emu_log("%s: certificate is not valid now", out->cn);
        return 0;
    }
    e = devid_emu_find_individual(cfg, leaf, out->cn);
    if (e != NULL) {
        out->enrollment = e;
        return 1;
    }
    n = devid_emu_build_path(leaf, sent, path);
    for (i = 0; i < n; i++) {
        e = devid_emu_group_issuing(cfg, path[i]);
        if (e != NULL) {
            break;                          /* nearest group wins */
        }
    }
    if (e == NULL || !devid_emu_verify_to(e->cert, leaf, sent)) {
        return 0;
    }
    out->enrollment = e;
    return 1;
}
