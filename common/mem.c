/* SPDX-License-Identifier: Apache-2.0 */
/* Memory helpers for secrets. */
#include "config.h"

#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>

#include "common/mem.h"

void devid_memzero(void *p, size_t len)
{
    if (p != NULL && len > 0) {
        OPENSSL_cleanse(p, len);
    }
}

char *devid_read_secret_file(const char *path, size_t max, size_t *len)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t n = 0;
    int c;

    *len = 0;
    f = fopen(path, "re");
    if (f == NULL) {
        return NULL;
    }
    buf = OPENSSL_secure_zalloc(max + 1);
    if (buf == NULL) {
        goto end;
    }
    while ((c = fgetc(f)) != EOF) {
        if (n == max) {
            OPENSSL_secure_clear_free(buf, max + 1);
            buf = NULL;
            goto end;
        }
        buf[n++] = (char)c;
    }
    if (n > 0 && buf[n - 1] == '\n') {
        buf[--n] = '\0';
    }
    if (n > 0 && buf[n - 1] == '\r') {
        buf[--n] = '\0';
    }
    *len = n;
end:
    fclose(f);
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
