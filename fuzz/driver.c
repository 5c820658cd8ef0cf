/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a fuzz target over the files named on the command line, without
 * libFuzzer: how the seed corpora and the kept crash inputs run as
 * regression tests in every build (make check, the ASan build). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The whole of path in a new buffer (free()), its size in *n; NULL when it
 * cannot be read. */
static unsigned char *devid_fuzz_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long end = -1;

    if (f != NULL && fseek(f, 0, SEEK_END) == 0) {
        end = ftell(f);
    }
    if (end >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)end + 1);
    }
    if (buf != NULL && fread(buf, 1, (size_t)end, f) != (size_t)end) {
        free(buf);
        buf = NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    *n = end >= 0 ? (size_t)end : 0;
    return buf;
}

int main(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        size_t n = 0;
        unsigned char *buf = devid_fuzz_read(argv[i], &n);

        if (buf == NULL) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 2;
        }
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
    }
    return 0;
}
