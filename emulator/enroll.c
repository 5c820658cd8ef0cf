/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: individual enrollments and enrollment groups of the
 * config file (DPS-PROTOCOL.md section 3). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emulator/cfg.h"

static const char *const devid_emu_grp_keys[] = {
    "id", "ca", "status", "hub", "policy", "payload", "initial_twin", NULL
};
static const char *const devid_emu_ind_keys[] = {
    "registration_id", "device_id", "certificate", "thumbprint", "status",
    "hub", "policy", "payload", "initial_twin", NULL
};
/* A certificate file relative to the config, or a generated CA name. */
static X509 *devid_emu_cfg_cert(const struct devid_emu_cfgctx *cx,
                                const char *ref)
{
    char *path = NULL;
    X509 *cert = NULL;

    if (strcmp(ref, "factory") == 0) {
        return X509_dup(cx->pki->factory_root.cert);
    }
    if (strcmp(ref, "factory-ca") == 0) {
        return X509_dup(cx->pki->factory_ca.cert);
    }
    if (strcmp(ref, "device") == 0) {
        return X509_dup(cx->pki->device_root.cert);
    }
    path = ref[0] == '/' ? strdup(ref) : devid_emu_path(cx->dir, ref);
    cert = path != NULL ? devid_emu_pki_read_cert(path) : NULL;
    if (cert == NULL) {
        fprintf(stderr, "%s: cannot read a PEM certificate from %s\n",
                cx->file, path != NULL ? path : ref);
    }
    free(path);
    return cert;
}

static int devid_emu_norm_thumb(char *t)
{
    char *w = t;
    const char *r;

    for (r = t; *r != '\0'; r++) {
        if (*r == ':') {
            continue;
        }
        if (!isxdigit((unsigned char)*r)) {
            return 0;
        }
        *w++ = (char)tolower((unsigned char)*r);
    }
    *w = '\0';
    return strlen(t) == 40 || strlen(t) == 64;
}

static int devid_emu_get_json(json_object *obj, const char *key,
                              json_object **out)
{
    json_object *v = NULL;

    if (json_object_object_get_ex(obj, key, &v) && v != NULL) {
        *out = json_object_get(v);
    }
    return 1;
}

static int devid_emu_parse_common(const struct devid_emu_cfgctx *cx,
                                  json_object *obj,
                                  struct devid_emu_enrollment *e,
                                  const char *where)
{
    json_object *v = NULL;

    if (!devid_emu_cfg_status(cx, obj, &e->disabled, where)
        || !devid_emu_cfg_str(cx, obj, "hub", &e->hub, where)
        || !devid_emu_cfg_str(cx, obj, "policy", &e->policy, where)
        || !devid_emu_get_json(obj, "payload", &e->payload)
        || !devid_emu_get_json(obj, "initial_twin", &e->initial_twin)) {
        return 0;
    }
    /* absent policy = "default"; an explicit null = no issuance */
    if (!json_object_object_get_ex(obj, "policy", &v)) {
        e->policy = strdup("default");
    }
    return 1;
}

static int devid_emu_parse_individual(const struct devid_emu_cfgctx *cx,
                                      json_object *obj,
                                      struct devid_emu_enrollment *e,
                                      const char *where)
{
    char *certfile = NULL;
    int ret = 0;

    if (!devid_emu_cfg_check_keys(cx, obj, devid_emu_ind_keys, where)
        || !devid_emu_cfg_str(cx, obj, "registration_id", &e->id, where)
        || !devid_emu_cfg_str(cx, obj, "device_id", &e->device_id, where)
        || !devid_emu_cfg_str(cx, obj, "certificate", &certfile, where)
        || !devid_emu_cfg_str(cx, obj, "thumbprint", &e->thumbprint, where)
        || !devid_emu_parse_common(cx, obj, e, where)) {
        goto end;
    }
    if (e->id == NULL || (certfile == NULL && e->thumbprint == NULL)) {
        fprintf(stderr, "%s: %s needs registration_id and certificate or "
                "thumbprint\n", cx->file, where);
        goto end;
    }
    if (e->thumbprint != NULL && !devid_emu_norm_thumb(e->thumbprint)) {
        fprintf(stderr, "%s: %s.thumbprint must be 40 or 64 hex digits\n",
                cx->file, where);
        goto end;
    }
    if (certfile != NULL && (e->cert = devid_emu_cfg_cert(cx, certfile))
                                == NULL) {
        goto end;
    }
    ret = 1;
end:
    free(certfile);
    return ret;
}

static int devid_emu_parse_group(const struct devid_emu_cfgctx *cx,
                                 json_object *obj,
                                 struct devid_emu_enrollment *e,
                                 const char *where)
{
    char *ca = NULL;
    int ret = 0;

    e->is_group = 1;
    if (!devid_emu_cfg_check_keys(cx, obj, devid_emu_grp_keys, where)
        || !devid_emu_cfg_str(cx, obj, "id", &e->id, where)
        || !devid_emu_cfg_str(cx, obj, "ca", &ca, where)
        || !devid_emu_parse_common(cx, obj, e, where)) {
        goto end;
    }
    if (e->id == NULL || ca == NULL) {
        fprintf(stderr, "%s: %s needs id and ca\n", cx->file, where);
        goto end;
    }
    e->cert = devid_emu_cfg_cert(cx, ca);
    ret = e->cert != NULL;
end:
    free(ca);
    return ret;
}

int devid_emu_cfg_enrollments(const struct devid_emu_cfgctx *cx,
                                       json_object *root,
                                       struct devid_emu_config *cfg)
{
    json_object *ind = NULL;
    json_object *grp = NULL;
    size_t ni = 0;
    size_t ng = 0;
    size_t i;
    char where[64];

    json_object_object_get_ex(root, "individual_enrollments", &ind);
    json_object_object_get_ex(root, "enrollment_groups", &grp);
    if ((ind != NULL && !json_object_is_type(ind, json_type_array))
        || (grp != NULL && !json_object_is_type(grp, json_type_array))) {
        fprintf(stderr, "%s: enrollments must be arrays\n", cx->file);
        return 0;
    }
    ni = ind != NULL ? json_object_array_length(ind) : 0;
    ng = grp != NULL ? json_object_array_length(grp) : 0;
    cfg->enrollments = calloc(ni + ng + 1, sizeof(*cfg->enrollments));
    if (cfg->enrollments == NULL) {
        return 0;
    }
    for (i = 0; i < ni; i++) {
        snprintf(where, sizeof(where), "individual_enrollments[%zu]", i);
        if (!devid_emu_parse_individual(cx, json_object_array_get_idx(ind, i),
                                        &cfg->enrollments[cfg->n_enrollments++],
                                        where)) {
            return 0;
        }
    }
    for (i = 0; i < ng; i++) {
        snprintf(where, sizeof(where), "enrollment_groups[%zu]", i);
        if (!devid_emu_parse_group(cx, json_object_array_get_idx(grp, i),
                                   &cfg->enrollments[cfg->n_enrollments++],
                                   where)) {
            return 0;
        }
    }
    return 1;
}

