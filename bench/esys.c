/* SPDX-License-Identifier: Apache-2.0 */
/* The raw TPM paths the bench compares devid with, on the same key at a
 * persistent handle:
 *   sign    Esys_Sign per second (one ESYS context: one TPM, serialised)
 *   first   a fresh process's first signature: TCTI + Esys_Initialize,
 *           the key's handle, Esys_Sign (phases as bench/first.c)
 * A program of its own, so that the other drivers do not have tpm2-tss
 * loaded before devid loads it. Prints one JSON object. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/esys.h"

static void devid_bench_esys_usage(void)
{
    fprintf(stderr,
            "usage: devid-bench-esys --mode sign|first --tcti CONF"
            " --handle 0x81... --alg ec|pkcs1|pss\n"
            "  [--threads N] [--seconds S | --count N] [--warmup N]\n"
            "  [--ext-pid PID] [--label TEXT]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "mode", 1, NULL, 'm' },    { "tcti", 1, NULL, 'C' },
        { "handle", 1, NULL, 'H' },  { "alg", 1, NULL, 'a' },
        { "threads", 1, NULL, 't' }, { "seconds", 1, NULL, 's' },
        { "count", 1, NULL, 'n' },   { "warmup", 1, NULL, 'w' },
        { "ext-pid", 1, NULL, 'x' }, { "label", 1, NULL, 'l' },
        { NULL, 0, NULL, 0 }
    };
    struct devid_bench_run run = { 1, 1.0, 0, 5, 0 };
    struct devid_bench_esys b;
    struct devid_bench_phases ph;
    struct devid_bench_times tm;
    const char *mode = NULL, *tcti = NULL, *label = "";
    unsigned long handle = 0;
    unsigned long ops;
    int alg = DEVID_BENCH_EC;
    int c;

    devid_bench_phases_start(&ph);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': mode = optarg; break;
        case 'C': tcti = optarg; break;
        case 'H': handle = strtoul(optarg, NULL, 0); break;
        case 'a': alg = devid_bench_alg(optarg); break;
        case 't': run.threads = (int)strtol(optarg, NULL, 10); break;
        case 's': run.seconds = strtod(optarg, NULL); break;
        case 'n': run.count = strtoul(optarg, NULL, 10); break;
        case 'w': run.warmup = strtoul(optarg, NULL, 10); break;
        case 'x': run.ext_pid = strtol(optarg, NULL, 10); break;
        case 'l': label = optarg; break;
        default: devid_bench_esys_usage();
        }
    }
    if (mode == NULL || tcti == NULL || handle == 0 || alg == 0) {
        devid_bench_esys_usage();
    }
    if (strcmp(mode, "first") == 0) {
        devid_bench_phases_start(&ph);
        devid_bench_esys_setup(&b, tcti, handle, alg, &ph);
        if (!devid_bench_esys_op(&b, 0)) {
            devid_bench_die("Esys_Sign");
        }
        devid_bench_phase(&ph, "sign");
        devid_bench_phases_print(&ph, label, "raw-esys");
        return 0;
    }
    if (strcmp(mode, "sign") != 0) {
        devid_bench_esys_usage();
    }
    devid_bench_esys_setup(&b, tcti, handle, alg, NULL);
    ops = devid_bench_go(&run, devid_bench_esys_op, &b, &tm);
    if (ops == 0) {
        devid_bench_die("a signature failed");
    }
    printf("{\"driver\": \"sign\", \"label\": \"%s\", \"mode\": \"esys\", "
           "\"threads\": %d, ",
           label, run.threads);
    devid_bench_print_times(ops, &tm);
    printf("}\n");
    return 0;
}
