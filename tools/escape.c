/* SPDX-License-Identifier: Apache-2.0 */
/* Escaping and quoting of text from outside before devid prints it: a
 * newline in a DPS answer must not forge a line of devid's output, an ESC
 * must not reach the terminal, and print-config's output must stay one
 * shell command line whatever the state file holds. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/escape.h"

/* Length of the control character at p (1, or 2 for a UTF-8 C1 control),
 * or 0 when p does not start with one. */
static size_t devid_control_len(const unsigned char *p)
{
    if (*p < 0x20 || *p == 0x7f) {
        return 1;
    }
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
        return 2;
    }
    return 0;
}

char *devid_text_redact_pins(const char *in, char *out, size_t size)
{
    static const char key[] = "pin-value=";
    size_t n = 0;

    if (size == 0) {
        return out;
    }
    while (*in != '\0' && n + 1 < size) {
        if (strncmp(in, key, sizeof(key) - 1) == 0
            && n + sizeof(key) - 1 + 3 < size) {
            memcpy(out + n, key, sizeof(key) - 1);
            memcpy(out + n + sizeof(key) - 1, "***", 3);
            n += sizeof(key) - 1 + 3;
            in += sizeof(key) - 1;
            in += strcspn(in, ";&? \t\r\n"); /* the value: skipped */
        } else {
            out[n++] = *in++;
        }
    }
    out[n] = '\0';
    return out;
}

char *devid_text_escape(const char *in, char *out, size_t size)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t n = 0;

    if (size == 0) {
        return out;
    }
    while (*p != '\0') {
        size_t c = devid_control_len(p);
        char piece[9];
        size_t len;

        if (c == 2) {
            snprintf(piece, sizeof(piece), "\\x%02x\\x%02x", p[0], p[1]);
        } else if (c == 1) {
            snprintf(piece, sizeof(piece), "\\x%02x", p[0]);
        } else if (*p == '\\') {
            snprintf(piece, sizeof(piece), "\\\\");
        } else {
            piece[0] = (char)*p;
            piece[1] = '\0';
        }
        len = strlen(piece);
        if (n + len >= size) {
            break;
        }
        memcpy(out + n, piece, len);
        n += len;
        p += c > 0 ? c : 1;
    }
    out[n] = '\0';
    return out;
}

int devid_text_has_control(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    for (; *p != '\0'; p++) {
        if (devid_control_len(p) > 0) {
            return 1;
        }
    }
    return 0;
}

char *devid_shell_quote(const char *s)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_@%+=:,./-";
    size_t len = strlen(s);
    size_t n = 0;
    char *out;

    if (devid_text_has_control(s)) {
        return NULL;
    }
    if (len > 0 && strspn(s, safe) == len) {
        return strdup(s);
    }
    out = malloc(len * 4 + 3); /* each ' becomes '\'' */
    if (out == NULL) {
        return NULL;
    }
    out[n++] = '\'';
    for (; *s != '\0'; s++) {
        if (*s == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            out[n++] = *s;
        }
    }
    out[n++] = '\'';
    out[n] = '\0';
    return out;
}
