/* SPDX-License-Identifier: Apache-2.0 */
/* Signatures per second, for the paths the bench compares:
 *   p11   raw C_SignInit + C_Sign on the token object, or on a session copy
 *         of it (--copy); the module is dlopen'ed, no p11-kit in between;
 *   evp   EVP_PKEY_sign on a key from OSSL_STORE (devid, tpm2-openssl,
 *         software; providers from OPENSSL_CONF) or from an ENGINE (libp11).
 * (Raw Esys_Sign is bench/esys.c: this program does not link tpm2-tss.)
 * The input is a SHA-256 digest in every mode, so every path does the same
 * private-key operation. Prints one JSON object. */
#include "config.h"

#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <p11-kit/pkcs11.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bench/bench.h"

struct devid_bench_opts {
    const char *mode;
    const char *label;
    int alg;
    int copy;
    const char *module;
    const char *token;
    const char *object;
    const char *pin;
    const char *key;
    const char *propq;
    const char *engine;
    struct devid_bench_run run;
};

static unsigned char devid_bench_dgst[32];

/* ---- raw PKCS#11 ----------------------------------------------------- */

struct devid_bench_p11 {
    CK_FUNCTION_LIST *fn;
    CK_SESSION_HANDLE s[DEVID_BENCH_MAX_THREADS];
    CK_OBJECT_HANDLE h;
    CK_MECHANISM mech;
    CK_RSA_PKCS_PSS_PARAMS pss;
    unsigned char in[64];
    CK_ULONG inlen;
};

static int devid_bench_p11_op(void *arg, int t)
{
    struct devid_bench_p11 *b = arg;
    unsigned char sig[512];
    CK_ULONG len = sizeof(sig);

    return b->fn->C_SignInit(b->s[t], &b->mech, b->h) == CKR_OK
           && b->fn->C_Sign(b->s[t], b->in, b->inlen, sig, &len) == CKR_OK;
}

/* RFC 8017 §9.2 note 1: the DigestInfo prefix of SHA-256. */
static const unsigned char devid_bench_sha256_di[] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

static void devid_bench_p11_mech(struct devid_bench_p11 *b, int alg)
{
    memcpy(b->in, devid_bench_dgst, 32);
    b->inlen = 32;
    b->mech.mechanism = CKM_ECDSA;
    if (alg == DEVID_BENCH_PKCS1) {
        memcpy(b->in, devid_bench_sha256_di, sizeof(devid_bench_sha256_di));
        memcpy(b->in + sizeof(devid_bench_sha256_di), devid_bench_dgst, 32);
        b->inlen = sizeof(devid_bench_sha256_di) + 32;
        b->mech.mechanism = CKM_RSA_PKCS;
    } else if (alg == DEVID_BENCH_PSS) {
        b->pss.hashAlg = CKM_SHA256;
        b->pss.mgf = CKG_MGF1_SHA256;
        b->pss.sLen = 32;
        b->mech.mechanism = CKM_RSA_PKCS_PSS;
        b->mech.pParameter = &b->pss;
        b->mech.ulParameterLen = sizeof(b->pss);
    }
}

static CK_SLOT_ID devid_bench_p11_slot(CK_FUNCTION_LIST *fn, const char *label)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    CK_ULONG i;
    CK_TOKEN_INFO ti;
    size_t len = strlen(label);

    if (fn->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) {
        devid_bench_die("C_GetSlotList");
    }
    for (i = 0; i < n; i++) {
        if (fn->C_GetTokenInfo(slots[i], &ti) == CKR_OK
            && len <= sizeof(ti.label)
            && memcmp(ti.label, label, len) == 0
            && (len == sizeof(ti.label) || ti.label[len] == ' ')) {
            return slots[i];
        }
    }
    devid_bench_die("no token with that label");
    return 0;
}

