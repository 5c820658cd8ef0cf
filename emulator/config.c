/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: the JSON config file (id scope, hubs, policies,
 * enrollments, faults). Unknown keys are errors that name the key. */
#include "config.h"

#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emulator/cfg.h"


static const char *const devid_emu_top_keys[] = {
    "id_scope", "hubs", "assigning_polls", "retry_after",
    "connection_timeout", "server_root", "trust_bundle", "policies",
    "individual_enrollments", "enrollment_groups", "faults", NULL
};
static const char *const devid_emu_policy_keys[] = {
    "key_types", "validity", "rsa_min_bits", NULL
};

int devid_emu_cfg_check_keys(const struct devid_emu_cfgctx *cx,
                             json_object *obj, const char *const *keys,
                             const char *where)
{
    size_t i;

    if (!json_object_is_type(obj, json_type_object)) {
        fprintf(stderr, "%s: %s must be a JSON object\n", cx->file, where);
        return 0;
    }
    json_object_object_foreach(obj, key, val) {
        (void)val;
        for (i = 0; keys[i] != NULL; i++) {
            if (strcmp(keys[i], key) == 0) {
                break;
            }
        }
        if (keys[i] == NULL) {
            fprintf(stderr, "%s: unknown key \"%s\" in %s\n", cx->file, key,
                    where);
            return 0;
        }
    }
    return 1;
}

/* Optional string member; *out stays NULL when absent. */
int devid_emu_cfg_str(const struct devid_emu_cfgctx *cx, json_object *obj,
                      const char *key, char **out, const char *where)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        return 1;
    }
    if (!json_object_is_type(v, json_type_string)) {
        fprintf(stderr, "%s: %s.%s must be a string\n", cx->file, where, key);
        return 0;
    }
    *out = strdup(json_object_get_string(v));
    return *out != NULL;
}

int devid_emu_cfg_int(const struct devid_emu_cfgctx *cx, json_object *obj,
                      const char *key, int *out, int min, int max,
                      const char *where)
{
    json_object *v = NULL;
    int64_t n;

    if (!json_object_object_get_ex(obj, key, &v)) {
        return 1;
    }
    if (json_object_is_type(v, json_type_boolean)) {
        n = json_object_get_boolean(v);
    } else if (json_object_is_type(v, json_type_int)) {
        n = json_object_get_int64(v);
    } else {
        fprintf(stderr, "%s: %s.%s must be an integer\n", cx->file, where, key);
        return 0;
    }
    if (n < min || n > max) {
        fprintf(stderr, "%s: %s.%s must be in [%d, %d]\n", cx->file, where,
                key, min, max);
        return 0;
    }
    *out = (int)n;
    return 1;
}

int devid_emu_cfg_status(const struct devid_emu_cfgctx *cx, json_object *obj,
                         int *disabled, const char *where)
{
    char *s = NULL;
    int ret = 0;

    if (!devid_emu_cfg_str(cx, obj, "status", &s, where)) {
        return 0;
    }
    if (s == NULL || strcmp(s, "enabled") == 0) {
        *disabled = 0;
        ret = 1;
    } else if (strcmp(s, "disabled") == 0) {
        *disabled = 1;
        ret = 1;
    } else {
        fprintf(stderr, "%s: %s.status must be \"enabled\" or \"disabled\"\n",
                cx->file, where);
    }
    free(s);
    return ret;
}

/* "30d", "10m", "45s", "2h" or a number of seconds. */
static int devid_emu_parse_validity(const char *s, long *out)
{
    char *endp = NULL;
    long n = strtol(s, &endp, 10);
    long unit = 1;

    if (endp == s || n <= 0) {
        return 0;
    }
    if (*endp == 'm') {
        unit = 60;
    } else if (*endp == 'h') {
        unit = 3600;
    } else if (*endp == 'd') {
        unit = 86400;
    } else if (*endp != 's' && *endp != '\0') {
        return 0;
    }
    if (*endp != '\0' && endp[1] != '\0') {
        return 0;
    }
    if (n > 36500L * 86400L / unit) {
        return 0;
    }
    *out = n * unit;
    return 1;
}

