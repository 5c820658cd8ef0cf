/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: config parsing helpers shared by config.c (top level,
 * policies, faults) and enroll.c (enrollments). */
#ifndef DEVID_EMU_CFG_H
#define DEVID_EMU_CFG_H

#include "emulator/emu.h"

/* Where we are in the file, for error messages. */
struct devid_emu_cfgctx {
    const char *file;
    char *dir;                      /* config file's directory */
    const struct devid_emu_pki *pki;
};


/** Refuse keys of obj not in the NULL-terminated keys (message names it). */
int devid_emu_cfg_check_keys(const struct devid_emu_cfgctx *cx,
                             json_object *obj, const char *const *keys,
                             const char *where);
/** Optional string member: *out = strdup'ed copy (caller frees) or NULL. */
int devid_emu_cfg_str(const struct devid_emu_cfgctx *cx, json_object *obj,
                      const char *key, char **out, const char *where);
/** Optional integer (or boolean) member within [min, max]. */
int devid_emu_cfg_int(const struct devid_emu_cfgctx *cx, json_object *obj,
                      const char *key, int *out, int min, int max,
                      const char *where);
/** Optional "status": "enabled" | "disabled". */
int devid_emu_cfg_status(const struct devid_emu_cfgctx *cx, json_object *obj,
                         int *disabled, const char *where);
/** Parse individual_enrollments and enrollment_groups into cfg. */
int devid_emu_cfg_enrollments(const struct devid_emu_cfgctx *cx,
                              json_object *root, struct devid_emu_config *cfg);

#endif
