/* SPDX-License-Identifier: Apache-2.0 */
/* The bench drivers' shared loop, clock and key loading. The ENGINE calls
 * are here because the bench measures libp11's engine, a peer Debian ships;
 * devid's own code uses no deprecated API outside engine-compat/. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#ifndef OPENSSL_NO_ENGINE
#include <openssl/engine.h>
#endif

#include "bench/bench.h"

static int devid_bench_stop;

double devid_bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double devid_bench_cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double devid_bench_ext_cpu(long pid)
{
    char path[64];
    DIR *d = NULL;
    struct dirent *e;
    double sum = 0;

    if (pid <= 0) {
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    d = opendir(path);
    while (d != NULL && (e = readdir(d)) != NULL) {
        char file[600];
        unsigned long long ns = 0;
        FILE *f = NULL;

        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(file, sizeof(file), "%s/%s/schedstat", path, e->d_name);
        f = fopen(file, "r");
        if (f != NULL && fscanf(f, "%llu", &ns) == 1) {
            sum += (double)ns / 1e9;
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return sum;
}

void devid_bench_print_times(unsigned long ops,
                             const struct devid_bench_times *tm)
{
    double cpu = tm->cpu + tm->ext_cpu;

    printf("\"ops\": %lu, \"seconds\": %.4f, \"rate\": %.2f, "
           "\"cpu_s\": %.4f, \"ext_cpu_s\": %.4f, \"cpu_rate\": %.2f, "
           "\"maxrss_kb\": %ld",
           ops, tm->wall, (double)ops / tm->wall, tm->cpu, tm->ext_cpu,
           cpu > 0 ? (double)ops / cpu : 0.0, devid_bench_maxrss_kb());
}

void devid_bench_phases_start(struct devid_bench_phases *ph)
{
    memset(ph, 0, sizeof(*ph));
    ph->t = devid_bench_now();
    ph->c = devid_bench_cpu();
}

void devid_bench_phase(struct devid_bench_phases *ph, const char *name)
{
    double now = devid_bench_now();
    double cpu = devid_bench_cpu();

    if (ph->n == DEVID_BENCH_PHASES) {
        return;
    }
    ph->name[ph->n] = name;
    ph->cpu_ms[ph->n] = (cpu - ph->c) * 1000.0;
    ph->ms[ph->n++] = (now - ph->t) * 1000.0;
    ph->t = now;
    ph->c = cpu;
}

static void devid_bench_phases_one(const char *key, const double *v,
                                   const struct devid_bench_phases *ph)
{
    double total = 0;
    int i;

    printf("\"%s\": {", key);
    for (i = 0; i < ph->n; i++) {
        printf("%s\"%s\": %.4f", i > 0 ? ", " : "", ph->name[i], v[i]);
        total += v[i];
    }
    printf("}, \"total_%s\": %.4f", key, total);
}

void devid_bench_phases_print(const struct devid_bench_phases *ph,
                              const char *label, const char *mode)
{
    printf("{\"driver\": \"first\", \"label\": \"%s\", \"mode\": \"%s\", ",
           label, mode);
    devid_bench_phases_one("ms", ph->ms, ph);
    printf(", ");
    devid_bench_phases_one("cpu_ms", ph->cpu_ms, ph);
    printf(", \"maxrss_kb\": %ld}\n", devid_bench_maxrss_kb());
    fflush(stdout);
}

long devid_bench_maxrss_kb(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

void devid_bench_die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

/* The measured loop: nothing but the operation and the stop check, so
 * callgrind's --toggle-collect=devid_bench_loop counts only what a caller
 * of the signing API pays. */
__attribute__((noinline)) unsigned long
devid_bench_loop(devid_bench_op *op, void *arg, int t, unsigned long count,
                 int *ok)
{
    unsigned long n = 0;

    while (count > 0 ? n < count
                     : !__atomic_load_n(&devid_bench_stop, __ATOMIC_RELAXED)) {
        if (!op(arg, t)) {
            *ok = 0;
            __atomic_store_n(&devid_bench_stop, 1, __ATOMIC_RELAXED);
            break;
        }
        n++;
    }
    return n;
}

struct devid_bench_thread {
    const struct devid_bench_run *r;
    devid_bench_op *op;
    void *arg;
    int t;
    int ok;
    unsigned long done;
    pthread_barrier_t *start;
    pthread_t tid;
};

