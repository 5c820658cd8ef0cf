/* SPDX-License-Identifier: Apache-2.0 */
/* Debug tracing gated by the DEVID_DEBUG environment variable. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "common/log.h"

static int devid_debug_on = -1;
static FILE *devid_debug_out;
static CRYPTO_ONCE devid_debug_once = CRYPTO_ONCE_STATIC_INIT;

static void devid_debug_init(void)
{
    const char *v = getenv("DEVID_DEBUG");

    devid_debug_on = 0;
    if (v == NULL || *v == '\0' || strcmp(v, "0") == 0) {
        return;
    }
    if (strncmp(v, "file:", 5) == 0) {
        devid_debug_out = fopen(v + 5, "ae");
    }
    if (devid_debug_out == NULL) {
        devid_debug_out = stderr;
    }
    devid_debug_on = 1;
}

int devid_debug_enabled(void)
{
    if (devid_debug_on < 0) {
        CRYPTO_THREAD_run_once(&devid_debug_once, devid_debug_init);
    }
    return devid_debug_on;
}

void devid_debug_print(const char *area, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    n = snprintf(line, sizeof(line), "devid[%ld]: %s: ", (long)getpid(), area);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* one write per line so concurrent processes do not interleave */
    fprintf(devid_debug_out, "%s\n", line);
    fflush(devid_debug_out);
}
