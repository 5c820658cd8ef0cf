/* SPDX-License-Identifier: Apache-2.0 */
/* Memory helpers for secrets. */
#include "config.h"

#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <openssl/crypto.h>

#include "common/mem.h"

void devid_memzero(void *p, size_t len)
{
    if (p != NULL && len > 0) {
        OPENSSL_cleanse(p, len);
    }
}

/* What a secret file must be before a byte of it is read (issue 14, item
 * 4): a regular file (a directory or FIFO would give an empty or endless
 * PIN), owned by the caller or root, and out of reach of other users, as
 * ssh requires of private keys. Checked on the open descriptor, so a file
 * swapped in after the check is not the one read. NULL when it passes. */
static const char *devid_secret_file_refusal(int fd, size_t max, int flags)
{
    struct stat st;
    mode_t forbidden = (flags & DEVID_SECRET_GROUP_READABLE) != 0
                           ? (S_IWGRP | S_IXGRP | S_IRWXO)
                           : (S_IRWXG | S_IRWXO);

    if (fstat(fd, &st) != 0) {
        return "cannot be read";
    }
    if (!S_ISREG(st.st_mode)) {
        return "is not a regular file";
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        return "is owned by another user";
    }
    if ((st.st_mode & forbidden) != 0) {
        return (flags & DEVID_SECRET_GROUP_READABLE) != 0
                   ? "is open to others (it must be mode 0640 or stricter)"
                   : "is readable or writable by group or others (it must be "
                     "mode 0600 or stricter)";
    }
    if (st.st_size > (off_t)max + 2) {
        return "is too long"; /* max, plus CR LF */
    }
    return NULL;
}

char *devid_read_secret_file(const char *path, size_t max, int flags,
                             size_t *len, const char **why)
{
    char *buf = NULL;
    size_t n = 0;
    ssize_t got = 0;
    int fd;

    *len = 0;
    *why = "cannot be read";
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return NULL;
    }
    *why = devid_secret_file_refusal(fd, max, flags);
    if (*why != NULL) {
        goto end;
    }
    /* max, plus a CR LF ending, plus one byte to tell "too long" */
    buf = OPENSSL_secure_zalloc(max + 4);
    if (buf == NULL) {
        *why = "cannot be read (out of memory)";
        goto end;
    }
    while (n < max + 3) {
        got = read(fd, buf + n, max + 3 - n);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        n += (size_t)got;
    }
    if (n > 0 && buf[n - 1] == '\n') {
        buf[--n] = '\0';
    }
    if (n > 0 && buf[n - 1] == '\r') {
        buf[--n] = '\0';
    }
    if (got < 0 || n > max) {
        *why = got < 0 ? "cannot be read" : "is too long";
        OPENSSL_secure_clear_free(buf, max + 4);
        buf = NULL;
        n = 0;
        goto end;
    }
    *len = n;
end:
    close(fd);
    return buf;
}

char *devid_name_redact(const char *name)
{
    const char *p = strstr(name, "pin-value=");
    const char *rest;
    size_t head;
    char *out;

    if (p == NULL) {
        return OPENSSL_strdup(name);
    }
    head = (size_t)(p - name) + strlen("pin-value=");
    rest = strpbrk(p, "&;");       /* next attribute, if any */
    if (rest == NULL) {
        rest = "";
    }
    out = OPENSSL_malloc(head + 3 + strlen(rest) + 1);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, name, head);
    memcpy(out + head, "***", 3);
    memcpy(out + head + 3, rest, strlen(rest) + 1);
    return out;
}

int devid_random_bytes(unsigned char *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = getrandom(buf + done, len - done, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return 0;
        }
        done += (size_t)n;
    }
    return 1;
}
