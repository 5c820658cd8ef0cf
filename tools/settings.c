/* SPDX-License-Identifier: Apache-2.0 */
/* The settings: "name = value" lines of the config file ('#' comments) and
 * the command-line flags that override them. Each value is parsed and
 * checked once, here, into its typed member of struct devid_settings, so
 * the verbs read numbers and enumerations, never text to parse again. A
 * value that does not parse is a configuration error (exit 2) naming where
 * it came from, the setting and the value. Secrets never go here: a PIN is
 * named by pin-source. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"

/* The longest renew-before duration: ten years, far beyond any certificate
 * DPS issues, and small enough that no sum or product of it overflows. */
#define DEVID_DURATION_MAX (3650L * 86400L)

/* How a setting's text becomes its member. */
enum devid_setting_kind {
    DEVID_SETTING_TEXT,         /* char *: any non-empty text */
    DEVID_SETTING_KEY_TYPE,     /* char *: a type devid keygen can make */
    DEVID_SETTING_INSTALL_TO,   /* enum devid_install_to: token | files |
                                 * tpm-nv */
    DEVID_SETTING_TRANSPORT,    /* enum devid_dps_transport: https | mqtt */
    DEVID_SETTING_NUMBER,       /* long: a whole number from min to max */
    DEVID_SETTING_RENEW_BEFORE  /* struct devid_renew_before */
};

struct devid_setting_def {
    const char *name;
    enum devid_setting_kind kind;
    size_t offset;              /* of the member in struct devid_settings */
    long min;                   /* DEVID_SETTING_NUMBER: the range */
    long max;
    const char *unit;           /* DEVID_SETTING_NUMBER: for messages */
};

#define DEVID_SETTING(name, kind, field)                                       \
    { name, kind, offsetof(struct devid_settings, field), 0, 0, NULL }
#define DEVID_SETTING_TEXT(name, field)                                        \
    DEVID_SETTING(name, DEVID_SETTING_TEXT, field)
#define DEVID_SETTING_NUMBER(name, field, min, max, unit)                      \
    { name, DEVID_SETTING_NUMBER, offsetof(struct devid_settings, field),      \
      min, max, unit }

/* Every setting, with its type and range (docs/cli.md lists them too). */
static const struct devid_setting_def devid_setting_defs[] = {
    DEVID_SETTING_TEXT("state-dir", state_dir),
    DEVID_SETTING_TEXT("key", key),
    DEVID_SETTING("key-type", DEVID_SETTING_KEY_TYPE, key_type),
    DEVID_SETTING_TEXT("registration-id", registration_id),
    DEVID_SETTING_TEXT("id-scope", id_scope),
    DEVID_SETTING_TEXT("dps-endpoint", endpoint),
    DEVID_SETTING_TEXT("dps-trust", dps_trust),
    DEVID_SETTING_TEXT("onboarding-cert", auth_cert),
    DEVID_SETTING_TEXT("onboarding-key", auth_key),
    DEVID_SETTING_TEXT("api-version", api_version),
    DEVID_SETTING("dps-transport", DEVID_SETTING_TRANSPORT, dps_transport),
    DEVID_SETTING("install-to", DEVID_SETTING_INSTALL_TO, install_to),
    DEVID_SETTING_TEXT("trust-dir", trust_dir),
    DEVID_SETTING_TEXT("pkcs11-module-path", pkcs11_module),
    DEVID_SETTING_TEXT("pin-source", pin_source),
    DEVID_SETTING_TEXT("pin-file-group-readable", pin_file_group),
    DEVID_SETTING_TEXT("tcti", tcti),
    DEVID_SETTING_NUMBER("dps-timeout", timeout_s, 1, 86400, "seconds"),
    DEVID_SETTING("renew-before", DEVID_SETTING_RENEW_BEFORE, renew_before),
    DEVID_SETTING_NUMBER("keep-identities", keep_identities, 1, 1000,
                         "identities"),
    DEVID_SETTING_TEXT("on-change", on_change),
    DEVID_SETTING_NUMBER("hub-port", hub_port, 1, 65535, "a TCP port"),
    DEVID_SETTING_TEXT("hub-trust", hub_trust),
    DEVID_SETTING_TEXT("trust-roots", trust_roots),
    { NULL, DEVID_SETTING_TEXT, 0, 0, 0, NULL }
};

