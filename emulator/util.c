/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: small helpers (time stamps, ids, base64, files). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "emulator/emu.h"

void devid_emu_log(const char *fmt, ...)
{
    char stamp[40];
    va_list ap;

    devid_emu_now_rfc3339(stamp, sizeof(stamp));
    fprintf(stderr, "%s devid-dps-emulator: ", stamp);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void devid_emu_now_rfc3339(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char base[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    /* DPS writes 7 fractional digits (100 ns ticks) */
    snprintf(buf, len, "%s.%07ldZ", base, ts.tv_nsec / 100);
}

void devid_emu_asn1_rfc3339(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        snprintf(buf, len, "%s", "");
        return;
    }
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void devid_emu_rand_hex(char *buf, size_t nbytes)
{
    unsigned char raw[64];
    size_t i;

    if (nbytes > sizeof(raw)) {
        nbytes = sizeof(raw);
    }
    if (RAND_bytes(raw, (int)nbytes) != 1) {
        memset(raw, 0, sizeof(raw));
    }
    for (i = 0; i < nbytes; i++) {
        snprintf(buf + 2 * i, 3, "%02x", raw[i]);
    }
    buf[2 * nbytes] = '\0';
}

void devid_emu_uuid(char *buf, size_t len)
{
    char h[33];

    devid_emu_rand_hex(h, 16);
    h[12] = '4';                            /* version 4 */
    h[16] = "89ab"[h[16] % 4];              /* RFC 4122 variant */
    snprintf(buf, len, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
             h + 16, h + 20);
}

char *devid_emu_b64(const unsigned char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    if (out == NULL) {
        return NULL;
    }
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

static int devid_emu_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int devid_emu_unb64(const char *text, unsigned char **out, size_t *outlen)
{
    size_t len = strlen(text);
    size_t pad = 0;
    size_t i;
    unsigned char *buf = NULL;
    int n;

    *out = NULL;
    if (len == 0 || len % 4 != 0 || len > 4 * 1024 * 1024) {
        return 0;
    }
    while (pad < 2 && text[len - 1 - pad] == '=') {
        pad++;
    }
    for (i = 0; i < len - pad; i++) {
        if (!devid_emu_b64_char(text[i])) {
            return 0;
        }
    }
    buf = malloc(len / 4 * 3 + 1);
    if (buf == NULL) {
        return 0;
    }
    n = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)len);
    if (n < 0 || (size_t)n < pad) {
        free(buf);
        return 0;
    }
    *out = buf;
    *outlen = (size_t)n - pad;              /* DecodeBlock counts padding */
    return 1;
}

int devid_emu_thumbprint(X509 *cert, const char *md, char *buf, size_t len)
{
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD *evp = EVP_MD_fetch(NULL, md, NULL);
    unsigned int i;
    int ret = 0;

    if (evp == NULL || X509_digest(cert, evp, dig, &n) != 1
        || len < 2 * (size_t)n + 1) {
        goto end;
    }
    for (i = 0; i < n; i++) {
        snprintf(buf + 2 * i, 3, "%02x", dig[i]);
    }
    ret = 1;
end:
    EVP_MD_free(evp);
    return ret;
}

int devid_emu_name_cn(const X509_NAME *name, char *buf, size_t len)
{
    const X509_NAME_ENTRY *ent = NULL;
    const ASN1_STRING *data = NULL;
    int at;
    int n;

    buf[0] = '\0';
    at = name != NULL ? X509_NAME_get_index_by_NID(name, NID_commonName, -1)
                      : -1;
    if (at < 0) {
        return -1;
    }
    ent = X509_NAME_get_entry(name, at);
    data = ent != NULL ? X509_NAME_ENTRY_get_data(ent) : NULL;
    n = data != NULL ? ASN1_STRING_length(data) : -1;
    /* the whole name and its terminator fit, and no NUL hides in it */
    if (n < 0 || (size_t)n >= len
        || memchr(ASN1_STRING_get0_data(data), 0, (size_t)n) != NULL) {
        return -1;
    }
    memcpy(buf, ASN1_STRING_get0_data(data), (size_t)n);
    buf[n] = '\0';
    return n;
}

int devid_emu_cert_cn(X509 *cert, char *buf, size_t len)
{
    return devid_emu_name_cn(X509_get_subject_name(cert), buf, len) > 0;
}

char *devid_emu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        goto end;
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        goto end;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto end;
    }
    buf[size] = '\0';
    if (len != NULL) {
        *len = (size_t)size;
    }
end:
    fclose(f);
    return buf;
}

int devid_emu_write_file(const char *path, const char *data, size_t len,
                         int mode)
{
    char *tmp = malloc(strlen(path) + 8);
    int fd = -1;
    int ret = 0;

    if (tmp == NULL) {
        return 0;
    }
    snprintf(tmp, strlen(path) + 8, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        devid_emu_log("cannot write %s: %s", tmp, strerror(errno));
        goto end;
    }
    if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
        devid_emu_log("cannot write %s: %s", tmp, strerror(errno));
        goto end;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto end;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        devid_emu_log("cannot rename %s: %s", tmp, strerror(errno));
        goto end;
    }
    ret = 1;
end:
    if (fd >= 0) {
        close(fd);
    }
    if (ret == 0) {
        unlink(tmp);
    }
    free(tmp);
    return ret;
}

char *devid_emu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p != NULL) {
        snprintf(p, n, "%s/%s", dir, name);
    }
    return p;
}
