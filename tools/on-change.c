/* SPDX-License-Identifier: Apache-2.0 */
/* The on-change hook: the operator's command that runs after devid renew or
 * devid rollback switched STATE/current, so programs holding the old
 * certificate pick up the new one (docs/renewal.md). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/install.h"
#include "tools/renew.h"
#include "tools/tool.h"

int devid_on_change_run(struct devid_tool *t, const char *cmd,
                        const char *identity)
{
    pid_t pid;
    int status = 0;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        setenv("DEVID_IDENTITY", identity, 1);
        setenv("DEVID_STATE_DIR", devid_state_dir(t), 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