/* The only strtol of tools/ that checks nothing is left over: the whole
 * text is the number, it fits a long, and it is in range. */
int devid_parse_long(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    /* strtol would also take leading blanks and a '+' */
    if (!isdigit((unsigned char)text[0])
        && !(text[0] == '-' && isdigit((unsigned char)text[1]))) {
        return 0;
    }
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

/* "90s", "10m", "12h", "30d" or plain seconds, from 1 s to ten years. */
static int devid_parse_duration(const char *text, long *out)
{
    char num[24];
    size_t n = strlen(text);
    long unit = 1;
    long v;

    if (n == 0 || n >= sizeof(num)) {
        return 0;
    }
    memcpy(num, text, n + 1);
    switch (num[n - 1]) {
    case 'd':
        unit = 86400;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'm':
        unit = 60;
        break;
    case 's':
        break;
    default:
        n++;                    /* no unit: seconds, keep the last digit */
        break;
    }
    num[n - 1] = '\0';
    if (!devid_parse_long(num, 1, DEVID_DURATION_MAX / unit, &v)) {
        return 0;
    }
    *out = v * unit;
    return 1;
}

/* "20%" (1% to 99% of the lifetime left) or a duration. 0% would never
 * renew and 100% would renew at every run: neither is a renewal policy. */
static int devid_parse_renew_before(const char *text,
                                    struct devid_renew_before *out)
{
    struct devid_renew_before rb;
    size_t n = strlen(text);
    long v;

    memset(&rb, 0, sizeof(rb));
    if (n >= sizeof(rb.text)) {
        return 0;
    }
    if (n > 1 && text[n - 1] == '%') {
        char num[sizeof(rb.text)];

        memcpy(num, text, n - 1);
        num[n - 1] = '\0';
        if (!devid_parse_long(num, 1, 99, &v)) {
            return 0;
        }
        rb.percent = (int)v;
    } else if (!devid_parse_duration(text, &rb.seconds)) {
        return 0;
    }
    memcpy(rb.text, text, n + 1);
    *out = rb;
    return 1;
}

/* The places a chain can go; the words are case-sensitive, as every
 * other value of the config file. */
static int devid_parse_install_to(const char *text,
                                  enum devid_install_to *out)
{
    if (strcmp(text, "token") == 0) {
        *out = DEVID_INSTALL_TO_TOKEN;
    } else if (strcmp(text, "files") == 0) {
        *out = DEVID_INSTALL_TO_FILES;
    } else if (strcmp(text, "tpm-nv") == 0) {
        *out = DEVID_INSTALL_TO_NV;
    } else {
        return 0;
    }
    return 1;
}

/* How DPS is reached: https (DPS-PROTOCOL.md §1) or mqtt (§2). */
static int devid_parse_transport(const char *text,
                                 enum devid_dps_transport *out)
{
    if (strcmp(text, "https") == 0) {
        *out = DEVID_DPS_TRANSPORT_HTTPS;
    } else if (strcmp(text, "mqtt") == 0) {
        *out = DEVID_DPS_TRANSPORT_MQTT;
    } else {
        return 0;
    }
    return 1;
}

/* A new copy of text into the char * member at slot. */
static int devid_set_text(void *slot, const char *text)
{
    char *copy = strdup(text);

    if (copy == NULL) {
        return 0;
    }
    free(*(char **)slot);
    *(char **)slot = copy;
    return 1;
}

/* Parses value into the member d describes. Returns 1, or 0 with what the
 * setting accepts in why. */
static int devid_setting_parse(struct devid_settings *s,
                               const struct devid_setting_def *d,
                               const char *value, char *why, size_t size)
{
    void *slot = (char *)s + d->offset;
    char types[128];

    /* "name =" sets nothing: it is a mistake, not a way to unset */
    if (*value == '\0') {
        snprintf(why, size, "it must not be empty");
        return 0;
    }
    switch (d->kind) {
    case DEVID_SETTING_TEXT:
        snprintf(why, size, "out of memory");
        return devid_set_text(slot, value);
    case DEVID_SETTING_KEY_TYPE:
        devid_key_type_list(types, sizeof(types));
        snprintf(why, size, "it must be one of %s", types);
        return devid_key_type_known(value) && devid_set_text(slot, value);
    case DEVID_SETTING_INSTALL_TO:
        snprintf(why, size, "it must be token, files or tpm-nv");
        return devid_parse_install_to(value, slot);
    case DEVID_SETTING_TRANSPORT:
        snprintf(why, size, "it must be https or mqtt");
        return devid_parse_transport(value, slot);
    case DEVID_SETTING_NUMBER:
        snprintf(why, size, "it must be a whole number from %ld to %ld (%s)",
                 d->min, d->max, d->unit);
        return devid_parse_long(value, d->min, d->max, slot);
    case DEVID_SETTING_RENEW_BEFORE:
        snprintf(why, size, "it must be a share of the lifetime from 1%% to "
                 "99%% or a duration from 1s to 3650d (e.g. 20%%, 30d, 12h, "
                 "10m, 90s)");
        return devid_parse_renew_before(value, slot);
    }
    return 0;
}

int devid_settings_set(struct devid_tool *t, const char *where,
                       const char *name, const char *value)
{
    const struct devid_setting_def *d;
    char why[256];

    for (d = devid_setting_defs; d->name != NULL; d++) {
        if (strcmp(d->name, name) == 0) {
            break;
        }
    }
    if (d->name == NULL) {
        devid_tool_fail(t, DEVID_EXIT_CONFIG, "%s: unknown setting '%s'",
                        where, name);
        return 0;
    }
    /* the member changes only when the whole value parsed */
    if (!devid_setting_parse(&t->set, d, value, why, sizeof(why))) {
        devid_tool_fail(t, DEVID_EXIT_CONFIG, "%s: bad value '%s' for %s: %s",
                        where, value, name, why);
        return 0;
    }
    return 1;
}

void devid_settings_clear(struct devid_settings *s)
{
    const struct devid_setting_def *d;

    for (d = devid_setting_defs; d->name != NULL; d++) {
        if (d->kind == DEVID_SETTING_TEXT
            || d->kind == DEVID_SETTING_KEY_TYPE) {
            char **slot = (char **)((char *)s + d->offset);

            free(*slot);
            *slot = NULL;
        }
    }
    memset(s, 0, sizeof(*s));
}

/* Cuts the blanks at both ends of p, in place; returns the new start. */
static char *devid_trim(char *p)
{
    char *end;

    while (isspace((unsigned char)*p)) {
        p++;
    }
    end = p + strlen(p);
    while (end > p && isspace((unsigned char)end[-1])) {
        *--end = '\0';
    }
    return p;
}

int devid_settings_load(struct devid_tool *t, const char *path, int required)
{
    FILE *f;
    char line[4096];
    char where[4200];
    int lineno = 0;
    int ret = 0;

    if (path == NULL) {
        path = getenv("DEVID_CONFIG");
    }
    if (path == NULL) {
        path = "/etc/devid/devid.conf";
        required = 0;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        if (!required && errno == ENOENT) {
            return 1;
        }
        devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot read config %s: %s",
                        path, strerror(errno));
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq;
        char *p = devid_trim(line);

        lineno++;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (*p == '\0' || *p == '#') {
            continue;
        }
        eq = strchr(p, '=');
        if (eq == NULL) {
            devid_tool_fail(t, DEVID_EXIT_CONFIG, "%s: expected name = value",
                            where);
            goto end;
        }
        *eq = '\0';
        /* a setting given twice: the later line wins, as flags win */
        if (!devid_settings_set(t, where, devid_trim(p), devid_trim(eq + 1))) {
            goto end;
        }
    }
    ret = 1;
end:
    fclose(f);
    return ret;
}
