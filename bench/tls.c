/* SPDX-License-Identifier: Apache-2.0 */
/* Mutual TLS handshakes per second, client and server in one process over
 * an in-memory BIO pair: no network, no second process, so a run pinned to
 * one CPU measures the CPU and token cost of a handshake and nothing else.
 * The server's key is in software; the client's comes from any key name
 * (a devid reference, a pkcs11: URI, handle:0x81..., a key file). Every
 * handshake is a full one (no tickets, no session cache), so the client
 * signs its CertificateVerify each time. Prints one JSON object.
 *
 * Built a second time as bench/devid-bench-tls-esys (DEVID_BENCH_TLS_ESYS),
 * which measures the TPM limit of a handshake as it occurs: with
 * --raw-tcti and --raw-handle, each operation is a handshake with a
 * software client key followed by one raw Esys_Sign (bench/esys.h) on the
 * TPM key, so the TPM command runs between handshakes as devid's does and
 * both pay the same cache and scheduling costs of sharing one CPU with
 * swtpm. tpm2-tss is linked into that program only. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bench/bench.h"
#ifdef DEVID_BENCH_TLS_ESYS
#include "bench/esys.h"
#endif

struct devid_bench_tls {
    SSL_CTX *server;
    SSL_CTX *client;
#ifdef DEVID_BENCH_TLS_ESYS
    struct devid_bench_esys *raw; /* a raw signature after each handshake */
#endif
};

/* Drives both ends until both are done; 1 when both completed. */
static int devid_bench_tls_handshake(SSL *c, SSL *s)
{
    int cdone = 0;
    int sdone = 0;
    int rounds;

    for (rounds = 0; rounds < 64 && !(cdone && sdone); rounds++) {
        if (!cdone) {
            int r = SSL_do_handshake(c);

            cdone = r == 1;
            if (r <= 0 && SSL_get_error(c, r) != SSL_ERROR_WANT_READ) {
                return 0;
            }
        }
        if (!sdone) {
            int r = SSL_do_handshake(s);

            sdone = r == 1;
            if (r <= 0 && SSL_get_error(s, r) != SSL_ERROR_WANT_READ) {
                return 0;
            }
        }
    }
    return cdone && sdone;
}

static int devid_bench_tls_op(void *arg, int t)
{
    struct devid_bench_tls *b = arg;
    SSL *c = SSL_new(b->client);
    SSL *s = SSL_new(b->server);
    BIO *cb = NULL;
    BIO *sb = NULL;
    int ok = 0;

    if (c != NULL && s != NULL && BIO_new_bio_pair(&cb, 0, &sb, 0) == 1) {
        SSL_set_bio(c, cb, cb);
        SSL_set_bio(s, sb, sb);
        SSL_set_connect_state(c);
        SSL_set_accept_state(s);
        ok = devid_bench_tls_handshake(c, s)
             && SSL_get_verify_result(s) == X509_V_OK
             && SSL_get0_peer_certificate(s) != NULL;
    }
    SSL_free(c);
    SSL_free(s);
#ifdef DEVID_BENCH_TLS_ESYS
    if (ok && b->raw != NULL) {
        ok = devid_bench_esys_op(b->raw, t);
    }
#endif
    return ok;
}

static SSL_CTX *devid_bench_tls_ctx(const SSL_METHOD *m, int version,
                                    const char *ca)
{
    SSL_CTX *ctx = SSL_CTX_new(m);

    if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, version)
        || !SSL_CTX_set_max_proto_version(ctx, version)
        || !SSL_CTX_load_verify_locations(ctx, ca, NULL)) {
        devid_bench_die("SSL_CTX");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    return ctx;
}

