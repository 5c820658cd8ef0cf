/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the CLI's settings parser (tools/settings.c), fed a
 * whole config file through devid_settings_load. The few CLI functions it
 * reports through are stood in for here, so the target links settings.c
 * alone. */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "tools/tool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* stand-ins for cmd-key.c and tool-common.c */
int devid_key_type_known(const char *name)
{
    return strcmp(name, "ec-p256") == 0 || strcmp(name, "rsa-2048") == 0;
}

void devid_key_type_list(char *buf, size_t size)
{
    snprintf(buf, size, "ec-p256, rsa-2048");
}

int devid_tool_fail(struct devid_tool *t, int code, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap); /* formats every argument */
    va_end(ap);
    return code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct devid_tool t;
    char path[64];
    int fd = memfd_create("devid-settings", 0);

    if (fd < 0) {
        return 0;
    }
    if (write(fd, data, size) == (ssize_t)size) {
        memset(&t, 0, sizeof(t));
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        (void)devid_settings_load(&t, path, 1);
        devid_settings_clear(&t.set);
    }
    close(fd);
    return 0;
}
