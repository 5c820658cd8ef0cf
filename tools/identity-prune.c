/* SPDX-License-Identifier: Apache-2.0 */
/* Pruning old identity directories after a switch: the newest
 * keep-identities stay, and so do the current identity and the one it
 * replaced, so devid rollback always has somewhere to go back to. What a
 * pruned identity owned goes with it: its key, when devid made it and no
 * kept identity uses it (issue 14, item 7: a secure element holds a
 * handful of keys, and a device that renews yearly must not fill it), and
 * the certificate it stored next to its key (install-to tpm-nv). */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>

#include "provider/backend.h"
#include "tools/install.h"
#include "tools/renew.h"
#include "tools/tool.h"

/* keep-identities when the settings say nothing (docs/renewal.md) */
#define DEVID_RENEW_DEFAULT_KEEP 3

/* Identity names are their UTC creation time and a number counting the
 * ones made within that second (20250101T120000Z-0, -1 ... -999:
 * devid_identity_dir), so this sorts the identities oldest first: by time,
 * then by number, "-10" after "-9". Other names sort as text. */
static int devid_name_cmp(const void *a, const void *b)
{
    const char *x = *(char *const *)a;
    const char *y = *(char *const *)b;
    const char *dx = strrchr(x, '-');
    const char *dy = strrchr(y, '-');
    size_t nx = dx != NULL ? (size_t)(dx - x) : 0;
    size_t ny = dy != NULL ? (size_t)(dy - y) : 0;
    size_t lx, ly;

    if (dx == NULL || dy == NULL || nx != ny || strncmp(x, y, nx) != 0) {
        return strcmp(x, y);
    }
    lx = strspn(dx + 1, "0123456789");
    ly = strspn(dy + 1, "0123456789");
    if (lx == 0 || ly == 0 || dx[1 + lx] != '\0' || dy[1 + ly] != '\0'
        || lx == ly) {
        return strcmp(x, y);
    }
    return lx < ly ? -1 : 1; /* no leading zeros: the longer is larger */
}

void devid_identity_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL) {
        return;
    }
    /* relative to the directory: no path to build, so this works when
     * memory has run out (an install undoing itself) */
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            unlinkat(dirfd(d), e->d_name, 0);
        }
    }
    closedir(d);
    rmdir(dir);
}

int devid_key_delete(struct devid_tool *t, const char *name)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(name);

    if (ops == NULL || ops->delete_key == NULL) {
        return 1; /* nothing a backend could delete */
    }
    devid_tool_progress(t, "deleting the key %s", name);
    if (!ops->delete_key(t->prov, name, NULL)) {
        devid_tool_progress(t, "warning: cannot delete the key %s", name);
        ERR_print_errors_fp(stderr);
        return 0;
    }
    return 1;
}

/* The key of identity name (in base) when devid made it, else NULL; the
 * caller frees it. */
static char *devid_identity_own_key(struct devid_tool *t, const char *base,
                                    const char *name, int made_only)
{
    char *dir = devid_path(base, name);
    struct devid_state st;
    char *key = NULL;

    if (dir != NULL && devid_state_load(t, dir, &st) == DEVID_EXIT_OK
        && st.key != NULL
        && (!made_only
            || (st.key_created != NULL
                && strcmp(st.key_created, "yes") == 0))) {
        key = strdup(st.key);
    }
    ERR_clear_error();
    devid_state_clear(&st);
    free(dir);
    return key;
}

/* Removes the certificate identity name (in base) stored in the key's
 * hardware (install-to tpm-nv: its own index, which no other identity
 * uses), through the backend that stored it. */
static void devid_identity_cert_delete(struct devid_tool *t, const char *base,
                                       const char *name)
{
    char *dir = devid_path(base, name);
    const struct devid_backend_ops *ops = NULL;
    struct devid_state st;

    memset(&st, 0, sizeof(st));
    if (dir != NULL && devid_state_load(t, dir, &st) == DEVID_EXIT_OK
        && st.cert_name != NULL && st.key != NULL) {
        ops = devid_backend_for_name(st.key);
    }
    if (ops != NULL && ops->delete_cert != NULL) {
        devid_tool_progress(t, "removing the certificate %s", st.cert_name);
        if (!ops->delete_cert(t->prov, st.cert_name)) {
            devid_tool_progress(t, "warning: cannot remove %s", st.cert_name);
            ERR_print_errors_fp(stderr);
        }
    }
    ERR_clear_error();
    devid_state_clear(&st);
    free(dir);
}

/* 1 when one of the kept identities (keep[i] != 0) uses key. */
static int devid_key_kept(struct devid_tool *t, const char *base, char **names,
                          const int *gone, size_t n, const char *key)
{
    size_t i;
    int used = 0;

    for (i = 0; !used && i < n; i++) {
        char *k = gone[i] ? NULL : devid_identity_own_key(t, base, names[i], 0);

        used = k != NULL && strcmp(k, key) == 0;
        free(k);
    }
    return used;
}

/* Removes the identities marked in gone, deleting the keys devid made for
 * them that no kept identity uses. */
static void devid_identities_remove(struct devid_tool *t, const char *base,
                                    char **names, const int *gone, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char *key = gone[i] ? devid_identity_own_key(t, base, names[i], 1)
                            : NULL;
        char *p = gone[i] ? devid_path(base, names[i]) : NULL;

        if (p != NULL) {
            devid_tool_progress(t, "pruning the old identity %s", names[i]);
            if (key != NULL && !devid_key_kept(t, base, names, gone, n, key)) {
                devid_key_delete(t, key);
            }
            devid_identity_cert_delete(t, base, names[i]);
            devid_identity_remove(p);
        }
        free(p);
        free(key);
    }
}

/* Keeps the newest keep-identities identities, the current one and the one
 * it replaced; removes the older directories and what they owned. */
void devid_identities_prune(struct devid_tool *t, const char *current,
                            const char *previous)
{
    char *base = devid_path(devid_state_dir(t), "identities");
    char **names = NULL;
    int *gone = NULL;
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
    gone = n > 0 ? calloc(n, sizeof(*gone)) : NULL;
    if (n > 0 && gone != NULL) {
        qsort(names, n, sizeof(*names), devid_name_cmp);
        /* the oldest n - keep go, except the two rollback may need */
        for (i = 0; i + (size_t)keep < n; i++) {
            gone[i] = strcmp(names[i], current) != 0
                      && (previous == NULL || strcmp(names[i], previous) != 0);
        }
        devid_identities_remove(t, base, names, gone, n);
    }
    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    free(gone);
    free(base);
}