static int devid_emu_parse_key_types(const struct devid_emu_cfgctx *cx,
                                     json_object *arr, unsigned *mask,
                                     const char *where)
{
    size_t i;
    const char *s;

    if (!json_object_is_type(arr, json_type_array)) {
        fprintf(stderr, "%s: %s.key_types must be an array\n", cx->file, where);
        return 0;
    }
    *mask = 0;
    for (i = 0; i < json_object_array_length(arr); i++) {
        s = json_object_get_string(json_object_array_get_idx(arr, i));
        if (s != NULL && strcmp(s, "P-256") == 0) {
            *mask |= DEVID_EMU_KEY_P256;
        } else if (s != NULL && strcmp(s, "P-384") == 0) {
            *mask |= DEVID_EMU_KEY_P384;
        } else if (s != NULL && strcmp(s, "RSA") == 0) {
            *mask |= DEVID_EMU_KEY_RSA;
        } else {
            fprintf(stderr, "%s: %s.key_types: \"%s\" is not P-256, P-384 or "
                    "RSA\n", cx->file, where, s != NULL ? s : "?");
            return 0;
        }
    }
    return 1;
}

static int devid_emu_parse_policy(const struct devid_emu_cfgctx *cx,
                                  const char *name, json_object *obj,
                                  struct devid_emu_policy *pol)
{
    char where[160];
    json_object *v = NULL;
    char *validity = NULL;
    int ret = 0;

    snprintf(where, sizeof(where), "policies.%s", name);
    pol->name = strdup(name);
    pol->key_types = DEVID_EMU_KEY_P256 | DEVID_EMU_KEY_P384;
    pol->validity_seconds = 30L * 86400L;
    pol->rsa_min_bits = 2048;
    if (pol->name == NULL
        || !devid_emu_cfg_check_keys(cx, obj, devid_emu_policy_keys, where)
        || !devid_emu_cfg_int(cx, obj, "rsa_min_bits", &pol->rsa_min_bits,
                              1024, 16384, where)
        || !devid_emu_cfg_str(cx, obj, "validity", &validity, where)) {
        goto end;
    }
    if (json_object_object_get_ex(obj, "key_types", &v)
        && !devid_emu_parse_key_types(cx, v, &pol->key_types, where)) {
        goto end;
    }
    if (validity != NULL
        && !devid_emu_parse_validity(validity, &pol->validity_seconds)) {
        fprintf(stderr, "%s: %s.validity \"%s\" is not like 30d, 12h, 10m, "
                "45s\n", cx->file, where, validity);
        goto end;
    }
    ret = 1;
end:
    free(validity);
    return ret;
}

static int devid_emu_parse_policies(const struct devid_emu_cfgctx *cx,
                                    json_object *root,
                                    struct devid_emu_config *cfg)
{
    json_object *obj = NULL;
    json_object *empty = NULL;
    size_t n = 0;
    int ret;

    if (json_object_object_get_ex(root, "policies", &obj)) {
        if (!json_object_is_type(obj, json_type_object)) {
            fprintf(stderr, "%s: policies must be an object\n", cx->file);
            return 0;
        }
        n = (size_t)json_object_object_length(obj);
    }
    cfg->policies = calloc(n + 1, sizeof(*cfg->policies));
    if (cfg->policies == NULL) {
        return 0;
    }
    if (obj != NULL) {
        json_object_object_foreach(obj, name, val) {
            if (!devid_emu_parse_policy(cx, name, val,
                                        &cfg->policies[cfg->n_policies++])) {
                return 0;
            }
        }
    }
    if (devid_emu_config_policy(cfg, "default") != NULL) {
        return 1;
    }
    /* a built-in "default" policy unless the file defines one */
    empty = json_object_new_object();
    ret = empty != NULL
          && devid_emu_parse_policy(cx, "default", empty,
                                    &cfg->policies[cfg->n_policies++]);
    json_object_put(empty);
    return ret;
}

