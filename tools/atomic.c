/* SPDX-License-Identifier: Apache-2.0 */
/* Atomic file replacement: a crash at any point leaves the old file or the
 * new one, never a mix (temporary file, fsync, rename, fsync directory). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/test-hooks.h"
#include "tools/tool.h"

int devid_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ret = 0;

    if (fd >= 0) {
        ret = fsync(fd) == 0;
        close(fd);
    }
    return ret;
}

static int devid_fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    int ret;

    if (copy == NULL) {
        return 0;
    }
    ret = devid_fsync_dir(dirname(copy));
    free(copy);
    return ret;
}

int devid_atomic_write(const char *path, const void *data, size_t len,
                       unsigned int mode)
{
    size_t tmplen = strlen(path) + sizeof(".tmp.XXXXXX");
    char *tmp = malloc(tmplen);
    const char *p = data;
    int fd = -1;
    int saved = 0;
    int ret = 0;

    if (tmp == NULL) {
        return 0;
    }
    if (devid_test_fail_write(path)) {     /* --enable-test-hooks only */
        free(tmp);
        errno = EIO;
        return 0;
    }
    snprintf(tmp, tmplen, "%s.tmp.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        saved = errno;
        goto end;
    }
    if (fchmod(fd, (mode_t)mode) != 0) {
        saved = errno;
        goto end;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            saved = n < 0 ? errno : EIO;
            goto end;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        saved = errno;
        fd = -1;
        goto end;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        saved = errno;
        goto end;
    }
    ret = devid_fsync_dir_of(path);
    if (!ret) {
        saved = errno;
    }
end:
    if (fd >= 0) {
        close(fd);
    }
    if (!ret) {
        unlink(tmp);            /* harmless when the rename happened */
    }
    free(tmp);
    if (!ret) {
        errno = saved;
    }
    return ret;
}

char *devid_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    char *buf = NULL;
    size_t cap = 0;
    size_t n = 0;
    size_t got;

    if (f == NULL) {
        return NULL;
    }
    do {
        if (n + 4096 + 1 > cap) {
            char *grown = realloc(buf, cap + 65536);

            if (grown == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
            cap += 65536;
        }
        got = fread(buf + n, 1, 4096, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}
