/* SPDX-License-Identifier: Apache-2.0 */
/* The config file: "name = value" lines, '#' comments. Command-line flags
 * override it. Secrets never go here: a PIN is named by pin-source. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"

struct devid_setting_def {
    const char *name;
    size_t offset;
};

#define DEVID_SETTING(name, field)                                             \
    { name, offsetof(struct devid_settings, field) }

static const struct devid_setting_def devid_setting_defs[] = {
    DEVID_SETTING("state-dir", state_dir),
    DEVID_SETTING("key", key),
    DEVID_SETTING("key-type", key_type),
    DEVID_SETTING("registration-id", registration_id),
    DEVID_SETTING("id-scope", id_scope),
    DEVID_SETTING("dps-endpoint", endpoint),
    DEVID_SETTING("dps-trust", dps_trust),
    DEVID_SETTING("onboarding-cert", auth_cert),
    DEVID_SETTING("onboarding-key", auth_key),
    DEVID_SETTING("api-version", api_version),
    DEVID_SETTING("install-to", install_to),
    DEVID_SETTING("trust-dir", trust_dir),
    DEVID_SETTING("pkcs11-module-path", pkcs11_module),
    DEVID_SETTING("pin-source", pin_source),
    DEVID_SETTING("tcti", tcti),
    DEVID_SETTING("renew-before", renew_before),
    DEVID_SETTING("keep-identities", keep_identities),
    DEVID_SETTING("on-change", on_change),
    DEVID_SETTING("hub-port", hub_port),
    DEVID_SETTING("hub-trust", hub_trust),
    DEVID_SETTING("trust-roots", trust_roots),
    { NULL, 0 }
};

int devid_settings_set(struct devid_settings *s, const char *name,
                       const char *value)
{
    const struct devid_setting_def *d;
    char **slot;
    char *copy;

    if (strcmp(name, "dps-timeout") == 0) {
        char *end = NULL;

        errno = 0;
        s->timeout_s = strtol(value, &end, 10);
        return errno == 0 && end != value && *end == '\0' && s->timeout_s > 0;
    }
    for (d = devid_setting_defs; d->name != NULL; d++) {
        if (strcmp(d->name, name) == 0) {
            break;
        }
    }
    if (d->name == NULL) {
        return 0;
    }
    copy = strdup(value);
    if (copy == NULL) {
        return 0;
    }
    slot = (char **)((char *)s + d->offset);
    free(*slot);
    *slot = copy;
    return 1;
}

void devid_settings_clear(struct devid_settings *s)
{
    const struct devid_setting_def *d;

    for (d = devid_setting_defs; d->name != NULL; d++) {
        char **slot = (char **)((char *)s + d->offset);

        free(*slot);
        *slot = NULL;
    }
}

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
        if (*p == '\0' || *p == '#') {
            continue;
        }
        eq = strchr(p, '=');
        if (eq == NULL) {
            devid_tool_fail(t, DEVID_EXIT_CONFIG, "%s:%d: expected name = value",
                            path, lineno);
            goto end;
        }
        *eq = '\0';
        if (!devid_settings_set(&t->set, devid_trim(p), devid_trim(eq + 1))) {
            devid_tool_fail(t, DEVID_EXIT_CONFIG,
                            "%s:%d: unknown setting or bad value '%s'", path,
                            lineno, devid_trim(p));
            goto end;
        }
    }
    ret = 1;
end:
    fclose(f);
    return ret;
}
