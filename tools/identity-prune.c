/* SPDX-License-Identifier: Apache-2.0 */
/* Pruning old identity directories after a switch: the newest
 * keep-identities stay, and so do the current identity and the one it
 * replaced, so devid rollback always has somewhere to go back to. */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/install.h"
#include "tools/renew.h"
#include "tools/tool.h"

/* keep-identities when the settings say nothing (docs/renewal.md) */
#define DEVID_RENEW_DEFAULT_KEEP 3

/* Identity names start with their UTC creation time (20250101T120000Z-0),
 * so sorting the names sorts the identities oldest first. */
static int devid_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes one identity directory (its files, then itself). Token objects
 * and TPM key files of that identity stay: there is no backend delete. */
static void devid_identity_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char *p;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        p = devid_path(dir, e->d_name);
        if (p != NULL) {
            unlink(p);
        }
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Keeps the newest keep-identities identities, the current one and the one
 * it replaced; removes the older directories. */
void devid_identities_prune(struct devid_tool *t, const char *current,
                            const char *previous)
{
    char *base = devid_path(devid_state_dir(t), "identities");
    char **names = NULL;
    size_t n = 0;
    size_t cap = 0;
    size_t i;
    long keep = DEVID_RENEW_DEFAULT_KEEP;
    DIR *d = base != NULL ? opendir(base) : NULL;
    struct dirent *e;

    if (t->set.keep_identities != 0) {
        keep = t->set.keep_identities;      /* 1 or more (settings.c) */
    }
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;           /* ".", ".." and anything hidden */
        }
        if (n == cap) {
            char **grown = realloc(names, (cap + 16) * sizeof(*names));

            if (grown == NULL) {
                break;
            }
            names = grown;
            cap += 16;
        }
        names[n] = strdup(e->d_name);
        n += names[n] != NULL;
    }
    if (d != NULL) {
        closedir(d);
    }
    if (n > 0) {
        qsort(names, n, sizeof(*names), devid_name_cmp);
    }
    /* the oldest n - keep go, except the two rollback may need */
    for (i = 0; i + (size_t)keep < n; i++) {
        char *p;

        if (strcmp(names[i], current) == 0
            || (previous != NULL && strcmp(names[i], previous) == 0)) {
            continue;
        }
        p = devid_path(base, names[i]);
        if (p != NULL) {
            devid_tool_progress(t, "pruning the old identity %s (its token "
                                "objects or key files stay)", names[i]);
            devid_identity_remove(p);
        }
        free(p);
    }
    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    free(base);
}