static void devid_bench_tls_usage(void)
{
    fprintf(stderr,
            "usage: devid-bench-tls --version 1.2|1.3 --ca FILE\n"
            "  --server-cert FILE --server-key FILE\n"
            "  --client-cert FILE --client-key NAME\n"
            "  [--seconds S | --count N] [--warmup N] [--label TEXT]\n"
            "  [--ext-pid PID] (count that process's CPU time too: swtpm)\n"
#ifdef DEVID_BENCH_TLS_ESYS
            "  [--raw-tcti CONF --raw-handle 0x81...] (each handshake\n"
            "  followed by one raw ECDSA Esys_Sign on that key)\n"
#endif
    );
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "version", 1, NULL, 'v' },     { "ca", 1, NULL, 'a' },
        { "server-cert", 1, NULL, 'C' }, { "server-key", 1, NULL, 'K' },
        { "client-cert", 1, NULL, 'c' }, { "client-key", 1, NULL, 'k' },
        { "seconds", 1, NULL, 's' },     { "count", 1, NULL, 'n' },
        { "warmup", 1, NULL, 'w' },      { "label", 1, NULL, 'l' },
        { "ext-pid", 1, NULL, 'x' },     { "raw-tcti", 1, NULL, 'T' },
        { "raw-handle", 1, NULL, 'H' },  { NULL, 0, NULL, 0 }
    };
    struct devid_bench_run run = { 1, 1.0, 0, 3, 0 };
    struct devid_bench_times tm;
    struct devid_bench_tls b;
    const char *version = NULL, *ca = NULL, *label = "";
    const char *scert = NULL, *skey = NULL, *ccert = NULL, *ckey = NULL;
    const char *raw_tcti = NULL;
    unsigned long raw_handle = 0;
#ifdef DEVID_BENCH_TLS_ESYS
    static struct devid_bench_esys raw;
#endif
    EVP_PKEY *key = NULL;
    unsigned long ops;
    int v;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'v': version = optarg; break;
        case 'a': ca = optarg; break;
        case 'C': scert = optarg; break;
        case 'K': skey = optarg; break;
        case 'c': ccert = optarg; break;
        case 'k': ckey = optarg; break;
        case 's': run.seconds = strtod(optarg, NULL); break;
        case 'n': run.count = strtoul(optarg, NULL, 10); break;
        case 'w': run.warmup = strtoul(optarg, NULL, 10); break;
        case 'l': label = optarg; break;
        case 'x': run.ext_pid = strtol(optarg, NULL, 10); break;
        case 'T':
            raw_tcti = optarg;
            break;
        case 'H':
            raw_handle = strtoul(optarg, NULL, 0);
            break;
        default: devid_bench_tls_usage();
        }
    }
    if (version == NULL || ca == NULL || scert == NULL || skey == NULL
        || ccert == NULL || ckey == NULL) {
        devid_bench_tls_usage();
    }
#ifdef DEVID_BENCH_TLS_ESYS
    b.raw = NULL;
    if ((raw_tcti == NULL) != (raw_handle == 0)) {
        devid_bench_tls_usage();
    }
    if (raw_tcti != NULL) {
        devid_bench_esys_setup(&raw, raw_tcti, raw_handle, DEVID_BENCH_EC,
                               NULL);
        b.raw = &raw;
    }
#else
    if (raw_tcti != NULL || raw_handle != 0) {
        devid_bench_tls_usage(); /* only devid-bench-tls-esys has them */
    }
#endif
    v = strcmp(version, "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
    b.server = devid_bench_tls_ctx(TLS_server_method(), v, ca);
    b.client = devid_bench_tls_ctx(TLS_client_method(), v, ca);
    key = devid_bench_load_key(ckey, NULL);
    if (key == NULL
        || SSL_CTX_use_certificate_chain_file(b.server, scert) != 1
        || SSL_CTX_use_PrivateKey_file(b.server, skey, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_use_certificate_chain_file(b.client, ccert) != 1
        || SSL_CTX_use_PrivateKey(b.client, key) != 1
        || SSL_CTX_check_private_key(b.client) != 1) {
        devid_bench_die("certificates or keys");
    }
    ops = devid_bench_go(&run, devid_bench_tls_op, &b, &tm);
    if (ops == 0) {
        devid_bench_die("a handshake failed");
    }
    printf("{\"driver\": \"tls\", \"label\": \"%s\", \"version\": \"%s\", ",
           label, version);
    devid_bench_print_times(ops, &tm);
    printf("}\n");
    fflush(stdout);
    EVP_PKEY_free(key);
    return 0;
}