/* The integer settings of "faults", by name. */
static const struct {
    const char *key;
    size_t offset;
    int max;
} devid_emu_fault_fields[] = {
#define DEVID_EMU_FAULT(name, max) \
    { #name, offsetof(struct devid_emu_faults, name), max }
    DEVID_EMU_FAULT(register_429, INT_MAX),
    DEVID_EMU_FAULT(poll_429, INT_MAX),
    DEVID_EMU_FAULT(register_500, INT_MAX),
    DEVID_EMU_FAULT(poll_500, INT_MAX),
    DEVID_EMU_FAULT(register_503, INT_MAX),
    DEVID_EMU_FAULT(poll_503, INT_MAX),
    DEVID_EMU_FAULT(close_register, INT_MAX),
    DEVID_EMU_FAULT(close_poll, INT_MAX),
    DEVID_EMU_FAULT(retry_after_429, 3600),
    DEVID_EMU_FAULT(delay_ms, 600000),
    DEVID_EMU_FAULT(poll_limit, 1),
#undef DEVID_EMU_FAULT
};

static int devid_emu_parse_faults(const struct devid_emu_cfgctx *cx,
                                  json_object *root,
                                  struct devid_emu_faults *f)
{
    const size_t n = sizeof(devid_emu_fault_fields)
                     / sizeof(devid_emu_fault_fields[0]);
    json_object *obj = NULL;
    size_t i;

    f->retry_after_429 = 1;
    f->poll_limit = 1;
    if (!json_object_object_get_ex(root, "faults", &obj)) {
        return 1;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        fprintf(stderr, "%s: faults must be a JSON object\n", cx->file);
        return 0;
    }
    json_object_object_foreach(obj, key, val) {
        (void)val;
        i = 0;
        while (i < n && strcmp(devid_emu_fault_fields[i].key, key) != 0) {
            i++;
        }
        if (i == n) {
            fprintf(stderr, "%s: unknown key \"%s\" in faults\n", cx->file,
                    key);
            return 0;
        }
        if (!devid_emu_cfg_int(cx, obj, key,
                               (int *)((char *)f
                                       + devid_emu_fault_fields[i].offset),
                               0, devid_emu_fault_fields[i].max, "faults")) {
            return 0;
        }
    }
    return 1;
}

static int devid_emu_parse_hubs(const struct devid_emu_cfgctx *cx,
                                json_object *root,
                                struct devid_emu_config *cfg)
{
    json_object *arr = NULL;
    json_object *v;
    size_t i;
    size_t n = 1;

    if (json_object_object_get_ex(root, "hubs", &arr)) {
        if (!json_object_is_type(arr, json_type_array)
            || json_object_array_length(arr) == 0) {
            fprintf(stderr, "%s: hubs must be a non-empty array\n", cx->file);
            return 0;
        }
        n = json_object_array_length(arr);
    }
    cfg->hubs = calloc(n, sizeof(char *));
    if (cfg->hubs == NULL) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        v = arr != NULL ? json_object_array_get_idx(arr, i) : NULL;
        if (v != NULL && !json_object_is_type(v, json_type_string)) {
            fprintf(stderr, "%s: hubs[%zu] must be a string\n", cx->file, i);
            return 0;
        }
        cfg->hubs[i] = strdup(v != NULL ? json_object_get_string(v)
                                        : "localhost");
        if (cfg->hubs[i] == NULL) {
            return 0;
        }
        cfg->n_hubs++;
    }
    return 1;
}

static int devid_emu_parse_roots(const struct devid_emu_cfgctx *cx,
                                 json_object *root,
                                 struct devid_emu_config *cfg)
{
    json_object *v = NULL;
    const char *s;
    size_t i;

    cfg->server_root = 'A';
    if (json_object_object_get_ex(root, "server_root", &v)) {
        s = json_object_get_string(v);
        if (s == NULL || (strcmp(s, "A") != 0 && strcmp(s, "B") != 0)) {
            fprintf(stderr, "%s: server_root must be \"A\" or \"B\"\n",
                    cx->file);
            return 0;
        }
        cfg->server_root = s[0];
    }
    if (!json_object_object_get_ex(root, "trust_bundle", &v)) {
        cfg->trust_bundle_a = cfg->server_root == 'A';
        cfg->trust_bundle_b = cfg->server_root == 'B';
        return 1;
    }
    if (!json_object_is_type(v, json_type_array)) {
        fprintf(stderr, "%s: trust_bundle must be an array\n", cx->file);
        return 0;
    }
    for (i = 0; i < json_object_array_length(v); i++) {
        s = json_object_get_string(json_object_array_get_idx(v, i));
        if (s != NULL && strcmp(s, "A") == 0) {
            cfg->trust_bundle_a = 1;
        } else if (s != NULL && strcmp(s, "B") == 0) {
            cfg->trust_bundle_b = 1;
        } else {
            fprintf(stderr, "%s: trust_bundle entries are \"A\" or \"B\"\n",
                    cx->file);
            return 0;
        }
    }
    return 1;
}

/* The config used when no file is given: the factory group only. */
static const char devid_emu_default_config[] =
    "{\"enrollment_groups\":[{\"id\":\"factory\",\"ca\":\"factory\"}]}";