static void *devid_bench_thread_main(void *varg)
{
    struct devid_bench_thread *th = varg;
    unsigned long i;

    th->ok = 1;
    for (i = 0; i < th->r->warmup && th->ok; i++) {
        th->ok = th->op(th->arg, th->t);
    }
    pthread_barrier_wait(th->start);
    if (th->ok) {
        th->done = devid_bench_loop(th->op, th->arg, th->t, th->r->count,
                                    &th->ok);
    } else {
        __atomic_store_n(&devid_bench_stop, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

unsigned long devid_bench_go(const struct devid_bench_run *r,
                             devid_bench_op *op, void *arg,
                             struct devid_bench_times *tm)
{
    struct devid_bench_thread th[DEVID_BENCH_MAX_THREADS];
    pthread_barrier_t start;
    unsigned long total = 0;
    double t0;
    double c0;
    double e0;
    int ok = 1;
    int i;

    if (r->threads < 1 || r->threads > DEVID_BENCH_MAX_THREADS) {
        return 0;
    }
    __atomic_store_n(&devid_bench_stop, 0, __ATOMIC_RELAXED);
    pthread_barrier_init(&start, NULL, (unsigned)r->threads + 1);
    for (i = 0; i < r->threads; i++) {
        memset(&th[i], 0, sizeof(th[i]));
        th[i].r = r;
        th[i].op = op;
        th[i].arg = arg;
        th[i].t = i;
        th[i].start = &start;
        pthread_create(&th[i].tid, NULL, devid_bench_thread_main, &th[i]);
    }
    pthread_barrier_wait(&start);
    t0 = devid_bench_now();
    c0 = devid_bench_cpu();
    e0 = devid_bench_ext_cpu(r->ext_pid);
    if (r->count == 0) {
        struct timespec ts;

        ts.tv_sec = (time_t)r->seconds;
        ts.tv_nsec = (long)((r->seconds - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
        __atomic_store_n(&devid_bench_stop, 1, __ATOMIC_RELAXED);
    }
    for (i = 0; i < r->threads; i++) {
        pthread_join(th[i].tid, NULL);
        total += th[i].done;
        ok &= th[i].ok;
    }
    tm->wall = devid_bench_now() - t0;
    tm->cpu = devid_bench_cpu() - c0;
    tm->ext_cpu = devid_bench_ext_cpu(r->ext_pid) - e0;
    pthread_barrier_destroy(&start);
    return ok ? total : 0;
}

EVP_PKEY *devid_bench_load_key(const char *name, const char *propq)
{
    OSSL_STORE_CTX *store = NULL;
    OSSL_STORE_INFO *info = NULL;
    EVP_PKEY *pkey = NULL;

    store = OSSL_STORE_open_ex(name, NULL, propq, UI_null(), NULL, NULL, NULL,
                               NULL);
    while (store != NULL && pkey == NULL && !OSSL_STORE_eof(store)) {
        info = OSSL_STORE_load(store);
        if (info != NULL && OSSL_STORE_INFO_get_type(info)
                                == OSSL_STORE_INFO_PKEY) {
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        }
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    return pkey;
}

#ifndef OPENSSL_NO_ENGINE
EVP_PKEY *devid_bench_engine_key(const char *engine, const char *module,
                                 const char *pin, const char *name)
{
    ENGINE *e = NULL;
    EVP_PKEY *pkey = NULL;

    ENGINE_load_builtin_engines();
    e = ENGINE_by_id(engine);
    if (e == NULL) {
        return NULL;
    }
    if ((module != NULL && !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0))
        || (pin != NULL && !ENGINE_ctrl_cmd_string(e, "PIN", pin, 0))
        || !ENGINE_init(e)) {
        ENGINE_free(e);
        return NULL;
    }
    pkey = ENGINE_load_private_key(e, name, NULL, NULL);
    /* the key holds its own reference to the engine */
    ENGINE_finish(e);
    ENGINE_free(e);
    return pkey;
}
#else
EVP_PKEY *devid_bench_engine_key(const char *engine, const char *module,
                                 const char *pin, const char *name)
{
    return NULL;
}
#endif

int devid_bench_alg(const char *s)
{
    if (strcmp(s, "ec") == 0) {
        return DEVID_BENCH_EC;
    }
    if (strcmp(s, "pkcs1") == 0) {
        return DEVID_BENCH_PKCS1;
    }
    if (strcmp(s, "pss") == 0) {
        return DEVID_BENCH_PSS;
    }
    return 0;
}

int devid_bench_sign_params(EVP_PKEY_CTX *ctx, int alg)
{
    if (EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0) {
        return 0;
    }
    if (alg == DEVID_BENCH_PKCS1) {
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    }
    if (alg == DEVID_BENCH_PSS) {
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0
               && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST)
                      > 0;
    }
    return 1;
}