static void devid_bench_p11_setup(struct devid_bench_p11 *b,
                                  const struct devid_bench_opts *o)
{
    CK_C_INITIALIZE_ARGS args = { NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK,
                                  NULL };
    CK_RV (*get)(CK_FUNCTION_LIST **) = NULL;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE find[2] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_LABEL, (void *)o->object, (CK_ULONG)strlen(o->object) },
    };
    CK_ATTRIBUTE copy[1] = { { CKA_TOKEN, &no, sizeof(no) } };
    CK_SESSION_HANDLE main = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG got = 0;
    CK_SLOT_ID slot;
    void *dl = dlopen(o->module, RTLD_NOW | RTLD_LOCAL);
    int i;

    *(void **)&get = dl != NULL ? dlsym(dl, "C_GetFunctionList") : NULL;
    /* the locking devid gets from p11-kit: same token cost per call */
    if (get == NULL || get(&b->fn) != CKR_OK
        || b->fn->C_Initialize(&args) != CKR_OK) {
        devid_bench_die("cannot load and initialise the module");
    }
    slot = devid_bench_p11_slot(b->fn, o->token);
    if (b->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                             NULL, &main) != CKR_OK
        || b->fn->C_Login(main, CKU_USER, (CK_UTF8CHAR_PTR)o->pin,
                          (CK_ULONG)strlen(o->pin)) != CKR_OK
        || b->fn->C_FindObjectsInit(main, find, 2) != CKR_OK
        || b->fn->C_FindObjects(main, &h, 1, &got) != CKR_OK || got != 1
        || b->fn->C_FindObjectsFinal(main) != CKR_OK) {
        devid_bench_die("login or find");
    }
    b->h = h;
    if (o->copy && b->fn->C_CopyObject(main, h, copy, 1, &b->h) != CKR_OK) {
        devid_bench_die("C_CopyObject");
    }
    for (i = 0; i < o->run.threads; i++) {
        if (b->fn->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
                                 &b->s[i]) != CKR_OK) {
            devid_bench_die("C_OpenSession");
        }
    }
    devid_bench_p11_mech(b, o->alg);
}

/* ---- EVP -------------------------------------------------------------- */

struct devid_bench_evp {
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *ctx[DEVID_BENCH_MAX_THREADS];
};

static int devid_bench_evp_op(void *arg, int t)
{
    struct devid_bench_evp *b = arg;
    unsigned char sig[512];
    size_t len = sizeof(sig);

    return EVP_PKEY_sign(b->ctx[t], sig, &len, devid_bench_dgst, 32) > 0;
}

/* One signature checked by OpenSSL's default provider, so that a fast
 * path that signs wrongly cannot win. */
static void devid_bench_evp_check(struct devid_bench_evp *b, int alg)
{
    unsigned char sig[512];
    unsigned char *der = NULL;
    const unsigned char *p = NULL;
    size_t len = sizeof(sig);
    int derlen = i2d_PUBKEY(b->pkey, &der);
    EVP_PKEY *pub = NULL;
    EVP_PKEY_CTX *v = NULL;

    /* the public half as a key of the default provider */
    p = der;
    pub = derlen > 0 ? d2i_PUBKEY(NULL, &p, derlen) : NULL;
    v = pub != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, pub, "provider=default")
                    : NULL;
    if (EVP_PKEY_sign(b->ctx[0], sig, &len, devid_bench_dgst, 32) <= 0
        || v == NULL || EVP_PKEY_verify_init(v) <= 0
        || !devid_bench_sign_params(v, alg)
        || EVP_PKEY_verify(v, sig, len, devid_bench_dgst, 32) != 1) {
        devid_bench_die("the signature does not verify");
    }
    EVP_PKEY_CTX_free(v);
    EVP_PKEY_free(pub);
    OPENSSL_free(der);
}

static void devid_bench_evp_setup(struct devid_bench_evp *b,
                                  const struct devid_bench_opts *o)
{
    int i;

    b->pkey = o->engine != NULL
                  ? devid_bench_engine_key(o->engine, o->module, o->pin,
                                           o->key)
                  : devid_bench_load_key(o->key, o->propq);
    if (b->pkey == NULL) {
        devid_bench_die("cannot load the key");
    }
    for (i = 0; i < o->run.threads; i++) {
        b->ctx[i] = o->engine != NULL
                        ? EVP_PKEY_CTX_new(b->pkey, NULL)
                        : EVP_PKEY_CTX_new_from_pkey(NULL, b->pkey, o->propq);
        if (b->ctx[i] == NULL || EVP_PKEY_sign_init(b->ctx[i]) <= 0
            || !devid_bench_sign_params(b->ctx[i], o->alg)) {
            devid_bench_die("EVP_PKEY_sign_init");
        }
    }
    devid_bench_evp_check(b, o->alg);
}

