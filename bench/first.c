/* SPDX-License-Identifier: Apache-2.0 */
/* Time to the first signature of a fresh process, phase by phase:
 *   raw-p11   dlopen + C_Initialize, slot, session + C_Login, find, sign
 *   evp       OpenSSL's configuration (provider init: OPENSSL_CONF),
 *             OpenSSL's first algorithm fetches of the process (SHA-256:
 *             its name map and method store, which a TLS program has
 *             built before it loads a key; ECDSA: the signature
 *             algorithms of every provider, which the first
 *             EVP_PKEY_sign_init of any key fetches), key load through
 *             OSSL_STORE, the first EVP_PKEY_sign
 *   init      only OpenSSL's configuration: run with and without devid in
 *             OPENSSL_CONF, the difference is what an unused devid costs
 *   fetch     the configuration and the first fetches, no key: run with and
 *             without devid, the difference in the fetch is devid's share
 *             of it (its algorithms join OpenSSL's name map)
 *   load-tss2 dlopen of the tpm2-tss libraries the raw TPM program
 *             (esys.c) links: it loads them before main, where its clock
 *             does not run, and devid.so on its first TPM use, where it
 *             does; run.sh adds this to the raw TPM first signature
 * This program links nothing but libcrypto, as an OpenSSL program does, so
 * that devid.so's own libraries (p11-kit, tpm2-tss) are loaded, and paid
 * for, when devid first uses the backend that needs them. The raw TPM path is in
 * esys.c, devid's own steps in core.c. run.sh starts one process per
 * measurement. Prints one JSON object. */
#include "config.h"

#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <p11-kit/pkcs11.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "bench/bench.h"

static unsigned char devid_bench_dgst[32] = { 1, 2, 3, 4 };

struct devid_bench_first_opts {
    const char *mode;
    const char *module;
    const char *token;
    const char *object;
    const char *pin;
    const char *key;
    const char *label;
};

/* ---- raw PKCS#11 ----------------------------------------------------- */

static void devid_bench_first_p11(const struct devid_bench_first_opts *o,
                                  struct devid_bench_phases *ph)
{
    CK_C_INITIALIZE_ARGS args = { NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK,
                                  NULL };
    CK_RV (*get)(CK_FUNCTION_LIST **) = NULL;
    CK_FUNCTION_LIST *fn = NULL;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE find[2] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_LABEL, (void *)o->object, (CK_ULONG)strlen(o->object) },
    };
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    CK_ULONG i;
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG got = 0;
    unsigned char sig[512];
    CK_ULONG len = sizeof(sig);
    void *dl = dlopen(o->module, RTLD_NOW | RTLD_LOCAL);

    *(void **)&get = dl != NULL ? dlsym(dl, "C_GetFunctionList") : NULL;
    if (get == NULL || get(&fn) != CKR_OK || fn->C_Initialize(&args) != CKR_OK) {
        devid_bench_die("module");
    }
    devid_bench_phase(ph, "load");
    if (fn->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) {
        devid_bench_die("C_GetSlotList");
    }
    for (i = 0; i < n; i++) {
        if (fn->C_GetTokenInfo(slots[i], &ti) == CKR_OK
            && strncmp((const char *)ti.label, o->token, strlen(o->token))
                   == 0) {
            break;
        }
    }
    if (i == n) {
        devid_bench_die("no such token");
    }
    devid_bench_phase(ph, "token");
    if (fn->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &s)
            != CKR_OK
        || fn->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)o->pin,
                       (CK_ULONG)strlen(o->pin)) != CKR_OK) {
        devid_bench_die("login");
    }
    devid_bench_phase(ph, "login");
    if (fn->C_FindObjectsInit(s, find, 2) != CKR_OK
        || fn->C_FindObjects(s, &h, 1, &got) != CKR_OK || got != 1
        || fn->C_FindObjectsFinal(s) != CKR_OK) {
        devid_bench_die("find");
    }
    devid_bench_phase(ph, "find");
    if (fn->C_SignInit(s, &mech, h) != CKR_OK
        || fn->C_Sign(s, devid_bench_dgst, 32, sig, &len) != CKR_OK) {
        devid_bench_die("sign");
    }
    devid_bench_phase(ph, "sign");
}

