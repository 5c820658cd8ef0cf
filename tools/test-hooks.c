/* SPDX-License-Identifier: Apache-2.0 */
/* The DEVID_TEST_* hooks (see test-hooks.h). Built only with
 * ./configure --enable-test-hooks. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "tools/test-hooks.h"
#include "tools/tool.h"

#ifndef DEVID_TEST_HOOKS
#error "tools/test-hooks.c is built only with --enable-test-hooks"
#endif

void devid_test_pause(struct devid_tool *t, const char *step)
{
    const char *want = getenv("DEVID_TEST_PAUSE");

    if (want != NULL && strcmp(want, step) == 0) {
        /* the PIN hygiene test checks the process cannot be dumped */
        devid_tool_progress(t, "test pause at %s (dumpable %d)", step,
                            prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
        fflush(stderr);
        sleep(30);
    }
}

/* Makes a failed install provable: the old identity must stay in place. */
int devid_test_fail_write(const char *path)
{
    const char *name = getenv("DEVID_TEST_FAIL_WRITE");
    size_t n;
    size_t p;

    if (name == NULL || *name == '\0') {
        return 0;
    }
    n = strlen(name);
    p = strlen(path);
    return p >= n && strcmp(path + p - n, name) == 0;
}

/* Shortens the waits between DPS tries for tests that do not test them. */
long devid_test_wait_ms(long ms)
{
    const char *v = getenv("DEVID_TEST_WAIT_DIVISOR");
    long n;

    if (v == NULL || !devid_parse_long(v, 1, 1000, &n)) {
        return ms;
    }
    return ms / n;
}
