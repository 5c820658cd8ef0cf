/* SPDX-License-Identifier: Apache-2.0 */
/* devid's own steps to a first PKCS#11 signature, each timed on its own,
 * called as the unit tests call them (no OpenSSL provider plumbing): an
 * instance and its settings, the URI parse, module load and token scan,
 * login, the object search (public half, capabilities), the signature.
 * The matching raw steps are bench/first.c's raw-p11 mode. Prints one JSON
 * object (phases as bench/first.c). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

#include "bench/bench.h"
#include "pkcs11/p11.h"
#include "provider/prov.h"

static int devid_bench_take(const struct devid_object *obj, void *arg)
{
    struct devid_key **key = arg;

    if (obj->cls == DEVID_OBJ_PRIVKEY && *key == NULL) {
        *key = devid_key_up_ref(obj->key);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    static const unsigned char dgst[32] = { 1, 2, 3, 4 };
    struct devid_sign_params sp = { DEVID_SIG_ECDSA, NID_sha256, 0, 0 };
    struct devid_bench_phases ph;
    struct devid_prov *prov = NULL;
    struct devid_p11_uri *u = NULL;
    struct devid_p11_token **toks = NULL;
    struct devid_p11 *p11 = NULL;
    struct devid_key *key = NULL;
    unsigned char sig[132];
    size_t len = sizeof(sig);
    size_t n = 0;
    int stop = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: devid-bench-core MODULE PIN URI LABEL\n");
        return 2;
    }
    devid_bench_phases_start(&ph);
    prov = devid_prov_new_standalone(NULL);
    if (prov == NULL || !devid_config_set(prov, "pkcs11-module-path", argv[1])
        || !devid_config_set(prov, "pkcs11-module-token-pin", argv[2])
        || (p11 = devid_p11_get(prov)) == NULL) {
        devid_bench_die("instance");
    }
    devid_bench_phase(&ph, "init");
    if (!devid_p11_uri_parse(prov, argv[3], &u)) {
        devid_bench_die("URI");
    }
    devid_bench_phase(&ph, "uri");
    if (!devid_p11_token_list(p11, u, &toks, &n) || n != 1) {
        devid_bench_die("token");
    }
    devid_bench_phase(&ph, "load+token");
    if (!devid_p11_login(toks[0], u, NULL)) {
        devid_bench_die("login");
    }
    devid_bench_phase(&ph, "login");
    if (!devid_p11_object_search(toks[0], u, DEVID_OBJ_PRIVKEY,
                                 devid_bench_take, &key, &stop)
        || key == NULL) {
        devid_bench_die("search");
    }
    devid_bench_phase(&ph, "search");
    if (!key->ops->sign(key, &sp, dgst, sizeof(dgst), sig, &len)) {
        devid_bench_die("sign");
    }
    devid_bench_phase(&ph, "sign");
    devid_bench_phases_print(&ph, argv[4], "core");
    devid_key_free(key);
    OPENSSL_free(toks);
    devid_p11_uri_free(u);
    devid_prov_free(prov);
    return 0;
}