static int devid_emu_parse(const struct devid_emu_cfgctx *cx,
                           json_object *root, struct devid_emu_config *cfg)
{
    size_t i;

    cfg->assigning_polls = 1;
    cfg->retry_after = 1;
    cfg->timeout_seconds = 30;
    if (!devid_emu_cfg_check_keys(cx, root, devid_emu_top_keys, "the top level")
        || !devid_emu_cfg_str(cx, root, "id_scope", &cfg->id_scope, "config")
        || !devid_emu_cfg_int(cx, root, "assigning_polls",
                              &cfg->assigning_polls, 0, 1000, "config")
        || !devid_emu_cfg_int(cx, root, "retry_after", &cfg->retry_after, 0,
                              3600, "config")
        || !devid_emu_cfg_int(cx, root, "connection_timeout",
                              &cfg->timeout_seconds, 1, 3600, "config")
        || !devid_emu_parse_hubs(cx, root, cfg)
        || !devid_emu_parse_roots(cx, root, cfg)
        || !devid_emu_parse_policies(cx, root, cfg)
        || !devid_emu_cfg_enrollments(cx, root, cfg)
        || !devid_emu_parse_faults(cx, root, &cfg->faults)) {
        return 0;
    }
    if (cfg->id_scope == NULL && (cfg->id_scope = strdup("0ne00000001"))
                                     == NULL) {
        return 0;
    }
    for (i = 0; i < cfg->n_enrollments; i++) {
        if (cfg->enrollments[i].policy != NULL
            && devid_emu_config_policy(cfg, cfg->enrollments[i].policy)
                   == NULL) {
            fprintf(stderr, "%s: enrollment %s names unknown policy \"%s\"\n",
                    cx->file, cfg->enrollments[i].id,
                    cfg->enrollments[i].policy);
            return 0;
        }
    }
    return 1;
}

struct devid_emu_config *devid_emu_config_load(const char *path,
                                               const struct devid_emu_pki *pki)
{
    struct devid_emu_cfgctx cx = { path != NULL ? path : "(built-in config)",
                                   NULL, pki };
    struct devid_emu_config *cfg = calloc(1, sizeof(*cfg));
    struct devid_emu_config *ret = NULL;
    char *text = NULL;
    char *copy = NULL;
    json_object *root = NULL;
    enum json_tokener_error jerr = json_tokener_success;

    text = path != NULL ? devid_emu_read_file(path, NULL)
                        : strdup(devid_emu_default_config);
    copy = path != NULL ? strdup(path) : strdup(".");
    if (cfg == NULL || text == NULL || copy == NULL) {
        fprintf(stderr, "%s: cannot read the config\n", cx.file);
        goto end;
    }
    cx.dir = path != NULL ? dirname(copy) : copy;
    root = json_tokener_parse_verbose(text, &jerr);
    if (root == NULL) {
        fprintf(stderr, "%s: not valid JSON: %s\n", cx.file,
                json_tokener_error_desc(jerr));
        goto end;
    }
    if (!devid_emu_parse(&cx, root, cfg)) {
        goto end;
    }
    ret = cfg;
    cfg = NULL;
end:
    json_object_put(root);
    free(text);
    free(copy);
    devid_emu_config_free(cfg);
    return ret;
}

void devid_emu_config_free(struct devid_emu_config *cfg)
{
    size_t i;
    struct devid_emu_enrollment *e;

    if (cfg == NULL) {
        return;
    }
    for (i = 0; i < cfg->n_enrollments; i++) {
        e = &cfg->enrollments[i];
        free(e->id);
        free(e->device_id);
        X509_free(e->cert);
        free(e->thumbprint);
        free(e->hub);
        free(e->policy);
        json_object_put(e->payload);
        json_object_put(e->initial_twin);
    }
    for (i = 0; i < cfg->n_policies; i++) {
        free(cfg->policies[i].name);
    }
    for (i = 0; i < cfg->n_hubs; i++) {
        free(cfg->hubs[i]);
    }
    free(cfg->enrollments);
    free(cfg->policies);
    free(cfg->hubs);
    free(cfg->id_scope);
    free(cfg);
}

const struct devid_emu_policy *
devid_emu_config_policy(const struct devid_emu_config *cfg, const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < cfg->n_policies; i++) {
        if (strcmp(cfg->policies[i].name, name) == 0) {
            return &cfg->policies[i];
        }
    }
    return NULL;
}

int devid_emu_config_has_hub(const struct devid_emu_config *cfg,
                             const char *hub)
{
    size_t i;

    for (i = 0; i < cfg->n_hubs; i++) {
        if (strcmp(cfg->hubs[i], hub) == 0) {
            return 1;
        }
    }
    return 0;
}
