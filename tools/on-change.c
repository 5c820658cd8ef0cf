/* SPDX-License-Identifier: Apache-2.0 */
/* The on-change hook: the operator's command that runs after devid renew or
 * devid rollback switched STATE/current, so programs holding the old
 * certificate pick up the new one (docs/renewal.md). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/install.h"
#include "tools/renew.h"
#include "tools/tool.h"

int devid_on_change_run(struct devid_tool *t, const char *identity,
                        char *why, size_t size)
{
    const char *cmd = t->set.on_change;
    pid_t pid;
    int status = 0;

    if (cmd == NULL) {
        return 1;               /* no hook configured: nothing can fail */
    }
    /* the child inherits stdio buffers: empty them, or it prints them too */
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        snprintf(why, size, "could not start: %s", strerror(errno));
        return 0;
    }
    if (pid == 0) {
        setenv("DEVID_IDENTITY", identity, 1);
        setenv("DEVID_STATE_DIR", devid_state_dir(t), 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(why, size, "lost: %s", strerror(errno));
            return 0;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 1;
    }
    if (WIFEXITED(status)) {
        snprintf(why, size, "exited with %d", WEXITSTATUS(status));
    } else {
        snprintf(why, size, "was killed by signal %d",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    return 0;
}
