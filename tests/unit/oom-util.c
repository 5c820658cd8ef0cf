/* SPDX-License-Identifier: Apache-2.0 */
/* Telling devid's allocations from the libraries' (see oom-util.h). */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/oom-util.h"

int toom_in_devid(const char *file)
{
    static const char *const dirs[] = { "common/", "provider/", "pkcs11/",
                                        "tpm2/", NULL };
    char top[PATH_MAX], real[PATH_MAX];
    const char *rel;
    size_t n, i;

    if (file == NULL || realpath(DEVID_TEST_SRCDIR, top) == NULL
        || realpath(file, real) == NULL) {
        return 0;
    }
    n = strlen(top);
    if (strncmp(real, top, n) != 0 || real[n] != '/') {
        return 0;
    }
    rel = real + n + 1;
    for (i = 0; dirs[i] != NULL; i++) {
        if (strncmp(rel, dirs[i], strlen(dirs[i])) == 0) {
            return 1;
        }
    }
    return 0;
}
