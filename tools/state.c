/* SPDX-License-Identifier: Apache-2.0 */
/* The device's provisioning state, one small JSON file replaced atomically. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/tool.h"

struct devid_state_field {
    const char *name;
    size_t offset;
};

#define DEVID_STATE_FIELD(f) { #f, offsetof(struct devid_state, f) }

static const struct devid_state_field devid_state_fields[] = {
    DEVID_STATE_FIELD(registration_id),
    DEVID_STATE_FIELD(device_id),
    DEVID_STATE_FIELD(assigned_hub),
    DEVID_STATE_FIELD(id_scope),
    DEVID_STATE_FIELD(key),
    DEVID_STATE_FIELD(key_ref),
    DEVID_STATE_FIELD(cert_chain),
    DEVID_STATE_FIELD(install_to),
    DEVID_STATE_FIELD(cert_name),
    DEVID_STATE_FIELD(trust_dir),
    DEVID_STATE_FIELD(not_after),
    DEVID_STATE_FIELD(provisioned_at),
    DEVID_STATE_FIELD(identity),
    DEVID_STATE_FIELD(previous),
    DEVID_STATE_FIELD(key_created),
    { NULL, 0 }
};

char *devid_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(len);

    if (p != NULL) {
        snprintf(p, len, "%s/%s", dir, name);
    }
    return p;
}

int devid_mkdirs(const char *dir, unsigned int mode)
{
    char *copy = strdup(dir);
    char *p;
    int ret = 0;

    if (copy == NULL) {
        return 0;
    }
    for (p = copy + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
                goto end;
            }
            *p = '/';
        }
    }
    ret = mkdir(copy, (mode_t)mode) == 0 || errno == EEXIST;
end:
    free(copy);
    return ret;
}

void devid_state_clear(struct devid_state *st)
{
    const struct devid_state_field *f;

    for (f = devid_state_fields; f->name != NULL; f++) {
        char **slot = (char **)((char *)st + f->offset);

        free(*slot);
        *slot = NULL;
    }
}

int devid_state_load(struct devid_tool *t, const char *dir,
                     struct devid_state *st)
{
    const struct devid_state_field *f;
    char *path = devid_path(dir, "state.json");
    json_object *root = NULL;
    int rc = DEVID_EXIT_INSTALL;
    int oom = 0;

    memset(st, 0, sizeof(*st));
    if (path == NULL) {
        rc = devid_tool_fail(t, DEVID_EXIT_INSTALL,
                             "cannot read the state file in %s: "
                             "out of memory",
                             dir);
        errno = ENOMEM;
        return rc;
    }
    root = json_object_from_file(path);
    if (root == NULL) {
        if (errno == ENOENT || access(path, F_OK) != 0) {
            rc = DEVID_EXIT_NOT_PROVISIONED;
        } else {
            rc = devid_tool_fail(t, DEVID_EXIT_INSTALL, "state file %s is "
                                 "corrupt", path);
        }
        goto end;
    }
    if (!json_object_is_type(root, json_type_object)) {
        rc = devid_tool_fail(t, DEVID_EXIT_INSTALL, "state file %s is corrupt",
                             path);
        goto end;
    }
    for (f = devid_state_fields; f->name != NULL; f++) {
        json_object *v = NULL;
        char **slot = (char **)((char *)st + f->offset);

        if (json_object_object_get_ex(root, f->name, &v)
            && json_object_is_type(v, json_type_string)
            && (*slot = strdup(json_object_get_string(v))) == NULL) {
            /* half a state would pass for a whole one */
            devid_state_clear(st);
            rc = devid_tool_fail(t, DEVID_EXIT_INSTALL,
                                 "cannot read state file %s: out of "
                                 "memory",
                                 path);
            oom = 1;
            goto end;
        }
    }
    rc = DEVID_EXIT_OK;
end:
    json_object_put(root);
    free(path);
    errno = oom ? ENOMEM : 0;
    return rc;
}

int devid_state_save(const char *dir, const struct devid_state *st)
{
    const struct devid_state_field *f;
    json_object *root = json_object_new_object();
    char *path = devid_path(dir, "state.json");
    const char *text;
    int ret = 0;

    if (root == NULL || path == NULL) {
        goto end;
    }
    for (f = devid_state_fields; f->name != NULL; f++) {
        const char *v = *(char *const *)((const char *)st + f->offset);

        if (v != NULL) {
            json_object_object_add(root, f->name, json_object_new_string(v));
        }
    }
    text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
    ret = devid_atomic_write(path, text, strlen(text), 0644);
end:
    json_object_put(root);
    free(path);
    return ret;
}

int devid_state_set(char **slot, const char *value)
{
    char *copy;

    if (value == NULL) {
        return 1; /* keep what was there */
    }
    copy = strdup(value);
    if (copy == NULL) {
        return 0;
    }
    free(*slot);
    *slot = copy;
    return 1;
}