/* ---- main ------------------------------------------------------------- */

static void devid_bench_usage(void)
{
    fprintf(stderr,
            "usage: devid-bench-sign --mode p11|evp --alg ec|pkcs1|pss\n"
            "  [--threads N] [--seconds S | --count N] [--warmup N]\n"
            "  p11:  --module SO --token LABEL --object LABEL --pin PIN"
            " [--copy]\n"
            "  evp:  --key NAME [--propq Q] [--engine ID --module SO --pin PIN]\n"
            "  [--label TEXT] (copied to the output)\n"
            "  [--ext-pid PID] (count that process's CPU time too: swtpm)\n");
    exit(2);
}

static void devid_bench_parse(int argc, char **argv,
                              struct devid_bench_opts *o)
{
    static const struct option opts[] = {
        { "mode", 1, NULL, 'm' },    { "alg", 1, NULL, 'a' },
        { "threads", 1, NULL, 't' }, { "seconds", 1, NULL, 's' },
        { "count", 1, NULL, 'n' },   { "warmup", 1, NULL, 'w' },
        { "module", 1, NULL, 'M' },  { "token", 1, NULL, 'T' },
        { "object", 1, NULL, 'o' },  { "pin", 1, NULL, 'p' },
        { "copy", 0, NULL, 'c' },    { "key", 1, NULL, 'k' },
        { "engine", 1, NULL, 'e' },  { "label", 1, NULL, 'l' },
        { "propq", 1, NULL, 'q' },   { "ext-pid", 1, NULL, 'x' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->run.threads = 1;
    o->run.seconds = 1.0;
    o->run.warmup = 5;
    o->label = "";
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->mode = optarg; break;
        case 'a': o->alg = devid_bench_alg(optarg); break;
        case 't': o->run.threads = (int)strtol(optarg, NULL, 10); break;
        case 's': o->run.seconds = strtod(optarg, NULL); break;
        case 'n': o->run.count = strtoul(optarg, NULL, 10); break;
        case 'w': o->run.warmup = strtoul(optarg, NULL, 10); break;
        case 'M': o->module = optarg; break;
        case 'T': o->token = optarg; break;
        case 'o': o->object = optarg; break;
        case 'p': o->pin = optarg; break;
        case 'c': o->copy = 1; break;
        case 'k': o->key = optarg; break;
        case 'e': o->engine = optarg; break;
        case 'l': o->label = optarg; break;
        case 'q': o->propq = optarg; break;
        case 'x': o->run.ext_pid = strtol(optarg, NULL, 10); break;
        default: devid_bench_usage();
        }
    }
    if (o->mode == NULL || o->alg == 0 || o->run.threads < 1
        || o->run.threads > DEVID_BENCH_MAX_THREADS) {
        devid_bench_usage();
    }
}

int main(int argc, char **argv)
{
    struct devid_bench_opts o;
    struct devid_bench_p11 p11;
    struct devid_bench_evp evp;
    devid_bench_op *op = NULL;
    void *arg = NULL;
    struct devid_bench_times tm;
    unsigned long ops;

    devid_bench_parse(argc, argv, &o);
    RAND_bytes(devid_bench_dgst, sizeof(devid_bench_dgst));
    if (strcmp(o.mode, "p11") == 0 && o.module && o.token && o.object
        && o.pin) {
        memset(&p11, 0, sizeof(p11));
        devid_bench_p11_setup(&p11, &o);
        op = devid_bench_p11_op;
        arg = &p11;
    } else if (strcmp(o.mode, "evp") == 0 && o.key) {
        memset(&evp, 0, sizeof(evp));
        devid_bench_evp_setup(&evp, &o);
        op = devid_bench_evp_op;
        arg = &evp;
    } else {
        devid_bench_usage();
    }
    ops = devid_bench_go(&o.run, op, arg, &tm);
    if (ops == 0) {
        devid_bench_die("a signature failed");
    }
    printf("{\"driver\": \"sign\", \"label\": \"%s\", \"mode\": \"%s\", "
           "\"threads\": %d, ",
           o.label, o.mode, o.run.threads);
    devid_bench_print_times(ops, &tm);
    printf("}\n");
    fflush(stdout);
    /* no teardown: the process ends here, as a program's would, and the
     * exit handlers (devid's, SoftHSM's) run as they do there */
    return 0;
}