/* ---- through OpenSSL -------------------------------------------------- */

static void devid_bench_first_evp(const struct devid_bench_first_opts *o,
                                  struct devid_bench_phases *ph)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_MD *md = NULL;
    EVP_SIGNATURE *sigalg = NULL;
    unsigned char sig[512];
    size_t len = sizeof(sig);

    if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL)) {
        devid_bench_die("configuration");
    }
    devid_bench_phase(ph, "config");
    if (strcmp(o->mode, "init") == 0) {
        return;
    }
    /* on its own: the key load would otherwise pay for it. The first
     * EVP_PKEY_sign_init of a process fetches the signature algorithm from
     * every provider, whatever the key (OpenSSL 3.5's default provider has
     * dozens: 0.15 ms), so a program signing with a software key pays
     * that fetch too: it is done here, not in the signature's phase. */
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sigalg = md != NULL ? EVP_SIGNATURE_fetch(NULL, "ECDSA", NULL) : NULL;
    if (sigalg == NULL) {
        devid_bench_die("SHA-256 or ECDSA");
    }
    EVP_SIGNATURE_free(sigalg);
    EVP_MD_free(md);
    devid_bench_phase(ph, "fetch");
    if (strcmp(o->mode, "fetch") == 0) {
        return;
    }
    pkey = devid_bench_load_key(o->key, NULL);
    if (pkey == NULL) {
        devid_bench_die("key");
    }
    devid_bench_phase(ph, "load");
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL || EVP_PKEY_sign_init(ctx) <= 0
        || EVP_PKEY_sign(ctx, sig, &len, devid_bench_dgst, 32) <= 0) {
        devid_bench_die("sign");
    }
    devid_bench_phase(ph, "sign");
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
}

/* ---- loading tpm2-tss -------------------------------------------------- */

static void devid_bench_first_tss2(struct devid_bench_phases *ph)
{
    static const char *const libs[] = { "libtss2-esys.so.0",
                                        "libtss2-tctildr.so.0" };
    size_t i;

    for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        if (dlopen(libs[i], RTLD_NOW | RTLD_GLOBAL) == NULL) {
            devid_bench_die(libs[i]);
        }
    }
    devid_bench_phase(ph, "load");
}

/* ---- main ------------------------------------------------------------- */

static void devid_bench_first_usage(void)
{
    fprintf(stderr,
            "usage: devid-bench-first --mode raw-p11|evp|init|fetch|load-tss2\n"
            "  raw-p11: --module SO --token LABEL --object LABEL --pin PIN\n"
            "  evp: --key NAME\n"
            "  [--label TEXT]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "mode", 1, NULL, 'm' },   { "module", 1, NULL, 'M' },
        { "token", 1, NULL, 'T' },  { "object", 1, NULL, 'o' },
        { "pin", 1, NULL, 'p' },    { "key", 1, NULL, 'k' },
        { "label", 1, NULL, 'l' },  { NULL, 0, NULL, 0 }
    };
    struct devid_bench_first_opts o;
    struct devid_bench_phases ph;
    int c;

    memset(&o, 0, sizeof(o));
    o.label = "";
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.mode = optarg; break;
        case 'M': o.module = optarg; break;
        case 'T': o.token = optarg; break;
        case 'o': o.object = optarg; break;
        case 'p': o.pin = optarg; break;
        case 'k': o.key = optarg; break;
        case 'l': o.label = optarg; break;
        default: devid_bench_first_usage();
        }
    }
    if (o.mode == NULL) {
        devid_bench_first_usage();
    }
    devid_bench_phases_start(&ph);
    if (strcmp(o.mode, "raw-p11") == 0 && o.module && o.token && o.object
        && o.pin) {
        devid_bench_first_p11(&o, &ph);
    } else if (strcmp(o.mode, "evp") == 0 && o.key) {
        devid_bench_first_evp(&o, &ph);
    } else if (strcmp(o.mode, "load-tss2") == 0) {
        devid_bench_first_tss2(&ph);
    } else if (strcmp(o.mode, "init") == 0 || strcmp(o.mode, "fetch") == 0) {
        devid_bench_first_evp(&o, &ph);
    } else {
        devid_bench_first_usage();
    }
    devid_bench_phases_print(&ph, o.label, o.mode);
    return 0;
}
